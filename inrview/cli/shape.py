"""`inrview fit | extract`: a neural field from a mesh or point cloud, and a mesh from a checkpoint (`info` is
in info.py)."""

from __future__ import annotations

import time
from pathlib import Path

from ..config import FitConfig, SamplingConfig, TrainConfig
from ..errors import InrviewError
from ..io.formats import CHECKPOINT_FORMATS, MESH_EXPORT_FORMATS
from .checks import (
    check_input,
    check_output,
    check_training_memory,
    grid_bytes,
    need_memory,
    raise_problems,
    save_safely,
)
from .common import (
    DEVICE_HELP,
    Progress,
    Say,
    add_mask_args,
    add_quiet,
    add_training_args,
    config_from_args,
    device_name,
    mask_options,
    positive_int,
    write_json,
)
from .timelapse import add_timelapse_args, check_timelapse, shape_recorder
from .waiting import Waiting

MESH_HELP = "output mesh (.ply, .obj, .stl, .glb, .off)"


def register(commands) -> None:
    """Add fit and extract to the top-level commands."""
    commands.add_command("fit", "fit a neural field to a mesh or point cloud and export its surface", _fit_args)
    commands.add_command("extract", "extract a mesh from a shape checkpoint", _extract_args)


def _resolution_arg(p) -> None:
    p.add_argument(
        "--resolution",
        type=positive_int,
        default=FitConfig().resolution,
        help=f"marching-cubes cells per side (default {FitConfig().resolution})",
    )


def _fit_args(p) -> None:
    mix = SamplingConfig()
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
    _resolution_arg(p)
    p.add_argument(
        "--no-metrics",
        action="store_true",
        help="skip measuring the result against the input (and the live measures that pick the best checkpoint)",
    )
    p.add_argument("--samples", type=positive_int, help=f"training pool size (default {mix.n_samples})")
    p.add_argument(
        "--sample-mix",
        metavar="S,N,F,U",
        help="proportions of surface, near (fine Gaussian), far (coarse Gaussian) and uniform samples "
        f"(default {mix.surface_fraction:g},{mix.near_fraction:g},{mix.far_fraction:g},"
        f"{mix.uniform_fraction:g})",
    )
    add_training_args(p)
    add_mask_args(p)
    add_timelapse_args(p)
    p.set_defaults(func=cmd_fit)


def _extract_args(p) -> None:
    p.add_argument("checkpoint", help="shape checkpoint (.safetensors) written by `inrview fit --checkpoint`")
    p.add_argument("-o", "--output", required=True, help=MESH_HELP)
    _resolution_arg(p)
    p.add_argument("--device", type=device_name, default=TrainConfig().device, help=DEVICE_HELP)
    add_quiet(p)
    p.set_defaults(func=cmd_extract)


def check_mesh_outputs(a, cfg: FitConfig) -> None:
    """Refuse bad output paths and sizes that cannot fit in memory, before anything is loaded."""
    check_output(a.output, "-o/--output", MESH_EXPORT_FORMATS)
    check_output(a.checkpoint, "--checkpoint", CHECKPOINT_FORMATS)
    check_output(a.metrics_json, "--metrics-json")
    need_memory(grid_bytes(cfg.resolution), "--resolution", f"extraction at {cfg.resolution} cells per side")
    check_training_memory(cfg.model, 3, cfg.train.batch_size)


