"""The command line: `inrview fit | extract | info | image | reconstruct`, and `inrview [FILE]` for the app.

Errors from bad input print one line naming the file and the problem and exit with status 2.
"""
from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import sys
import time

from .config import FAMILY_SIZES, SHAPE_STEPS, FitConfig, SamplingConfig, TrainConfig, model_config, replace
from .errors import InrviewError

#: Subcommands whose parsers live next to the code they drive; imported only when used.
PLUGINS = {"image": "inrview.image.cli", "reconstruct": "inrview.recon_cli", "space": "inrview.space.cli"}
CORE = ("fit", "extract", "info")


# -- shared pieces for every training command -------------------------------------------------------
def add_training_args(p: argparse.ArgumentParser, default_steps: int = SHAPE_STEPS) -> None:
    g = p.add_argument_group("network and training")
    g.add_argument("--model", choices=list(FAMILY_SIZES), default="grid", help="network family (default: grid)")
    g.add_argument("--width", type=int, help="hidden units per layer (default depends on --model)")
    g.add_argument("--depth", type=int, help="hidden layers (default depends on --model)")
    g.add_argument("--omega0", type=float, help="SIREN frequency factor (default 30)")
    g.add_argument("--grid-levels", type=int, help="grid encoding levels (default 6)")
    g.add_argument("--grid-max-res", type=int, help="finest grid resolution (default 128)")
    g.add_argument("--steps", type=int, default=None, help=f"optimisation steps (default {default_steps})")
    g.add_argument("--seconds", type=float, default=None, help="wall-clock training budget instead of --steps")
    g.add_argument("--batch-size", type=int, default=None, help="samples per step (default 16384)")
    g.add_argument("--lr", type=float, default=None, help="learning rate (default depends on --model)")
    g.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, mps")
    g.add_argument("--seed", type=int, default=0, help="seed for weights, samples and batches")
    g.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    o = p.add_argument_group("output")
    o.add_argument("--metrics-json", metavar="PATH", help="write the final metrics as JSON")
    o.add_argument("--checkpoint", metavar="PATH", help="also save a checkpoint (.safetensors)")
    o.add_argument("--quiet", action="store_true", help="no progress bar")


def config_from_args(a: argparse.Namespace, default_steps: int = SHAPE_STEPS) -> FitConfig:
    model = model_config(a.model, width=a.width, depth=a.depth, omega0=a.omega0, grid_levels=a.grid_levels,
                         grid_max_resolution=a.grid_max_res)
    train = TrainConfig(steps=a.steps if a.steps is not None else default_steps, seconds=a.seconds, lr=a.lr, device=a.device, seed=a.seed,
                        threads=a.threads, **({"batch_size": a.batch_size} if a.batch_size else {}))
    for name, v in (("steps", train.steps), ("batch size", train.batch_size), ("width", model.width),
                    ("depth", model.depth)):
        if v is not None and v < 1:
            raise InrviewError(f"--{name.replace(' ', '-')} must be at least 1")
    if train.seconds is not None and not (train.seconds > 0 and math.isfinite(train.seconds)):
        raise InrviewError("--seconds must be a positive number")
    kw = {"resolution": a.resolution} if getattr(a, "resolution", None) else {}
    return FitConfig(model=model, target=getattr(a, "target", "sdf"), sampling=sampling_from_args(a), train=train, **kw)


def sampling_from_args(a: argparse.Namespace) -> SamplingConfig:
    s = SamplingConfig()
    if getattr(a, "samples", None) is not None:
        if a.samples < 1000:
            raise InrviewError("--samples must be at least 1000")
        s = replace(s, n_samples=a.samples)
    mix = getattr(a, "sample_mix", None)
    if mix:
        try:
            parts = [float(v) for v in mix.split(",")]
        except ValueError:
            parts = []
        if len(parts) != 4 or min(parts) < 0 or sum(parts) <= 0:
            raise InrviewError(f"--sample-mix wants four non-negative numbers such as 0.3,0.3,0.25,0.15, got {mix!r}")
        s = replace(s, surface_fraction=parts[0], near_fraction=parts[1], far_fraction=parts[2],
                    uniform_fraction=parts[3])
    return s


class Progress:
    """A tqdm bar over steps or seconds, fed with trainer snapshots."""

    def __init__(self, cfg: TrainConfig, quiet: bool = False, desc: str = "training"):
        from tqdm import tqdm

        self.by_time = cfg.seconds is not None
        total = cfg.seconds if self.by_time else cfg.steps
        self.bar = None if quiet else tqdm(total=total, desc=desc, unit="s" if self.by_time else "step",
                                           file=sys.stderr, dynamic_ncols=True,
                                           bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} [{elapsed}<{remaining}{postfix}]")

    def __call__(self, snap) -> None:
        if self.bar is None:
            return
        self.bar.n = snap.elapsed if self.by_time else snap.step
        if snap.losses:
            post = {k: f"{v:.3g}" for k, v in snap.losses.items() if k != "total"}
            extra = {k: f"{v:.2f}" for k, v in (snap.preview or {}).items() if isinstance(v, float)}
            self.bar.set_postfix(step=snap.step, **post, **extra, refresh=False)
        self.bar.refresh()

    def close(self):
        if self.bar is not None:
            self.bar.close()


