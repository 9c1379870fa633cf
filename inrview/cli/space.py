"""`inrview space fit | complete | interpolate | info`: shape spaces on the command line.

Under torchrun (`torchrun --nproc-per-node 2 -m inrview space fit ...`) every process runs `space fit`;
rank 0 prints, reports and writes the checkpoint. Bad input prints one line naming the file (exit 2).
"""

from __future__ import annotations

import json
import sys
import time

from ..errors import InrviewError
from .checks import CHECKPOINT_FORMATS, check_input, check_output
from .common import DEVICE_HELP, Parser, Progress, device_name, positive_float, positive_int, write_json
from .space_run import add_run_args, exit_code, make_fit, stopped_line, train

MESH_FORMATS = ("ply", "obj", "stl", "glb", "off")


def register(commands) -> None:
    """Add the `space` group to the top-level commands."""
    commands.add_command("space", "shape spaces: one network over a collection (DeepSDF / occupancy)", _args)


def _args(p) -> None:
    p.description = "Shape spaces: one network for a collection of shapes, a latent code each."
    ss = p.add_subparsers(dest="space_command", metavar="ACTION", required=True, parser_class=Parser)
    _fit_args(ss)
    _complete_args(ss)
    _explore_args(ss)


def _fit_args(ss) -> None:
    from ..config.space import SPACE_SAMPLING, LatentConfig, SpaceTrainConfig

    lat, tr = LatentConfig(), SpaceTrainConfig()
    f = ss.add_parser("fit", help="train a space on a folder or list file of meshes (or point clouds)")
    f.add_argument("folder", help="folder of shapes, or a list file (.lst/.list/.txt) of paths")
    f.add_argument("-o", "--output", required=True, help="space checkpoint (.safetensors)")
    f.add_argument(
        "--target",
        choices=["sdf", "occupancy"],
        default=tr.target,
        help=f"what the network learns (default {tr.target})",
    )
    f.add_argument(
        "--latent-dim", type=positive_int, default=lat.latent_dim, help=f"code length (default {lat.latent_dim})"
    )
    f.add_argument(
        "--network",
        choices=["grid", "deepsdf"],
        default=lat.kind,
        help=f"decoder: shared grid + small MLP (grid, faster) or the DeepSDF MLP (default {lat.kind})",
    )
    f.add_argument(
        "--normalise",
        choices=["joint", "per-shape"],
        default="joint",
        help="joint keeps relative size and position (default); per-shape fills the cube with each",
    )
    budget = f.add_mutually_exclusive_group()
    budget.add_argument(
        "--epochs", type=positive_int, default=None, help=f"passes over the collection (default {tr.epochs})"
    )
    budget.add_argument(
        "--seconds", type=positive_float, default=None, help="wall-clock training budget instead of --epochs"
    )
    f.add_argument(
        "--samples", type=positive_int, default=None, help=f"samples per shape (default {SPACE_SAMPLING.n_samples})"
    )
    f.add_argument(
        "--device", type=device_name, default=tr.device, help=DEVICE_HELP + " (under torchrun: cuda:LOCAL_RANK)"
    )
    f.add_argument("--seed", type=int, default=tr.seed, help=f"seed for weights, codes and samples (default {tr.seed})")
    f.add_argument("--metrics-json", metavar="PATH", help="write the training summary as JSON")
    f.add_argument("--quiet", action="store_true", help="print nothing but errors")
    add_run_args(f)
    f.set_defaults(func=cmd_fit)


def _complete_args(ss) -> None:
    c = ss.add_parser("complete", help="complete a shape from points (a partial, sparse or noisy scan)")
    c.add_argument("points", help="point cloud (normals used when present) or mesh")
    c.add_argument("-s", "--space", required=True, help="space checkpoint")
    c.add_argument("-o", "--output", required=True, help="output mesh (.ply, .obj, .stl, .glb, .off)")
    c.add_argument("--seconds", type=positive_float, default=None, help="time budget instead of --steps")
    c.add_argument("--steps", type=positive_int, default=300, help="optimisation steps (default 300)")
    c.add_argument("--resolution", type=positive_int, default=128, help="marching-cubes cells per side (default 128)")
    c.add_argument("--metrics-json", metavar="PATH", help="write residual, novelty and timing as JSON")
    c.set_defaults(func=cmd_complete)


