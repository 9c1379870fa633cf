#!/usr/bin/env python
"""What live measures cost: training steps per second with and without them, side by side in one run.

Each round trains the bundled spot (or --mesh) for the same step budget from the same seed twice: once
plainly, once with `ShapeSession.run(measures=True)` (the command line's case: the measures extract their
own 64^3 surface and take at most LIVE_FRACTION of the training time, plus one at the end). With --preview,
both runs also extract a preview surface every second of training (the app's case: the measures reuse
that surface). Rounds alternate the order, and the median of the rounds is reported, so a neighbour's load
falls on both sides alike. Steps per second count wall time from the first step to the last snapshot.

    python -m scripts.bench_live --steps 400 --rounds 3 [--preview 64] [--markdown docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from inrview import demo_shape
from inrview.config import FitConfig, TrainConfig
from inrview.shape import ShapeSession


def one_run(path: str, steps: int, measures: bool, preview: int | None, seed: int) -> dict:
    """Train once; {'steps_per_s', 'measures' (how many were taken), 'chamfer' (the last live one, or None)}."""
    s = ShapeSession.from_file(path, FitConfig(train=TrainConfig(steps=steps, threads=1, seed=seed)))
    t0 = time.perf_counter()
    for _ in s.run(report_every=10, preview_resolution=preview, measures=measures):
        pass
    wall = time.perf_counter() - t0
    hist = [h for h in s.live.history if "chamfer_l1" in h]
    return {
        "steps_per_s": steps / wall,
        "measures": len(s.live.history),
        "chamfer": hist[-1]["chamfer_l1"] if hist else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mesh", default=str(demo_shape()))
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--preview", type=int, default=None, help="preview surface resolution in both runs")
    ap.add_argument("--markdown", help="append the result as a table row to this file")
    a = ap.parse_args()
    plain, live = [], []
    for r in range(a.rounds):
        order = (False, True) if r % 2 == 0 else (True, False)
        for m in order:
            (live if m else plain).append(one_run(a.mesh, a.steps, m, a.preview, a.seed))
            print(f"round {r} measures={m}: {(live if m else plain)[-1]}", flush=True)
    p = statistics.median(x["steps_per_s"] for x in plain)
    q = statistics.median(x["steps_per_s"] for x in live)
    load = os.getloadavg()[0]
    row = (
        f"| {os.path.basename(a.mesh)} | {a.steps} | {a.preview or 'none'} | {p:.2f} | {q:.2f} | "
        f"{100 * (1 - q / p):.1f}% | {live[0]['measures']} | {live[0]['chamfer']:.2e} | {load:.2f} |"
    )
    print(row)
    if a.markdown:
        with open(a.markdown, "a") as fh:
            fh.write(row + "\n")


if __name__ == "__main__":
    main()
