"""The command line end to end on the bundled shape, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import inrview


def run(*args, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", "inrview", *map(str, args)], capture_output=True, text=True, timeout=timeout
    )


def test_fit_extract_info(tmp_path, demo_shape):
    out, metrics, ck = tmp_path / "spot.ply", tmp_path / "m.json", tmp_path / "spot.safetensors"
    r = run(
        "fit",
        demo_shape,
        "-o",
        out,
        "--steps",
        120,
        "--resolution",
        128,
        "--metrics-json",
        metrics,
        "--checkpoint",
        ck,
        "--threads",
        2,
    )
    assert r.returncode == 0, r.stderr
    m = json.loads(metrics.read_text())
    for key in ("chamfer_l1", "iou", "f_score", "normal_consistency", "seconds"):
        assert key in m
    assert m["chamfer_l1"] < 3e-3 and m["iou"] > 0.95 and m["steps"] == 120
    assert "Chamfer-L1" in r.stdout.splitlines()[-1]
    src, got = inrview.load(demo_shape), inrview.load(out)
    assert np.abs(got.bounds - src.bounds).max() < 0.03  # input units, not the unit cube
    r = run("extract", ck, "-o", tmp_path / "again.obj", "--resolution", 64)
    assert r.returncode == 0, r.stderr
    assert len(inrview.load(tmp_path / "again.obj").faces) > 1000
    r = run("info", demo_shape)
    assert r.returncode == 0 and "faces:       5856" in r.stdout and "watertight:  yes" in r.stdout
    r = run("info", ck)  # a readable summary, the raw header with --json
    assert r.returncode == 0 and "a 3D shape checkpoint" in r.stdout and len(r.stdout.splitlines()) < 12
    assert "120 steps" in r.stdout and "signed distance" in r.stdout and "normalised" in r.stdout
    r = run("info", ck, "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["task"] == "shape"


def test_bad_input_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "broken.stl"
    bad.write_bytes(b"solid x\nfacet normal 0 0 1\n outer loop\n  vertex 0 0")
    r = run("fit", bad, "-o", tmp_path / "o.ply", "--steps", 5)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "broken.stl" in lines[0] and "Traceback" not in r.stderr
    r = run("fit", tmp_path / "nope.obj", "-o", tmp_path / "o.ply")
    assert r.returncode == 2 and "file not found" in r.stderr
    r = run("extract", bad, "-o", tmp_path / "o.ply")
    assert r.returncode == 2 and "broken.stl" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = run("fit", tmp_path / "nope.obj", "-o", tmp_path / "o.ply", "--steps", "0")
    assert r.returncode == 2


# -- one command line: did-you-mean, help defaults, early checks, honest progress -----------------------
def call(capsys, *args):
    """Run the command line in this process; (exit status, stdout, stderr)."""
    from inrview.cli import main

    try:
        rc = main([str(a) for a in args])
    except SystemExit as e:  # argparse's --help and usage errors
        rc = e.code
    out, err = capsys.readouterr()
    return rc, out, err


def test_unknown_command_suggests_the_nearest(capsys):
    rc, out, err = call(capsys, "fti", "x")
    assert rc == 2 and out == "" and err == "inrview: error: unknown command 'fti' (did you mean 'fit'?)\n"
    rc, _, err = call(capsys, "reconstrct", "x")
    assert rc == 2 and "did you mean 'reconstruct'?" in err
    rc, _, err = call(capsys, "missing.obj")  # a file name goes to the app, which says it is not there
    assert rc == 2 and err == "inrview: error: missing.obj: file not found\n"


def test_top_level_help_lists_commands_and_app_options(capsys):
    rc, out, _ = call(capsys, "--help")
    assert rc == 0
    for word in (
        "fit",
        "extract",
        "info",
        "image",
        "reconstruct",
        "[FILE]",
        "--fit-seconds",
        "--screenshot",
        "--quit",
        "--window-size",
    ):
        assert word in out, word


def _help_defaults(capsys, *command) -> dict:
    """{option: the text after 'default ' in its help} for one command, as `--help` prints it."""
    import re

    from inrview.cli import build_parser

    parser = build_parser()[1].build(command[0])
    for name in command[1:]:
        parser = next(a for a in parser._actions if a.dest == "image_command").choices[name]
    rc, out, _ = call(capsys, *command, "--help")
    assert rc == 0
    found = {}
    for action in parser._actions:
        m = re.search(r"\(default ([^)]*)\)", action.help or "")
        if m and action.option_strings:
            assert " ".join(m.group(0).split()) in " ".join(out.split())  # printed as such
            found[action.option_strings[-1]] = m.group(1)
    return found


def test_shape_help_defaults_are_the_configuration(capsys):
    from inrview.config import FAMILIES, FitConfig

    cfg, d = FitConfig(), _help_defaults(capsys, "fit")
    assert int(d["--steps"]) == cfg.train.steps and int(d["--batch-size"]) == cfg.train.batch_size
    assert int(d["--resolution"]) == cfg.resolution and int(d["--samples"]) == cfg.sampling.n_samples
    assert int(d["--grid-levels"]) == cfg.model.grid.levels == 4
    assert int(d["--grid-max-res"]) == cfg.model.grid.max_resolution
    assert float(d["--omega0"]) == cfg.model.omega0 and d["--model"] == cfg.model.kind
    assert d["--device"] == cfg.train.device == "auto" and int(d["--seed"]) == cfg.train.seed
    assert d["--width"] == "by --model: " + ", ".join(
        f"{k} {w}" for k, (w, _) in ((k, f.size) for k, f in FAMILIES.items())
    )
    assert int(_help_defaults(capsys, "extract")["--resolution"]) == cfg.resolution


def test_image_and_reconstruct_help_defaults_are_the_pipelines(capsys):
    import inspect

    from inrview.config import FAMILIES
    from inrview.config.image import DEFAULT_BATCH
    from inrview.image.sweep import capacity_sweep
    from inrview.recon import pipeline

    d = _help_defaults(capsys, "image", "fit")
    assert d["--model"] == "grid" and int(d["--batch-size"]) == 16384 and int(d["--steps"]) == 1000
    assert d["--lr"] == "by --model: " + ", ".join(
        f"{k} {v:g}" for k, v in ((k, f.image_lr) for k, f in FAMILIES.items())
    )
    assert _help_defaults(capsys, "image", "deblur")["--batch-size"] == str(DEFAULT_BATCH)
    sweep_steps = inspect.signature(capacity_sweep).parameters["train"].default.steps
    assert _help_defaults(capsys, "image", "sweep")["--steps"] == str(sweep_steps)
    assert _help_defaults(capsys, "image", "render")["--device"] == "auto"
    r = _help_defaults(capsys, "reconstruct")
    assert int(r["--batch-size"]) == pipeline.DEFAULT_BATCH and r["--model"] == pipeline.DEFAULT_MODEL
    assert r["--seconds"] == f"{pipeline.DEFAULT_SECONDS:g} unless --steps is given"
    assert "--steps" not in r  # no step default: the time budget decides
    cfg = pipeline.config_for(np.zeros((10, 3)), "siren")
    assert f"siren {cfg.model.width}" in r["--width"] and r["--omega0"].startswith(f"{cfg.model.omega0:g},")


@pytest.mark.parametrize(
    "args,needle",
    [
        (["fit", "SHAPE", "-o", "/missing/dir/o.ply"], "folder /missing/dir does not exist"),
        (["fit", "SHAPE", "-o", "o.txt2"], "cannot write '.txt2'"),
        (["fit", "SHAPE", "-o", "o.ply", "--resolution", "100000"], "--resolution"),
        (["fit", "SHAPE", "-o", "o.ply", "--width", "100000000"], "--width"),
        (["fit", "SHAPE", "-o", "o.ply", "--batch-size", "0"], "--batch-size"),
        (["fit", "SHAPE", "-o", "o.ply", "--seconds", "-3"], "--seconds"),
        (["fit", "SHAPE", "-o", "o.ply", "--checkpoint", "c.ckpt"], "--checkpoint c.ckpt"),
        (["fit", "SHAPE", "-o", "o.ply", "--device", "gpu"], "--device"),
        (["fit", "SHAPE"], "-o/--output"),
        (["extract", "c.safetensors", "-o", "o.ply", "--resolution", "100000"], "--resolution"),
        (["extract", "c.safetensors", "-o", "o.xyz"], "cannot write '.xyz'"),
        (["info"], "file"),
        (["reconstruct", "SHAPE", "-o", "/missing/dir/o.ply"], "folder /missing/dir does not exist"),
        (["reconstruct", "SHAPE", "-o", "o.ply", "--batch-size", "100000000000"], "--batch-size"),
        (["reconstruct", "SHAPE", "-o", "o.ply", "--baseline", "poisson", "--baseline-output", "b.txt"], "b.txt"),
        (["--fit-seconds", "0"], "--fit-seconds"),
        (["SHAPE", "--screenshot", "/missing/dir/s.png"], "folder /missing/dir does not exist"),
    ],
)
def test_bad_options_stop_before_any_work(tmp_path, capsys, monkeypatch, demo_shape, args, needle):
    """One line, exit 2, and nothing loaded or trained (the training modules are never imported)."""
    import sys as _sys

    monkeypatch.chdir(tmp_path)
    training = ("inrview.shape.session", "inrview.training.trainer")  # the side of the pipeline that loads torch
    for name in [m for m in _sys.modules if m.startswith(training)]:
        monkeypatch.delitem(_sys.modules, name)
    rc, out, err = call(capsys, *[demo_shape if a == "SHAPE" else a for a in args])
    assert rc == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert err.startswith("inrview: error: ") and needle in err
    assert not any(m in _sys.modules for m in training)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_keeps_the_result(tmp_path):
    from inrview.cli.checks import save_safely

    def write(path):
        if "inrview-" not in str(path):
            raise OSError(28, "No space left on device")
        Path(path).write_text("mesh")

    msg = save_safely(tmp_path / "out.ply", write, "mesh")
    saved = msg.split("saved as ")[1].split(" instead")[0]
    assert "out.ply: could not write the mesh" in msg and Path(saved).read_text() == "mesh"
    Path(saved).unlink()


def test_progress_bar_ends_at_100_percent_without_warnings(recwarn):
    import io

    from inrview.cli.common import Progress
    from inrview.config import TrainConfig
    from inrview.training.trainer import Snapshot

    for cfg, snaps in (
        (TrainConfig(seconds=2.0), [(5, 1.0, 0.5), (11, 2.3, 1.0)]),
        (TrainConfig(steps=10), [(5, 0.1, 0.5), (10, 0.2, 1.0)]),
    ):
        out = io.StringIO()
        bar = Progress(cfg, desc="t", file=out)
        for step, elapsed, progress in snaps:
            bar(Snapshot(step, None, {"total": 1.0}, elapsed, 1e-3, progress, done=progress >= 1))
        assert bar.bar.n == bar.total  # an overshooting time budget is shown as exactly the budget
        bar.close()
        last = out.getvalue().split("\r")[-1]
        assert "100%" in last and "<-" not in out.getvalue()
    assert not [w for w in recwarn if "clamping" in str(w.message)]
    quiet = Progress(TrainConfig(seconds=1.0), quiet=True)
    quiet(Snapshot(1, None, {}, 2.0, 1e-3, 1.0))
    assert quiet.bar is None


def test_progress_bar_counts_the_phases_after_training():
    import io

    from inrview.cli.common import Progress
    from inrview.config import TrainConfig
    from inrview.training.trainer import Snapshot

    out = io.StringIO()
    bar = Progress(TrainConfig(steps=100), file=out, after=3.0)  # 3 s after 1 s of training: a quarter of the bar
    bar(Snapshot(50, 100, {"total": 1.0}, 0.5, 1e-3, 0.5))
    assert bar.share == pytest.approx(0.25) and bar.bar.n == pytest.approx(12.5)
    bar(Snapshot(100, 100, {"total": 1.0}, 1.0, 1e-3, 1.0, done=True))
    assert bar.bar.n == pytest.approx(25.0)  # training done, the extraction and measures still to come
    bar.phase("extracting", 0.5)
    assert bar.bar.n == pytest.approx(62.5)
    bar.close()
    assert out.getvalue().split("\r")[-1].lstrip().startswith("extracting: 100%")


def test_the_program_ends_at_once_after_a_command_with_its_output_flushed(demo_shape, tmp_path):
    """`python -m inrview CMD` leaves without tearing its modules down, after flushing what it printed into a
    pipe (block-buffered, so an unflushed exit would lose it) and with the command's exit status."""
    run = [sys.executable, "-m", "inrview"]
    ok = subprocess.run(run + ["info", str(demo_shape)], capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0 and "faces:       5856" in ok.stdout
    bad = subprocess.run(run + ["info", str(tmp_path / "none.obj")], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "none.obj" in bad.stderr
