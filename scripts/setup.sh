#!/usr/bin/env bash
# Set up inrview on a Debian/Ubuntu machine (system libraries, a virtual environment in .venv, the
# package with its app and test extras), then run the main job: the desktop app on the bundled demo
# shape when a display is available, otherwise a headless fit of it.
#   bash scripts/setup.sh            set up, then run the main job
#   bash scripts/setup.sh --no-run   set up only (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=1
[ "${1:-}" = "--no-run" ] && RUN=0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
# Qt's xcb platform, OpenGL for VTK, libusb for Open3D, Xvfb for the windowed tests.
PKGS="python3 python3-venv python3-pip libusb-1.0-0 libgl1 libegl1 libglu1-mesa libxrender1 libxi6 \
libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 \
libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libdbus-1-3 libfontconfig1 xvfb xauth"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  echo "== installing system packages:$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$PY" -m venv .venv
fi
PIP=".venv/bin/python -m pip"
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    echo "== installing PyTorch with CUDA"
    $PIP install -q "torch>=2.1"
  else
    echo "== installing the CPU build of PyTorch (no NVIDIA GPU found)"
    $PIP install -q --timeout 15 --retries 0 --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0" 2>/dev/null \
      || $PIP install -q "torch==2.13.0"
  fi
fi
echo "== installing inrview"
$PIP install -q -e ".[app,dev]"

if [ "$RUN" = 1 ]; then
  DEMO=$(.venv/bin/python -c "import inrview; print(inrview.demo_shape())")
  if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
    echo "== opening the app on $DEMO"
    exec .venv/bin/inrview "$DEMO"
  else
    mkdir -p out
    echo "== no display: fitting $DEMO headless (60 s budget)"
    exec .venv/bin/inrview fit "$DEMO" -o out/spot_inr.ply --seconds 60 --metrics-json out/spot_inr.json
  fi
fi
