#!/usr/bin/env python
"""Measure the image acceptance figures on a CPU (or any device) and write them as JSON and Markdown.

    .venv/bin/python -m scripts.bench_image                      # kodim23 from ../shared/data, all parts
    .venv/bin/python -m scripts.bench_image IMG --only grid,sr   # another picture, some parts
    .venv/bin/python -m scripts.bench_image --quick              # small budgets, to try the script

Parts: siren_relu (equal steps and batch), grid (PSNR over a 60 s budget), sr (x4 fair check vs
bicubic), deblur (Gaussian sigma 2 vs the blurred input and Richardson-Lucy), sweep (width x depth),
derivatives (autograd Laplacian vs the picture's). One torch thread (the default here) keeps timings
comparable on a shared 2-core machine; CPU seconds are process time, so other work on the machine
inflates wall-clock figures but not those.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent

from inrview.config import TrainConfig  # noqa: E402
from inrview.config.image import image_model_config  # noqa: E402
from inrview.image import (  # noqa: E402
    ImageSession,
    finite_difference_maps,
    gaussian_kernel,
    load_image,
    save_image,
    super_resolution_check,
    synthetic_deblur_check,
)
from inrview.image import sweep as sw  # noqa: E402

PARTS = ("siren_relu", "grid", "sr", "deblur", "derivatives", "sweep")


def timed_fit(img, kind, train, **model):
    s = ImageSession(img, image_model_config(kind, img.shape[:2], **model), train)
    c0 = time.process_time()
    last = s.train()
    cpu = time.process_time() - c0
    m = s.metrics()
    return s, {
        "family": kind,
        "width": s.model_cfg.width,
        "depth": s.model_cfg.depth,
        "steps": last.step,
        "batch": train.batch_size,
        "lr": s.train_cfg.lr,
        "train_seconds": last.elapsed,
        "cpu_seconds": cpu,
        "psnr": m["psnr"],
        "ssim": m["ssim"],
    }


def part_siren_relu(img, a, out):
    train = TrainConfig(steps=a.steps, batch_size=a.batch, device=a.device, threads=a.threads)
    res, sessions = {}, {}
    for kind in ("siren", "relu"):
        sessions[kind], res[kind] = timed_fit(img, kind, train)
        r = res[kind]
        print(f"  {kind}: {r['psnr']:.2f} dB, SSIM {r['ssim']:.4f}, {r['train_seconds']:.0f} s", flush=True)
        save_image(out / f"fit_{kind}.png", sessions[kind].field.render())
    res["gap_db"] = res["siren"]["psnr"] - res["relu"]["psnr"]
    return res, sessions


def part_derivatives(img, sessions, out):
    """Correlation of each network's autograd gradient / Laplacian with the picture's own."""
    from inrview.image.views import magnitude_view, robust_max, signed_view

    ref = finite_difference_maps(img.pixels)
    gmax, lmax = robust_max(ref["gradient"]), robust_max(ref["laplacian"])
    save_image(out / "target_gradient.png", magnitude_view(ref["gradient"], gmax))
    save_image(out / "target_laplacian.png", signed_view(ref["laplacian"], lmax))
    res = {}
    for kind, s in sessions.items():
        d = s.field.derivatives()
        res[kind] = {
            "gradient_corr": _corr(d["gradient"], ref["gradient"]),
            "laplacian_corr": _corr(d["laplacian"], ref["laplacian"]),
            "laplacian_abs_max": float(np.abs(d["laplacian"]).max()),
        }
        save_image(out / f"{kind}_gradient.png", magnitude_view(d["gradient"], gmax))
        save_image(out / f"{kind}_laplacian.png", signed_view(d["laplacian"], lmax))
        r = res[kind]
        print(f"  {kind}: gradient corr {r['gradient_corr']:.3f}, Laplacian corr {r['laplacian_corr']:.3f}", flush=True)
    return res


def _corr(a, b) -> float:
    """Pearson correlation; 0 for a constant map (a ReLU network's Laplacian is zero everywhere)."""
    a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def part_grid(img, a, out):
    """PSNR of the full rendering against the elapsed training time under a wall-clock budget."""
    train = TrainConfig(seconds=a.grid_seconds, batch_size=a.grid_batch, device=a.device, threads=a.threads)
    s = ImageSession(img, image_model_config("grid", img.shape[:2]), train)
    curve, first30 = [], None
    c0 = time.process_time()
    cpu_excl = 0.0  # process time spent measuring, taken off the CPU figure
    last = None
    for last in s.run(report_every=10, preview_interval=a.grid_probe, with_ssim=False):
        if last.preview is not None:
            t = time.process_time()
            curve.append((last.elapsed, last.step, last.preview["psnr"]))
            if first30 is None and last.preview["psnr"] >= 30.0:
                first30 = {"train_seconds": last.elapsed, "cpu_seconds": t - c0 - cpu_excl, "step": last.step}
            cpu_excl += time.process_time() - t
    cpu = time.process_time() - c0 - cpu_excl
    m = s.metrics()
    save_image(out / "fit_grid.png", s.field.render())
    res = {
        "budget_seconds": a.grid_seconds,
        "steps": last.step,
        "train_seconds": last.elapsed,
        "cpu_seconds_approx": cpu,
        "psnr": m["psnr"],
        "ssim": m["ssim"],
        "first_30db": first30,
        "curve": curve,
        "model": s.model_cfg.to_dict(),
    }
    print(
        f"  grid: {m['psnr']:.2f} dB after {last.elapsed:.0f} s ({last.step} steps); >= 30 dB at "
        f"{first30['train_seconds']:.1f} s"
        if first30
        else f"  grid: {m['psnr']:.2f} dB, never 30 dB",
        flush=True,
    )
    return res


def part_sr(img, a, out):
    train = TrainConfig(steps=a.sr_steps, batch_size=a.sr_batch, device=a.device, threads=a.threads)
    c0 = time.process_time()
    r = super_resolution_check(
        img,
        4,
        image_model_config("siren", (img.height // 4, img.width // 4), width=a.sr_width),
        train=train,
        footprint=a.sr_footprint,
    )
    cpu = time.process_time() - c0
    save_image(out / "sr_inr.png", r.inr)
    save_image(out / "sr_bicubic.png", r.bicubic)
    save_image(out / "sr_input.png", r.small)
    res = dict(
        r.to_dict(),
        steps=a.sr_steps,
        width=a.sr_width,
        footprint=a.sr_footprint,
        batch=a.sr_batch,
        cpu_seconds=cpu,
        train_seconds=r.session.trainer.state.elapsed,
    )
    print(f"  {r.summary()}", flush=True)
    return res


def part_deblur(img, a, out):
    train = TrainConfig(steps=a.deblur_steps, batch_size=a.deblur_batch, device=a.device, threads=a.threads)
    c0 = time.process_time()
    r = synthetic_deblur_check(img, gaussian_kernel(2.0), train=train, patch=a.deblur_patch)
    cpu = time.process_time() - c0
    save_image(out / "deblur_inr.png", r.inr)
    save_image(out / "deblur_blurred.png", r.blurred)
    save_image(out / "deblur_rl.png", r.rl)
    res = dict(
        r.to_dict(),
        steps=a.deblur_steps,
        batch=a.deblur_batch,
        patch=a.deblur_patch,
        cpu_seconds=cpu,
        train_seconds=r.session.trainer.state.elapsed,
        gain_db=r.inr_metrics["psnr"] - r.blurred_metrics["psnr"],
    )
    print(f"  {r.summary()}", flush=True)
    return res


def part_sweep(img, a, out):
    train = TrainConfig(steps=a.sweep_steps, batch_size=a.batch, device=a.device, threads=a.threads)
    rows = sw.capacity_sweep(
        img,
        "siren",
        a.sweep_widths,
        a.sweep_depths,
        train,
        on_row=lambda r: print(f"  siren {r.width}x{r.depth}: {r.psnr:.2f} dB", flush=True),
    )
    sw.plot(rows, out / "sweep.png")
    (out / "sweep.md").write_text(sw.table(rows))
    return [r.__dict__ for r in rows]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("image", nargs="?", default=str(ROOT.parent / "shared" / "data" / "images" / "kodim23.png"))
    p.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts ({', '.join(PARTS)})")
    p.add_argument("-o", "--out", default=str(ROOT / "out" / "bench_image"))
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=1000, help="SIREN vs ReLU steps (each)")
    p.add_argument("--batch", type=int, default=8192, help="pixels per step for SIREN vs ReLU and the sweep")
    p.add_argument("--grid-seconds", type=float, default=60.0)
    p.add_argument("--grid-batch", type=int, default=16384)
    p.add_argument("--grid-probe", type=float, default=2.0, help="measure the grid's PSNR every N training seconds")
    p.add_argument("--sr-steps", type=int, default=1500)
    p.add_argument("--sr-width", type=int, default=128)
    p.add_argument("--sr-batch", type=int, default=16384, help="network evaluations per step")
    p.add_argument("--sr-footprint", default="area", choices=["area", "point"])
    p.add_argument("--deblur-steps", type=int, default=2000)
    p.add_argument("--deblur-batch", type=int, default=65536)
    p.add_argument("--deblur-patch", type=int, default=64)
    p.add_argument("--sweep-steps", type=int, default=200)
    p.add_argument("--sweep-widths", type=lambda s: [int(v) for v in s.split(",")], default=[32, 64, 128])
    p.add_argument("--sweep-depths", type=lambda s: [int(v) for v in s.split(",")], default=[1, 2, 3])
    p.add_argument("--quick", action="store_true", help="tiny budgets (checks the script, not the claims)")
    a = p.parse_args(argv)
    if a.quick:
        a.steps, a.grid_seconds, a.sr_steps, a.deblur_steps, a.sweep_steps = 20, 5.0, 20, 20, 10
        a.sweep_widths, a.sweep_depths = [16, 32], [1, 2]
    torch.set_num_threads(a.threads)
    parts = [s.strip() for s in a.only.split(",") if s.strip()]
    unknown = set(parts) - set(PARTS)
    if unknown:
        p.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    img = load_image(a.image)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    report = {
        "image": a.image,
        "size": [img.width, img.height],
        "device": a.device,
        "threads": a.threads,
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "load_average_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }
    sessions = None
    for part in parts:
        print(f"== {part}", flush=True)
        t0 = time.perf_counter()
        if part == "siren_relu" or (part == "derivatives" and sessions is None):
            report["siren_relu"], sessions = part_siren_relu(img, a, out)
        if part == "derivatives":
            report["derivatives"] = part_derivatives(img, sessions, out)
        elif part != "siren_relu":
            report[part] = globals()[f"part_{part}"](img, a, out)
        report.setdefault("wall_seconds", {})[part] = time.perf_counter() - t0
        (out / "bench_image.json").write_text(json.dumps(report, indent=2, default=float))
    report["load_average_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    (out / "bench_image.json").write_text(json.dumps(report, indent=2, default=float))
    print(f"wrote {out / 'bench_image.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
