#!/usr/bin/env python
"""Open and thin surfaces: inrview's unsigned target against the signed one, `reconstruct --trim-far` and
trimmed screened Poisson, side by side in one run with one time budget per method.

Cases: the open meshes of the shared data (teapot, bun_zipper, blackVase, the planar sheet) and two
single-layer models made here (a sheet bent into a half cylinder, a sphere shell with a round hole).
Methods, each measured against the mesh (inrview.metrics.open: two-sided Chamfer-L1 in units where the
longest side is 2, F-score at 0.5% and 1% of the longest side, area ratio, boundary edges, non-manifold
edges; self-intersecting triangle pairs, for every method):

- `udf`: `inrview.fit` with target 'udf', the time budget as wall time (loading and sampling included);
- `sdf`: the same with the signed target (a sheet becomes a thin closed shell, an open scan is closed);
- `trim-far`: `inrview reconstruct --trim-far 3` on 100k points sampled on the mesh with face normals;
- `poisson`: screened Poisson on the same points, density-trimmed (inrview.recon.poisson, its defaults).

It also times the extraction at 128^3 of the unsigned field against the signed extraction of the signed
field (same network family, best of five, the two in turn), and with --models compares network families on
the target.

    .venv/bin/python -m scripts.bench_open --seconds 60
    .venv/bin/python -m scripts.bench_open --cases planar_mesh,bent_sheet --models grid,relu,siren --only udf
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("INRVIEW_SHARED_DATA", ROOT.parent / "shared" / "data"))
SHARED = {
    "teapot": "meshes/teapot.obj",
    "bun_zipper": "open_meshes/bun_zipper.ply",
    "blackVase": "open_meshes/blackVase_decimated.ply",
    "planar_mesh": "open_meshes/planar_mesh.ply",
}


def bent_sheet(nu: int = 80, nv: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """A 2 x 1 rectangle bent into half a cylinder of radius 0.6 (single layer, one boundary loop)."""
    u, v = np.meshgrid(np.linspace(0, np.pi, nu), np.linspace(-1, 1, nv), indexing="ij")
    verts = np.stack([0.6 * np.cos(u), 0.6 * np.sin(u) + 0.2 * v**2, v], axis=-1).reshape(-1, 3)
    return verts, grid_faces(nu, nv)


def shell_with_hole(nu: int = 60, nv: int = 120, hole: float = 0.6) -> tuple[np.ndarray, np.ndarray]:
    """A unit sphere shell (single layer) with a round hole of `hole` radians around its north pole."""
    th, ph = np.meshgrid(
        np.linspace(hole, np.pi - 1e-3, nu), np.linspace(0, 2 * np.pi, nv, endpoint=False), indexing="ij"
    )
    verts = np.stack([np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)], axis=-1).reshape(-1, 3)
    faces = grid_faces(nu, nv, wrap=True)
    return verts, faces


def grid_faces(nu: int, nv: int, wrap: bool = False) -> np.ndarray:
    """Two triangles per quad of an nu x nv vertex grid (vertex i * nv + j); wrap joins the last column to the first."""
    i, j = np.meshgrid(np.arange(nu - 1), np.arange(nv if wrap else nv - 1), indexing="ij")
    a, b = i * nv + j, i * nv + (j + 1) % nv
    c, d = a + nv, b + nv
    return np.concatenate([np.stack([a, b, d], -1).reshape(-1, 3), np.stack([a, d, c], -1).reshape(-1, 3)])


def case_paths(names: list[str], folder: Path) -> dict[str, Path]:
    from inrview.io.export import save_mesh

    out = {}
    for name in names:
        if name in SHARED:
            if (DATA / SHARED[name]).exists():
                out[name] = DATA / SHARED[name]
        else:
            v, f = {"bent_sheet": bent_sheet, "shell_with_hole": shell_with_hole}[name]()
            out[name] = save_mesh(folder / f"{name}.ply", v, f)
    return out


def measure(row: dict, v, f, ref, self_check: bool) -> dict:
    from inrview.metrics.open import open_surface_metrics, self_intersections

    m = open_surface_metrics(v, f, ref.vertices, ref.faces, n_samples=100_000)
    row.update(
        chamfer_l1=m.chamfer_l1,
        f_half=m.f_score_half,
        f_1=m.f_score,
        area_ratio=m.area_ratio,
        boundary_edges=m.boundary_edges,
        reference_boundary_edges=m.reference_boundary_edges,
        non_manifold_edges=m.non_manifold_edges,
        faces=len(f),
    )
    if self_check:
        row["self_intersections"] = self_intersections(v, f)
    return row


def run_fit(path: Path, target: str, model: str, seconds: float, resolution: int, steps: int | None = None):
    from inrview.config import FitConfig, TrainConfig, model_config
    from inrview.shape import fit

    train = TrainConfig(steps=steps) if steps else TrainConfig(seconds=seconds)
    cfg = FitConfig(model=model_config(model), target=target, train=train, resolution=resolution)
    t0 = time.perf_counter()
    r = fit(path, cfg, measure=False, started=t0)
    return r, time.perf_counter() - t0


def time_extractions(udf_field, sdf_field, resolution: int = 128, repeats: int = 5) -> tuple[float, float]:
    """Best time of `repeats` extractions of each field at `resolution`, the two taken in turn so that a change
    in the machine's load falls on both."""
    from inrview.extract import extract_mesh

    best = [float("inf"), float("inf")]
    for _ in range(repeats):
        for i, field in enumerate((udf_field, sdf_field)):
            t = time.perf_counter()
            extract_mesh(field, resolution)
            best[i] = min(best[i], time.perf_counter() - t)
    return best[0], best[1]


