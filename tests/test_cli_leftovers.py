"""Command-line cases refused in one line before any work, and summaries that say what happened."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest


def run(*args, timeout=300):
    t0 = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-m", "inrview", *map(str, args)], capture_output=True, text=True, timeout=timeout
    )
    return r, time.perf_counter() - t0


def one_line(r) -> str:
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith("inrview: error:"), r.stderr
    return lines[0]


@pytest.mark.parametrize(
    "argv",
    [
        ["space", "complete", "SPACE", "POINTS", "-o", "OUT.ply", "--resolution", "4000"],
        ["space", "complete", "POINTS", "-s", "SPACE", "-o", "OUT.ply", "--resolution", "4000"],  # the old form
        ["space", "interpolate", "SPACE", "0", "1", "-o", "OUT", "--resolution", "4000"],
    ],
)
def test_extraction_memory_is_checked_first(argv, tmp_path, demo_shape):
    argv = [str(demo_shape) if w in ("SPACE", "POINTS") else str(tmp_path / w) if "OUT" in w else w for w in argv]
    r, _ = run(*argv)
    line = one_line(r)
    assert "--resolution" in line and "4000" in line and "memory" in line


def test_interpolate_into_an_existing_file_is_refused(tmp_path, demo_shape):
    existing = tmp_path / "taken.ply"
    existing.write_text("mine")
    r, _ = run("space", "interpolate", demo_shape, "0", "1", "-o", existing)
    assert "is a file, not a folder" in one_line(r) and existing.read_text() == "mine"


def test_space_fit_takes_model_like_every_command(tmp_path):
    missing = tmp_path / "no_such_folder"
    for flag in ("--model", "--network"):  # --network: the old name, still accepted
        r, _ = run("space", "fit", missing, "-o", tmp_path / "s.safetensors", flag, "deepsdf")
        assert "no_such_folder" in one_line(r)  # parsed; refused for the folder, not the option
    r, _ = run("space", "fit", "--help")
    assert "--model {auto,grid,deform,deepsdf}" in r.stdout and "--network" not in r.stdout


def test_space_complete_needs_both_files(tmp_path, demo_shape):
    r, _ = run("space", "complete", demo_shape, "-o", tmp_path / "o.ply")
    assert "give the space checkpoint and the points" in one_line(r)


def test_resume_summary_counts_this_run(tmp_path, demo_shape):
    ck = tmp_path / "a.safetensors"
    first, _ = run("fit", demo_shape, "-o", tmp_path / "a.ply", "--steps", 60, "--resolution", 48, "--checkpoint", ck)
    assert first.returncode == 0, first.stderr
    r, _ = run("fit", "-o", tmp_path / "b.ply", "--resume", ck, "--steps", 30, "--resolution", 48)
    line = r.stdout.strip().splitlines()[-1]
    assert " 30 steps in " in line and "from step 60" in line and "now 90 steps" in line
    this_run = float(line.split(" 30 steps in ")[1].split(" s ")[0])
    total_training = float(line.split("now 90 steps, ")[1].split(" s training")[0])
    assert this_run < total_training  # the seconds of this run, not since step 0


def test_reconstruct_says_what_it_waits_for_before_and_after_training(tmp_path, monkeypatch, capsys):
    """Estimating normals and the Poisson baseline have no steps to count: each says what it is doing
    (INRVIEW_STATUS_AFTER=0 shows every status line at once, whatever the machine's speed)."""
    import numpy as np

    import inrview
    from inrview.cli import main
    from inrview.io.export import save_points
    from inrview.io.loaders import load

    mesh = load(inrview.demo_shape())
    pts, _ = inrview.sampling.sample_surface(mesh.vertices, mesh.faces, 3000, np.random.default_rng(0))
    cloud = tmp_path / "c.ply"
    save_points(cloud, pts, None)
    monkeypatch.setenv("INRVIEW_STATUS_AFTER", "0")
    small = ["--steps", "20", "--resolution", "32", "--no-metrics", "--model", "relu", "--width", "32"]
    assert main(["reconstruct", str(cloud), "-o", str(tmp_path / "r.ply"), *small, "--baseline", "poisson"]) == 0
    err = capsys.readouterr().err
    assert "preparing the normals of 3000 points" in err and "screened Poisson on the same points" in err
    assert (tmp_path / "r_poisson.ply").is_file()
