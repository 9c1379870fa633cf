"""SIGKILL at random moments of `space fit` (while it samples, while it trains and writes a checkpoint every
step) never leaves a checkpoint or a cache entry that cannot be read, and the next run resumes or redraws.
The moments are random; nothing about time is asserted."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

from inrview.sampling import store
from inrview.space.checkpoints import read_training_checkpoint, resume_info
from inrview.training import checkpoint as ckpt
from tests.space_shapes import RADII, write_collection

ROOT = Path(__file__).resolve().parent.parent
KILLS = 4


def _start(tmp_path: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), INRVIEW_CACHE_DIR=str(tmp_path / "cache"), OMP_NUM_THREADS="1")
    env.pop("INRVIEW_FAULT_AT_STEP", None)
    cmd = [sys.executable, "-m", "inrview", "space", "fit", str(tmp_path / "c"), "-o", str(tmp_path / "s.safetensors")]
    cmd += ["--samples", "8000", "--latent-dim", "8", "--epochs", "80", "--device", "cpu", "--quiet"]
    cmd += ["--checkpoint-steps", "1", "--resume", "auto"]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(p: subprocess.Popen, ready, limit: float = 300.0) -> bool:
    """Poll until ready() or the process ends (or `limit` seconds pass: only a guard against a hang)."""
    end = time.monotonic() + limit
    while p.poll() is None and time.monotonic() < end:
        if ready():
            return True
        time.sleep(0.05)
    return False


def _check_readable(tmp_path: Path) -> None:
    for entry in (tmp_path / "cache").rglob("*.npz"):
        arrays, why = store.read_entry(entry)
        assert why is None and arrays is not None, f"{entry}: {why}"
    for name in ("s.last.safetensors", "s.best.safetensors"):
        if (tmp_path / name).exists():
            read_training_checkpoint(tmp_path / name)


def test_sigkill_at_random_moments_leaves_only_readable_files(tmp_path):
    write_collection(tmp_path / "c", RADII)
    rng = random.Random(2026)
    last = tmp_path / "s.last.safetensors"
    phases = []
    for k in range(KILLS):
        p = _start(tmp_path)
        if k < 1:  # while sampling: as soon as an entry is being filled
            ready = _wait_for(p, lambda: any((tmp_path / "cache").rglob("*.lock")))
            time.sleep(rng.uniform(0.0, 0.3))
        else:  # while training and writing a checkpoint after every step
            ready = _wait_for(p, lambda: (resume_info(last) or {}).get("step", 0) > 0)
            time.sleep(rng.uniform(0.0, 1.0))
        p.kill()
        p.communicate()
        phases.append(("sampling" if k < 1 else "training") if ready and p.returncode == -9 else "other")
        _check_readable(tmp_path)
    assert phases.count("training") >= 2, phases  # kills did land while checkpoints were being written
    run = _start(tmp_path)
    out, err = run.communicate(timeout=600)
    assert run.returncode == 0, err[-2000:]
    assert "resuming from" in err
    assert ckpt.read(last).header["trainer"]["step"] == 80
    _check_readable(tmp_path)
