#!/usr/bin/env python
"""How responsive is the window while it trains? UI timer latency and live surface update rate.

Opens the real window (on a private Xvfb when there is no display), trains a shape for --seconds with the
live preview on, and meanwhile:
  - a 20 ms QTimer on the GUI thread records how late each tick fires (p50/p95/max = how long the UI could
    not respond);
  - with --orbit, the camera turns a little every 50 ms and re-renders, as if a person were dragging it;
  - the window records when each new live surface was drawn (update interval), how long each frame slot and
    each render took on the GUI thread, and the worker records each preview's cost.

    .venv/bin/python -m scripts.bench_ui --seconds 30 --orbit --json out/bench_ui.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def pct(a, q):
    return float(np.percentile(np.asarray(a) * 1000.0, q)) if len(a) else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--file", default=str(ROOT / "inrview" / "resources" / "spot.obj"))
    ap.add_argument("--seconds", type=float, default=30.0, help="training budget")
    ap.add_argument("--size", default="1280x800")
    ap.add_argument("--preview", type=int, default=64, help="live preview resolution")
    ap.add_argument("--model", default="grid")
    ap.add_argument("--orbit", action="store_true", help="turn the camera continuously while training")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()

    from tests.support.xvfb import virtual_display

    virtual_display()
    import tempfile

    os.environ["INRVIEW_SETTINGS"] = str(Path(tempfile.mkdtemp(prefix="inrview-bench-")) / "settings.ini")
    import torch

    torch.set_num_threads(1)
    from PyQt6 import QtCore, QtWidgets

    from inrview.app import make_window
    from tests.support.probe import LatencyProbe

    win = make_window(restore=False, size=tuple(int(v) for v in args.size.split("x")), app_name="inrview-bench")
    app = QtWidgets.QApplication.instance()
    mp = win.shape.model_panel
    mp.kind.setCurrentIndex(mp.kind.findData(args.model))
    mp.preview.setCurrentIndex(mp.preview.findData(args.preview))
    mp.set_budget(seconds=args.seconds)
    win.show()
    probe = LatencyProbe(20)
    state = {"t_start": None, "t_end": None}

    orbit = QtCore.QTimer()
    orbit.setInterval(50)
    renders_orbit = []

    def turn():
        t0 = time.perf_counter()
        win.viewport.camera.Azimuth(1.5)
        win.viewport.render_now()
        renders_orbit.append(time.perf_counter() - t0)

    orbit.timeout.connect(turn)

    def opened(_):
        win.shape.start_training(fresh=True)

    def on_state(s):
        if s == "training" and state["t_start"] is None:
            state["t_start"] = time.perf_counter()
            probe.start()
            if args.orbit:
                orbit.start()

    def final():
        state["t_end"] = time.perf_counter()
        probe.stop()
        orbit.stop()
        QtCore.QTimer.singleShot(200, win.close)
        QtCore.QTimer.singleShot(300, app.quit)

    win.shape.file_opened.connect(opened)
    win.worker.state.connect(on_state)
    win.shape.final_drawn.connect(final)
    QtCore.QTimer.singleShot(0, lambda: win.open_path(args.file))
    app.exec()

    t0, t1 = state["t_start"], state["t_end"]
    ups = [t for t in win.shape.surface_updates if t0 <= t <= t1]
    gaps = np.diff([t0] + ups) if ups else np.array([])
    trainer = win.worker.session.trainer
    lat = probe.summary()
    out = {
        "file": args.file,
        "device": str(trainer.device),
        "torch_threads": torch.get_num_threads(),
        "window": args.size,
        "preview_resolution": args.preview,
        "orbit": args.orbit,
        "train_seconds": trainer.state.elapsed,
        "wall_seconds": t1 - t0,
        "steps": trainer.state.step,
        "it_per_s": trainer.state.step / max(trainer.state.elapsed, 1e-9),
        "ui_latency_ms": lat,
        "surface_updates": len(ups),
        "surface_update_interval_s": {
            "mean": float(np.mean(gaps)) if len(gaps) else None,
            "p50": float(np.median(gaps)) if len(gaps) else None,
            "p95": float(np.percentile(gaps, 95)) if len(gaps) else None,
            "max": float(np.max(gaps)) if len(gaps) else None,
        },
        "gui_frame_slot_ms": {
            "p50": pct(win.shape.slot_seconds, 50),
            "p95": pct(win.shape.slot_seconds, 95),
            "max": float(np.max(win.shape.slot_seconds) * 1000) if win.shape.slot_seconds else None,
        },
        "render_ms": {"p50": pct(win.viewport.render_seconds, 50), "p95": pct(win.viewport.render_seconds, 95)},
        "orbit_render_ms": {"n": len(renders_orbit), "p50": pct(renders_orbit, 50), "p95": pct(renders_orbit, 95)},
        "preview_cost_s": {
            "p50": float(np.median(win.worker.preview_seconds)) if win.worker.preview_seconds else None,
            "n": len(win.worker.preview_seconds),
        },
        "load_average": os.getloadavg(),
    }
    print(json.dumps(out, indent=2))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
