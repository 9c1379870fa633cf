"""Long space runs: checkpoints while training, resuming, a stop on a signal, a changed collection refused,
and a torchrun group (two CPU processes, gloo) that restarts after one process is SIGKILLed mid-run and
goes on from its last checkpoint. Budgets in steps; no clock is asserted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from inrview.config import replace
from inrview.config.space import SPACE_SAMPLING, LatentConfig, SpaceTrainConfig
from inrview.errors import CheckpointError
from inrview.space import read_space
from inrview.space.checkpoints import checkpoint_paths, keep_checkpoints, read_training_checkpoint, resume_fit
from inrview.space.fit import SpaceFit
from inrview.training import checkpoint as ckpt
from inrview.training.space_checkpoint import FAULT_ENV
from tests.space_shapes import RADII, write_collection

ROOT = Path(__file__).resolve().parent.parent
#: One process on the CPU: the resumed run repeats the uninterrupted one's arithmetic exactly (same batches
#: and draws by step, same Adam moments, same schedule position), so the codes and weights agree to float32
#: rounding; measured: identical (difference 0.0). The bound leaves room for another BLAS summation order.
TOLERANCE = 1e-5
SAMPLING = replace(SPACE_SAMPLING, n_samples=3000)
MODEL = LatentConfig(latent_dim=8)


@pytest.fixture
def collection(tmp_path, monkeypatch):
    monkeypatch.setenv("INRVIEW_CACHE_DIR", str(tmp_path / "cache"))
    write_collection(tmp_path / "c", RADII)
    return tmp_path / "c"


def _fit(folder, epochs: int = 30) -> SpaceFit:
    return SpaceFit(folder, SpaceTrainConfig(epochs=epochs, threads=1, device="cpu"), MODEL, sampling=SAMPLING)


def test_two_halves_match_one_run(collection, tmp_path):
    whole = _fit(collection)
    list(whole.run())
    first = _fit(collection)
    cadence = keep_checkpoints(first, tmp_path / "s.safetensors", minutes=None, steps=5)
    for snap in first.run(report_every=1):
        if snap.step == 13:
            cadence.ask_stop()  # what SIGINT does: the run writes a checkpoint after its step and stops
    assert snap.done and snap.message == "stopped" and first.trainer.step == 14
    last, best = checkpoint_paths(tmp_path / "s.safetensors")
    assert read_space(last).header["trainer"]["step"] == 14 and best.exists()
    second = resume_fit(last, collection)
    assert second.trainer.step == 14 and second.trainer.total_steps == 30
    assert [h["from_step"] for h in second.history] == [0, 14]
    list(second.run())
    assert second.trainer.step == 30
    a, b = whole.trainer, second.trainer
    assert torch.allclose(a.codes.weight, b.codes.weight, atol=TOLERANCE, rtol=0)
    for p, q in zip(a.decoder.parameters(), b.decoder.parameters()):
        assert torch.allclose(p, q, atol=TOLERANCE, rtol=0)
    assert np.allclose(a.error, b.error, atol=TOLERANCE)


def test_resume_refuses_a_changed_collection(collection, tmp_path):
    fit = _fit(collection, epochs=3)
    keep_checkpoints(fit, tmp_path / "s.safetensors", minutes=None)
    list(fit.run())
    from inrview.space.checkpoints import write_checkpoint

    write_checkpoint(fit, *checkpoint_paths(tmp_path / "s.safetensors"))
    write_collection(tmp_path / "c", RADII + [(0.7, 0.7, 0.4)])
    with pytest.raises(CheckpointError, match=r"trained on 4 shapes, the collection now has 5 \(added shape4\)"):
        resume_fit(checkpoint_paths(tmp_path / "s.safetensors")[0], collection)
    # a finished space (no optimiser state) is not a training checkpoint
    fit.save(tmp_path / "done.safetensors")
    with pytest.raises(CheckpointError, match="without training state"):
        read_training_checkpoint(tmp_path / "done.safetensors")


def _cli(tmp_path, *args, launch=(), fault=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), INRVIEW_CACHE_DIR=str(tmp_path / "cache"), OMP_NUM_THREADS="1")
    env.pop(FAULT_ENV, None)
    if fault:
        env[FAULT_ENV] = fault
    fit = ["space", "fit", str(tmp_path / "c"), "-o", str(tmp_path / "s.safetensors"), "--samples", "3000"]
    fit += ["--latent-dim", "8", "--device", "cpu", "--quiet", *map(str, args)]
    cmd = [sys.executable, *launch, "-m", "inrview", *fit]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)


def test_sigint_writes_a_checkpoint_and_says_how_to_resume(collection, tmp_path):
    run = _cli(tmp_path, "--epochs", 30, fault="12:INT")
    assert run.returncode == 130, run.stderr[-2000:]
    assert "decoder deform: the 4 shapes share one triangle list" in run.stderr  # --model auto, the default
    line = run.stderr.strip().splitlines()[-1]
    assert line.startswith("stopped at step 12") and "--resume" in line and "s.last.safetensors" in line
    last = tmp_path / "s.last.safetensors"
    assert ckpt.read(last).header["trainer"]["step"] == 12
    run = _cli(tmp_path, "--epochs", 30, "--resume", last)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "resuming from" in run.stderr and "at step 12" in run.stderr
    head = ckpt.read(last).header
    assert head["trainer"]["step"] == 30 and [h["from_step"] for h in head["resume"]["history"]] == [0, 12]
    assert read_space(tmp_path / "s.safetensors").header["trainer"]["step"] == 30


def test_torchrun_restarts_a_killed_process_from_the_last_checkpoint(collection, tmp_path):
    """Two CPU processes (gloo); rank 1 SIGKILLs itself after step 25 on the first attempt. torchrun
    restarts the group, which resumes from the checkpoint of step 20 (written every 10 steps) and finishes
    the 40 steps; the final checkpoint holds every shape's code."""
    launch = ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", "--max-restarts=2"]
    plain = ("--align", "none", "--model", MODEL.kind)  # the run compared below: SpaceFit on the files as they are
    run = _cli(tmp_path, "--epochs", 40, "--checkpoint-steps", 10, *plain, launch=launch, fault="25:KILL:1")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "exitcode: -9" in run.stderr and "resuming from" in run.stderr
    head = ckpt.read(tmp_path / "s.last.safetensors").header
    history = head["resume"]["history"]
    assert [(h["attempt"], h["from_step"], h["processes"]) for h in history] == [(0, 0, 2), (1, 20, 2)]
    assert head["trainer"]["step"] == 40
    space = read_space(tmp_path / "s.last.safetensors")
    assert space.codes.shape == (4, 8) and bool((space.codes.abs().sum(dim=1) > 0).all())
    # the restarted group ends where one uninterrupted process ends (two processes follow one up to the
    # order of floating-point sums: test_space_cli's tolerance)
    whole = _fit(tmp_path / "c", epochs=40)
    list(whole.run())
    assert torch.allclose(space.codes, whole.trainer.codes.weight.detach(), atol=1e-4, rtol=0)
