"""Shape-space benchmark: completion of held-out shapes from full, half-visible, sparse and noisy scans,
against the nearest training shape and against single-shape reconstruction without a prior.

    python -m scripts.bench_space                        # femurs and pybullet's random objects, SDF + occupancy
    python -m scripts.bench_space --collection femur --target sdf --heldout 4 --train-seconds 120

Chamfer-L1 is point-to-surface against the true mesh, in units where the true mesh's longest bounding-box
side is 2 (inrview.metrics.surface_metrics). Scans are drawn from the true meshes with exact normals:
full (10k points), half (the points on one side of a random plane through the bounding-box centre), sparse
(300 points) and noisy (10k points, sigma 0.5% of the diagonal). Baselines: (a) the training shape whose
surface is nearest to the scan's points on average (same frame: joint normalisation; per-shape spaces
compare in the unit cube), (b) inrview reconstruct's pipeline (inrview.recon.reconstruct) on the same points.
Writes docs/bench/space_<collection>.md and .jsonl.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from inrview.config.space import SpaceTrainConfig
from inrview.io.collection import load_collection
from inrview.io.loaders import load
from inrview.io.surface import sample_cloud
from inrview.metrics import surface_metrics
from inrview.metrics.cloud import point_to_surface
from inrview.space import SpaceFit, complete, read_space
from inrview.training.space import space_threads

ROOT = Path(__file__).resolve().parent.parent
FEMURS = ROOT.parent / "shared" / "data" / "shapes" / "femur"
SCANS = ("full", "half", "sparse", "noisy")


def load_avg() -> str:
    """The machine's load averages (1, 5, 15 minutes) as text."""
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def collection_files(name: str) -> tuple[list[str], str]:
    """Member files of a collection and the normalisation it is trained with."""
    if name == "femur":
        return sorted(glob.glob(str(FEMURS / "*.ply"))), "joint"
    import pybullet_data

    files = sorted(glob.glob(os.path.join(pybullet_data.getDataPath(), "random_urdfs", "*", "*.obj")))
    return [f for f in files if "_vhacd" not in f and "collision" not in f], "per-shape"


def scans(vertices: np.ndarray, faces: np.ndarray, seed: int) -> dict:
    """The four scans of a true mesh (world units): {name: (points (N, 3), normals (N, 3))}."""
    pts, nrm = sample_cloud(vertices, faces, 10_000, seed=seed)
    rng = np.random.default_rng(seed + 1)
    d = rng.normal(size=3)
    centre = (vertices.min(axis=0) + vertices.max(axis=0)) / 2
    side = (pts - centre) @ (d / np.linalg.norm(d)) > 0
    sparse = sample_cloud(vertices, faces, 300, seed=seed + 2)
    noisy = sample_cloud(vertices, faces, 10_000, noise=0.005, seed=seed + 3)
    return {"full": (pts, nrm), "half": (pts[side], nrm[side]), "sparse": sparse, "noisy": noisy}


def chamfer(mesh_v, mesh_f, true_v, true_f) -> float:
    """Chamfer-L1 of a mesh against the true mesh (longest side of the true mesh 2)."""
    return surface_metrics(mesh_v, mesh_f, true_v, true_f, n_samples=30_000, iou_samples=1000).chamfer_l1


def nearest_training(points: np.ndarray, train: list, place) -> tuple[int, float]:
    """Index of the training mesh (in the frame `place` maps to) with the smallest mean distance from the
    points, and that distance."""
    best = (0, np.inf)
    for i, (v, f) in enumerate(train):
        d = float(point_to_surface(place(points), v, f).mean())
        best = min(best, (i, d), key=lambda t: t[1])
    return best


def reconstruct_baseline(points, normals, steps: int):
    """inrview reconstruct's pipeline on the points (normals given) for a step budget (a time budget would
    measure the machine's load); None when it yields no surface."""
    from inrview.errors import InrviewError
    from inrview.recon.pipeline import as_cloud, config_for, reconstruct

    try:
        cfg = config_for(points, seconds=None, steps=steps)
        return reconstruct(as_cloud(points, normals), cfg).mesh
    except InrviewError:
        return None


def fit_space(
    files: list[str], normalise: str, target: str, epochs: int, seconds: float | None, out: Path
) -> tuple[Path, dict]:
    """Train a space on files (written to a list file) for epochs (or seconds); returns (checkpoint, timing
    row with wall and CPU seconds: on a shared machine the CPU time is what the run would take alone)."""
    lst = out.parent / f"{out.stem}.lst"
    lst.write_text("\n".join(files) + "\n")
    before = load_avg()
    t0, c0 = time.perf_counter(), time.process_time()
    fit = SpaceFit(
        lst,
        SpaceTrainConfig(target=target, epochs=epochs, seconds=seconds, device="cpu"),
        normalise=normalise,
        notify=lambda m: print("  notice:", m),
    )
    t1, c1 = time.perf_counter(), time.process_time()
    for snap in fit.run(report_every=200):
        print(
            f"  step {snap.step} epoch {snap.epoch:.0f} loss {snap.losses.get('data', 0):.4g} {snap.elapsed:.0f}s",
            flush=True,
        )
    c2 = time.process_time()
    fit.save(out)
    t2 = time.perf_counter()
    last = fit.last
    return out, {
        "shapes": len(fit.collection),
        "sample_seconds": t1 - t0,
        "train_seconds": last.elapsed,
        "sample_cpu_seconds": c1 - c0,
        "train_cpu_seconds": c2 - c1,
        "total_seconds": t2 - t0,
        "steps": last.step,
        "epochs": last.epoch,
        "median_shape_error": float(np.median(last.shape_error)),
        "load_before": before,
        "load_after": load_avg(),
    }


