"""Training checkpoints of a space: written while it trains, read to resume it.

Beside the output `femurs.safetensors` the run keeps `femurs.last.safetensors` (the latest state) and
`femurs.best.safetensors` (the state with the lowest mean training error so far). Each is a complete space
checkpoint (it opens in `space info`, `space complete` and the app) plus the resumable state of
training.space_checkpoint, and each is written atomically (written whole to a temporary file in the same
folder, flushed and fsynced, then renamed over the old one): a process killed at any moment leaves the old
file or the new one, never a torn one.

    >>> fit = SpaceFit("femurs/", cfg); keep_checkpoints(fit, "femurs.safetensors", minutes=10)
    >>> fit = resume_fit("femurs.last.safetensors", "femurs/", epochs=600)   # goes on to 600 epochs in all
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import numpy as np

from ..config.space import LatentConfig, SpaceTrainConfig
from ..errors import CheckpointError
from ..io.export import atomic_path
from ..sampling.collection import SPACE_SAMPLING
from ..training import checkpoint as ckpt
from ..training.space_checkpoint import Cadence, gather_state, restore_state
from .fit import SpaceFit, space_record
from .model import TASK, read_space


def checkpoint_paths(output: str | os.PathLike) -> tuple[Path, Path]:
    """(last, best) checkpoint paths beside the output: NAME.last.safetensors and NAME.best.safetensors."""
    out = Path(output)
    stem = out.name[: -len(out.suffix)] if out.suffix else out.name
    return out.with_name(f"{stem}.last.safetensors"), out.with_name(f"{stem}.best.safetensors")


def keep_checkpoints(
    fit: SpaceFit, output: str | os.PathLike, minutes: float | None = 10.0, steps: int | None = None
) -> Cadence:
    """Make `fit` write its last and best checkpoints beside `output` every `minutes` (rank 0's clock)
    and/or every `steps` steps, and when asked to stop (Cadence.ask_stop, or StopOnSignals). Returns the
    cadence."""
    last, best = checkpoint_paths(output)
    cadence = Cadence(minutes, steps)
    fit.trainer.cadence = cadence
    fit.trainer.on_checkpoint = lambda stop: write_checkpoint(fit, last, best)
    fit.checkpoint_path, fit.output = last, Path(output)
    return cadence


def write_checkpoint(fit: SpaceFit, last: Path, best: Path | None = None) -> float:
    """Write the run's state to `last` (rank 0; collective under torchrun) and copy it to `best` when its
    mean training error is the lowest so far. Returns that mean error."""
    tr = fit.trainer
    tensors, state = gather_state(tr)
    error = np.asarray(state["shape_error"])
    residual = tr.surface_residuals(fit.samples, max_points=256)
    codes = tensors["model/codes.embedding.weight"].numpy()
    rec = space_record(fit.collection, fit.model_cfg, fit.cfg, fit.sampling, codes, error, residual, tr, fit.ctx.world)
    mean = float(error.mean()) if error.size else float("inf")
    improved = mean < fit.best_error
    fit.best_error = min(mean, fit.best_error)
    resume = {
        "best_error": fit.best_error,
        "history": fit.history,
        "folder": None if fit.source is None else os.path.abspath(fit.source),
        "output": None if getattr(fit, "output", None) is None else os.path.abspath(fit.output),
        "total_steps": tr.total_steps,
    }
    header = {"task": TASK, "space": rec, "target": rec["target"], "resume": resume} | state
    if fit.ctx.rank == 0:
        _save(last, tensors, header)
        if best is not None and improved:
            with atomic_path(best) as tmp:
                shutil.copyfile(last, tmp)
    return mean


def _save(path: Path, tensors: dict, header: dict) -> None:
    from safetensors.torch import save_file

    head = dict(header, format=ckpt.FORMAT, version=ckpt.VERSION, versions=ckpt._versions())
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"inrview": json.dumps(head)})


def resume_info(path: str | os.PathLike) -> dict | None:
    """What a training checkpoint says about its run, from its header alone (cheap): {'step', 'total_steps'
    (None with a time budget), 'finished', 'folder', 'output'}; None for a file without training state."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            head = json.loads((f.metadata() or {}).get("inrview", "{}"))
        res, step = head["resume"], int(head["trainer"]["step"])
    except Exception:  # noqa: BLE001 - anything unreadable simply offers no Continue
        return None
    total = res.get("total_steps")
    folder = res.get("folder")
    return {
        "step": step,
        "total_steps": total,
        "finished": total is not None and step >= total,
        "folder": folder,
        "output": res.get("output"),
    }


def read_training_checkpoint(path: str | os.PathLike) -> ckpt.CheckpointData:
    """A space checkpoint that can be resumed (validated as a space, with optimiser and trainer state);
    CheckpointError naming the file otherwise."""
    p = Path(path)
    space = read_space(p)  # the space's own checks: header, codes, decoder weights
    data = ckpt.read(p)
    head = data.header
    if "optimizer" not in head or "resume" not in head or not any(k.startswith("optim/") for k in data.tensors):
        raise CheckpointError(p, "is a finished space without training state; resume from NAME.last.safetensors")
    groups = head["optimizer"].get("param_groups") if isinstance(head["optimizer"], dict) else None
    if not isinstance(groups, list) or len(groups) != 2:
        raise CheckpointError(p, "training state has no decoder and code parameter groups")
    if len(head.get("shape_error", [])) != len(space.names):
        raise CheckpointError(p, f"training state holds errors for {len(head.get('shape_error', []))} shapes")
    return data


def resume_fit(
    path: str | os.PathLike,
    source,
    epochs: int | None = None,
    seconds: float | None = None,
    device: str | None = None,
    notify=None,
    ctx=None,
) -> SpaceFit:
    """A SpaceFit that goes on from a training checkpoint: the same network, training settings, sampling
    and normalisation as the checkpoint, the same collection (CheckpointError in one line when shapes were
    added or removed), its weights, codes, Adam moments, step and schedule position.

    epochs / seconds: a new budget, counted from the start of the run (the learning-rate schedule
    stretches to it); None keeps the checkpoint's."""
    p = Path(path)
    data = read_training_checkpoint(p)
    rec = data.header["space"]
    cfg = SpaceTrainConfig.from_dict(rec["train"])
    if epochs is not None:
        cfg = dataclasses.replace(cfg, epochs=epochs, seconds=None)
    elif seconds is not None:
        cfg = dataclasses.replace(cfg, seconds=seconds)
    if device is not None:
        cfg = dataclasses.replace(cfg, device=device)
    sampling = SPACE_SAMPLING.from_dict(rec["sampling"])
    fit = SpaceFit(
        source,
        cfg,
        LatentConfig.from_dict(rec["network"]),
        rec["normalisation"]["mode"],
        sampling,
        notify=notify,
        ctx=ctx,
        check=lambda col: same_collection(p, rec["names"], col.names),
    )
    restore_state(fit.trainer, data.tensors, data.header)
    fit.best_error = float(data.header["resume"].get("best_error", float("inf")))
    fit.history = list(data.header["resume"].get("history", [])) + fit.history[-1:]
    fit.history[-1]["from_step"] = fit.trainer.step
    return fit


def same_collection(path: Path, trained: list[str], now: list[str]) -> None:
    """CheckpointError in one line when the collection's shapes differ from those the checkpoint holds."""
    if list(trained) == list(now):
        return
    added = [n for n in now if n not in set(trained)]
    removed = [n for n in trained if n not in set(now)]
    what = "; ".join(
        s
        for s in (
            f"added {', '.join(added[:3])}{' ...' if len(added) > 3 else ''}" if added else "",
            f"removed {', '.join(removed[:3])}{' ...' if len(removed) > 3 else ''}" if removed else "",
            "" if added or removed else "the order differs",
        )
        if s
    )
    raise CheckpointError(
        path,
        f"was trained on {len(trained)} shapes, the collection now has {len(now)} ({what}): "
        "resume needs the same shapes",
    )
