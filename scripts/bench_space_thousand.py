"""A thousand shapes: augmented copies of the shared femur collection (each a random non-uniform scaling and
a small smooth bend of one of the 60 femurs), then the figures docs/space.md reports: the first run's
sampling time (a fresh cache, a pool of processes), the peak memory of training, and steps per second.

    python scripts/bench_space_thousand.py make /tmp/thousand            # write 1000 PLY files
    python scripts/bench_space_thousand.py run /tmp/thousand --samples 4000 --steps 200 --cache /tmp/c1000

`run` loads the collection, draws its samples (timed; the pool is in the notice), trains `--steps` steps on
one process and prints a JSON line: shapes, sampling seconds, steps/s, the peak RSS of this process (and of
the sampling workers), and the bytes the samples take. Steps/s with two processes: torchrun the CLI (see
docs/space.md).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

FEMURS = Path(__file__).resolve().parents[2] / "shared" / "data" / "shapes" / "femur"


def make(out: Path, count: int = 1000, seed: int = 0) -> None:
    """Write `count` augmented femurs to out (PLY)."""
    from inrview.io.export import save_mesh
    from inrview.io.loaders import load

    out.mkdir(parents=True, exist_ok=True)
    bases = [load(p) for p in sorted(FEMURS.glob("*.ply"))]
    rng = np.random.default_rng(seed)
    for k in range(count):
        g = bases[k % len(bases)]
        v = np.asarray(g.vertices, np.float64)
        c = v.mean(axis=0)
        span = np.ptp(v, axis=0).max()
        scale = rng.uniform(0.85, 1.15, 3)  # non-uniform scaling about the centre
        axis, amp, freq = rng.integers(3), rng.uniform(-0.03, 0.03) * span, rng.uniform(0.5, 1.5)
        w = v - c
        bend = amp * np.sin(freq * np.pi * w[:, (axis + 1) % 3] / span)  # a small smooth deformation
        w = w * scale
        w[:, axis] += bend
        save_mesh(out / f"femur{k:04d}.ply", w + c, np.asarray(g.faces))


def run(folder: Path, samples: int, steps: int) -> dict:
    """Sample (timed) and train `steps` steps on one process; the figures as a dict."""
    from inrview.config import replace
    from inrview.config.space import SPACE_SAMPLING, LatentConfig, SpaceTrainConfig
    from inrview.space.fit import SpaceFit

    notes = []
    t0 = time.perf_counter()
    cfg = SpaceTrainConfig(epochs=10_000, device="cpu")
    fit = SpaceFit(
        folder, cfg, LatentConfig(), sampling=replace(SPACE_SAMPLING, n_samples=samples), notify=notes.append
    )
    prepared = time.perf_counter() - t0
    sample_bytes = sum(s.points.nbytes + s.sdf.nbytes for s in fit.samples.values())
    gen = fit.trainer.run(report_every=10)
    next(gen)  # the first steps (allocation, first Adam step) are not timed
    s0, t1 = fit.trainer.step, time.perf_counter()
    while fit.trainer.step - s0 < steps:
        next(gen)
    rate = (fit.trainer.step - s0) / (time.perf_counter() - t1)
    kib = 1024 if sys.platform != "darwin" else 1
    return {
        "shapes": len(fit.collection),
        "samples_per_shape": samples,
        "load_and_sample_seconds": round(prepared, 1),
        "notices": notes,
        "steps_per_second": round(rate, 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * kib / 2**20, 1),
        "peak_rss_sampling_worker_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * kib / 2**20, 1),
        "sample_mib": round(sample_bytes / 2**20, 1),
        "load": os.getloadavg(),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("action", choices=["make", "run"])
    p.add_argument("folder", type=Path)
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--samples", type=int, default=4000)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--cache", help="sample cache folder (INRVIEW_CACHE_DIR)")
    a = p.parse_args()
    if a.cache:
        os.environ["INRVIEW_CACHE_DIR"] = a.cache
    if a.action == "make":
        make(a.folder, a.count)
    else:
        print(json.dumps(run(a.folder, a.samples, a.steps)))


if __name__ == "__main__":
    main()
