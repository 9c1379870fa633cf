"""`inrview fit | extract | info`: a neural field from a mesh or point cloud, a mesh from a checkpoint, and
what a file holds."""
from __future__ import annotations

import json
import time
from pathlib import Path

from ..config import FitConfig, SamplingConfig, TrainConfig
from ..errors import InrviewError
from .checks import (CHECKPOINT_FORMATS, check_input, check_output, check_training_memory, grid_bytes, need_memory,
                     raise_problems, save_safely)
from .common import (DEVICE_HELP, Progress, Say, add_quiet, add_training_args, config_from_args, device_name,
                     positive_int, write_json)
from .timelapse import add_timelapse_args, check_timelapse, shape_recorder

MESH_HELP = "output mesh (.ply, .obj, .stl, .glb, .off)"


def register(commands) -> None:
    """Add fit, extract and info to the top-level commands."""
    commands.add_command("fit", "fit a neural field to a mesh or point cloud and export its surface", _fit_args)
    commands.add_command("extract", "extract a mesh from a shape checkpoint", _extract_args)
    commands.add_command("info", "print the load report of a file (or a checkpoint's header)", _info_args)


def _resolution_arg(p) -> None:
    p.add_argument("--resolution", type=positive_int, default=FitConfig().resolution,
                   help=f"marching-cubes cells per side (default {FitConfig().resolution})")


def _fit_args(p) -> None:
    mix = SamplingConfig()
    p.add_argument("input", nargs="?", help="mesh or point cloud file (with --resume: the checkpoint's input unless given)")
    p.add_argument("-o", "--output", required=True, help=MESH_HELP)
    p.add_argument("--resume", metavar="CKPT",
                   help="continue the run saved in this shape checkpoint for --steps or --seconds more: weights, "
                        "optimiser, step count, random state and live measures go on; its configuration is kept")
    p.add_argument("--target", choices=["sdf", "occupancy"], default=FitConfig().target,
                   help=f"what the network learns (default {FitConfig().target})")
    _resolution_arg(p)
    p.add_argument("--no-metrics", action="store_true",
                   help="skip measuring the result against the input (and the live measures that pick the best "
                        "checkpoint)")
    p.add_argument("--samples", type=positive_int, help=f"training pool size (default {mix.n_samples})")
    p.add_argument("--sample-mix", metavar="S,N,F,U",
                   help="proportions of surface, near (fine Gaussian), far (coarse Gaussian) and uniform samples "
                        f"(default {mix.surface_fraction:g},{mix.near_fraction:g},{mix.far_fraction:g},"
                        f"{mix.uniform_fraction:g})")
    add_training_args(p)
    add_timelapse_args(p)
    p.set_defaults(func=cmd_fit)


def _extract_args(p) -> None:
    p.add_argument("checkpoint", help="shape checkpoint (.safetensors) written by `inrview fit --checkpoint`")
    p.add_argument("-o", "--output", required=True, help=MESH_HELP)
    _resolution_arg(p)
    p.add_argument("--device", type=device_name, default=TrainConfig().device, help=DEVICE_HELP)
    add_quiet(p)
    p.set_defaults(func=cmd_extract)


def _info_args(p) -> None:
    p.add_argument("file", help="mesh, point cloud or checkpoint; prints its load report or the checkpoint's header")
    p.set_defaults(func=cmd_info)


def check_mesh_outputs(a, cfg: FitConfig) -> None:
    """Refuse bad output paths and sizes that cannot fit in memory, before anything is loaded."""
    from ..io.export import MESH_EXPORT_FORMATS

    check_output(a.output, "-o/--output", MESH_EXPORT_FORMATS)
    check_output(a.checkpoint, "--checkpoint", CHECKPOINT_FORMATS)
    check_output(a.metrics_json, "--metrics-json")
    need_memory(grid_bytes(cfg.resolution), "--resolution", f"extraction at {cfg.resolution} cells per side")
    check_training_memory(cfg.model, 3, cfg.train.batch_size)


