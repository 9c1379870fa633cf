"""`inrview fit | extract`: a neural field from a mesh or point cloud, and a mesh from a checkpoint (`info` is
in info.py)."""

from __future__ import annotations

import time

from .. import cli, shape
from ..config import FitConfig, SamplingConfig
from ..errors import InrviewError
from ..io.export import save_mesh
from ..io.formats import MESH_EXPORT_FORMATS
from ..shape.pipeline import Budget, ShapePipeline, heavy
from .checks import check_input, check_output, grid_bytes, need_memory, raise_problems, save_safely
from .common import (
    Say,
    add_device_arg,
    add_mask_args,
    add_quiet,
    add_resolution_arg,
    add_training_args,
    config_from_args,
    mask_options,
    positive_int,
    write_json,
)
from .fit_hooks import MESH_HELP, CommandHooks, check_mesh_outputs, command_started, resolution_notice
from .reconstruct import fit_cloud
from .timelapse import add_timelapse_args, check_timelapse
from .waiting import Waiting


def _fit_args(p) -> None:
    pool = SamplingConfig()
    p.add_argument(
        "input", nargs="?", help="mesh or point cloud file (with --resume: the checkpoint's input unless given)"
    )
    p.add_argument("-o", "--output", required=True, help=MESH_HELP)
    p.add_argument(
        "--resume",
        metavar="CKPT",
        help="continue the run saved in this shape checkpoint for --steps or --seconds more: weights, "
        "optimiser, step count, random state and live measures go on; its configuration is kept",
    )
    p.add_argument(
        "--target",
        choices=["auto", "sdf", "occupancy", "udf"],
        default=FitConfig().target,
        help="what the network learns: signed distance, occupancy, or unsigned distance (open surfaces and "
        "sheets, extracted with their boundaries); auto picks udf for an open or sheet-like mesh and sdf "
        f"otherwise, and says why (default {FitConfig().target})",
    )
    add_resolution_arg(p)
    p.add_argument(
        "--no-metrics",
        action="store_true",
        help="skip measuring the result against the input (and the live measures that pick the best checkpoint)",
    )
    p.add_argument("--samples", type=positive_int, help=f"training pool size (default {pool.n_samples})")
    p.add_argument(
        "--sample-mix",
        metavar="S,N,F,U",
        help="proportions of surface, near (fine Gaussian), far (coarse Gaussian) and uniform samples "
        f"(default {','.join(f'{v:g}' for v in pool.mix)})",
    )
    add_training_args(p)
    add_mask_args(p)
    add_timelapse_args(p)
    p.set_defaults(func=cmd_fit)


def _extract_args(p) -> None:
    p.add_argument("checkpoint", help="shape checkpoint (.safetensors) written by `inrview fit --checkpoint`")
    p.add_argument("-o", "--output", required=True, help=MESH_HELP)
    add_resolution_arg(p)
    add_device_arg(p)
    add_quiet(p)
    p.set_defaults(func=cmd_extract)


def _check_fit(a, cfg: FitConfig) -> None:
    """Every check made before anything loads."""
    check_mesh_outputs(a, cfg)
    check_timelapse(a)
    if not a.input and not a.resume:
        raise InrviewError("give the input mesh or point cloud (or --resume CHECKPOINT)")
    need_memory(48.0 * cfg.sampling.n_samples, "--samples", f"a pool of {cfg.sampling.n_samples} samples")
    for path in (a.resume, a.input):
        if path:
            check_input(path)


def cmd_fit(a) -> int:
    """Train on the input (or continue a checkpoint), write the mesh (and checkpoints, metrics, time-lapse);
    one summary line. The shape pipeline (ShapePipeline) does the work; a point cloud goes the way `inrview
    reconstruct` fits it (fit_cloud: the same normals, network choice and clean-up). --seconds is wall time
    from the command's start (command_started) to the measured result."""
    cfg = config_from_args(a)
    _check_fit(a, cfg)
    say = Say(a.quiet)
    pipeline = ShapePipeline(
        cfg,
        budget=Budget(cfg.train.seconds, command_started()),
        device=None if a.device == "auto" else a.device,
        measure=not a.no_metrics,
        live_measures=not a.no_metrics and bool(a.checkpoint or a.metrics_json),
        resolution=a.resolution,
    )
    pipeline.phases["import"] = time.perf_counter() - cli.STARTED
    if a.resume:
        session = _resume(a, cfg, pipeline)
    else:
        geometry = pipeline.load(a.input, mask=mask_options(a))
        if not geometry.is_mesh and cfg.target != "udf":  # clouds fit as `reconstruct` fits them
            return fit_cloud(a, geometry)
        session = pipeline.open(geometry)
    for n in session.geometry.notices:
        say.notice(n)
    if session.target_notice:
        say(f"{a.input}: {session.target_notice}")
    start = (session.trainer.state.step, session.trainer.state.elapsed)
    timelapse = (session, a.timelapse_frames, a.timelapse_orbit) if a.timelapse else None
    hooks = CommandHooks(a, session.trainer.cfg, 1.0 + (0 if a.no_metrics else 0.5), timelapse=timelapse)
    pipeline.hooks.append(hooks)
    if hooks.recorder is not None:  # every frame of the time-lapse taken on time
        pipeline.report_every = hooks.recorder.report_every(session.trainer.cfg)
    try:
        result = pipeline.run(session)
    finally:
        hooks.close()
    _report(a, result, start, say)
    return 0


