"""`inrview space fit | complete | interpolate | info`: shape spaces on the command line.

Under torchrun (`torchrun --nproc-per-node 2 -m inrview space fit ...`) every process runs `space fit`;
rank 0 prints, reports and writes the checkpoint. Bad input prints one line naming the file (exit 2).
"""

from __future__ import annotations

import argparse
import typing

from ..config.space import SPACE_SAMPLING, LatentConfig, SpaceTrainConfig
from ..errors import InrviewError
from ..io.formats import CHECKPOINT_FORMATS, MESH_EXPORT_FORMATS
from .checks import check_folder, check_input, check_output, grid_bytes, need_memory
from .common import Parser, add_device_arg, add_mask_args, deferred, positive_float, positive_int
from .space_long import add_run_args

#: How one shape may be moved onto another: not at all, rigidly, or rigidly with a uniform scale.
MOTIONS = ("none", "rigid", "similarity")
#: The latent decoder families (LatentConfig.kind's choices).
DECODERS = typing.get_args(typing.get_type_hints(LatentConfig)["kind"])


def _args(p) -> None:
    p.description = "Shape spaces: one network for a collection of shapes, a latent code each."
    ss = p.add_subparsers(dest="space_command", metavar="ACTION", required=True, parser_class=Parser)
    _fit_args(ss)
    _complete_args(ss)
    _explore_args(ss)


def _fit_args(ss) -> None:
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
        "--model",
        dest="network",
        choices=("auto", *DECODERS),
        default="auto",
        help="decoder: a template deformed per shape (deform), shared grid + small MLP (grid) or the DeepSDF MLP; "
        "auto (default): deform for meshes in vertex correspondence (one triangle list), else grid",
    )
    f.add_argument("--network", dest="network", choices=DECODERS, help=argparse.SUPPRESS)  # old name
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
    add_device_arg(f, tr.device, " (under torchrun: cuda:LOCAL_RANK)")
    f.add_argument("--seed", type=int, default=tr.seed, help=f"seed for weights, codes and samples (default {tr.seed})")
    f.add_argument("--metrics-json", metavar="PATH", help="write the training summary as JSON")
    f.add_argument("--quiet", action="store_true", help="print nothing but errors")
    _motion_arg(
        f,
        "--align",
        "rigid",
        "move every shape onto a template from the collection first (ICP) and record the transforms, so the "
        "space learns shape rather than placement (default rigid; none: keep the files' frames)",
    )
    add_mask_args(f)
    add_run_args(f)
    f.set_defaults(func=deferred(".space_run", "cmd_fit", _check_fit))


def _motion_arg(parser, flag: str, default: str, help: str) -> None:
    """An option choosing how a shape may be moved onto another (MOTIONS)."""
    parser.add_argument(flag, choices=MOTIONS, default=default, help=help)


def _complete_args(ss) -> None:
    c = ss.add_parser("complete", help="complete a shape from points (a partial, sparse or noisy scan)")
    c.add_argument("space", help="space checkpoint")
    c.add_argument("points", nargs="?", help="point cloud (normals used when present) or mesh")
    c.add_argument("-s", "--space", dest="space_option", help=argparse.SUPPRESS)  # the old `POINTS -s SPACE`
    c.add_argument("-o", "--output", required=True, help="output mesh (.ply, .obj, .stl, .glb, .off)")
    c.add_argument(
        "--seconds",
        type=positive_float,
        default=30.0,
        help="wall-clock budget of the whole command, from its start (default 30): the code, the adaptation and "
        "the refit end early to keep it",
    )
    c.add_argument("--steps", type=positive_int, default=300, help="at most this many code steps (default 300)")
    c.add_argument("--resolution", type=positive_int, default=128, help="marching-cubes cells per side (default 128)")
    c.add_argument("--metrics-json", metavar="PATH", help="write residual, novelty and timing as JSON")
    _motion_arg(
        c,
        "--pose",
        "rigid",
        "find the scan's transform into the space's frame with the code (default rigid; none: the scan is "
        "in the collection's frame)",
    )
    c.add_argument(
        "--adapt-steps",
        type=int,
        default=100,
        help="steps fine-tuning the network on the points after the code (default 100; 0: the code alone)",
    )
    c.add_argument(
        "--refine-steps",
        type=int,
        default=300,
        help="steps of the refit of the surface from a dense scan's own points, the space's surface filling "
        "what the scan did not see (default 300; 0: never; sparse scans keep the space's surface)",
    )
    add_mask_args(c)
    c.add_argument("--quiet", action="store_true", help="print nothing but errors (no progress)")
    c.set_defaults(func=deferred(".space_run", "cmd_complete", _check_complete))


def _explore_args(ss) -> None:
    i = ss.add_parser("interpolate", help="meshes along the line between two shapes' codes")
    i.add_argument("space", help="space checkpoint")
    i.add_argument("a", help="first shape (name or index)")
    i.add_argument("b", help="second shape (name or index)")
    i.add_argument("--steps", type=positive_int, default=5, help="meshes including both ends (default 5)")
    i.add_argument("--resolution", type=positive_int, default=128, help="marching-cubes cells per side (default 128)")
    i.add_argument("-o", "--output", required=True, help="output folder (created; meshes in it are replaced)")
    i.set_defaults(func=deferred(".space_run", "cmd_interpolate", _check_interpolate))
    n = ss.add_parser("info", help="shapes, training error, principal directions of the codes")
    n.add_argument("space", help="space checkpoint")
    n.add_argument("--json", action="store_true", help="print JSON")
    n.set_defaults(func=deferred(".space_run", "cmd_info"))


def _check_fit(a) -> None:
    check_output(a.output, "-o/--output", CHECKPOINT_FORMATS)
    check_output(a.metrics_json, "--metrics-json")
    check_input(a.folder)


def check_extraction(resolution: int) -> None:
    """The memory check every extracting command makes, before any work."""
    need_memory(grid_bytes(resolution), "--resolution", f"extraction at {resolution} cells per side")


def _space_then_points(a) -> None:
    """`space complete SPACE POINTS`, or the older `space complete POINTS -s SPACE`."""
    if a.space_option:
        if a.points:
            raise InrviewError("give the space once: `inrview space complete SPACE POINTS -o OUT`")
        a.space, a.points = a.space_option, a.space
    if not a.points:
        raise InrviewError("give the space checkpoint and the points: `inrview space complete SPACE POINTS -o OUT`")


def _check_interpolate(a) -> None:
    check_extraction(a.resolution)
    check_folder(a.output, "-o/--output")
    check_input(a.space)


def _check_complete(a) -> None:
    _space_then_points(a)
    check_extraction(a.resolution)
    check_output(a.output, "-o/--output", MESH_EXPORT_FORMATS)
    check_output(a.metrics_json, "--metrics-json")
    check_input(a.points)
    check_input(a.space)


#: The commands of this group: (name, help, option builder[, add_parser keywords]); see cli.GROUPS.
COMMANDS = (("space", "shape spaces: one network over a collection (DeepSDF / occupancy)", _args),)
