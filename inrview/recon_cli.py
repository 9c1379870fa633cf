"""`inrview reconstruct SCAN -o OUT.ply`: a watertight surface from a point cloud, optionally beside the
screened Poisson surface of the same points, measured against the data and against a reference mesh.

Normals: --normals auto (the file's, re-oriented when they look unoriented; estimated when absent),
file, orient (re-orient the file's), estimate (ignore the file's), none (the normal-free loss).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from .cli import Progress, add_training_args, config_from_args, write_json
from .errors import InrviewError


def register(sub) -> None:
    from .recon import DEFAULT_MODEL, DEFAULT_SECONDS, MAX_POINTS, NORMAL_MODES

    p = sub.add_parser("reconstruct", help="a watertight surface from a point cloud (with or without normals)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", help="point cloud (.ply, .xyz, .xyzn, .pts, .txt, .csv, .pcd, .npy, .npz)")
    p.add_argument("-o", "--output", required=True, help="output mesh (.ply, .obj, .stl, .glb, .off)")
    r = p.add_argument_group("reconstruction")
    r.add_argument("--normals", choices=list(NORMAL_MODES), default="auto",
                   help="where normals come from (default auto: the file's, else estimated)")
    r.add_argument("--normal-k", type=int, default=30, help="neighbours for normal estimation (default 30)")
    r.add_argument("--max-points", type=int, default=MAX_POINTS,
                   help=f"subsample larger clouds to this many points, with a notice (default {MAX_POINTS})")
    r.add_argument("--resolution", type=int, default=256, help="marching-cubes resolution (default 256)")
    r.add_argument("--trim-far", type=float, default=0.0, metavar="F",
                   help="remove surface farther than F point spacings from every input point (caps over the "
                        "holes of open scans; the result is then open there). Default 0: watertight")
    r.add_argument("--baseline", choices=["poisson"], help="also run screened Poisson on the same points")
    r.add_argument("--baseline-output", metavar="PATH",
                   help="where to write the baseline's mesh (default: OUT with _poisson before the suffix)")
    r.add_argument("--poisson-depth", type=int, default=None, help="Poisson octree depth (default from the point count)")
    r.add_argument("--poisson-trim", type=float, default=0.02,
                   help="remove the Poisson vertices below this density quantile (default 0.02; 0 keeps all)")
    r.add_argument("--reference", metavar="MESH", help="reference mesh: two-sided Chamfer and F-score against it")
    r.add_argument("--no-metrics", action="store_true", help="skip the measures")
    add_training_args(p)
    for action in p._actions:  # the cloud defaults differ from the mesh ones
        if action.dest == "model":
            action.default = DEFAULT_MODEL
            action.choices = ["auto"] + [c for c in action.choices if c != "auto"]
            action.help = ("network family (default: auto, a grid for dense clouds and SIREN for sparse ones; "
                           "relu and fourier get IGR's geometric initialisation)")
        if action.dest == "seconds":
            action.help = f"wall-clock training budget (default {DEFAULT_SECONDS:g} s unless --steps is given)"
    p.set_defaults(func=cmd_reconstruct)


def _config(a, points=None):
    """The fit configuration from the options; model 'auto' is resolved from the points (or checked only,
    when points is None)."""
    from .recon import DEFAULT_SECONDS, config_for
    from .recon.pipeline import DEFAULT_BATCH

    checked = argparse.Namespace(**{**vars(a), "model": "siren" if a.model == "auto" else a.model})
    base = config_from_args(checked)  # validates the shared options
    seconds = a.seconds if a.seconds is not None else (None if a.steps else DEFAULT_SECONDS)
    if a.resolution < 16:
        raise InrviewError("--resolution must be at least 16")
    model = a.model
    if points is None:
        points = np.zeros((1, 3))
        model = "siren" if model == "auto" else model
    return config_for(points, model, normals=a.normals != "none", seconds=seconds, steps=base.train.steps,
                      batch_size=a.batch_size or DEFAULT_BATCH, resolution=a.resolution, device=a.device,
                      seed=a.seed, threads=a.threads, lr=a.lr, width=a.width, depth=a.depth, omega0=a.omega0,
                      grid_levels=a.grid_levels, grid_max_resolution=a.grid_max_res)


def _baseline_path(a) -> Path:
    if a.baseline_output:
        return Path(a.baseline_output)
    out = Path(a.output)
    return out.with_name(out.stem + "_poisson" + out.suffix)


def _measure(points, vertices, faces, reference):
    from .metrics import surface_metrics
    from .metrics import data_fit

    out = {"data_fit": data_fit(points, vertices, faces).to_dict()}
    if reference is not None:
        out["reference"] = surface_metrics(vertices, faces, reference.vertices, reference.faces).to_dict()
    return out


def _line(name, m) -> str:
    d = m["data_fit"]
    s = (f"{name}: data->surface mean {d['mean_rel']:.2e} of the diagonal, far area {100 * d['far_area_fraction']:.2f}%, "
         f"{'watertight' if d['watertight'] else 'NOT watertight'}")
    if "reference" in m:
        r = m["reference"]
        s += f"; vs reference: Chamfer-L1 {r['chamfer_l1']:.3e}, F@{r['threshold']:g} {r['f_score']:.4f}"
    return s


def cmd_reconstruct(a) -> int:
    from .io.export import save_mesh
    from .io.loaders import load
    from .recon import poisson_for, prepare_cloud, reconstruct

    _config(a)  # fail on bad options before loading anything
    if a.max_points < 100:
        raise InrviewError("--max-points must be at least 100")
    if not a.trim_far >= 0:
        raise InrviewError("--trim-far must be 0 or positive")
    t0 = time.perf_counter()
    scan = load(a.input, max_points=a.max_points, seed=a.seed)
    if scan.is_mesh:
        raise InrviewError(f"{a.input}: is a mesh; `inrview reconstruct` wants a point cloud (use `inrview fit`)")
    reference = load(a.reference) if a.reference else None
    if reference is not None and not reference.is_mesh:
        raise InrviewError(f"{a.reference}: the reference must be a mesh")
    cfg = _config(a, scan.vertices)
    try:
        prepared = prepare_cloud(scan, a.normals, k=a.normal_k)
    except ValueError as e:
        raise InrviewError(f"{a.input}: {e}") from None
    for n in prepared[0].notices:
        print(f"notice: {n}", file=sys.stderr)
    t_prep = time.perf_counter() - t0
    bar = Progress(cfg.train, a.quiet, desc="reconstructing")
    try:
        result = reconstruct(scan, cfg, a.normals, progress=bar,
                             device=None if a.device == "auto" else a.device, prepared=prepared)
    finally:
        bar.close()
    trimmed = 0.0
    if a.trim_far > 0:
        from .recon import trim_far

        result.mesh.vertices, result.mesh.faces, trimmed = trim_far(result.mesh.vertices, result.mesh.faces,
                                                                    scan.vertices, a.trim_far)
        print(f"notice: trimmed {100 * trimmed:.1f}% of the surface area far from the points", file=sys.stderr)
    save_mesh(a.output, result.mesh.vertices, result.mesh.faces)
    seconds = result.seconds + t_prep
    session, last = result.session, result.last
    if a.checkpoint:
        session.save_checkpoint(a.checkpoint)
    if result.dropped_pieces:
        print(f"notice: removed {result.dropped_pieces} small closed piece(s) beside the surface", file=sys.stderr)
    data = {"seconds": seconds, "train_seconds": last.elapsed, "steps": last.step, "faces": len(result.mesh.faces),
            "vertices": len(result.mesh.vertices), "device": str(session.trainer.device),
            "final_loss": last.losses.get("total"), "input": str(a.input), "output": str(a.output),
            "points": len(scan.vertices), "normals": prepared[1].to_dict(), "timings": result.timings,
            "config": cfg.to_dict(), "loss": session.task.cfg.to_dict(), "notices": prepared[0].notices,
            "model": cfg.model.kind, "dropped_pieces": result.dropped_pieces, "trimmed_area": trimmed}
    print(f"{a.output}: {len(result.mesh.faces)} faces, {last.step} steps in {last.elapsed:.1f} s training "
          f"({seconds:.1f} s total) on {session.trainer.device.type}; {prepared[1].summary()}")
    if not a.no_metrics:
        m = _measure(scan.vertices, result.mesh.vertices, result.mesh.faces, reference)
        data.update(m)
        print(_line("inrview", m))
    if a.baseline == "poisson":
        res, rep = poisson_for(scan, a.normals, a.poisson_depth, a.poisson_trim,
                               prepared=prepared if prepared[0].normals is not None else None)
        path = _baseline_path(a)
        save_mesh(path, res.vertices, res.faces)
        base = {"method": "screened Poisson (Open3D)", "output": str(path), "seconds": res.seconds,
                "depth": res.depth, "trim_quantile": res.trim_quantile, "removed_vertices": res.removed_vertices,
                "faces": len(res.faces), "vertices": len(res.vertices), "normals": rep.to_dict()}
        print(f"{path}: Poisson depth {res.depth}, {len(res.faces)} faces in {res.seconds:.1f} s")
        if not a.no_metrics:
            m = _measure(scan.vertices, res.vertices, res.faces, reference)
            base.update(m)
            print(_line("poisson", m))
        data["baseline"] = base
    write_json(a.metrics_json, data)
    return 0
