"""The command line end to end on the bundled shape, as a user runs it."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

import inrview


def run(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "inrview", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def test_fit_extract_info(tmp_path, demo_shape):
    out, metrics, ck = tmp_path / "spot.ply", tmp_path / "m.json", tmp_path / "spot.safetensors"
    r = run("fit", demo_shape, "-o", out, "--steps", 120, "--resolution", 128, "--metrics-json", metrics,
            "--checkpoint", ck, "--threads", 2)
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
    r = run("info", ck)
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
