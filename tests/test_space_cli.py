"""`inrview space ...` end to end: bad input (one line naming the file, exit 2), and a space trained by two
CPU processes under torchrun (gloo) matching a one-process run at the same number of epochs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from inrview.cli import main
from tests.space_shapes import RADII, write_collection

ROOT = Path(__file__).resolve().parent.parent
#: Two processes follow one process's run up to the order of floating-point sums (see training/space.py);
#: after 40 Adam steps the codes and the decoded distances agree to this (measured on the 2-core CPU: codes
#: within 4e-7, decoded values within 4e-6, per-shape training errors within 1e-5 relative).
TOLERANCE = 1e-4


def _one_error_line(capsys, name: str) -> None:
    """One error line naming the file (after any 'notice:' lines about skipped files)."""
    err = [ln for ln in capsys.readouterr().err.strip().splitlines() if not ln.startswith("notice:")]
    assert len(err) == 1 and err[0].startswith("inrview: error:") and name in err[0], err


def test_bad_inputs_exit_2_naming_the_file(tmp_path, capsys, demo_shape):
    (tmp_path / "empty").mkdir()
    assert main(["space", "fit", str(tmp_path / "empty"), "-o", str(tmp_path / "s.safetensors")]) == 2
    _one_error_line(capsys, "empty")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.stl").write_bytes(b"\x00" * 10)
    assert main(["space", "fit", str(tmp_path / "junk"), "-o", str(tmp_path / "s.safetensors")]) == 2
    _one_error_line(capsys, "a.stl")
    write_collection(tmp_path / "mixed", RADII[:2])
    np.savetxt(tmp_path / "mixed" / "scan.xyz", np.random.default_rng(0).normal(size=(100, 3)))
    assert main(["space", "fit", str(tmp_path / "mixed"), "-o", str(tmp_path / "s.safetensors")]) == 2
    _one_error_line(capsys, "scan.xyz")
    for cmd in (
        ["space", "info", str(demo_shape)],
        ["space", "complete", str(demo_shape), "-s", str(demo_shape), "-o", str(tmp_path / "o.ply")],
    ):
        assert main(cmd) == 2
        _one_error_line(capsys, Path(demo_shape).name)


def _fit(tmp_path: Path, out: str, processes: int) -> Path:
    env = dict(os.environ, PYTHONPATH=str(ROOT), INRVIEW_CACHE_DIR=str(tmp_path / "cache"), OMP_NUM_THREADS="1")
    fit = [
        "-m",
        "inrview",
        "space",
        "fit",
        str(tmp_path / "c"),
        "-o",
        str(tmp_path / out),
        "--epochs",
        "40",
        "--samples",
        "5000",
        "--latent-dim",
        "8",
        "--device",
        "cpu",
        "--quiet",
    ]
    launch = (
        [sys.executable]
        if processes == 1
        else [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}"]
    )
    run = subprocess.run(launch + fit, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    return tmp_path / out


def test_two_processes_match_one(tmp_path):
    from inrview.space import read_space

    write_collection(tmp_path / "c", RADII + [(0.7, 0.9, 0.6)])
    one, two = read_space(_fit(tmp_path, "one.safetensors", 1)), read_space(_fit(tmp_path, "two.safetensors", 2))
    assert two.names == one.names and two.codes.shape == (5, 8)
    assert two.header["trainer"]["processes"] == 2 and (two.codes.abs().sum(dim=1) > 0).all()
    assert float((two.codes - one.codes).abs().max()) < TOLERANCE
    x = torch.rand(1, 2000, 3) * 2 - 1
    for i in range(5):
        a, b = one.decoder(one.codes[i : i + 1], x), two.decoder(two.codes[i : i + 1], x)
        assert float((a - b).abs().max()) < TOLERANCE
    np.testing.assert_allclose(two.header["shape_error"], one.header["shape_error"], rtol=1e-3)
