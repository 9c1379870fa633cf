"""`inrview reconstruct SCAN -o OUT.ply`: a watertight surface from a point cloud, optionally beside the
screened Poisson surface of the same points, measured against the data and against a reference mesh.

Normals: --normals auto (the file's, re-oriented when they look unoriented; estimated when absent),
file, orient (re-orient the file's), estimate (ignore the file's), none (the normal-free loss).
"""

from __future__ import annotations

import argparse
import time
from inspect import signature
from pathlib import Path

import numpy as np

from .. import cli
from ..config import FAMILIES, default_lr
from ..errors import InrviewError
from ..io.export import save_mesh
from ..io.formats import MESH_EXPORT_FORMATS
from ..io.loaders import load
from ..metrics import data_fit, surface_metrics
from ..recon import DEFAULT_SECONDS, MAX_POINTS, NORMAL_MODES, config_for, poisson_for, prepare_cloud
from ..recon import pipeline as rp
from ..recon.cleanup import trim_far
from ..recon.pipeline import reconstruct
from ..shape.pipeline import Hooks
from .checks import check_input, check_output, raise_problems, save_safely
from .common import (
    Parser,
    Say,
    TrainingDefaults,
    add_resolution_arg,
    add_training_args,
    family_options,
    non_negative_float,
    positive_int,
    write_json,
)
from .fit_hooks import MESH_HELP, CommandHooks, check_mesh_outputs, command_started, resolution_notice
from .waiting import Waiting


def cloud_defaults() -> TrainingDefaults:
    """The training defaults of a cloud fit, read from the reconstruction pipeline's own choices."""
    cfgs = {k: rp.default_config(model=k) for k in FAMILIES}
    siren_deep = rp.config_for(np.zeros((rp.SIREN_DEEP_POINTS, 3)), "siren").model
    siren = rp.config_for(np.zeros((1, 3)), "siren").model
    return TrainingDefaults(
        model=rp.DEFAULT_MODEL,
        models=(rp.DEFAULT_MODEL, *FAMILIES),
        steps=None,
        seconds=rp.DEFAULT_SECONDS,
        batch_size=rp.DEFAULT_BATCH,
        sizes={k: (c.model.width, c.model.depth) for k, c in cfgs.items()},
        lr={k: c.train.lr or default_lr(k, 3, None) for k, c in cfgs.items()},
        omega0=f"{siren.omega0:g}, {siren_deep.omega0:g} from {rp.SIREN_DEEP_POINTS} points; SIREN depth "
        f"{siren.depth}, {siren_deep.depth} from there",
        grid_levels=str(cfgs["grid"].model.grid.levels),
        grid_max_res=str(cfgs["grid"].model.grid.max_resolution),
    )


def _args(p) -> None:
    p.description = __doc__
    p.add_argument("input", help="point cloud (.ply, .xyz, .xyzn, .pts, .txt, .csv, .pcd, .npy, .npz)")
    p.add_argument("-o", "--output", required=True, help=MESH_HELP)
    r = p.add_argument_group("reconstruction")
    r.add_argument(
        "--normals",
        choices=list(NORMAL_MODES),
        default="auto",
        help="where normals come from (default auto: the file's, else estimated)",
    )
    k = signature(rp.prepare_cloud).parameters["k"].default
    r.add_argument("--normal-k", type=positive_int, default=k, help=f"neighbours for normal estimation (default {k})")
    r.add_argument(
        "--max-points",
        type=positive_int,
        default=MAX_POINTS,
        help=f"subsample larger clouds to this many points, with a notice (default {MAX_POINTS})",
    )
    add_resolution_arg(r)
    r.add_argument(
        "--trim-far",
        type=non_negative_float,
        default=0.0,
        metavar="F",
        help="remove surface farther than F point spacings from every input point (caps over the "
        "holes of open scans; the result is then open there). Default 0: watertight",
    )
    r.add_argument("--baseline", choices=["poisson"], help="also run screened Poisson on the same points")
    r.add_argument(
        "--baseline-output",
        metavar="PATH",
        help="where to write the baseline's mesh (default: OUT with _poisson before the suffix)",
    )
    r.add_argument("--poisson-depth", type=positive_int, help="Poisson octree depth (default from the point count)")
    trim = signature(rp.poisson_for).parameters["trim_quantile"].default
    r.add_argument(
        "--poisson-trim",
        type=non_negative_float,
        default=trim,
        help=f"remove the Poisson vertices below this density quantile (default {trim:g}; 0 keeps all)",
    )
    r.add_argument("--reference", metavar="MESH", help="reference mesh: two-sided Chamfer and F-score against it")
    r.add_argument("--no-metrics", action="store_true", help="skip the measures")
    add_training_args(p, cloud_defaults())
    p.set_defaults(func=cmd_reconstruct)


