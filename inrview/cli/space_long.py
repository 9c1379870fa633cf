"""`space fit`'s long-run options: checkpoints while training, stopping on SIGINT/SIGTERM with a
checkpoint, and resuming (explicitly, or by itself after torchrun restarted a lost process). Torch-free at
import (the options are built before torch loads); the run's helpers import it when called."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from ..errors import InrviewError
from .common import positive_int

#: Minutes between two checkpoints unless told otherwise (training.space_checkpoint.DEFAULT_MINUTES).
DEFAULT_MINUTES = 10.0


def add_run_args(f) -> None:
    """--checkpoint-every, --checkpoint-steps and --resume on the `space fit` parser."""
    f.add_argument(
        "--checkpoint-every",
        type=float,
        default=DEFAULT_MINUTES,
        metavar="MINUTES",
        help=f"write OUTPUT's .last (and .best) checkpoint this often (default {DEFAULT_MINUTES:g}; 0: only at "
        "the end and on Ctrl+C/SIGTERM)",
    )
    f.add_argument("--checkpoint-steps", type=positive_int, default=None, metavar="N", help="also every N steps")
    f.add_argument(
        "--resume",
        metavar="CKPT",
        help="go on from a .last/.best checkpoint ('auto': OUTPUT's .last one when it exists); --epochs/--seconds "
        "then give the whole run's budget",
    )


def resume_source(a) -> Path | None:
    """The checkpoint to resume from: --resume, or 'auto' and a torchrun restart (TORCHELASTIC_RESTART_COUNT
    > 0) take OUTPUT's .last checkpoint when it exists."""
    from ..space.checkpoints import checkpoint_paths

    last = checkpoint_paths(a.output)[0]
    restarted = int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")) > 0
    if a.resume in (None, "auto"):
        return last if (a.resume == "auto" or restarted) and last.exists() else None
    if not Path(a.resume).is_file():
        raise InrviewError(f"{a.resume}: checkpoint not found (--resume)")
    return Path(a.resume)


def make_fit(a, cfg, model, sampling, notify):
    """A new SpaceFit or one resumed from a checkpoint, keeping checkpoints beside a.output."""
    from ..space import SpaceFit
    from ..space.checkpoints import keep_checkpoints, resume_fit

    src = resume_source(a)
    if src is None:
        fit = SpaceFit(a.folder, cfg, model, a.normalise, sampling, notify=notify)
    else:
        fit = resume_fit(src, a.folder, epochs=a.epochs, seconds=a.seconds, device=a.device, notify=notify)
        if fit.ctx.rank == 0:
            tr = fit.trainer
            notify(f"resuming from {src} at step {tr.step} ({tr.step / tr.steps_per_epoch:.1f} epochs)")
    minutes = a.checkpoint_every if a.checkpoint_every > 0 else None
    keep_checkpoints(fit, a.output, minutes, a.checkpoint_steps)
    return fit


def train(fit, a, bar):
    """Run the fit to its budget or to a SIGINT/SIGTERM; the last and best checkpoints are written either
    way. Returns the last snapshot (its message is 'stopped' when a signal stopped it)."""
    from ..space.checkpoints import checkpoint_paths, write_checkpoint
    from ..training.space_checkpoint import StopOnSignals

    with StopOnSignals(fit.trainer.cadence):
        for snap in fit.run(report_every=10):
            bar(snap)
    if snap.message != "stopped":  # the stopped run has written its checkpoint already
        write_checkpoint(fit, *checkpoint_paths(a.output))
    return snap


def stopped_line(fit, a) -> str:
    """What a stopped run prints: where its checkpoint is and the command that goes on."""
    step, epoch = fit.trainer.step, fit.trainer.step / fit.trainer.steps_per_epoch
    folder = getattr(a, "source", a.folder)  # the folder as given, where it was loaded as a Collection
    cmd = ["inrview", "space", "fit", str(folder), "-o", a.output, "--resume", str(fit.checkpoint_path)]
    return f"stopped at step {step} ({epoch:.1f} epochs); checkpoint {fit.checkpoint_path}; resume with: " + shlex.join(
        cmd
    )


def exit_code(fit) -> int:
    """128 + the signal that stopped the run (130 for Ctrl+C, 143 for SIGTERM)."""
    sig = fit.trainer.cadence.stop_signal if fit.trainer.cadence else None
    return 128 + int(sig or 2)
