#!/usr/bin/env bash
# The GPU checks of inrview in one run of under 6 minutes on one NVIDIA GPU, printing figures:
#   1. the environment (GPU, driver, torch, which optional libraries are present),
#   2. the tests that need CUDA (tests/test_speed_gpu.py and every test named *cuda*/*gpu*),
#   3. MLP throughput against a large matrix product (fp32),
#   4. extraction on the GPU: coarse to fine against dense at 256^3 and 512^3,
#   5. time to the exact-SDF quality (bench_fit) for the defaults on every dev mesh, cold and again with
#      the sample cache, and against the DeepSDF baseline on one of them.
# Usage, from anywhere:  scripts/gpu_check.sh            (PYTHON=... to pick the interpreter)
# Optional inputs: wheels in .whl/ are installed into a private folder first (for machines without a
# package index: libigl stands in for Open3D when Open3D is missing); meshes are read from
# $INRVIEW_SHARED_DATA, else .gpu/data, else ../shared/data; targets from .gpu/targets.json if present
# (bench_fit --json output of a CPU run: the exact-SDF targets do not depend on the device).
# Each step has its own time limit, so one slow step cannot eat the others' time.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
T0=$(date +%s)
step() { echo; echo "=== [$(( $(date +%s) - T0 )) s] $*"; }

PY=${PYTHON:-}
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ] && .venv/bin/python -c "import torch,sys; sys.exit(not torch.cuda.is_available())" 2>/dev/null; then
    PY=.venv/bin/python
  else
    PY=python3
  fi
fi
if ls .whl/*.whl >/dev/null 2>&1; then
  SITE=$(mktemp -d)
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$SITE" .whl/*.whl \
    && export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
fi
if [ -z "${INRVIEW_SHARED_DATA:-}" ] && [ -d .gpu/data ]; then export INRVIEW_SHARED_DATA=$PWD/.gpu/data; fi
export INRVIEW_CACHE_DIR=$(mktemp -d)   # a cold cache: every sample set is generated in the run
OUTDIR=${OUT:-$(mktemp -d)}

step "environment"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "nvidia-smi not found"
$PY - <<'EOF'
import importlib, os, torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())
if torch.cuda.is_available():
    print("device", torch.cuda.get_device_name(), "| CPU cores", os.cpu_count())
for m in ("open3d", "igl", "vtk", "skimage", "trimesh", "safetensors"):
    try:
        importlib.import_module(m); print(f"  {m}: yes")
    except Exception as e:  # noqa: BLE001
        print(f"  {m}: no ({type(e).__name__})")
EOF
if ! $PY -c "import torch,sys; sys.exit(not torch.cuda.is_available())"; then
  echo "gpu_check: no CUDA GPU here; nothing to check"; exit 1
fi
rc=0

step "tests that need CUDA"
timeout 170 $PY -m pytest -q -s -p no:cacheprovider -rs --continue-on-collection-errors tests/test_speed_gpu.py \
  $(ls tests/test_*.py | grep -v -e test_speed_gpu.py -e test_core_loaders.py) -k "cuda or gpu" \
  --ignore=tests/app || rc=1

step "MLP throughput (fp32)"
timeout 40 $PY -m scripts.bench_flops --device cuda --rounds 2 || rc=1

step "extraction on the GPU"
timeout 80 $PY -m scripts.bench_extract --device cuda --resolutions 256,512 --preview 64 \
  --preview-interval 0 || rc=1

step "time to the exact-SDF quality on the GPU: cold (samples generated), then again with the sample cache"
TARGETS=""
[ -f .gpu/targets.json ] && TARGETS="--targets .gpu/targets.json"
timeout 200 $PY -m scripts.bench_fit --device cuda --cap 6 --baseline-cap 15 --baseline-meshes bob_tri \
  --baseline-checks end --check-steps 100:200:10 --cache --cached-rerun $TARGETS \
  --json "$OUTDIR/bench_fit_gpu.json" || rc=1

step "done in $(( $(date +%s) - T0 )) s, status $rc"
exit $rc
