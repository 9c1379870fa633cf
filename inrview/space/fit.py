"""Fitting a shape space from a collection, on one process or under torchrun.

>>> from inrview.space import SpaceFit
>>> fit = SpaceFit("femurs/", SpaceTrainConfig(epochs=200))
>>> for snap in fit.run():          # SpaceSnapshot: step, losses, epoch, shape_error
...     pass
>>> fit.save("femurs.safetensors")  # collective under torchrun; rank 0 writes
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from ..config import SamplingConfig
from ..config.space import SPACE_SAMPLING, LatentConfig, SpaceTrainConfig
from ..io.collection import Collection, load_collection
from ..sampling.collection import collection_samples, member_facts
from ..training.space import DistContext, SpaceTrainer, dist_context, owned
from .model import save_space


class SpaceFit:
    """A space being trained: the collection, this process's samples and the SpaceTrainer.

    source: a folder or list file, or a loaded Collection; notify: called with one-line notices (skipped
    files, cache use). Under torchrun each process loads the collection (names and normalisation must agree
    everywhere) but samples only the shapes it owns."""

    def __init__(
        self,
        source: str | os.PathLike | Collection,
        cfg: SpaceTrainConfig = SpaceTrainConfig(),
        model: LatentConfig = LatentConfig(),
        normalise: str = "joint",
        sampling: SamplingConfig = SPACE_SAMPLING,
        notify: Callable[[str], None] | None = None,
        ctx: DistContext | None = None,
        check: Callable[[Collection], None] | None = None,
    ):
        self.ctx = ctx or dist_context(cfg.device)
        say = notify if self.ctx.rank == 0 else None
        if isinstance(source, Collection):
            self.collection = source
        else:
            self.collection = load_collection(source, normalise, notify=say, facts=member_facts())
        self.source = None if isinstance(source, Collection) else source  # recorded for resuming
        if check is not None:  # e.g. a resumed run refusing a changed collection, before any sampling
            check(self.collection)
        self.cfg, self.model_cfg, self.sampling = cfg, model, sampling
        mine = owned(len(self.collection), self.ctx)
        self.samples = collection_samples(
            self.collection.shapes, self.collection.normalizations, mine, sampling, cfg.seed, notify=say
        )
        self.trainer = SpaceTrainer(len(self.collection), self.samples, model, cfg, self.ctx)
        self.last = None
        self.best_error = float("inf")  # lowest mean training error written to a checkpoint (checkpoints.py)
        self.checkpoint_path = None  # where the last checkpoint goes, when checkpoints are kept
        attempt = int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0"))
        self.history = [{"from_step": 0, "attempt": attempt, "processes": self.ctx.world}]  # one per run segment

    def run(self, report_every: int = 10):
        """The trainer's SpaceSnapshot generator (see SpaceTrainer.run)."""
        for snap in self.trainer.run(report_every):
            self.last = snap
            yield snap

    def save(self, path: str | os.PathLike | None) -> dict:
        """Gather codes and statistics from every process (collective) and, on rank 0, write the
        checkpoint when path is given. Returns the header's space record (on every rank)."""
        codes, error = self.trainer.gathered()
        residual = self.trainer.surface_residuals(self.samples)
        rec = space_record(
            self.collection,
            self.model_cfg,
            self.cfg,
            self.sampling,
            codes.numpy(),
            error,
            residual,
            self.trainer,
            self.ctx.world,
        )
        if path is not None and self.ctx.rank == 0:
            save_space(path, self.trainer.decoder, codes, rec)
            self.trainer.decoder.to(self.ctx.device)
        return rec


def code_stats(codes: np.ndarray, residual: np.ndarray) -> dict:
    """What completion compares a new code with: codes (N, D), residual (N,) surface residuals.

    Returns mean (D,), std (D,), norms of the codes (max, p95 of distance from the mean), the nearest-
    neighbour distances between codes (median), and the residual's median and p95."""
    mean = codes.mean(axis=0)
    dist = np.linalg.norm(codes - mean, axis=1)
    pair = np.linalg.norm(codes[:, None] - codes[None], axis=2) + np.diag(np.full(len(codes), np.inf))
    nn = pair.min(axis=1) if len(codes) > 1 else np.zeros(1)
    return {
        "mean": mean.tolist(),
        "std": codes.std(axis=0).tolist(),
        "distance_max": float(dist.max()),
        "distance_p95": float(np.percentile(dist, 95)),
        "nearest_median": float(np.median(nn)),
        "residual_median": float(np.median(residual)),
        "residual_p95": float(np.percentile(residual, 95)),
    }


def space_record(
    col: Collection,
    model: LatentConfig,
    cfg: SpaceTrainConfig,
    sampling: SamplingConfig,
    codes: np.ndarray,
    error: np.ndarray,
    residual: np.ndarray,
    trainer: SpaceTrainer,
    world: int,
) -> dict:
    """The checkpoint header's 'space' object."""
    return {
        "network": model.to_dict(),
        "target": cfg.target,
        "train": cfg.to_dict(),
        "sampling": sampling.to_dict(),
        "normalisation": col.record(),
        "names": list(col.names),
        "sources": list(col.sources),
        "kind": col.kind,
        "skipped": list(col.notices),
        "shape_error": [float(e) for e in error],
        "surface_residual": [float(r) for r in residual],
        "code_stats": code_stats(codes, residual),
        "trainer": {
            "step": trainer.step,
            "epochs": trainer.step / trainer.steps_per_epoch,
            "elapsed": trainer.elapsed,
            "processes": world,
        },
    }