def decode_rate(space, n: int = 8) -> float:
    """Decodes per second at 64^3 along the line between the first two codes."""
    z0, z1 = space.codes[0], space.codes[min(1, len(space.codes) - 1)]
    t0 = time.perf_counter()
    for t in np.linspace(0, 1, n):
        space.decode((1 - t) * z0 + t * z1, 64)
    return n / (time.perf_counter() - t0)


def evaluate_shape(space, path: str, train: list, recon: dict, recon_steps: int, seed: int) -> list[dict]:
    """Rows for one held-out shape: each scan completed, with both baselines. train: the training meshes
    as (vertices, faces), in world units for joint spaces and in the unit cube for per-shape ones."""
    from inrview.io.geometry import Normalization

    g = load(path)
    rows = []
    for scan, (pts, nrm) in scans(g.vertices, g.faces, seed).items():
        t0 = time.perf_counter()
        res = complete(space, pts, nrm, steps=300)
        mesh = space.decode(res.code, 128, res.normalization)
        t_complete = time.perf_counter() - t0
        row = {
            "shape": Path(path).stem,
            "scan": scan,
            "points": len(pts),
            "complete": chamfer(mesh.vertices, mesh.faces, g.vertices, g.faces),
            "complete_seconds": t_complete,
            "far": res.far,
            "residual": res.residual,
            "novelty": res.novelty,
        }
        if space.normalise == "joint":
            i, _ = nearest_training(pts, train, lambda p: p)
            row["nearest"] = chamfer(*train[i], g.vertices, g.faces)
        else:  # compare in the unit cube: the scan placed by its own box, like the completion
            norm = Normalization.fit(pts, 0.1)
            i, _ = nearest_training(pts, train, norm.to_unit)
            row["nearest"] = chamfer(norm.to_world(train[i][0]), train[i][1], g.vertices, g.faces)
        key = (path, scan)
        if key not in recon:
            m = reconstruct_baseline(pts, nrm, recon_steps)
            recon[key] = np.nan if m is None else chamfer(m.vertices, m.faces, g.vertices, g.faces)
        row["reconstruct"] = recon[key]
        rows.append(row)
        print(
            f"    {row['shape']} {scan:6s} complete {row['complete']:.4f} nearest {row['nearest']:.4f} "
            f"reconstruct {row['reconstruct']:.4f}{' FAR' if res.far else ''}",
            flush=True,
        )
    return rows


def foreign_check(space, path: str, seed: int) -> dict:
    """Whether a shape the space has never seen is flagged: a box with the bounding box of a held-out
    shape, scanned in full (10k points)."""
    import trimesh

    v = load(path).vertices
    box = trimesh.creation.box(extents=np.ptp(v, axis=0))
    box.apply_translation((v.min(axis=0) + v.max(axis=0)) / 2)
    pts, nrm = sample_cloud(box.vertices, box.faces, 10_000, seed=seed)
    res = complete(space, pts, nrm, steps=300)
    return {"shape": "box", "far": res.far, "residual": res.residual, "novelty": res.novelty, "message": res.message}


def summarise(rows: list[dict]) -> dict:
    """Mean Chamfer per scan kind for completion and both baselines, with the acceptance ratios."""
    out = {}
    for scan in SCANS:
        r = [x for x in rows if x["scan"] == scan]
        if not r:
            continue
        c, n, b = (float(np.nanmean([x[k] for x in r])) for k in ("complete", "nearest", "reconstruct"))
        out[scan] = {
            "complete": c,
            "nearest": n,
            "reconstruct": b,
            "vs_nearest": c / n,
            "vs_better_baseline": c / min(n, b) if np.isfinite(b) else c / n,
            "far_flags": int(sum(x["far"] for x in r)),
            "shapes": len(r),
        }
    return out


def training_meshes(lst: Path, normalise: str) -> list:
    """The training meshes as (vertices, faces): world units (joint) or the unit cube (per-shape)."""
    col = load_collection(lst, normalise)
    if normalise == "joint":
        return [(n.to_world(g.vertices), g.faces) for g, n in zip(col.shapes, col.normalizations)]
    return [(g.vertices, g.faces) for g in col.shapes]


