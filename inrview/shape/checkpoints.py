"""Shape checkpoints: a trained field without its data, or a session that continues training."""

from __future__ import annotations

import dataclasses
import os

from ..config import FitConfig
from ..errors import CheckpointError
from ..field import Field
from ..io.geometry import Normalization
from ..io.loaders import load
from ..models import build_model
from ..training import checkpoint as ckpt
from .session import ShapeSession


def config_from_header(data: ckpt.CheckpointData, path="checkpoint") -> FitConfig:
    """The FitConfig a shape checkpoint's header records; raises CheckpointError naming path when it is
    missing or unusable."""
    try:
        return FitConfig.from_dict(data.header["config"])
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(path, f"header has no usable configuration ({e})") from None


def load_field(path: str | os.PathLike, device: str = "cpu") -> tuple[Field, dict]:
    """A trained field from a checkpoint, without the training data; returns (field, header)."""
    data = ckpt.read(path)
    if data.header.get("task") != "shape":
        raise CheckpointError(path, f"checkpoint holds a '{data.header.get('task')}' model, not a 3D shape")
    cfg = config_from_header(data, path)
    try:
        norm = Normalization.from_dict(data.header["normalization"])
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(path, f"header has no valid normalisation ({e})") from None
    try:
        model = build_model(cfg.model, 3, 1, seed=cfg.train.seed)
    except (ValueError, RuntimeError) as e:
        raise CheckpointError(path, f"cannot build the network in the header ({e})") from None
    ckpt.load_model_state(model, data, path)
    model.to(device).eval()
    return Field(model, norm, data.header.get("target", cfg.target)), data.header


def resume_session(
    path: str | os.PathLike,
    source: str | os.PathLike | None = None,
    cfg: FitConfig | None = None,
    device: str | None = None,
    steps: int | None = None,
    seconds: float | None = None,
) -> ShapeSession:
    """Continue training from a checkpoint: weights, Adam state, batch RNG, step count, elapsed time and the
    live measures' curve go on. The input file is taken from the header unless given; cfg (its network is
    always the header's) replaces the header's configuration. steps / seconds: train that much more (see
    ShapeSession.extend_budget for the learning-rate schedule); neither: keep the recorded budget."""
    data = ckpt.read(path)
    header_cfg = config_from_header(data, path)
    src = source or data.header.get("source")
    if not src:
        raise CheckpointError(path, "checkpoint does not name its input file; give it explicitly")
    geom = load(src, max_points=2_000_000, seed=header_cfg.train.seed)
    norm = Normalization.from_dict(data.header["normalization"])
    cfg = header_cfg if cfg is None else dataclasses.replace(cfg, model=header_cfg.model)
    session = ShapeSession(geom, cfg, norm, device)
    session.resume_from(data, path)
    if steps is not None or seconds is not None:
        session.extend_budget(steps, seconds)
    return session