def _explore_args(ss) -> None:
    i = ss.add_parser("interpolate", help="meshes along the line between two shapes' codes")
    i.add_argument("space", help="space checkpoint")
    i.add_argument("a", help="first shape (name or index)")
    i.add_argument("b", help="second shape (name or index)")
    i.add_argument("--steps", type=positive_int, default=5, help="meshes including both ends (default 5)")
    i.add_argument("--resolution", type=positive_int, default=128, help="marching-cubes cells per side (default 128)")
    i.add_argument("-o", "--output", required=True, help="output folder")
    i.set_defaults(func=cmd_interpolate)
    n = ss.add_parser("info", help="shapes, training error, principal directions of the codes")
    n.add_argument("space", help="space checkpoint")
    n.add_argument("--json", action="store_true", help="print JSON")
    n.set_defaults(func=cmd_info)


def _threads() -> None:
    import torch

    from ..training.space import space_threads

    torch.set_num_threads(space_threads())


def cmd_fit(a) -> int:
    """Train a space and write its checkpoint (rank 0 under torchrun)."""
    check_output(a.output, "-o/--output", CHECKPOINT_FORMATS)
    check_output(a.metrics_json, "--metrics-json")
    check_input(a.folder)
    from ..config import TrainConfig, replace
    from ..config.space import SPACE_SAMPLING, LatentConfig, SpaceTrainConfig

    cfg = SpaceTrainConfig(
        target=a.target, epochs=a.epochs or SpaceTrainConfig().epochs, seconds=a.seconds, device=a.device, seed=a.seed
    )
    sampling = replace(SPACE_SAMPLING, n_samples=a.samples) if a.samples else SPACE_SAMPLING
    t0 = time.perf_counter()
    fit = make_fit(a, cfg, LatentConfig(kind=a.network, latent_dim=a.latent_dim), sampling, _notice)
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
    check_output(a.output, "-o/--output", MESH_FORMATS)
    check_output(a.metrics_json, "--metrics-json")
    check_input(a.points)
    check_input(a.space)
    from ..io.export import save_mesh
    from ..io.loaders import as_point_cloud, load
    from ..metrics import point_to_surface
    from ..space.complete import complete
    from ..space.model import read_space

    _threads()
    space = read_space(a.space)
    geom = load(a.points)
    if geom.is_mesh:
        geom = as_point_cloud(geom, 20_000)
    t0 = time.perf_counter()
    res = complete(space, geom.vertices, geom.normals, steps=a.steps, seconds=a.seconds)
    mesh = space.decode(res.code, a.resolution, res.normalization)
    save_mesh(a.output, mesh.vertices, mesh.faces)
    seconds = time.perf_counter() - t0
    dist = point_to_surface(geom.vertices, mesh.vertices, mesh.faces)
    print(
        f"{a.output}: {len(mesh.faces)} faces from {len(geom.vertices)} points in {seconds:.1f} s; points to "
        f"surface mean {dist.mean():.4g} (input units)"
    )
    if res.far:
        print(f"warning: {res.message}", file=sys.stderr)
    write_json(
        a.metrics_json,
        {
            "seconds": seconds,
            "points": len(geom.vertices),
            "faces": len(mesh.faces),
            "points_to_surface_mean": float(dist.mean()),
            "residual": res.residual,
            "far": res.far,
            "novelty": res.novelty,
            "message": res.message,
        },
    )
    return 0


def cmd_interpolate(a) -> int:
    """Write meshes between two shapes' codes."""
    from ..space.explore import write_interpolation
    from ..space.model import read_space

    _threads()
    space = read_space(a.space)
    try:
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
    from ..space.explore import info
    from ..space.model import read_space

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
