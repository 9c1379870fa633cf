"""The safety net the space trainer and the shape completion share with Trainer (training/safety.py),
with faults injected on cue: a non-finite loss restores the last good weights and lowers the learning rate,
out of memory (CUDA's own exception type, raised on cue, so no GPU is needed) halves the batch."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch

from inrview.config.space import LatentConfig, SpaceTrainConfig
from inrview.io.geometry import Normalization
from inrview.models.latent import LatentDecoder
from inrview.sampling import SampleSet
from inrview.space.model import Space
from inrview.training import space as S
from inrview.training.safety import SafetyNet
from inrview.training.schedule import cosine_factor

C = importlib.import_module("inrview.space.complete")  # the module (the package exports a function of its name)
OOM = torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (injected)")
SMALL = LatentConfig(kind="deepsdf", latent_dim=4, width=16, depth=2)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def sphere(radius: float, n: int = 2000, seed: int = 0) -> SampleSet:
    p = np.random.default_rng(seed).uniform(-1, 1, (n, 3)).astype(np.float32)
    return SampleSet(p, (np.linalg.norm(p, axis=1) - radius).astype(np.float32))


def space_trainer(steps_per_epoch_shapes: int = 2, epochs: int = 60) -> S.SpaceTrainer:
    samples = {0: sphere(0.4), 1: sphere(0.6, seed=1)}
    cfg = SpaceTrainConfig(epochs=epochs, shapes_per_step=steps_per_epoch_shapes, points_per_shape=512, device="cpu")
    return S.SpaceTrainer(2, samples, SMALL, cfg)


def on_cue(trainer: S.SpaceTrainer, nan_at=(), oom_at=()):
    """Make the trainer's loss NaN, or raise out of memory, at the given calls (1-based)."""
    inner, calls = trainer.shape_loss, [0]

    def loss(pred, values):
        calls[0] += 1
        if calls[0] in oom_at:
            raise OOM
        out = inner(pred, values)
        return out * float("nan") if calls[0] in nan_at else out

    trainer.shape_loss = loss
    return calls


def weights(*modules) -> list[torch.Tensor]:
    return [p.detach().clone() for m in modules for p in m.parameters()]


def test_cosine_factor_is_the_one_schedule():
    assert cosine_factor(0.0, 0.1) == 1.0 and cosine_factor(1.0, 0.1) == pytest.approx(0.1)
    assert cosine_factor(0.5, 0.0) == pytest.approx(0.5) and cosine_factor(2.0, 0.2) == pytest.approx(0.2)


def test_space_nan_restores_the_last_good_weights_and_lowers_the_rate():
    ref = space_trainer(epochs=200)
    while ref.step < 100:  # the same run by hand up to step 100, where the good copy is taken
        ref.train_step(ref.step / ref.total_steps)
    good = weights(ref.decoder, ref.codes)
    tr = space_trainer(epochs=200)
    on_cue(tr, nan_at={131})
    snaps = list(tr.run(report_every=10))
    told = [s.message for s in snaps if s.message]
    assert len(told) == 1 and told[0].startswith("non-finite loss (data=nan")
    assert told[0].endswith("at step 131; restored the weights from step 100; learning rate lowered to x0.5")
    assert tr.safety.lr_scale == 0.5 and snaps[-1].done and tr.step == tr.total_steps == 200
    assert all(np.isfinite(snaps[-1].shape_error)) and np.isfinite(snaps[-1].losses["total"])
    assert all(torch.isfinite(w).all() for w in weights(tr.decoder, tr.codes))
    # the restore really was the step-100 weights: a trainer faulting at step 101 gets exactly them back
    again = space_trainer(epochs=200)
    on_cue(again, nan_at={101})
    next(s for s in again.run(report_every=1) if s.message)
    assert again.step == 100
    assert all(torch.equal(a, b) for a, b in zip(weights(again.decoder, again.codes), good))


def test_space_nan_every_step_stops_after_the_retries():
    tr = space_trainer()
    on_cue(tr, nan_at=set(range(1, 10_000)))
    snaps = list(tr.run(report_every=10))
    told = [s.message for s in snaps if s.message]
    assert len(told) == S.NAN_RETRIES + 1 and "training stopped at step 1" in told[-1]
    assert snaps[-1].done and tr.step == 0
    assert all(torch.isfinite(w).all() for w in weights(tr.decoder, tr.codes))


def test_space_out_of_memory_halves_the_points_per_shape():
    tr = space_trainer(epochs=20)
    on_cue(tr, oom_at={5, 6})
    snaps = list(tr.run(report_every=10))
    told = [s.message for s in snaps if s.message]
    assert [m.rsplit(": ", 1)[-1] for m in told] == ["256 points per shape", "128 points per shape"]
    assert tr.cfg.points_per_shape == 128 and snaps[-1].done and tr.step == tr.total_steps


def tiny_space() -> Space:
    torch.manual_seed(0)
    decoder = LatentDecoder(SMALL, seed=0)
    codes = torch.randn(3, SMALL.latent_dim) * 0.01
    stats = {"mean": [0.0] * SMALL.latent_dim, "std": [0.01] * SMALL.latent_dim}
    stats |= {"residual_p95": 0.05, "distance_max": 0.05}
    norm = Normalization.fit(np.array([[-1.0, -1, -1], [1, 1, 1]]), 0.1)
    return Space(decoder, codes, ["a", "b", "c"], "sdf", "joint", [norm], {"code_stats": stats})


def points(n=3000):
    d = np.random.default_rng(0).normal(size=(n, 3))
    return 0.5 * d / np.linalg.norm(d, axis=1, keepdims=True)


def test_completion_nan_restores_the_codes_and_goes_on(monkeypatch):
    inner, calls = C.data_loss, [0]

    def loss(*a):
        calls[0] += 1
        out = inner(*a)
        return out * float("nan") if calls[0] == 60 else out

    monkeypatch.setattr(C, "data_loss", loss)
    snaps = list(C.complete_steps(tiny_space(), points(), steps=80, report_every=10))
    told = [s.message for s in snaps if s.message]
    assert len(told) == 1 and "at step 60; restored the weights from step 50; learning rate lowered" in told[0]
    last = snaps[-1]
    assert last.done and last.step == 80 and np.isfinite(last.result.code).all() and np.isfinite(last.result.residual)


def test_completion_out_of_memory_halves_the_points(monkeypatch):
    inner, calls, sizes = C.data_loss, [0], []

    def loss(space, z, p, n):
        calls[0] += 1
        if calls[0] == 3:
            raise OOM
        sizes.append(len(p))
        return inner(space, z, p, n)

    monkeypatch.setattr(C, "data_loss", loss)
    snaps = list(C.complete_steps(tiny_space(), points(), steps=20, report_every=10))
    assert [s.message for s in snaps if s.message] == [
        "out of memory (OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB (injected)): "
        "1024 points per step"
    ]
    assert sizes[:2] == [2048, 2048] and set(sizes[2:]) == {1024} and snaps[-1].step == 20


def test_a_copy_is_never_taken_of_non_finite_weights():
    w = torch.zeros(3, requires_grad=True)
    net = SafetyNet([w], torch.optim.Adam([w], lr=0.1))
    net.remember(5)
    with torch.no_grad():
        w.fill_(float("nan"))
    net.remember(10)
    assert net.good_step == 5 and net.restore() == 5 and torch.equal(w.detach(), torch.zeros(3))