def cloud_config(a, points=None):
    """The fit configuration the options ask for; model 'auto' is resolved from the points (points None:
    a stand-in cloud, for the checks made before loading)."""
    seconds = a.seconds if a.seconds is not None else (None if a.steps else DEFAULT_SECONDS)
    given = {k: v for k, v in (("steps", a.steps), ("batch_size", a.batch_size)) if v}
    return config_for(
        np.zeros((1, 3)) if points is None else points,
        a.model,
        normals=a.normals != "none",
        seconds=seconds,
        resolution=a.resolution,
        device=a.device,
        seed=a.seed,
        threads=a.threads,
        lr=a.lr,
        width=a.width,
        depth=a.depth,
        **family_options(a),
        **given,
    )


def _baseline_path(a) -> Path:
    if a.baseline_output:
        return Path(a.baseline_output)
    out = Path(a.output)
    return out.with_name(out.stem + "_poisson" + out.suffix)


def _measure(points, vertices, faces, reference):
    out = {"data_fit": data_fit(points, vertices, faces).to_dict()}
    if reference is not None:
        out["reference"] = surface_metrics(vertices, faces, reference.vertices, reference.faces).to_dict()
    return out


def _line(name, m) -> str:
    d = m["data_fit"]
    s = (
        f"{name}: data->surface mean {d['mean_rel']:.2e} of the diagonal, far area "
        f"{100 * d['far_area_fraction']:.2f}%, {'watertight' if d['watertight'] else 'NOT watertight'}"
    )
    if "reference" in m:
        r = m["reference"]
        s += f"; vs reference: Chamfer-L1 {r['chamfer_l1']:.3e}, F@{r['threshold']:g} {r['f_score']:.4f}"
    return s


def _load(a, scan=None):
    """The checks, then the cloud (`scan` when the caller read it already) and the reference mesh."""
    if a.max_points < 100:
        raise InrviewError("--max-points must be at least 100")
    check_mesh_outputs(a, cloud_config(a))
    if a.baseline:
        check_output(_baseline_path(a), "--baseline-output", MESH_EXPORT_FORMATS)
    check_input(a.input)
    if a.reference:
        check_input(a.reference)
    if scan is None:
        scan = load(a.input, max_points=a.max_points, seed=a.seed)
    if scan.is_mesh:
        raise InrviewError(f"{a.input}: is a mesh; `inrview reconstruct` wants a point cloud (use `inrview fit`)")
    reference = load(a.reference) if a.reference else None
    if reference is not None and not reference.is_mesh:
        raise InrviewError(f"{a.reference}: the reference must be a mesh")
    return scan, reference


class TrimHook(Hooks):
    """--trim-far: the surface farther than `factor` point spacings from every point removed, with a notice."""

    def __init__(self, points, factor: float, say):
        self.points, self.factor, self.say = points, factor, say
        self.trimmed = 0.0

    def finish(self, mesh, session):
        mesh.vertices, mesh.faces, self.trimmed = trim_far(mesh.vertices, mesh.faces, self.points, self.factor)
        self.say.notice(f"trimmed {100 * self.trimmed:.1f}% of the surface area far from the points")
        return mesh


def cmd_reconstruct(a, scan=None) -> int:
    """Fit the cloud (`scan` when the caller read it already) with the shape pipeline, write the surface (and
    the Poisson baseline); summary lines and JSON. --seconds is wall time from the command to the measured
    surface."""
    say = Say(a.quiet)
    scan, reference = _load(a, scan)
    cfg = cloud_config(a, scan.vertices)
    try:
        with Waiting(a.quiet, f"preparing the normals of {len(scan.vertices)} points ({a.normals})"):
            prepared = prepare_cloud(scan, a.normals, k=a.normal_k)
    except ValueError as e:
        raise InrviewError(f"{a.input}: {e}") from None
    for n in prepared[0].notices:
        say.notice(n)
    hooks = [CommandHooks(a, cfg.train, 0.0, desc="reconstructing")]
    trim = TrimHook(scan.vertices, a.trim_far, say) if a.trim_far > 0 else None
    measure = None if a.no_metrics else lambda s, m: _measure(scan.vertices, m.vertices, m.faces, reference)
    try:
        result = reconstruct(
            scan,
            cfg,
            a.normals,
            device=None if a.device == "auto" else a.device,
            prepared=prepared,
            started=command_started(),
            hooks=[h for h in (trim, *hooks) if h is not None],
            measure=measure,
        )
    finally:
        hooks[0].close()
    data = _summary(a, scan, cfg, result, prepared, trim, say)
    problems = list(result.problems)
    if a.baseline == "poisson":
        with Waiting(a.quiet, "screened Poisson on the same points, written and measured"):
            data["baseline"] = _baseline(a, scan, prepared, reference, say, problems)
    problems.append(save_safely(a.metrics_json, lambda p: write_json(p, data), "metrics"))
    raise_problems(problems)
    return 0