def run_collection(name: str, targets: list[str], a) -> list[dict]:
    """Train and evaluate one collection for each target; returns the JSON rows (one per space + summaries)."""
    files, normalise = collection_files(name)
    rng = np.random.default_rng(a.seed)
    order = rng.permutation(len(files)) if name != "femur" else np.arange(len(files))
    train = [files[i] for i in order[: a.train]]
    held = [files[i] for i in order[a.train : a.train + a.heldout]]
    work = Path(a.work) / name
    work.mkdir(parents=True, exist_ok=True)
    rows, recon = [], {}
    for target in targets:
        print(f"{name}: {len(train)} training shapes, {len(held)} held out, {target}, load {load_avg()}", flush=True)
        ckpt, timing = fit_space(
            train, normalise, target, a.train_epochs, a.train_seconds, work / f"{target}.safetensors"
        )
        space = read_space(ckpt)
        timing["decodes_per_second_64"] = decode_rate(space)
        meshes = training_meshes(work / f"{target}.lst", normalise)
        shape_rows = []
        for k, path in enumerate(held):
            shape_rows += evaluate_shape(space, path, meshes, recon, a.recon_steps, a.seed + k)
        foreign = foreign_check(space, held[0], a.seed)
        rows.append(
            {
                "collection": name,
                "target": target,
                "kind": "space",
                "normalise": normalise,
                **timing,
                "summary": summarise(shape_rows),
                "foreign": foreign,
                "load_end": load_avg(),
            }
        )
        rows += [{"collection": name, "target": target, "kind": "shape", **r} for r in shape_rows]
    return rows


def markdown(name: str, rows: list[dict], a) -> str:
    """The benchmark table of one collection."""
    lines = [
        f"# Shape-space benchmark: {name}",
        "",
        f"`python -m scripts.bench_space --collection {name}` ({a.train} training shapes, {a.heldout} held "
        f"out; training budget {a.train_seconds or a.train_epochs} {'s' if a.train_seconds else 'epochs'}; "
        f"reconstruct baseline {a.recon_steps} steps per scan; "
        f"CPU threads per process {space_threads()}). Chamfer-L1, longest side of the true mesh 2; means over "
        "the held-out shapes.",
        "",
    ]
    for r in (x for x in rows if x["kind"] == "space"):
        lines += [
            f"## {r['target']} space: {r['shapes']} shapes, {r['epochs']:.0f} epochs ({r['steps']} steps) in "
            f"{r['train_seconds']:.0f} s training ({r['train_cpu_seconds']:.0f} CPU s) + {r['sample_seconds']:.0f} s "
            f"sampling ({r['sample_cpu_seconds']:.0f} CPU s); decode 64^3: "
            f"{r['decodes_per_second_64']:.1f}/s; load average {r['load_before']} -> {r['load_end']}",
            "",
            "| scan | completion | nearest training shape | reconstruct (no prior) | completion / nearest "
            "| completion / better baseline | flagged far |",
            "|---|---|---|---|---|---|---|",
        ]
        for scan, s in r["summary"].items():
            lines.append(
                f"| {scan} | {s['complete']:.4f} | {s['nearest']:.4f} | {s['reconstruct']:.4f} | "
                f"{s['vs_nearest']:.2f} | {s['vs_better_baseline']:.2f} | {s['far_flags']}/{s['shapes']} |"
            )
        f = r["foreign"]
        lines += [
            "",
            f"A box with a held-out shape's bounding box (10k points): "
            f"{'flagged far' if f['far'] else 'NOT flagged'} (residual {f['residual']:.3g}).",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--collection", choices=["femur", "urdf", "both"], default="both")
    p.add_argument("--target", choices=["sdf", "occupancy", "both"], default="both")
    p.add_argument("--train", type=int, default=40, help="training shapes (default 40)")
    p.add_argument("--heldout", type=int, default=6, help="held-out shapes evaluated (default 6)")
    p.add_argument("--train-epochs", type=int, default=1000, help="space training budget (default 1000)")
    p.add_argument("--train-seconds", type=float, default=None, help="a time budget instead of epochs")
    p.add_argument("--recon-steps", type=int, default=1000, help="reconstruct baseline steps per scan (1000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work", default="/tmp/inrview_bench_space", help="folder for the trained spaces")
    p.add_argument("--out", default=str(ROOT / "docs" / "bench"))
    a = p.parse_args()
    torch.set_num_threads(space_threads())
    targets = ["sdf", "occupancy"] if a.target == "both" else [a.target]
    for name in ["femur", "urdf"] if a.collection == "both" else [a.collection]:
        rows = run_collection(name, targets, a)
        out = Path(a.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / f"space_{name}.jsonl").write_text("".join(json.dumps(r, default=float) + "\n" for r in rows))
        (out / f"space_{name}.md").write_text(markdown(name, rows, a) + "\n")
        print(markdown(name, rows, a))


if __name__ == "__main__":
    main()
