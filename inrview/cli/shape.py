"""`inrview fit | extract | info`: a neural field from a mesh or point cloud, a mesh from a checkpoint, and
what a file holds."""
from __future__ import annotations

import json
import time

from ..config import FitConfig, SamplingConfig, TrainConfig
from ..errors import InrviewError
from .checks import (CHECKPOINT_FORMATS, check_input, check_output, check_training_memory, grid_bytes, need_memory,
                     raise_problems, save_safely)
from .common import (DEVICE_HELP, Progress, Say, add_quiet, add_training_args, config_from_args, device_name,
                     positive_int, write_json)

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
    p.add_argument("input", help="mesh or point cloud file")
    p.add_argument("-o", "--output", required=True, help=MESH_HELP)
    p.add_argument("--target", choices=["sdf", "occupancy"], default=FitConfig().target,
                   help=f"what the network learns (default {FitConfig().target})")
    _resolution_arg(p)
    p.add_argument("--no-metrics", action="store_true", help="skip measuring the result against the input")
    p.add_argument("--samples", type=positive_int, help=f"training pool size (default {mix.n_samples})")
    p.add_argument("--sample-mix", metavar="S,N,F,U",
                   help="proportions of surface, near (fine Gaussian), far (coarse Gaussian) and uniform samples "
                        f"(default {mix.surface_fraction:g},{mix.near_fraction:g},{mix.far_fraction:g},"
                        f"{mix.uniform_fraction:g})")
    add_training_args(p)
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
    """Train on the input, write the mesh (and checkpoint, metrics); one summary line. A point cloud is
    fitted as `inrview reconstruct` fits it (the same normals, network choice and clean-up)."""
    from . import STARTED

    cfg = config_from_args(a)
    check_mesh_outputs(a, cfg)
    need_memory(48.0 * cfg.sampling.n_samples, "--samples", f"a pool of {cfg.sampling.n_samples} samples")
    check_input(a.input)
    from ..io.loaders import load

    t_load = time.perf_counter()
    geometry = load(a.input, max_points=2_000_000, seed=cfg.train.seed)
    phases = {"import": t_load - STARTED, "load": time.perf_counter() - t_load}
    if not geometry.is_mesh:
        return fit_cloud(a)
    say = Say(a.quiet)
    for n in geometry.notices:
        say.notice(n)
    phases["sampling"] = draw_samples_while_torch_loads(geometry, cfg)
    from ..io.export import save_mesh
    from ..shape import EXTRACTION_RESERVE, fit
    bar = Progress(cfg.train, a.quiet, after=EXTRACTION_RESERVE + (0 if a.no_metrics else 0.5))
    try:
        result = fit(geometry, cfg, measure=False, progress=bar, device=None if a.device == "auto" else a.device,
                     started=STARTED)
        phases.update({k: v for k, v in result.phases.items() if k not in phases})
        bar.phase("writing", 0.7)
        session, mesh, last = result.session, result.mesh, result.last
        t = time.perf_counter()
        problems = [save_safely(a.output, lambda p: save_mesh(p, mesh.vertices, mesh.faces), "mesh"),
                    save_safely(a.checkpoint, session.save_checkpoint, "checkpoint")]
        phases["writing"] = time.perf_counter() - t
        bar.phase("measuring", 0.75)
        t = time.perf_counter()
        m = None if a.no_metrics else session.metrics(mesh)
        phases["measures"] = time.perf_counter() - t
    finally:
        bar.close()
    seconds = time.perf_counter() - STARTED
    line = (f"{a.output}: {len(mesh.faces)} faces, {last.step} steps in {last.elapsed:.1f} s training "
            f"({seconds:.1f} s total) on {session.trainer.device.type}")
    say(line if m is None else f"{line}; {m.summary()}")
    data = {"seconds": seconds, "train_seconds": last.elapsed, "steps": last.step, "faces": len(mesh.faces),
            "vertices": len(mesh.vertices), "device": str(session.trainer.device), "phases": phases,
            "final_loss": last.losses.get("total"), "input": str(a.input), "output": str(a.output),
            "config": cfg.to_dict(), **(m.to_dict() if m is not None else {})}
    problems.append(save_safely(a.metrics_json, lambda p: write_json(p, data), "metrics"))
    raise_problems(problems)
    return 0


def draw_samples_while_torch_loads(geometry, cfg: FitConfig) -> float:
    """Draw the training samples of a mesh (exact distances, no torch needed) while another thread imports
    the training pipeline (torch and its optimiser's compiler hooks take 3 s to import on a 2-core machine,
    drawing the samples of a 10k-face mesh about 1 s); the session then finds
    them in the sample cache's memory. Returns the seconds until both are done."""
    import importlib
    import threading

    from ..io.geometry import Normalization
    from ..sampling.cache import cached_mesh_samples

    def warm_up() -> None:
        importlib.import_module("inrview.shape")
        importlib.import_module("torch._dynamo")  # torch.optim's first optimizer imports it: 1.4 s more

    t = time.perf_counter()
    warm = threading.Thread(target=warm_up, daemon=True)
    warm.start()
    unit = geometry.transformed(Normalization.fit(geometry.vertices, cfg.margin))
    cached_mesh_samples(unit.vertices, unit.faces, cfg.sampling, seed=cfg.train.seed, keep=True)
    warm.join()
    return time.perf_counter() - t


def fit_cloud(a) -> int:
    """`inrview fit CLOUD ...` runs `inrview reconstruct CLOUD ...` with the same options, refusing in one
    line the options only a mesh can use."""
    from . import main

    if a.target != "sdf":
        raise InrviewError(f"{a.input}: is a point cloud; --target {a.target} cannot be used (point clouds train "
                           "a signed distance)")
    for flag, given in (("--samples", a.samples), ("--sample-mix", a.sample_mix)):
        if given is not None:
            raise InrviewError(f"{a.input}: is a point cloud; {flag} cannot be used (point clouds draw their own "
                               "samples)")
    rest = list(a.argv[1:])
    for i, word in enumerate(rest):  # --target sdf (or --target=sdf) is what a cloud does anyway
        if word == "--target":
            del rest[i:i + 2]
            break
        if word.startswith("--target="):
            del rest[i]
            break
    return main(["reconstruct", *rest])


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