def cmd_fit(a) -> int:
    """Train on the input (or continue a checkpoint), write the mesh (and checkpoints, metrics, time-lapse);
    one summary line. A point cloud is fitted as `inrview reconstruct` fits it (the same normals, network
    choice and clean-up). Wall time counts from the command (see cli.STARTED), phase by phase."""
    from . import STARTED

    cfg = config_from_args(a)
    check_mesh_outputs(a, cfg)
    check_timelapse(a)
    if not a.input and not a.resume:
        raise InrviewError("give the input mesh or point cloud (or --resume CHECKPOINT)")
    need_memory(48.0 * cfg.sampling.n_samples, "--samples", f"a pool of {cfg.sampling.n_samples} samples")
    for path in (a.resume, a.input):
        if path:
            check_input(path)
    say = Say(a.quiet)
    phases = {"import": time.perf_counter() - STARTED}
    session = _open_session(a, cfg, phases)
    if session is None:
        return fit_cloud(a)
    for n in session.geometry.notices:
        say.notice(n)
    if session.target_notice:
        say(f"{a.input}: {session.target_notice}")
    start, start_elapsed = session.trainer.state.step, session.trainer.state.elapsed
    if cfg.train.seconds is not None and not a.resume:  # the budget is wall time from the command
        from ..shape import training_seconds

        session.trainer.set_seconds(training_seconds(cfg.train.seconds, STARTED))
    recorder, final_frame = (
        shape_recorder(session, a.timelapse_frames, a.timelapse_orbit) if a.timelapse else (None, None)
    )
    bar = Progress(session.trainer.cfg, a.quiet, after=1.0 + (0 if a.no_metrics else 0.5))
    try:
        mesh, last, problems, m = _run_fit(a, session, recorder, final_frame, bar, phases)
    finally:
        bar.close()
    seconds = time.perf_counter() - STARTED
    line = (
        f"{a.output}: {len(mesh.faces)} faces, {last.step - start} steps in {last.elapsed - start_elapsed:.1f} s "
        f"training ({seconds:.1f} s total) on {session.trainer.device.type}"
    )
    if start:
        line += f", continuing {a.resume} from step {start} (now {last.step} steps, {last.elapsed:.1f} s training)"
    say(line if m is None else f"{line}; {m.summary()}")
    data = {
        "seconds": seconds,
        "train_seconds": last.elapsed,
        "steps": last.step,
        "start_step": start,
        "faces": len(mesh.faces),
        "vertices": len(mesh.vertices),
        "device": str(session.trainer.device),
        "phases": phases,
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
    problems.append(save_safely(a.metrics_json, lambda p: write_json(p, data), "metrics"))
    raise_problems(problems)
    return 0


def _timed(phases: dict, name: str, fn, *args, **kwargs):
    """fn(*args, **kwargs), its seconds added to phases[name]."""
    t = time.perf_counter()
    try:
        return fn(*args, **kwargs)
    finally:
        phases[name] = phases.get(name, 0.0) + time.perf_counter() - t


def _run_fit(a, session, recorder, final_frame, bar, phases: dict):
    """Train, extract, write and measure, each phase timed into phases; (mesh, last snapshot, write
    problems, metrics or None)."""
    measures = not a.no_metrics and bool(a.checkpoint or a.metrics_json)
    last = _timed(phases, "training", _train, session, bar, recorder, measures)
    bar.phase("extracting", 0.0)
    mesh = _timed(phases, "extraction", session.extract, a.resolution)
    if recorder is not None:
        recorder.finish(final_frame(mesh))
    bar.phase("writing", 0.7)
    problems = _timed(phases, "writing", _save_fit, a, session, mesh, last, recorder)
    bar.phase("measuring", 0.75)
    m = None if a.no_metrics else _timed(phases, "measures", session.metrics, mesh)
    return mesh, last, problems, m


def _open_session(a, cfg: FitConfig, phases: dict):
    """A new ShapeSession for a mesh (None for a point cloud: see fit_cloud), or with --resume one continuing
    the checkpoint for the budget asked (--steps or --seconds more; neither: the default steps more)."""
    from ..io.loaders import load

    device = None if a.device == "auto" else a.device
    if a.resume:
        from ..shape import resume_session

        session = _timed(
            phases,
            "load",
            resume_session,
            a.resume,
            a.input,
            device=device,
            seconds=a.seconds,
            steps=None if a.seconds is not None else cfg.train.steps,
        )
        if a.threads and session.trainer.device.type == "cpu":
            import torch

            torch.set_num_threads(a.threads)
        return session
    geometry = _timed(phases, "load", load, a.input, max_points=2_000_000, seed=cfg.train.seed, mask=mask_options(a))
    if not geometry.is_mesh and cfg.target != "udf":
        return None
    notice = None
    if geometry.is_mesh:
        from ..sampling.unsigned import resolve_target

        cfg, notice = _timed(phases, "sampling", resolve_target, geometry, cfg)
        if cfg.target != "udf":
            _timed(phases, "sampling", draw_samples_while_torch_loads, geometry, cfg)
    from ..shape import ShapeSession

    session = _timed(phases, "sampling", ShapeSession, geometry, cfg, device=device)
    session.target_notice = session.target_notice or notice
    return session


def draw_samples_while_torch_loads(geometry, cfg: FitConfig) -> None:
    """Draw the training samples of a mesh (exact distances, no torch needed) while another thread imports
    the training pipeline (torch and its optimiser's compiler hooks take 3 s to import on a 2-core machine,
    drawing the samples of a 10k-face mesh about 1 s); the session then finds them in the sample cache's
    memory."""
    import importlib
    import threading

    from ..io.geometry import Normalization
    from ..sampling.cache import cached_mesh_samples

    def warm_up() -> None:
        importlib.import_module("inrview.shape")
        importlib.import_module("torch._dynamo")  # torch.optim's first optimizer imports it: 1.4 s more

    warm = threading.Thread(target=warm_up, daemon=True)
    warm.start()
    unit = geometry.transformed(Normalization.fit(geometry.vertices, cfg.margin))
    cached_mesh_samples(unit.vertices, unit.faces, cfg.sampling, seed=cfg.train.seed, keep=True)
    warm.join()


def fit_cloud(a) -> int:
    """`inrview fit CLOUD ...` runs `inrview reconstruct CLOUD ...` with the same options, refusing in one
    line the options only a mesh can use."""
    from . import main

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
    return main(["reconstruct", *rest])


def _train(session, bar, recorder, measures: bool):
    """Run the session to the end of its budget, feeding the progress bar (and time-lapse frames); the last
    Snapshot."""
    last = None
    every = 10 if recorder is None else recorder.report_every(session.trainer.cfg)
    for last in session.run(report_every=every, measures=measures):
        bar(last)
        if recorder is not None:
            recorder(last)
    return last


def best_path(path) -> Path:
    """Where the best checkpoint of a run saved at path goes: '.best' before the suffix (x.safetensors ->
    x.best.safetensors)."""
    p = Path(path)
    return p.with_name(f"{p.stem}.best{p.suffix}")


def _save_fit(a, session, mesh, last, recorder) -> list:
    """Write the mesh, the checkpoint, the best checkpoint (when it is not the last) and the time-lapse;
    the problems (each rescued to the temporary folder if need be)."""
    from ..io.export import save_mesh

    problems = [
        save_safely(a.output, lambda p: save_mesh(p, mesh.vertices, mesh.faces), "mesh"),
        save_safely(a.checkpoint, session.save_checkpoint, "checkpoint"),
    ]
    best = session.best
    if a.checkpoint and best is not None and best.weights is not None and best.step != last.step:
        problems.append(
            save_safely(best_path(a.checkpoint), lambda p: session.save_checkpoint(p, best=True), "best checkpoint")
        )
    if recorder is not None:
        problems.append(save_safely(a.timelapse, recorder.save, "time-lapse"))
    return problems


def pick_device(name: str) -> str:
    """The device 'auto' or `name` means here (CUDA, then MPS, then CPU), as a string."""
    from ..training.device import pick_device as pick

    try:
        return str(pick(name))
    except (ValueError, RuntimeError) as e:
        raise InrviewError(f"--device {name}: {e}") from None


def cmd_extract(a) -> int:
    """Load a shape checkpoint, extract its zero level and write the mesh."""
    check_output(a.output, "-o/--output", MESH_EXPORT_FORMATS)
    need_memory(grid_bytes(a.resolution), "--resolution", f"extraction at {a.resolution} cells per side")
    check_input(a.checkpoint)
    from ..extract import extract_mesh
    from ..io.export import save_mesh
    from ..shape import load_field

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