def _resume(a, cfg: FitConfig, pipeline: ShapePipeline):
    """A session continuing the checkpoint for the budget asked (--steps or --seconds more; neither: the
    default steps more)."""
    with pipeline.phase("load"):
        session = shape.resume_session(
            a.resume,
            a.input,
            device=pipeline.device,
            seconds=a.seconds,
            steps=None if a.seconds is not None else cfg.train.steps,
        )
    if a.threads:
        session.set_threads(a.threads)
    return session


def _report(a, result, start: tuple, say) -> None:
    """The summary line and the metrics JSON; raises when a file could not be written where asked."""
    mesh, last, session, m = result.mesh, result.last, result.session, result.metrics
    seconds = time.perf_counter() - cli.STARTED
    resolution_notice(say, mesh, a.resolution)
    line = (
        f"{a.output}: {len(mesh.faces)} faces, {last.step - start[0]} steps in {last.elapsed - start[1]:.1f} s "
        f"training ({seconds:.1f} s total) on {session.trainer.device.type}"
    )
    if start[0]:
        line += f", continuing {a.resume} from step {start[0]} (now {last.step} steps, {last.elapsed:.1f} s training)"
    say(line if m is None else f"{line}; {m.summary()}")
    data = {
        "seconds": seconds,
        "train_seconds": last.elapsed,
        "steps": last.step,
        "start_step": start[0],
        "faces": len(mesh.faces),
        "vertices": len(mesh.vertices),
        "resolution": mesh.resolution,
        "device": str(session.trainer.device),
        "phases": result.phases,
        "final_loss": last.losses.get("total"),
        "input": str(session.geometry.source),
        "output": str(a.output),
        "resumed_from": a.resume,
        "config": session.cfg.to_dict(),
        "target": session.target,
        "target_reason": session.target_notice,
        **(m.to_dict() if m is not None else {}),
        "live": session.live.to_header(),
    }
    problems = [*result.problems, save_safely(a.metrics_json, lambda p: write_json(p, data), "metrics")]
    raise_problems(problems)


def pick_device(name: str) -> str:
    """The device 'auto' or `name` means here (CUDA, then MPS, then CPU), as a string."""
    try:
        return str(heavy().pick_device(name))
    except (ValueError, RuntimeError) as e:
        raise InrviewError(f"--device {name}: {e}") from None


def cmd_extract(a) -> int:
    """Load a shape checkpoint, extract its zero level and write the mesh."""
    check_output(a.output, "-o/--output", MESH_EXPORT_FORMATS)
    need_memory(grid_bytes(a.resolution), "--resolution", f"extraction at {a.resolution} cells per side")
    check_input(a.checkpoint)
    load_field, extract_mesh = shape.load_field, heavy().extract_mesh  # torch loads here, before the status line
    with Waiting(a.quiet, f"loading {a.checkpoint} and extracting at resolution {a.resolution}"):
        field, header = load_field(a.checkpoint, device=pick_device(a.device))
        t0 = time.perf_counter()
        mesh = extract_mesh(field, a.resolution)
    raise_problems([save_safely(a.output, lambda p: save_mesh(p, mesh.vertices, mesh.faces), "mesh")])
    Say(a.quiet)(
        f"{a.output}: {len(mesh.faces)} faces at resolution {a.resolution} "
        f"({mesh.evaluations} network evaluations, {time.perf_counter() - t0:.2f} s)"
    )
    return 0


#: The commands of this group: (name, help, option builder[, add_parser keywords]); see cli.GROUPS.
COMMANDS = (
    ("fit", "fit a neural field to a mesh or point cloud and export its surface", _fit_args),
    ("extract", "extract a mesh from a shape checkpoint", _extract_args),
)
