"""The `inrview space ...` commands run (their options and early checks are in cli.space, which imports this
module only when a command runs: torch loads here)."""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch

from ..config import TrainConfig, replace
from ..config.space import SPACE_SAMPLING, LatentConfig, SpaceTrainConfig
from ..errors import InrviewError
from ..io.collection import load_collection
from ..io.export import save_mesh
from ..io.loaders import as_point_cloud, load
from ..metrics import point_to_surface
from ..sampling.collection import member_facts
from ..space.align import align_collection, shared_connectivity
from ..space.confidence import ply_properties, summary
from ..space.explore import info, write_interpolation
from ..space.model import read_space
from ..space.scan import complete_scan, refit_summary
from ..training.elastic import leave_group
from ..training.space import space_threads
from . import STARTED
from .common import Progress, mask_options, write_json
from .space_long import exit_code, make_fit, resume_source, stopped_line, train
from .waiting import Waiting


def _threads() -> None:
    torch.set_num_threads(space_threads())


def _with_collection(a):
    """The options with the folder loaded as a Collection when masks are read with other than the default
    options (--label, --mask-smooth), the shapes are aligned (--align) or the decoder is chosen from them
    (--model auto: 'deform' when they share one triangle list, else 'grid'); else unchanged. A resumed run
    keeps its checkpoint's decoder."""
    auto = a.network == "auto" and resume_source(a) is None
    if a.align == "none" and a.label is None and a.mask_smooth == 1.0 and not auto:
        return a
    col = load_collection(a.folder, a.normalise, notify=_notice, mask=mask_options(a), facts=member_facts())
    network = a.network
    if auto:
        network = "deform" if shared_connectivity(col.shapes) else LatentConfig().kind
        why = "share one triangle list (in correspondence)" if network == "deform" else "are not in correspondence"
        _notice(f"decoder {network}: the {len(col)} shapes {why}")
    if a.align != "none":
        col = align_collection(col, a.align, a.seed)
    return argparse.Namespace(**{**vars(a), "folder": col, "source": a.folder, "network": network})


def cmd_fit(a) -> int:
    """Train a space and write its checkpoint (rank 0 under torchrun); under torchrun every rank waits for
    the others and leaves the process group before it returns."""
    code = _fit(a)
    leave_group()
    return code


def _fit(a) -> int:
    cfg = SpaceTrainConfig(
        target=a.target, epochs=a.epochs or SpaceTrainConfig().epochs, seconds=a.seconds, device=a.device, seed=a.seed
    )
    sampling = replace(SPACE_SAMPLING, n_samples=a.samples) if a.samples else SPACE_SAMPLING
    t0 = time.perf_counter()
    a = _with_collection(a)
    kind = LatentConfig().kind if a.network == "auto" else a.network  # auto on a resumed run: its checkpoint's
    fit = make_fit(a, cfg, LatentConfig(kind=kind, latent_dim=a.latent_dim), sampling, _notice)
    lead = fit.ctx.rank == 0
    bar = Progress(TrainConfig(steps=fit.trainer.total_steps or 1, seconds=a.seconds), a.quiet or not lead, "space")
    try:
        last = train(fit, a, bar)
    finally:
        bar.close()
    if last.message == "stopped":
        if lead:
            print(stopped_line(fit, a), file=sys.stderr)
        return exit_code(fit)
    rec = fit.save(a.output)
    if not lead:
        return 0
    last, err = fit.last, rec["shape_error"]
    print(
        f"{a.output}: {len(rec['names'])} shapes, {last.step} steps ({last.epoch:.0f} epochs) in {last.elapsed:.1f} s "
        f"on {fit.ctx.world} process(es) ({fit.ctx.device.type}); training error median {_median(err):.3g}, "
        f"worst {max(err):.3g} ({rec['names'][err.index(max(err))]})"
    )
    write_json(
        a.metrics_json,
        {
            "seconds": time.perf_counter() - t0,
            "train_seconds": last.elapsed,
            "steps": last.step,
            "epochs": last.epoch,
            "processes": fit.ctx.world,
            "shapes": rec["names"],
            "shape_error": err,
            "final_loss": last.losses.get("total"),
            "skipped": rec["skipped"],
            "target": a.target,
            "output": str(a.output),
        },
    )
    return 0


def _notice(message: str) -> None:
    print(f"notice: {message}", file=sys.stderr)