def _summary(a, scan, cfg, result, prepared, trim, say) -> dict:
    """Say what was made (and its measures); the JSON record of it."""
    mesh, session, last = result.mesh, result.session, result.last
    seconds = time.perf_counter() - cli.STARTED
    if result.dropped_pieces:
        say.notice(f"removed {result.dropped_pieces} small closed piece(s) beside the surface")
    resolution_notice(say, mesh, a.resolution)
    data = {
        "seconds": seconds,
        "train_seconds": last.elapsed,
        "steps": last.step,
        "faces": len(mesh.faces),
        "vertices": len(mesh.vertices),
        "resolution": mesh.resolution,
        "device": str(session.trainer.device),
        "final_loss": last.losses.get("total"),
        "input": str(a.input),
        "output": str(a.output),
        "points": len(scan.vertices),
        "normals": prepared[1].to_dict(),
        "timings": result.timings,
        "phases": result.phases,
        "config": cfg.to_dict(),
        "loss": session.task.cfg.to_dict(),
        "notices": prepared[0].notices,
        "model": cfg.model.kind,
        "dropped_pieces": result.dropped_pieces,
        "trimmed_area": 0.0 if trim is None else trim.trimmed,
    }
    say(
        f"{a.output}: {len(mesh.faces)} faces, {last.step} steps in {last.elapsed:.1f} s training "
        f"({seconds:.1f} s total) on {session.trainer.device.type}; {prepared[1].summary()}"
    )
    if result.metrics is not None:
        data.update(result.metrics)
        say(_line("inrview", data))
    return data


def fit_cloud(a, geometry) -> int:
    """`inrview fit CLOUD ...`: the cloud fitted as `inrview reconstruct CLOUD ...` with the same options fits
    it (its defaults: normals, network choice, clean-up), refusing in one line the options only a mesh can
    use. `geometry`: the cloud as `fit` read it (read again when it holds more than --max-points)."""
    if a.target not in ("sdf", "auto"):
        raise InrviewError(
            f"{a.input}: is a point cloud; --target {a.target} cannot be used (point clouds train a signed or "
            "an unsigned distance)"
        )
    for flag, given in (("--samples", a.samples), ("--sample-mix", a.sample_mix), ("--timelapse", a.timelapse)):
        if given is not None:
            raise InrviewError(
                f"{a.input}: is a point cloud; {flag} cannot be used (point clouds are fitted by "
                "`inrview reconstruct`, which has no such option)"
            )
    rest = list(a.argv[1:])
    for i, word in enumerate(rest):  # --target sdf (or --target=sdf) is what a cloud does anyway
        if word == "--target":
            del rest[i : i + 2]
            break
        if word.startswith("--target="):
            del rest[i]
            break
    p = Parser(prog="inrview reconstruct")
    _args(p)
    ra = p.parse_args(rest)
    return cmd_reconstruct(ra, geometry if len(geometry.vertices) <= ra.max_points else None)


def _baseline(a, scan, prepared, reference, say, problems) -> dict:
    """Screened Poisson on the same points: written beside the result, measured the same way."""
    res, rep = poisson_for(
        scan, a.normals, a.poisson_depth, a.poisson_trim, prepared=prepared if prepared[0].normals is not None else None
    )
    path = _baseline_path(a)
    problems.append(save_safely(path, lambda p: save_mesh(p, res.vertices, res.faces), "baseline mesh"))
    base = {
        "method": "screened Poisson (Open3D)",
        "output": str(path),
        "seconds": res.seconds,
        "depth": res.depth,
        "trim_quantile": res.trim_quantile,
        "removed_vertices": res.removed_vertices,
        "faces": len(res.faces),
        "vertices": len(res.vertices),
        "normals": rep.to_dict(),
    }
    say(f"{path}: Poisson depth {res.depth}, {len(res.faces)} faces in {res.seconds:.1f} s")
    if not a.no_metrics:
        base.update(_measure(scan.vertices, res.vertices, res.faces, reference))
        say(_line("poisson", base))
    return base


#: The commands of this group: (name, help, option builder[, add_parser keywords]); see cli.GROUPS.
COMMANDS = (
    (
        "reconstruct",
        "a watertight surface from a point cloud (with or without normals)",
        _args,
        {"formatter_class": argparse.RawDescriptionHelpFormatter},
    ),
)