def write_json(path: str | None, data: dict) -> None:
    if not path:
        return
    from .io.export import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "w") as fh:
            json.dump(data, fh, indent=2, default=float)


# -- commands ----------------------------------------------------------------------------------------
def cmd_fit(a) -> int:
    from .api import ShapeSession, fit

    cfg = config_from_args(a)
    t0 = time.perf_counter()
    session = ShapeSession.from_file(a.input, cfg, device=None if a.device == "auto" else a.device)
    for n in session.geometry.notices:
        print(f"notice: {n}", file=sys.stderr)
    bar = Progress(cfg.train, a.quiet)
    try:
        result = fit(session, cfg, output=a.output, measure=not a.no_metrics, progress=bar)
    finally:
        bar.close()
    seconds = time.perf_counter() - t0
    if a.checkpoint:
        session.save_checkpoint(a.checkpoint)
    m = result.metrics
    last = result.last
    line = (f"{a.output}: {len(result.mesh.faces)} faces, {last.step} steps in {last.elapsed:.1f} s training "
            f"({seconds:.1f} s total) on {session.trainer.device.type}")
    if m is not None:
        line += f"; {m.summary()}"
    print(line)
    data = {"seconds": seconds, "train_seconds": last.elapsed, "steps": last.step, "faces": len(result.mesh.faces),
            "vertices": len(result.mesh.vertices), "device": str(session.trainer.device),
            "final_loss": last.losses.get("total"), "input": str(a.input), "output": str(a.output),
            "config": cfg.to_dict()}
    if m is not None:
        data.update(m.to_dict())
    write_json(a.metrics_json, data)
    return 0


def cmd_extract(a) -> int:
    from .api import load_field
    from .extract import extract_mesh
    from .io.export import save_mesh

    field, header = load_field(a.checkpoint, device="cpu" if a.device == "auto" else a.device)
    t0 = time.perf_counter()
    mesh = extract_mesh(field, a.resolution)
    save_mesh(a.output, mesh.vertices, mesh.faces)
    print(f"{a.output}: {len(mesh.faces)} faces at resolution {a.resolution} "
          f"({mesh.evaluations} network evaluations, {time.perf_counter() - t0:.2f} s)")
    return 0


def cmd_info(a) -> int:
    from .io.geometry import report
    from .io.loaders import load

    if str(a.file).endswith(".safetensors"):
        from .training.checkpoint import read

        data = read(a.file)
        print(json.dumps({k: v for k, v in data.header.items() if k != "optimizer"}, indent=2))
        return 0
    print(report(load(a.file)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="inrview", description="Implicit neural representations: fit, view, export.")
    p.add_argument("--version", action="version", version=f"inrview {__import__('inrview').__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    f = sub.add_parser("fit", help="fit a neural field to a mesh or point cloud and export its surface")
    f.add_argument("input", help="mesh or point cloud file")
    f.add_argument("-o", "--output", required=True, help="output mesh (.ply, .obj, .stl, .glb, .off)")
    f.add_argument("--target", choices=["sdf", "occupancy"], default="sdf", help="what the network learns")
    f.add_argument("--resolution", type=int, default=256, help="marching-cubes resolution (default 256)")
    f.add_argument("--no-metrics", action="store_true", help="skip measuring the result against the input")
    f.add_argument("--samples", type=int, default=None, help="training pool size (default 500000)")
    f.add_argument("--sample-mix", metavar="S,N,F,U", default=None,
                   help="proportions of surface, near (fine Gaussian), far (coarse Gaussian) and uniform samples "
                        "(default 0.3,0.3,0.25,0.15)")
    add_training_args(f)
    f.set_defaults(func=cmd_fit)
    e = sub.add_parser("extract", help="extract a mesh from a checkpoint")
    e.add_argument("checkpoint")
    e.add_argument("-o", "--output", required=True)
    e.add_argument("--resolution", type=int, default=256)
    e.add_argument("--device", default="auto")
    e.set_defaults(func=cmd_extract)
    i = sub.add_parser("info", help="print the load report of a file (or a checkpoint's header)")
    i.add_argument("file")
    i.set_defaults(func=cmd_info)
    for name, module in PLUGINS.items():
        try:
            importlib.import_module(module).register(sub)
        except ModuleNotFoundError as err:
            if err.name != module:
                raise
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and (argv[0] in CORE or argv[0] in PLUGINS or argv[0] in ("-h", "--help", "--version")):
            args = build_parser().parse_args(argv)
            return int(args.func(args) or 0)
        from .app_launcher import launch

        return int(launch(argv) or 0)
    except InrviewError as err:
        print(f"inrview: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("inrview: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