def _median(values) -> float:
    s = sorted(values)
    return float(s[len(s) // 2]) if s else float("nan")


def cmd_complete(a) -> int:
    """Complete a shape from points and write its surface."""
    _threads()
    with Waiting(a.quiet) as wait:
        wait.phase(f"loading {a.space} and {a.points}")
        space = read_space(a.space)
        geom = load(a.points, mask=mask_options(a))
        if geom.is_mesh:
            geom = as_point_cloud(geom, 20_000)
        t0 = time.perf_counter()
        wait.phase(f"completing from {len(geom.vertices)} points (pose {a.pose}, {a.adapt_steps} adaptation steps)")
        done = complete_scan(
            space,
            geom.vertices,
            geom.normals,
            pose=a.pose,
            adapt_steps=max(a.adapt_steps, 0),
            steps=a.steps,
            seconds=a.seconds,
            resolution=a.resolution,
            started=STARTED,
            refine_steps=max(a.refine_steps, 0),
        )
        mesh, res = done.mesh, done.result
        save_mesh(a.output, mesh.vertices, mesh.faces, properties=ply_properties(done.confidence))
        seconds, wall = time.perf_counter() - t0, time.perf_counter() - STARTED
        wait.phase("measuring the points against the surface")
        dist = point_to_surface(geom.vertices, mesh.vertices, mesh.faces)
    pose = {k: v for k, v in res.novelty.get("pose", {}).items() if k != "unit"}
    if not a.quiet:
        found = f"; pose found: {pose['angle_degrees']:.1f} degrees, scale {pose['scale']:.3g}" if pose else ""
        print(
            f"{a.output}: {len(mesh.faces)} faces from {len(geom.vertices)} points in {seconds:.1f} s; points to "
            f"surface mean {dist.mean():.4g} (input units){found}; "
            f"{100 * done.confidence['observed'].mean():.0f}% of the surface observed; {refit_summary(done.refinement)}"
        )
    if res.far:
        print(f"warning: {res.message}", file=sys.stderr)
    write_json(
        a.metrics_json,
        {
            "seconds": seconds,
            "wall_seconds": wall,
            "points": len(geom.vertices),
            "faces": len(mesh.faces),
            "points_to_surface_mean": float(dist.mean()),
            "residual": res.residual,
            "far": res.far,
            "novelty": {k: v for k, v in res.novelty.items() if k != "pose"},
            "pose": pose,
            "confidence": summary(done.confidence),
            "refinement": done.refinement,
            "message": res.message,
        },
    )
    return 0


def cmd_interpolate(a) -> int:
    """Write meshes between two shapes' codes."""
    _threads()
    space = read_space(a.space)
    try:
        with Waiting(False, f"decoding {a.steps} shapes between {a.a} and {a.b} at resolution {a.resolution}"):
            rows = write_interpolation(space, a.a, a.b, a.output, a.steps, a.resolution)
    except KeyError as e:
        raise InrviewError(f"{a.space}: {e.args[0]}") from None
    for r in rows:
        print(
            f"{r['file']}: t={r['t']:.3f}, {r['faces']} faces, "
            f"{'watertight' if r['watertight'] else 'NOT watertight'}, {r['pieces']} piece(s)"
        )
    return 0 if all(r["watertight"] and r["pieces"] == 1 for r in rows) else 1


def cmd_info(a) -> int:
    """Print what a space holds."""
    data = info(read_space(a.space))
    if a.json:
        print(json.dumps(data, indent=2))
        return 0
    t = data["trainer"]
    print(
        f"{a.space}: {len(data['shapes'])} shapes, target {data['target']}, normalisation {data['normalise']}, "
        f"{data['network']['kind']} decoder, codes of {data['latent_dim']}; {t['step']} "
        f"steps ({t['epochs']:.0f} epochs) in {t['elapsed']:.0f} s on {t['processes']} process(es)"
    )
    for s in data["shapes"]:
        print(
            f"  {s['name']:<24} training error {s['training_error']:.3g}  surface residual {s['surface_residual']:.3g}"
        )
    shares = ", ".join(f"{100 * v:.1f}%" for v in data["variance_share"])
    print(
        f"principal directions of the codes, share of variance: {shares} "
        f"(first {len(data['variance_share'])}: {100 * data['variance_cumulative'][-1]:.1f}%)"
    )
    return 0
