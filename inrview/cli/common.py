"""What every command shares: the one-line error parser, checked option types, the training options with
their true defaults, the configuration built from them, the progress bar, and JSON/rescued writes."""

from __future__ import annotations

import argparse
import importlib
import json
import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from tqdm import tqdm

from ..config import (
    FAMILIES,
    FitConfig,
    ModelConfig,
    SamplingConfig,
    TrainConfig,
    model_config,
    replace,
)
from ..errors import InrviewError
from ..io.export import atomic_path
from . import history
from .history import add_history_arg


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line, `inrview: error: ...`, with exit status 2."""

    def error(self, message: str):
        """Print `inrview: error: message` on stderr and exit with status 2 (argparse's hook)."""
        self.exit(2, f"inrview: error: {message}\n")


# -- checked option types (argparse turns their ArgumentTypeError into "argument --NAME: ...") ---------
def positive_int(text: str) -> int:
    """A whole number >= 1."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return v


def positive_float(text: str) -> float:
    """A finite number > 0."""
    v = _float(text)
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return v


def non_negative_float(text: str) -> float:
    """A finite number >= 0."""
    v = _float(text)
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or positive, got {text}")
    return v


def _float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return v


def device_name(text: str) -> str:
    """'auto', 'cpu', 'cuda', 'cuda:N' or 'mps' (whether it is present is checked when training starts)."""
    if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", text):
        raise argparse.ArgumentTypeError(f"expected auto, cpu, cuda, cuda:N or mps, got {text!r}")
    return text


#: Help text of --device, the same in every command.
DEVICE_HELP = f"auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N, mps (default {TrainConfig().device})"


# -- training options ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainingDefaults:
    """What a training command does with an option left out; its help shows exactly these values.

    sizes: family -> (width, depth); steps None: the time budget decides; lr: family -> learning rate;
    omega0, grid_levels, grid_max_res: help phrases (a number, or how the value is chosen)."""

    model: str = ModelConfig().kind
    sizes: dict = field(default_factory=lambda: {k: f.size for k, f in FAMILIES.items()})
    steps: int | None = FitConfig().train.steps
    seconds: float | None = FitConfig().train.seconds
    batch_size: int = FitConfig().train.batch_size
    lr: dict = field(default_factory=lambda: {k: f.learning_rate(3, "sdf") for k, f in FAMILIES.items()})
    omega0: str = f"{ModelConfig().omega0:g}"
    grid_levels: str = str(ModelConfig().grid.levels)
    grid_max_res: str = str(ModelConfig().grid.max_resolution)
    models: tuple = field(default_factory=lambda: tuple(FAMILIES))


def per_family(values: dict, pick=lambda v: v) -> str:
    """'grid 64, siren 256, ...' from a family -> value table."""
    return ", ".join(f"{k} {pick(v):g}" for k, v in values.items())


def add_training_args(p: argparse.ArgumentParser, d: TrainingDefaults | None = None) -> None:
    """The network, budget, device and output options every training command takes (d None: the shape
    defaults, read from the family table when the parser is built)."""
    d = d or TrainingDefaults()
    g = p.add_argument_group("network and training")
    labels = "; ".join(f"{k}: {FAMILIES[k].label}" for k in d.models if k in FAMILIES)
    g.add_argument(
        "--model", choices=list(d.models), default=d.model, help=f"network family (default {d.model}); {labels}"
    )
    g.add_argument(
        "--width",
        type=positive_int,
        help=f"hidden units per layer (default by --model: {per_family(d.sizes, lambda s: s[0])})",
    )
    g.add_argument(
        "--depth", type=positive_int, help=f"hidden layers (default by --model: {per_family(d.sizes, lambda s: s[1])})"
    )
    g.add_argument("--omega0", type=positive_float, help=f"SIREN frequency factor (default {d.omega0})")
    g.add_argument("--grid-levels", type=positive_int, help=f"grid encoding levels (default {d.grid_levels})")
    g.add_argument("--grid-max-res", type=positive_int, help=f"finest grid resolution (default {d.grid_max_res})")
    steps = f"default {d.steps}" if d.steps else "default: none, the time budget decides"
    g.add_argument("--steps", type=positive_int, help=f"optimisation steps ({steps})")
    seconds = f"default {d.seconds:g} unless --steps is given" if d.seconds else "default: none, --steps decides"
    g.add_argument("--seconds", type=positive_float, help=f"training budget in seconds, instead of --steps ({seconds})")
    g.add_argument("--batch-size", type=positive_int, help=f"samples per step (default {d.batch_size})")
    g.add_argument("--lr", type=positive_float, help=f"learning rate (default by --model: {per_family(d.lr)})")
    add_device_arg(g)
    g.add_argument(
        "--seed",
        type=int,
        default=TrainConfig().seed,
        help=f"seed for weights, samples and batches (default {TrainConfig().seed})",
    )
    g.add_argument(
        "--threads",
        type=positive_int,
        help="CPU threads for torch (default: 1 for grids on up to 4 cores, else torch's choice)",
    )
    o = p.add_argument_group("output")
    o.add_argument("--metrics-json", metavar="PATH", help="write the final numbers as JSON")
    o.add_argument("--checkpoint", metavar="PATH", help="also save a checkpoint (.safetensors)")
    add_history_arg(o)
    add_quiet(o)


def add_resolution_arg(p) -> None:
    """--resolution: marching-cubes cells per side of the exported surface."""
    p.add_argument(
        "--resolution",
        type=positive_int,
        default=FitConfig().resolution,
        help=f"marching-cubes cells per side (default {FitConfig().resolution})",
    )


def add_quiet(p) -> None:
    """--quiet: no progress bar, no notices, no summary line."""
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")


def add_device_arg(p, default: str = TrainConfig().device, note: str = "") -> None:
    """--device: where the network runs (DEVICE_HELP, then a command's own note)."""
    p.add_argument("--device", type=device_name, default=default, help=DEVICE_HELP + note)


def family_options(a: argparse.Namespace) -> dict:
    """The family settings the options name (--omega0, --grid-levels, --grid-max-res) as model_config's
    overrides, None where an option was not given."""
    return {"omega0": a.omega0, "grid": {"levels": a.grid_levels, "max_resolution": a.grid_max_res}}


def config_from_args(a: argparse.Namespace, default_steps: int = FitConfig().train.steps) -> FitConfig:
    """The shape fit configuration the options ask for (unset options keep the configuration's defaults)."""
    model = model_config(a.model, width=a.width, depth=a.depth, **family_options(a))
    train = TrainConfig(
        steps=a.steps or default_steps,
        seconds=a.seconds,
        lr=a.lr,
        device=a.device,
        seed=a.seed,
        threads=a.threads,
        batch_size=a.batch_size or TrainConfig().batch_size,
    )
    kw = {"resolution": a.resolution} if getattr(a, "resolution", None) else {}
    return FitConfig(model=model, target=getattr(a, "target", "sdf"), sampling=sampling_from_args(a), train=train, **kw)


def sampling_from_args(a: argparse.Namespace) -> SamplingConfig:
    """The sample pool the options ask for (--samples, --sample-mix)."""
    s = SamplingConfig()
    if getattr(a, "samples", None) is not None:
        if a.samples < 1000:
            raise InrviewError("--samples must be at least 1000")
        s = replace(s, n_samples=a.samples)
    mix = getattr(a, "sample_mix", None)
    if mix:
        try:  # four numbers that SamplingConfig accepts as proportions
            s = replace(s, mix=tuple(float(v) for v in mix.split(",")))
        except ValueError:
            raise InrviewError(
                f"--sample-mix wants four non-negative numbers such as 0.3,0.3,0.25,0.15, got {mix!r}"
            ) from None
    return s


# -- what the user sees --------------------------------------------------------------------------------
class Progress:
    """A tqdm bar in percent of the whole command, fed with trainer snapshots and then the phases after
    training (extraction, writing, measures), so that its ETA counts them too.

    after: seconds expected after training. The training share of the bar is fixed at the first snapshot,
    from the projected training time (the time budget, or the time per step so far times the steps) against
    `after`. The position is clamped, so the ETA never goes negative and tqdm never clamps; a finished
    command ends at exactly 100%."""

    def __init__(self, cfg: TrainConfig, quiet: bool = False, desc: str = "training", file=None, after: float = 0.0):
        self.after = max(0.0, float(after))
        self.share = None if self.after > 0 else 1.0
        self.total = 100.0
        fmt = "{l_bar}{bar}| {n:.0f}% [{elapsed}<{remaining}{postfix}]"
        self.bar = (
            None
            if quiet
            else tqdm(total=self.total, desc=desc, file=file or sys.stderr, dynamic_ncols=True, bar_format=fmt)
        )

    def __call__(self, snap) -> None:
        """Show one trainer Snapshot (step, elapsed, losses, preview floats such as PSNR)."""
        history.note(snap)
        if self.share is None and snap.progress > 0:
            projected = snap.elapsed / snap.progress
            self.share = projected / (projected + self.after) if projected > 0 else 1.0
        if self.bar is None:
            return
        self._move(min(1.0, snap.progress) * (self.share or 1.0))
        if snap.losses:
            post = {k: f"{v:.3g}" for k, v in snap.losses.items() if k != "total"}
            extra = {k: f"{v:.2f}" for k, v in (snap.preview or {}).items() if isinstance(v, float)}
            self.bar.set_postfix(step=snap.step, **post, **extra, refresh=False)
        self.bar.refresh()

    def phase(self, name: str, fraction: float) -> None:
        """A phase after training has begun (e.g. 'extracting'); fraction: 0..1 of the after-training part done."""
        if self.bar is None:
            return
        share = self.share or 1.0
        self.bar.set_description(name, refresh=False)
        self._move(share + (1.0 - share) * min(1.0, max(0.0, fraction)))
        self.bar.refresh()

    def _move(self, fraction: float) -> None:
        self.bar.n = min(self.total, max(self.bar.n, self.total * fraction))

    def close(self, finished: bool = True) -> None:
        """End the bar: at 100% when the command finished its work."""
        if self.bar is not None:
            if finished:
                self.bar.n = self.total
                self.bar.refresh()
            self.bar.close()


class Say:
    """stdout lines and stderr notices, both silenced by --quiet (errors are printed by main)."""

    def __init__(self, quiet: bool):
        self.quiet = quiet

    def __call__(self, line: str) -> None:
        """Print a result line on stdout."""
        if not self.quiet:
            print(line)

    def notice(self, text: str) -> None:
        """Print `notice: text` on stderr."""
        if not self.quiet:
            print(f"notice: {text}", file=sys.stderr)


def write_json(path: str | None, data: dict) -> None:
    """Write data as indented JSON (atomically), or nothing when path is None."""
    if not path:
        return
    with atomic_path(path) as tmp:
        with open(tmp, "w") as fh:
            json.dump(data, fh, indent=2, default=float)


def deferred(module: str, name: str, check: Callable | None = None) -> Callable:
    """The command line's one seam for heavy imports. Parsers and early refusals live in light modules that
    load at start-up; a command's body lives in a module of cli (`module`, e.g. '.space_run') that imports
    torch and the rest at its top. This handler runs check(args) first (the refusals that need no torch),
    then imports that module and runs its function `name`."""

    def handler(args):
        if check is not None:
            check(args)
        return getattr(importlib.import_module(module, __package__), name)(args)

    return handler


def parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace | int:
    """The parsed options, or the exit status where argparse ends the run (--help, a usage error)."""
    try:
        return parser.parse_args(argv)
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else 0


def add_mask_args(p) -> None:
    """--label and --mask-smooth: how a segmentation mask (.nii, .nii.gz, .nrrd) becomes a surface."""
    p.add_argument(
        "--label", type=int, default=None, help="segmentation masks: mesh only this label (default: all non-zero)"
    )
    p.add_argument(
        "--mask-smooth",
        type=non_negative_float,
        default=1.0,
        metavar="SIGMA",
        help="segmentation masks: Gaussian smoothing in voxels before marching cubes (0: voxel staircase; default 1)",
    )


def mask_options(a: argparse.Namespace):
    """The MaskOptions of --label and --mask-smooth."""
    from ..io.masks import MaskOptions

    return MaskOptions(label=getattr(a, "label", None), smooth=getattr(a, "mask_smooth", 1.0))
