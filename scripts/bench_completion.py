"""Completion against the statistical shape model, retrieval and reconstruct, on femurs and hippocampi.

    python -m scripts.bench_completion --collection femur --space femur.safetensors --train-list femur.lst
    python -m scripts.bench_completion --collection hippocampus --space hip.safetensors --train-list hip.lst

The space is trained beforehand (`inrview space fit LIST -o SPACE --seconds 480`); the held-out shapes are
the collection's files not in the training list (the first --heldout of them). Per held-out shape and scan
(full 10k points, half-visible, 300 points; bench_space.scans) Chamfer-L1 (longest side of the true mesh 2)
of: `space complete` as a user runs it (space.scan.complete_scan on the default settings and its default
30 s wall-clock budget: code and pose, adaptation, the refit of dense scans; its wall time is recorded),
the PCA shape model (space.ssm; collections in vertex correspondence only), the nearest training shape
after rigid ICP, and inrview reconstruct. Half scans are also moved by a rigid transform (rotation
--angle degrees about a random axis, translation --shift of the size) and completed the same way. With
--stages, the stages on step budgets too: completion (code only, training frame), posed completion
(space.pose) and posed + adapted (space.adapt). Run it on a quiet machine: the default completion keeps a
time budget, so its figures follow the machine's load. --shapes picks held-out shapes by name, --scans the
scan kinds, --no-baselines leaves retrieval and reconstruct out (the shape model stays: it takes seconds), e.g. for
the moved/unmoved ratio over many shapes: `--scans half --no-baselines --shapes ...`.
Writes docs/bench/completion_<collection><--tag>.md and .jsonl.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import igl
import numpy as np
import torch
from scipy.spatial.transform import Rotation

from inrview.io.loaders import load
from inrview.space import complete, read_space
from inrview.space.adapt import adapt
from inrview.space.pose import complete_posed_steps, posed_mesh, rotation
from inrview.space.scan import complete_scan
from inrview.space.ssm import ShapeModel, _procrustes
from scripts.bench_space import ROOT, chamfer, load_avg, reconstruct_baseline, scans

SHAPES = ROOT.parent / "shared" / "data" / "shapes"


def icp_nearest(points: np.ndarray, train: list, iterations: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """The training mesh (vertices, faces) that fits the points best after rigid ICP (each mesh started on
    the points' centroid), moved onto them."""
    rng = np.random.default_rng(0)
    q = points[rng.choice(len(points), min(1000, len(points)), replace=False)]
    best = (np.inf, None)
    for v, f in train:
        R, t = np.eye(3), q.mean(axis=0) - v.mean(axis=0)
        for _ in range(iterations):
            d2, _, c = igl.point_mesh_squared_distance((q - t) @ R, v, f)
            _, R, t = _procrustes(c, q, False)
        d2, _, _ = igl.point_mesh_squared_distance((q - t) @ R, v, f)
        if np.sqrt(d2).mean() < best[0]:
            best = (np.sqrt(d2).mean(), (v @ R.T + t, f))
    return best[1]


def posed(space, pts, nrm, steps: int):
    """The posed completion's result (the last snapshot's)."""
    last = None
    for snap in complete_posed_steps(space, pts, nrm, steps=steps):
        last = snap
    return last.result


def adapted_mesh(space, res, pts, nrm, steps: int):
    """The posed completion adapted to the points, as a mesh in the scan's frame."""
    unit = res.novelty["pose"]["unit"]
    R = rotation(torch.tensor([unit["axis_angle"]], dtype=torch.float64))[0].numpy()
    p = unit["scale"] * res.normalization.to_unit(pts) @ R.T + np.asarray(unit["t"])
    view, code = adapt(space, res.code, p, None if nrm is None else nrm @ R.T, steps=steps)
    out = type(res)(code, res.normalization, res.residual, res.novelty, res.far, res.message)
    return posed_mesh(view, out, 128)


def moved(vertices: np.ndarray, angle: float, shift: float, seed: int):
    """A rigid transform (rotation by angle degrees about a random axis through the centre, translation by
    shift x the longest side in a random direction) as a function of points and of normals."""
    rng = np.random.default_rng(seed + 100)
    axis, d = rng.normal(size=3), rng.normal(size=3)
    R = Rotation.from_rotvec(np.radians(angle) * axis / np.linalg.norm(axis)).as_matrix()
    c = (vertices.min(axis=0) + vertices.max(axis=0)) / 2
    t = shift * np.ptp(vertices, axis=0).max() * d / np.linalg.norm(d)
    return (lambda x: (x - c) @ R.T + c + t), (lambda n: n @ R.T)


def evaluate(space, path: str, train: list, pca: ShapeModel | None, a, seed: int) -> list[dict]:
    """Rows for one held-out shape."""
    g = load(path)
    truth = (g.vertices, g.faces)
    rows = []
    for scan, (pts, nrm) in scans(g.vertices, g.faces, seed).items():
        if scan not in a.scans:
            continue
        row = {"shape": Path(path).stem.replace(".nii", ""), "scan": scan, "points": len(pts)}
        row.update(default_completion(space, pts, nrm, truth))
        if a.stages:
            row.update(stages(space, pts, nrm, truth, a))
        if pca is not None:
            row["pca"] = chamfer(pca.fit(pts).vertices, pca.faces, *truth)
        if a.baselines:
            row["nearest_icp"] = chamfer(*icp_nearest(pts, train), *truth)
            m = reconstruct_baseline(pts, nrm, a.recon_steps) if a.recon_steps else None
            row["reconstruct"] = np.nan if m is None else chamfer(m.vertices, m.faces, *truth)
        if scan == "half":
            move, turn = moved(g.vertices, a.angle, a.shift, seed)
            done = default_completion(space, move(pts), turn(nrm), (move(g.vertices), g.faces))
            row["moved"], row["moved_seconds"] = done["inrview"], done["inrview_seconds"]
            row["moved_angle_found"] = done["angle_found"]
        rows.append(row)
        print(json.dumps(row, default=float), flush=True)
    return rows


def default_completion(space, pts, nrm, truth) -> dict:
    """`space complete` on its defaults (30 s budget from here): Chamfer-L1, wall seconds, pose angle
    found, whether the surface was refitted from the scan."""
    t0 = time.perf_counter()
    done = complete_scan(space, pts, nrm, seconds=30.0, started=t0)
    return {
        "inrview": chamfer(*_mesh(done.mesh), *truth),
        "inrview_seconds": time.perf_counter() - t0,
        "angle_found": done.result.novelty["pose"]["angle_degrees"],
        "refitted": done.refinement["applied"],
        "prior_points": done.refinement.get("prior_points", 0),
    }


def stages(space, pts, nrm, truth, a) -> dict:
    """The stages on step budgets: code only, posed, posed + adapted (--steps, --adapt-steps)."""
    res = complete(space, pts, nrm, steps=a.steps)
    out = {"complete": chamfer(*_mesh(space.decode(res.code, 128, res.normalization)), *truth)}
    pres = posed(space, pts, nrm, a.steps)
    out["posed"] = chamfer(*_mesh(posed_mesh(space, pres, 128)), *truth)
    out["adapted"] = chamfer(*_mesh(adapted_mesh(space, pres, pts, nrm, a.adapt_steps)), *truth)
    return out


def _mesh(m):
    return m.vertices, m.faces


def markdown(name: str, rows: list[dict], a, head: dict) -> str:
    """The table: mean over held-out shapes per scan kind and method."""
    methods = ["inrview", "complete", "posed", "adapted", "pca", "nearest_icp", "reconstruct", "moved"]
    methods = [m for m in methods if any(m in r for r in rows)]
    lines = [
        f"# Completion benchmark: {name}",
        "",
        f"`python -m scripts.bench_completion --collection {name}`: space {head['space']} "
        f"({head['shapes']} shapes, {head['decoder']} decoder, training error median {head['train_error']:.3g}); "
        f"{len({r['shape'] for r in rows})} held-out "
        f"shapes; inrview: `space complete` on its defaults (30 s budget); stages: {a.steps} completion steps, "
        f"{a.adapt_steps} adaptation steps; reconstruct {a.recon_steps} steps; moved: {a.angle:g} degrees, "
        f"{a.shift:g} of the size, completed like inrview. Load average {head['load_before']} -> "
        f"{load_avg()}. Chamfer-L1, longest side of the true mesh 2, mean over the held-out shapes.",
        "",
        "| scan | " + " | ".join(methods) + " |",
        "|---" * (len(methods) + 1) + "|",
    ]
    for scan in [s for s in ("full", "half", "sparse") if any(x["scan"] == s for x in rows)]:
        r = [x for x in rows if x["scan"] == scan]
        cells = [f"{np.nanmean([x[m] for x in r if m in x]):.2e}" if any(m in x for x in r) else "" for m in methods]
        lines.append(f"| {scan} | " + " | ".join(cells) + " |")
    half = [x for x in rows if x["scan"] == "half" and "moved" in x]
    ratios = ", ".join(f"{x['shape']} {x['moved'] / x['inrview']:.2f}x" for x in half)
    walls = [x["inrview_seconds"] for x in rows] + [x["moved_seconds"] for x in half]
    if half:
        both = np.mean([x["moved"] for x in half]) / np.mean([x["inrview"] for x in half])
        lines += ["", f"Moved half scans against the unmoved (inrview): {ratios}; means {both:.2f}x."]
    lines += [f"inrview's wall time per scan: {min(walls):.1f}-{max(walls):.1f} s (budget 30 s)."]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--collection", choices=["femur", "hippocampus"], required=True)
    p.add_argument("--space", required=True)
    p.add_argument("--train-list", required=True, help="the list file the space was trained on")
    p.add_argument("--heldout", type=int, default=3)
    p.add_argument("--shapes", help="comma-separated held-out shape names to use instead of the first --heldout")
    p.add_argument("--scans", default="full,half,sparse", type=lambda v: v.split(","), help="scan kinds to run")
    p.add_argument("--no-baselines", dest="baselines", action="store_false", help="leave retrieval and reconstruct out")
    p.add_argument("--tag", default="", help="suffix of the output files' names")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--adapt-steps", type=int, default=150)
    p.add_argument("--recon-steps", type=int, default=1000)
    p.add_argument("--angle", type=float, default=25.0)
    p.add_argument("--shift", type=float, default=0.2)
    p.add_argument("--stages", action="store_true", help="also the stages on step budgets (code, pose, adaptation)")
    p.add_argument("--out", default=str(ROOT / "docs" / "bench"))
    a = p.parse_args()
    torch.set_num_threads(1)
    before = load_avg()
    train_files = [ln.strip() for ln in Path(a.train_list).read_text().splitlines() if ln.strip()]
    pattern = "*.ply" if a.collection == "femur" else "*.nii.gz"
    every = sorted(str(f) for f in (SHAPES / a.collection).glob(pattern))
    held = [f for f in every if f not in set(train_files)]
    if a.shapes:  # names or parts of them: S051, 250
        held = [f for f in held if any(n in Path(f).name.split(".")[0] for n in a.shapes.split(","))]
    held = held if a.shapes else held[: a.heldout]
    meshes = [load(f) for f in train_files]
    train = [(m.vertices, m.faces) for m in meshes]
    same_topology = all(len(m.vertices) == len(meshes[0].vertices) for m in meshes) and a.collection == "femur"
    pca = ShapeModel.build([m.vertices for m in meshes], meshes[0].faces) if same_topology else None
    space = read_space(a.space)
    rows = []
    for k, path in enumerate(held):
        rows += evaluate(space, path, train, pca, a, k)
    err = space.header.get("shape_error", [np.nan])
    head = {"space": Path(a.space).name, "shapes": len(space.names), "train_error": float(np.median(err))}
    head["decoder"] = space.header["network"]["kind"]
    head["load_before"] = before
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    name = f"completion_{a.collection}{a.tag}"
    (out / f"{name}.jsonl").write_text("".join(json.dumps(r, default=float) + "\n" for r in rows))
    (out / f"{name}.md").write_text(markdown(a.collection, rows, a, head) + "\n")
    print(markdown(a.collection, rows, a, head))


if __name__ == "__main__":
    main()
