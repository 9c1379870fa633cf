#!/usr/bin/env python
"""Extraction cost: coarse-to-fine against dense grids, marching cubes, and the live preview.

For a model trained with the default settings (on --mesh, for --train-steps steps; samples come from the
cache when present), prints:

* at each resolution in --resolutions: network evaluations and seconds of the dense grid and of the
  coarse-to-fine grid, their ratio, and whether the two give the same surface (same triangles; otherwise
  the largest distance between the two surfaces, in voxels);
* marching cubes alone on the 256^3 grid: VTK Flying Edges (threaded, zero-copy) against scikit-image;
* the live preview: the cost of one coarse-to-fine extraction at each --preview resolution, and a real
  training run with previews every --preview-interval seconds, reporting the wall time between surface
  updates and the training throughput kept (steps/s with previews over steps/s without).

Runtime on a 2-core CPU: about 1 min for training + 256^3 + preview; the dense 512^3 grid alone takes
1-3 minutes (135M evaluations), so 512 is measured only when listed in --resolutions.

    .venv/bin/python -m scripts.bench_extract --resolutions 256,512
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

import numpy as np  # noqa: E402
import torch  # noqa: E402

import inrview  # noqa: E402
from inrview.config import FitConfig, TrainConfig  # noqa: E402
from inrview.extract import coarse_to_fine_grid, dense_grid, marching_cubes, mc  # noqa: E402
from inrview.shape import ShapeSession  # noqa: E402

DATA = Path(os.environ.get("INRVIEW_SHARED_DATA", ROOT.parent / "shared" / "data")) / "meshes"


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device):
    sync(device)
    t = time.perf_counter()
    out = fn()
    sync(device)
    return out, time.perf_counter() - t


def surface_gap(a, b, spacing: float) -> tuple[bool, float]:
    """(same triangles?, largest vertex-to-surface distance between the two meshes in voxels)."""
    if (
        a.faces.shape == b.faces.shape
        and np.array_equal(a.faces, b.faces)
        and np.abs(a.vertices - b.vertices).max() < 1e-6
    ):
        return True, 0.0
    from inrview.sampling import MeshDistance

    gap = max(
        MeshDistance(b.vertices, b.faces, sign="parity").unsigned(a.vertices).max(),
        MeshDistance(a.vertices, a.faces, sign="parity").unsigned(b.vertices).max(),
    )
    return False, float(gap / spacing)


def train(mesh: Path, steps: int, device: str) -> ShapeSession:
    cfg = FitConfig(train=TrainConfig(steps=steps, device=device))
    session = ShapeSession.from_file(mesh, cfg)
    for _ in session.run(report_every=50):
        pass
    return session


def live_preview(mesh: Path, resolution: int, interval: float, seconds: float, device: str) -> dict:
    """Train for `seconds` with and without previews; wall time between surface updates."""
    out = {}
    for with_preview in (False, True):
        cfg = FitConfig(train=TrainConfig(seconds=1e9, device=device))
        session = ShapeSession.from_file(mesh, cfg)
        gen = session.run(
            report_every=1, preview_resolution=resolution if with_preview else None, preview_interval=interval
        )
        t0 = time.perf_counter()
        updates, steps0 = [], None
        for snap in gen:
            now = time.perf_counter() - t0
            if steps0 is None:
                steps0, t_first = snap.step, now
            if snap.preview and snap.preview.get("vertices") is not None:
                updates.append(now)
            if now > seconds:
                session.stop()
        rate = (snap.step - steps0) / max(1e-9, now - t_first)
        out["with" if with_preview else "without"] = (rate, np.diff(updates) if len(updates) > 1 else None)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mesh", default=str(DATA / "spot.obj"), help="mesh to train on (default: shared spot)")
    p.add_argument("--train-steps", type=int, default=None, help="training steps (default: the config's)")
    p.add_argument("--resolutions", default="256", help="comma-separated, e.g. 256,512")
    p.add_argument("--preview", default="64,96,128", help="preview resolutions to time")
    p.add_argument(
        "--preview-interval",
        type=float,
        default=0.4,
        help="training seconds between previews in the live run (0 skips the live run)",
    )
    p.add_argument("--live-seconds", type=float, default=8.0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None)
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    mesh = Path(a.mesh)
    if not mesh.exists():
        mesh = Path(inrview.demo_shape())
    dev = torch.device(a.device)
    name = torch.cuda.get_device_name() if dev.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"# bench_extract on {name}; torch {torch.__version__}; mesh {mesh.name}")
    t = time.perf_counter()
    session = train(mesh, a.train_steps or FitConfig().train.steps, a.device)
    field = session.field
    print(f"trained {session.trainer.state.step} steps in {time.perf_counter() - t:.1f} s")

    print(
        "\n| resolution | dense evals | dense s | coarse-to-fine evals | c2f s | fewer evals | faster | same surface |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for res in [int(r) for r in a.resolutions.split(",") if r]:
        on_dev = dev.type == "cuda"  # as extract_mesh does: the grid stays on the GPU and is meshed there
        c2f, t_c = timed(lambda: coarse_to_fine_grid(field, res, on_device=on_dev), dev)
        m_c, t_mc = timed(lambda: marching_cubes(c2f), dev)
        dense, t_d = timed(lambda: dense_grid(field, res, on_device=on_dev), dev)
        m_d, t_md = timed(lambda: marching_cubes(dense), dev)
        same, gap = surface_gap(m_c, m_d, c2f.spacing)
        print(
            f"| {res}^3 | {dense.evaluations:,} | {t_d + t_md:.2f} | {c2f.evaluations:,} | {t_c + t_mc:.2f} | "
            f"{dense.evaluations / c2f.evaluations:.1f}x | {(t_d + t_md) / (t_c + t_mc):.1f}x | "
            f"{'identical' if same else f'max gap {gap:.2f} voxel'} |",
            flush=True,
        )
        if res == 256:
            _, t_sk = timed(lambda: marching_cubes(dense, method="skimage"), dev)
            _, t_th = timed(lambda: marching_cubes(dense, method="torch"), dev)
            mc_line = (
                f"marching cubes at 256^3: scikit-image {t_sk * 1e3:.0f} ms, PyTorch (mc_torch, on "
                f"{dev.type}) {t_th * 1e3:.0f} ms"
            )
            if mc.vtk_available():
                _, t_vtk = timed(lambda: marching_cubes(dense, method="vtk"), dev)
                mc_line += f", VTK Flying Edges {t_vtk * 1e3:.0f} ms"
            else:
                mc_line += " (VTK not installed here)"
        dense = c2f = None  # free the grids before the next resolution
    if "mc_line" in locals():
        print("\n" + mc_line)

    print("\n| preview resolution | evaluations | extraction s (c2f + marching cubes) |")
    print("|---|---|---|")
    for res in [int(r) for r in a.preview.split(",") if r]:
        times = []
        for _ in range(3):
            (m, _), dt = timed(lambda: (session.preview(res), None), dev)
            times.append(dt)
        evals = coarse_to_fine_grid(field, res).evaluations
        print(f"| {res}^3 | {evals:,} | {min(times):.3f} |")

    if a.preview_interval > 0:
        res = int(a.preview.split(",")[0]) if a.preview else 64
        live = live_preview(mesh, res, a.preview_interval, a.live_seconds, a.device)
        r0, _ = live["without"]
        r1, gaps = live["with"]
        if gaps is None:
            print("\nlive preview: fewer than two previews in the run")
        else:
            print(
                f"\nlive preview at {res}^3, interval {a.preview_interval} s: surface update every "
                f"{np.median(gaps):.2f} s (median; max {gaps.max():.2f} s) while training keeps "
                f"{r1 / r0:.0%} of its steps/s ({r1:.1f} vs {r0:.1f} steps/s without previews)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
