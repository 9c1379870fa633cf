#!/usr/bin/env python
"""Soak test of the desktop app: train with the live preview for N minutes and watch for leaks.

Opens the real window (on a private Xvfb when there is no display) and trains a shape for --minutes, while a
person's habits are replayed on a schedule: slice sliders move every few seconds, a plane is switched off and
on, training is paused and resumed, a screenshot is exported (an off-screen render window made and closed),
and the work is autosaved every minute. Training restarts from scratch whenever a run ends, so new networks,
surfaces and slice images keep replacing the old ones.

Every --interval seconds it samples the process's resident memory, the props in the renderer and the VTK
actors Python still holds. After a warm-up (the first 20% of the run, at least a minute) memory must not grow
by more than 10% and the actor counts must not grow at all.

    .venv/bin/python -m scripts.soak_app --minutes 10 --json out/soak.json
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def vtk_actor_objects() -> int:
    """VTK props reachable from Python (wrappers of actors the app still references)."""
    import warnings

    from vtkmodules.vtkRenderingCore import vtkProp

    with warnings.catch_warnings():  # isinstance() on some torch objects warns about deprecated aliases
        warnings.simplefilter("ignore")
        return sum(1 for o in gc.get_objects() if isinstance(o, vtkProp))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--file", default=str(ROOT / "inrview" / "resources" / "spot.obj"))
    ap.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    ap.add_argument("--run-seconds", type=float, default=90.0, help="training budget of each run")
    ap.add_argument("--size", default="1280x800")
    ap.add_argument("--json", help="write the samples and the verdict here")
    args = ap.parse_args()

    from tests.support.xvfb import virtual_display

    virtual_display()
    tmp = Path(tempfile.mkdtemp(prefix="inrview-soak-"))
    os.environ["INRVIEW_SETTINGS"] = str(tmp / "settings.ini")
    import torch

    torch.set_num_threads(1)
    from PyQt6 import QtCore, QtWidgets

    from inrview.app import make_window
    from tests.support.probe import LatencyProbe, rss_bytes

    win = make_window(restore=False, size=tuple(int(v) for v in args.size.split("x")), app_name="inrview-soak")
    app = QtWidgets.QApplication.instance()
    win.shape.model_panel.set_budget(seconds=args.run_seconds)
    win.shape.exports.set_autosave_interval(60)
    win.show()
    probe = LatencyProbe(20)
    duration = args.minutes * 60.0
    warmup = max(60.0, 0.2 * duration)
    t0 = [None]
    samples: list[dict] = []
    events = {"runs": 0, "screenshots": 0, "pauses": 0, "slider_moves": 0, "toggles": 0, "errors": 0}
    rng = np.random.default_rng(0)

    def elapsed() -> float:
        return time.perf_counter() - t0[0] if t0[0] is not None else 0.0

    def start_run():
        if win.shape.state == "idle" and not win.worker.training:
            events["runs"] += 1
            win.shape.start_training(fresh=True)

    def sample():
        gc.collect()
        s = win.worker.session
        samples.append(
            {
                "t": round(elapsed(), 1),
                "rss_mb": rss_bytes() / 2**20,
                "renderer_props": win.viewport.actor_count(),
                "layers": len(win.viewport.layers),
                "vtk_prop_objects": vtk_actor_objects(),
                "step": s.trainer.state.step if s else 0,
                "surface_updates": len(win.shape.surface_updates),
                "state": win.shape.state,
            }
        )
        print(
            f"[{samples[-1]['t']:6.0f} s] rss {samples[-1]['rss_mb']:7.1f} MB  props {samples[-1]['renderer_props']}"
            f"  vtk objects {samples[-1]['vtk_prop_objects']}  step {samples[-1]['step']}"
            f"  surfaces {samples[-1]['surface_updates']}",
            flush=True,
        )

    def act():
        """One of a person's habits, chosen on a schedule."""
        t = elapsed()
        k = int(t // 3)
        if k % 5 == 0:
            a = int(rng.integers(0, 2))
            win.shape.slices_panel.sliders[a].setValue(int(rng.integers(200, 800)))
            events["slider_moves"] += 1
        if k % 17 == 0:
            cb = win.shape.slices_panel.toggles[2]
            cb.setChecked(not cb.isChecked())
            events["toggles"] += 1
        if k % 23 == 0 and win.shape.state == "training":
            win.shape.toggle_pause()
            QtCore.QTimer.singleShot(1500, lambda: win.shape.toggle_pause() if win.shape.state == "paused" else None)
            events["pauses"] += 1
        if k % 41 == 0:
            win.export_screenshot(str(tmp / "soak.png"), 640, 480)
            events["screenshots"] += 1
        start_run()

    def finish():
        probe.stop()
        sample()
        QtCore.QTimer.singleShot(100, win.close)
        QtCore.QTimer.singleShot(300, app.quit)

    def opened(_):
        t0[0] = time.perf_counter()
        probe.start()
        start_run()
        sample()
        sampler.start(int(args.interval * 1000))
        actor.start(3000)
        QtCore.QTimer.singleShot(int(duration * 1000), finish)

    sampler = QtCore.QTimer()
    sampler.timeout.connect(sample)
    actor = QtCore.QTimer()
    actor.timeout.connect(act)
    win.shape.file_opened.connect(opened)
    win.shape.open_failed.connect(lambda m: (print("error:", m), app.quit()))
    QtCore.QTimer.singleShot(0, lambda: win.open_path(args.file))
    app.exec()

    events["errors"] = len(win.errors)
    after = [s for s in samples if s["t"] >= warmup]
    base = after[0] if after else samples[0]
    last = samples[-1]
    # the resident size moves by tens of MB with every run and preview (allocator arenas): compare the
    # median of the minute after warm-up with the median of the last minute, and report the raw ends too
    first_min = [s["rss_mb"] for s in after if s["t"] < warmup + 60] or [base["rss_mb"]]
    last_min = [s["rss_mb"] for s in samples if s["t"] >= samples[-1]["t"] - 60]
    growth = (np.median(last_min) - np.median(first_min)) / np.median(first_min)
    raw_growth = (last["rss_mb"] - base["rss_mb"]) / base["rss_mb"]
    ts = np.array([s["t"] for s in after]) / 60.0
    slope = float(np.polyfit(ts, [s["rss_mb"] for s in after], 1)[0]) if len(after) >= 3 else None
    props_grew = max(s["renderer_props"] for s in after) - base["renderer_props"] if after else 0
    objects_grew = max(s["vtk_prop_objects"] for s in after) - base["vtk_prop_objects"] if after else 0
    ok = growth <= 0.10 and props_grew <= 0 and objects_grew <= 0 and events["errors"] == 0
    verdict = {
        "minutes": args.minutes,
        "warmup_seconds": warmup,
        "rss_mb_at_warmup": base["rss_mb"],
        "rss_mb_end": last["rss_mb"],
        "rss_mb_peak": max(s["rss_mb"] for s in samples),
        "rss_growth_after_warmup": float(growth),
        "rss_growth_raw_end_vs_warmup": float(raw_growth),
        "rss_slope_mb_per_min": slope,
        "renderer_props_growth": int(props_grew),
        "vtk_prop_objects_growth": int(objects_grew),
        "steps": last["step"],
        "surface_updates": last["surface_updates"],
        "events": events,
        "ui_latency_ms": probe.summary(),
        "load_average": os.getloadavg(),
        "ok": bool(ok),
    }
    print(json.dumps(verdict, indent=2))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"verdict": verdict, "samples": samples}, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
