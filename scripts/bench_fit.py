#!/usr/bin/env python
"""Time to a good surface: inrview's defaults against a DeepSDF-paper baseline, in one process.

For each mesh in ../shared/data/meshes (skipped when absent):

1. quality target = point-to-surface Chamfer-L1 of marching cubes over the *exact* signed distance at
   `--target-resolution` (128) cells per side (the same Chamfer as inrview.metrics, 100k samples a way);
2. for each configuration, the wall time from loading the file to the first surface whose Chamfer-L1 is
   at or below that target. Loading, normalisation, sample generation (never from the cache unless
   --cache), training and the extraction of that surface are counted; the checks (extraction + Chamfer
   of the surfaces that missed the target) are not, so checking often does not slow a run down. Network
   surfaces are extracted as inrview exports them (coarse to fine, `--resolution`, 256 by default). Checks
   come at --first-check seconds and then each time the clock has grown by --growth (10%), so a time is
   at most 10% late. Runs stop at their cap.

Configurations: 'default' is `FitConfig()` unchanged (its step budget and learning-rate schedule);
'deepsdf' is the DeepSDF paper's decoder fitted to one shape (Park et al. 2019, Sec. 5 and supplement:
8 x 512 ReLU layers, the input concatenated again at layer 4, weight normalisation, clamped L1 with
delta = 0.1, 16384 samples per batch, Adam at 5e-4; no latent code or dropout for a single shape), with
its learning rate annealed over its cap (the schedule most favourable to it within the cap). On a CPU
one 256^3 extraction of that network takes minutes, so by default the baseline is checked once, when its
budget is spent (behind a 64^3 gate, see GATE): its time is then either the full budget or "> cap".

Runtime on a 2-core CPU: the targets take 5-25 s per mesh, the defaults 10-20 s and the baseline its cap
plus about 30 s: about 15 minutes for the 6 dev meshes with --baseline-cap 90 on three of them.
Subsets: --meshes spot,bob_tri
--configs default. On a GPU: --device cuda --first-check 0.2.

    .venv/bin/python -m scripts.bench_fit --meshes spot,bob_tri --cap 30 --baseline-cap 60
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

import numpy as np  # noqa: E402
import torch  # noqa: E402

from inrview.config import FitConfig, ModelConfig, TrainConfig  # noqa: E402
from inrview.errors import NoSurfaceError  # noqa: E402
from inrview.extract import extract_mesh  # noqa: E402
from inrview.io.geometry import Normalization  # noqa: E402
from inrview.io.loaders import load  # noqa: E402
from inrview.metrics import normalised_scale  # noqa: E402
from inrview.sampling import MeshDistance, sample_surface  # noqa: E402
from inrview.shape import ShapeSession  # noqa: E402

DATA = Path(os.environ.get("INRVIEW_SHARED_DATA", ROOT.parent / "shared" / "data")) / "meshes"


class ExactField:
    """The exact signed distance of the input mesh, with the Field interface the extractor needs."""

    is_distance = True

    def __init__(self, geometry, normalization: Normalization):
        unit = geometry.transformed(normalization)
        self.dist = MeshDistance(unit.vertices, unit.faces)
        self.normalization = normalization

    def evaluate_unit_tensor(self, x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.dist.signed(x.numpy()).astype(np.float32))


def configs(names: list[str], device: str, cap: float, baseline_cap: float) -> dict[str, tuple[FitConfig, float]]:
    out = {}
    for name in names:
        if name in ("", "none"):
            continue
        if name == "default":
            cfg, c = FitConfig(), cap
        elif name == "deepsdf":
            model = ModelConfig(kind="relu", width=512, depth=8, skip=True, weight_norm=True)
            cfg = FitConfig(model=model, train=TrainConfig(lr=5e-4, clamp=0.1, batch_size=16384, seconds=baseline_cap))
            c = baseline_cap
        else:
            raise SystemExit(f"unknown configuration {name!r} (default, deepsdf)")
        out[name] = (replace(cfg, train=replace(cfg.train, device=device)), c)
    return out


#: End-only checks first extract at 64^3; a Chamfer-L1 above GATE x target there counts as a miss without
#: the costly full extraction (marching cubes of the exact SDF at 64^3 is about 4x the 128^3 error, so a
#: field that could pass at 256^3 is well inside this gate).
GATE = 8.0


def chamfer(mesh, geometry, n: int, seed: int = 0) -> float:
    """Point-to-surface Chamfer-L1 exactly as inrview.metrics.surface_metrics computes it (same samples,
    same normalised units), through MeshDistance only, so that it also runs where Open3D is missing."""
    rng = np.random.default_rng(seed)
    scale = normalised_scale(geometry.vertices)
    pred_v, ref_v = np.asarray(mesh.vertices, np.float64) * scale, np.asarray(geometry.vertices, np.float64) * scale
    p_pts, _ = sample_surface(pred_v, mesh.faces, n, rng)
    r_pts, _ = sample_surface(ref_v, geometry.faces, n, rng)
    acc = MeshDistance(ref_v, geometry.faces).unsigned(p_pts)
    comp = MeshDistance(pred_v, mesh.faces, sign="parity").unsigned(r_pts)
    return float((acc.mean() + comp.mean()) / 2)


def quality_target(path: Path, resolution: int, n: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    geom = load(path)
    norm = Normalization.fit(geom.vertices, FitConfig().margin)
    mesh = extract_mesh(ExactField(geom, norm), resolution)
    return chamfer(mesh, geom, n), time.perf_counter() - t0


def time_to_target(
    path: Path,
    cfg: FitConfig,
    target: float,
    cap: float,
    resolution: int,
    first_check: float,
    growth: float,
    n: int,
    use_cache: bool,
    end_only: bool = False,
    check_steps: set[int] | None = None,
) -> dict:
    """Wall seconds from load to the first surface at or below target (checks excluded), or None.

    Checks come at first_check, then every time the pipeline clock has grown by the factor `growth`
    (and at the end of training), so a reported time is at most that factor late. end_only: one check,
    at the end of the training budget, gated by a 64^3 extraction (see GATE). check_steps: check at these
    step counts (and at the end) instead of by the clock (on a GPU, where steps are short and a check is
    not, a step schedule keeps the number of checks down)."""
    if not use_cache:
        os.environ["INRVIEW_NO_CACHE"] = "1"
    dev = torch.device(
        cfg.train.device if cfg.train.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    )
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    t0 = time.perf_counter()
    excluded = 0.0  # seconds spent on checks that are not part of the pipeline
    geom = load(path)
    t_load = time.perf_counter() - t0
    session = ShapeSession(geom, cfg)
    t_sample = session.sampling_seconds
    best, steps, hit, t_extract_hit, t_train_hit = float("inf"), 0, None, None, None
    next_check = first_check
    history = []
    for snap in session.run(report_every=1):
        now = time.perf_counter() - t0 - excluded
        steps = snap.step
        if end_only and not snap.done:
            continue
        if check_steps is not None:
            if steps not in check_steps and not snap.done and now < cap:
                continue
        elif now < next_check and not snap.done and now < cap:
            continue
        sync()
        now = time.perf_counter() - t0 - excluded
        c0 = time.perf_counter()
        try:
            if end_only and chamfer(extract_mesh(session.field, 64, world=True), geom, n // 4) > GATE * target:
                raise NoSurfaceError("far from the target already at 64^3")
            mesh = extract_mesh(session.field, resolution, world=True)
            sync()
            t_extract = time.perf_counter() - c0
            cd = chamfer(mesh, geom, n)
        except NoSurfaceError:
            t_extract, cd = time.perf_counter() - c0, float("inf")
        excluded += time.perf_counter() - c0
        best = min(best, cd)
        history.append((round(now, 3), steps, cd))
        if cd <= target:
            hit, t_extract_hit, t_train_hit = now + t_extract, t_extract, session.trainer.state.elapsed
            break
        if now >= cap:
            break
        next_check = max(now * growth, now + 0.02)
    session.stop()
    os.environ.pop("INRVIEW_NO_CACHE", None)
    st = session.trainer.state
    return {
        "seconds": hit,
        "steps": steps,
        "best": best,
        "load": t_load,
        "sampling": t_sample,
        "extract": t_extract_hit,
        "train": t_train_hit,
        "step_ms": 1e3 * st.elapsed / max(1, st.step),
        "device": str(session.trainer.device),
        "history": history,
    }


def warm_up(device: str) -> None:
    """Pay CUDA's one-time costs (context, cuBLAS, kernels) before any clock starts: a few steps of both
    networks on random data. An application pays them once, not per shape."""
    t = time.perf_counter()
    for mc in (FitConfig().model, ModelConfig(kind="relu", width=512, depth=8, skip=True, weight_norm=True)):
        from inrview.models import build_model
        from inrview.training.cuda_graph import make_adam

        model = build_model(mc).to(device)
        opt = make_adam([{"params": list(model.parameters()), "lr": 1e-4}], 1e-4, torch.device(device))
        x = torch.rand(16384, 3, device=device) * 2 - 1
        for _ in range(3):
            opt.zero_grad()
            model(x).abs().mean().backward()
            opt.step()
    torch.cuda.synchronize()
    print(f"# CUDA warm-up (not counted): {time.perf_counter() - t:.1f} s")


def report(mesh: str, name: str, target: float, cap: float, r: dict) -> None:
    s = f"> {cap:.0f}" if r["seconds"] is None else f"{r['seconds']:.2f}"
    print(
        f"{mesh:18s} {name:8s} target {target:.3e}  time {s:>7s} s  best {r['best']:.3e}  "
        f"steps {r['steps']:5d} ({r['step_ms']:.1f} ms/step)  load {r['load']:.2f} s  "
        f"sampling {r['sampling']:.2f} s"
        + (f"  training {r['train']:.2f} s  extraction {r['extract']:.2f} s" if r["train"] is not None else ""),
        flush=True,
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--meshes", help="comma-separated stems (default: every .obj/.ply in the data folder)")
    p.add_argument("--data", default=str(DATA), help="folder of meshes")
    p.add_argument("--configs", default="default,deepsdf", help="comma-separated; 'none' measures only the targets")
    p.add_argument("--cap", type=float, default=30.0, help="seconds before giving up on the defaults")
    p.add_argument("--baseline-cap", type=float, default=60.0, help="seconds before giving up on the baseline")
    p.add_argument("--baseline-meshes", help="run the baseline on these stems only (default: all)")
    p.add_argument(
        "--baseline-checks",
        choices=["all", "end"],
        default=None,
        help="'end': check the baseline once, when its budget is spent (default on a CPU, where one "
        "256^3 extraction of the 8x512 MLP takes minutes); 'all': like the defaults (GPU default)",
    )
    p.add_argument("--target-resolution", type=int, default=128, help="resolution of the exact-SDF target")
    p.add_argument(
        "--resolution",
        type=int,
        default=FitConfig().resolution,
        help="resolution at which the network's surfaces are extracted (default: inrview's export)",
    )
    p.add_argument("--first-check", type=float, default=2.0, help="pipeline seconds of the first check")
    p.add_argument("--growth", type=float, default=1.1, help="factor of pipeline time between checks")
    p.add_argument("--samples", type=int, default=100_000, help="surface samples per Chamfer direction")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all cores)")
    p.add_argument("--cache", action="store_true", help="let the sample cache serve the samples")
    p.add_argument(
        "--check-steps",
        help="START:STOP:STEP: check the defaults at these step counts instead of "
        "by the clock (e.g. 100:200:10 on a GPU)",
    )
    p.add_argument(
        "--cached-rerun",
        action="store_true",
        help="run the defaults a second time on each mesh with the sample cache on (the first run "
        "stores its samples there): the time of fitting the same file again",
    )
    p.add_argument("--json", help="write all results here")
    p.add_argument(
        "--targets",
        help="take the targets from an earlier --json file (same meshes, same resolution) instead of computing them",
    )
    p.add_argument(
        "--wall",
        action="store_true",
        help="instead: the whole wall time of `inrview fit` (command to written mesh, by phase, and "
        "--seconds budgets) against --previous, as new processes (see scripts/wall_time.py)",
    )
    p.add_argument("--previous", default="fc74b93", help="--wall: the git revision to compare with")
    p.add_argument("--budgets", default="5,10", help="--wall: comma-separated --seconds budgets to check")
    p.add_argument(
        "--budgets-only",
        action="store_true",
        help="--wall: only `inrview fit MESH --seconds S` for each budget, current checkout, with the table of "
        "wall times from launch to exit against S + 3 s (e.g. --budgets 2,5,10,30,60)",
    )
    a = p.parse_args(argv)
    if a.wall:
        from scripts.wall_time import run, run_budgets

        bundled = [ROOT / "inrview" / "resources" / "spot.obj"]
        shared = (
            sorted(f for f in Path(a.data).glob("*") if f.suffix in (".obj", ".ply")) if Path(a.data).is_dir() else []
        )
        if a.meshes:
            shared = [f for f in shared if f.stem in a.meshes.split(",")]
        shared = [f for f in shared if f.read_bytes() != bundled[0].read_bytes()]  # the bundled Spot once
        budgets = [float(x) for x in a.budgets.split(",") if x]
        if a.budgets_only:
            return run_budgets(bundled + shared, budgets, a.samples, a.json)
        return run(bundled + shared, a.previous, budgets, a.samples, a.json)
    if a.baseline_checks is None:
        a.baseline_checks = "all" if a.device.startswith("cuda") else "end"
    if a.threads:
        torch.set_num_threads(a.threads)
    data = Path(a.data)
    if not data.is_dir():
        print(f"bench_fit: {data} not present, nothing to measure")
        return 0
    files = sorted(f for f in data.iterdir() if f.suffix in (".obj", ".ply", ".off", ".stl"))
    if a.meshes:
        want = a.meshes.split(",")
        files = [f for f in files if f.stem in want]
    cfgs = configs(a.configs.split(","), a.device, a.cap, a.baseline_cap)
    dev = torch.cuda.get_device_name() if a.device.startswith("cuda") else f"CPU, {torch.get_num_threads()} threads"
    print(
        f"# bench_fit on {dev}; torch {torch.__version__}; target = exact SDF at {a.target_resolution}^3, "
        f"network surfaces at {a.resolution}^3; checks from {a.first_check} s every x{a.growth}"
    )
    if a.device.startswith("cuda"):
        warm_up(a.device)
    known = {}
    if a.targets:
        known = {r["mesh"]: r["target"] for r in json.loads(Path(a.targets).read_text())["rows"]}
    steps_to_check = None
    if a.check_steps:
        lo, hi, st = (int(x) for x in a.check_steps.split(":"))
        steps_to_check = set(range(lo, hi + 1, st))
    rows = []
    for f in files:
        target = known[f.stem] if f.stem in known else quality_target(f, a.target_resolution, a.samples)[0]
        row = {"mesh": f.stem, "target": target}
        for name, (cfg, cap) in cfgs.items():
            if name != "default" and a.baseline_meshes and f.stem not in a.baseline_meshes.split(","):
                continue
            end_only = name != "default" and a.baseline_checks == "end"
            r = time_to_target(
                f,
                cfg,
                target,
                cap,
                a.resolution,
                a.first_check,
                a.growth,
                a.samples,
                a.cache,
                end_only,
                steps_to_check if name == "default" else None,
            )
            row[name] = r
            report(f.stem, name, target, cap, r)
            if name == "default" and a.cached_rerun:
                if not a.cache:  # the first run did not store its samples: store them now
                    ShapeSession(load(f), cfg)
                r = time_to_target(
                    f, cfg, target, cap, a.resolution, a.first_check, a.growth, a.samples, True, False, steps_to_check
                )
                row["default_cached"] = r
                report(f.stem, "cached", target, cap, r)
        rows.append(row)
    names = list(cfgs)
    print()
    head = "| mesh | target Chamfer-L1 | " + " | ".join(
        f"{n}: to target (s) | {n}: of which sampling (s)" for n in names
    )
    print(
        head
        + (" | baseline / default |" if len(names) == 2 else " |")
        + (" default, samples cached (s) |" if a.cached_rerun else "")
    )
    print("|---" * (2 + 2 * len(names) + (len(names) == 2) + bool(a.cached_rerun)) + "|")

    def fmt(r, cap):
        if r is None:
            return "-", "-"
        t = f"> {cap:.0f}" if r["seconds"] is None else f"{r['seconds']:.2f}"
        return t, f"{r['sampling']:.2f}"

    for row in rows:
        cells = [c for n in names for c in fmt(row.get(n), cfgs[n][1])]
        ratio = ""
        if len(names) == 2:
            ra, rb = row.get(names[0]), row.get(names[1])
            if ra is None or rb is None or ra["seconds"] is None:
                ratio = " - |"
            else:
                b_eff = rb["seconds"] if rb["seconds"] is not None else cfgs[names[1]][1]
                ratio = f" {'' if rb['seconds'] is not None else '> '}{b_eff / ra['seconds']:.1f} |"
        if a.cached_rerun:
            ratio += f" {fmt(row.get('default_cached'), a.cap)[0]} |"
        print(f"| {row['mesh']} | {row['target']:.2e} | " + " | ".join(cells) + " |" + ratio)
    for n in names + (["default_cached"] if a.cached_rerun else []):
        got = [row[n] for row in rows if n in row]
        ts = [r["seconds"] if r["seconds"] is not None else float("inf") for r in got]
        if ts:
            med = statistics.median(ts)
            cached = statistics.median([t - r["sampling"] for t, r in zip(ts, got)])
            print(
                f"median {n}: "
                + (
                    "not reached within the cap"
                    if med == float("inf")
                    else f"{med:.2f} s ({cached:.2f} s without sample generation, as with cached samples)"
                )
            )
    if a.json:
        Path(a.json).write_text(json.dumps({"device": dev, "rows": rows}, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
