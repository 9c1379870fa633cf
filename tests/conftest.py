"""Shared fixtures: the bundled demo shape and the shared development data (skipped when absent)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("INRVIEW_SHARED_DATA", ROOT.parent / "shared" / "data"))

# The history of runs (inrview.runs) of every test process goes to a temporary folder, never the user's.
os.environ["INRVIEW_RUNS"] = tempfile.mkdtemp(prefix="inrview-runs-tests-")

# Two cores: one torch thread per test process keeps timings and the GUI thread predictable.
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


def shared(rel: str) -> Path:
    """Path of a file in ../shared/data; the calling test is skipped when it is not there."""
    p = SHARED_DATA / rel
    if not p.exists():
        pytest.skip(f"shared data not present: {p}")
    return p


@pytest.fixture
def shared_data():
    return shared


@pytest.fixture(scope="session")
def demo_shape() -> Path:
    import inrview

    return Path(inrview.demo_shape())