def run_cloud_methods(name: str, path: Path, ref, a, folder: Path) -> list[dict]:
    from inrview.io.export import save_mesh, save_points
    from inrview.io.loaders import load
    from inrview.io.surface import sample_cloud
    from inrview.recon.poisson import poisson_reconstruct

    pts, nrm = sample_cloud(ref.vertices, ref.faces, 100_000, seed=0)
    cloud = save_points(folder / f"{name}_points.ply", pts, nrm)
    rows = []
    if "trim-far" in a.only:
        out = folder / f"{name}_trim.ply"
        cmd = [sys.executable, "-m", "inrview", "reconstruct", str(cloud), "-o", str(out), "--seconds", str(a.seconds)]
        t0 = time.perf_counter()
        subprocess.run([*cmd, "--trim-far", "3", "--no-metrics", "--quiet"], check=True, cwd=ROOT)
        mesh = load(out)
        rows.append(
            measure(
                {"case": name, "method": "trim-far", "seconds": time.perf_counter() - t0},
                mesh.vertices,
                mesh.faces,
                ref,
                not a.no_self_check,
            )
        )
    if "poisson" in a.only:
        p = poisson_reconstruct(pts, nrm)
        save_mesh(folder / f"{name}_poisson.ply", p.vertices, p.faces)
        rows.append(
            measure(
                {"case": name, "method": "poisson", "seconds": p.seconds}, p.vertices, p.faces, ref, not a.no_self_check
            )
        )
    return rows


def run_case(name: str, path: Path, a, folder: Path, out) -> None:
    from inrview.io.loaders import load

    ref = load(path)
    fields = {}
    for model in a.models:
        for target in [t for t in ("udf", "sdf") if t in a.only]:
            r, secs = run_fit(path, target, model, a.seconds, a.resolution, a.steps)
            row = {"case": name, "method": target, "model": model, "seconds": secs, "steps": r.last.step}
            emit(out, measure(row, r.mesh.vertices, r.mesh.faces, ref, not a.no_self_check))
            fields[target] = r.field
    if {"udf", "sdf"} <= set(fields):
        u, s = time_extractions(fields["udf"], fields["sdf"])
        emit(out, {"case": name, "method": "extract128", "udf_seconds": u, "sdf_seconds": s, "ratio": u / s})
    for row in run_cloud_methods(name, path, ref, a, folder):
        emit(out, row)


def emit(out, row: dict) -> None:
    row["load"] = os.getloadavg()[0]
    print(json.dumps(row), flush=True)
    out.write(json.dumps(row) + "\n")
    out.flush()


def table(path: Path) -> str:
    rows = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    lines = [
        "| case | method | Chamfer-L1 | F@0.5% | F@1% | area ratio | boundary edges (ref) | non-manifold | self-int. "
        "| time s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["method"] == "extract128":
            continue
        method = r["method"] + (f" ({r['model']})" if "model" in r else "")
        si = r.get("self_intersections", "")
        lines.append(
            f"| {r['case']} | {method} | {r['chamfer_l1']:.2e} | {r['f_half']:.3f} | {r['f_1']:.3f} | "
            f"{r['area_ratio']:.2f} | {r['boundary_edges']} ({r['reference_boundary_edges']}) | "
            f"{r['non_manifold_edges']} | {si} | {r['seconds']:.0f} |"
        )
    ext = [r for r in rows if r["method"] == "extract128"]
    if ext:
        lines += ["", "| case | udf extraction 128^3 s | sdf extraction 128^3 s | ratio |", "|---|---|---|---|"]
        lines += [f"| {r['case']} | {r['udf_seconds']:.2f} | {r['sdf_seconds']:.2f} | {r['ratio']:.2f} |" for r in ext]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", default="planar_mesh,bent_sheet,shell_with_hole,teapot,bun_zipper,blackVase")
    p.add_argument("--only", default="udf,sdf,trim-far,poisson", help="methods to run (comma-separated)")
    p.add_argument("--models", default="grid", help="network families for the inrview fits (comma-separated)")
    p.add_argument("--seconds", type=float, default=60.0, help="time budget per method (default 60)")
    p.add_argument("--steps", type=int, default=None, help="a budget in steps for the inrview fits instead")
    p.add_argument("--resolution", type=int, default=256)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads for the in-process fits")
    p.add_argument("--no-self-check", action="store_true", help="skip the self-intersection test")
    p.add_argument("--results", type=Path, default=Path(tempfile.gettempdir()) / "bench_open.jsonl")
    p.add_argument("--table", action="store_true", help="print the table of --results and stop")
    a = p.parse_args(argv)
    if a.table:
        print(table(a.results))
        return 0
    import torch

    torch.set_num_threads(a.threads)
    a.only, a.models = a.only.split(","), a.models.split(",")
    folder = Path(tempfile.mkdtemp(prefix="bench_open_"))
    print(f"# uptime: {os.getloadavg()}; outputs in {folder}", flush=True)
    with open(a.results, "a") as out:
        for name, path in case_paths(a.cases.split(","), folder).items():
            run_case(name, path, a, folder, out)
    print(table(a.results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