def cmd_fit(a) -> int:
    """Train on the input (or continue a checkpoint), write the mesh (and checkpoints, metrics, time-lapse);
    one summary line."""
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
    t0 = time.perf_counter()
    session = _open_session(a, cfg)
    for n in session.geometry.notices:
        say.notice(n)
    start = session.trainer.state.step
    recorder, final_frame = shape_recorder(session, a.timelapse_frames, a.timelapse_orbit) if a.timelapse else (None, None)
    last = _train(session, a, recorder, measures=not a.no_metrics and bool(a.checkpoint or a.metrics_json))
    mesh = session.extract(a.resolution)
    if recorder is not None:
        recorder.finish(final_frame(mesh))
    problems = _save_fit(a, session, mesh, last, recorder)
    m = None if a.no_metrics else session.metrics(mesh)
    seconds = time.perf_counter() - t0
    line = (f"{a.output}: {len(mesh.faces)} faces, {last.step - start} steps in {last.elapsed:.1f} s training "
            f"({seconds:.1f} s total) on {session.trainer.device.type}")
    if start:
        line += f", from step {start} of {a.resume}"
    say(line if m is None else f"{line}; {m.summary()}")
    data = {"seconds": seconds, "train_seconds": last.elapsed, "steps": last.step, "start_step": start,
            "faces": len(mesh.faces), "vertices": len(mesh.vertices), "device": str(session.trainer.device),
            "final_loss": last.losses.get("total"), "input": str(session.geometry.source), "output": str(a.output),
            "resumed_from": a.resume, "config": session.cfg.to_dict(), **(m.to_dict() if m is not None else {}),
            "live": session.live.to_header()}
    problems.append(save_safely(a.metrics_json, lambda p: write_json(p, data), "metrics"))
    raise_problems(problems)
    return 0


def _open_session(a, cfg: FitConfig):
    """A new ShapeSession for the input, or with --resume one continuing the checkpoint for the budget asked
    (--steps or --seconds more; neither: the default steps more)."""
    from ..shape import ShapeSession, resume_session

    device = None if a.device == "auto" else a.device
    if not a.resume:
        return ShapeSession.from_file(a.input, cfg, device=device)
    session = resume_session(a.resume, a.input, device=device, seconds=a.seconds,
                             steps=None if a.seconds is not None else cfg.train.steps)
    if a.threads and session.trainer.device.type == "cpu":
        import torch

        torch.set_num_threads(a.threads)
    return session


def _train(session, a, recorder, measures: bool):
    """Run the session to the end of its budget with a progress bar (and time-lapse frames); the last
    Snapshot."""
    bar = Progress(session.trainer.cfg, a.quiet)
    last = None
    try:
        for last in session.run(report_every=10, measures=measures):
            bar(last)
            if recorder is not None:
                recorder(last)
    finally:
        bar.close()
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

    problems = [save_safely(a.output, lambda p: save_mesh(p, mesh.vertices, mesh.faces), "mesh"),
                save_safely(a.checkpoint, session.save_checkpoint, "checkpoint")]
    best = session.best
    if a.checkpoint and best is not None and best.weights is not None and best.step != last.step:
        problems.append(save_safely(best_path(a.checkpoint), lambda p: session.save_checkpoint(p, best=True),
                                    "best checkpoint"))
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
    from ..io.export import MESH_EXPORT_FORMATS

    check_output(a.output, "-o/--output", MESH_EXPORT_FORMATS)
    need_memory(grid_bytes(a.resolution), "--resolution", f"extraction at {a.resolution} cells per side")
    check_input(a.checkpoint)
    from ..shape import load_field
    from ..extract import extract_mesh
    from ..io.export import save_mesh

    field, header = load_field(a.checkpoint, device=pick_device(a.device))
    t0 = time.perf_counter()
    mesh = extract_mesh(field, a.resolution)
    raise_problems([save_safely(a.output, lambda p: save_mesh(p, mesh.vertices, mesh.faces), "mesh")])
    Say(a.quiet)(f"{a.output}: {len(mesh.faces)} faces at resolution {a.resolution} "
          f"({mesh.evaluations} network evaluations, {time.perf_counter() - t0:.2f} s)")
    return 0


def cmd_info(a) -> int:
    """Print a file's load report, or a checkpoint's header as JSON."""
    check_input(a.file)
    if str(a.file).endswith(".safetensors"):
        from ..training.checkpoint import read

        data = read(a.file)
        print(json.dumps({k: v for k, v in data.header.items() if k != "optimizer"}, indent=2))
        return 0
    from ..io.geometry import report
    from ..io.loaders import load

    print(report(load(a.file)))
    return 0
