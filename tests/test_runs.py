"""The history of runs: the store (no Qt, no torch) and `inrview fit --history` / `inrview runs`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from inrview.errors import InrviewError
from inrview.runs import RunStore, default_root


def run_cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "inrview", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def test_store_records_filters_labels_and_removes(tmp_path):
    store = RunStore(tmp_path / "h")
    assert store.list() == []
    folder = store.new_folder()
    (folder / "mesh.ply").write_text("x")
    a = store.add(
        command="app fit",
        kind="shape",
        source="/data/bunny.obj",
        steps=300,
        seconds=12.5,
        folder=folder,
        settings={"model": {"kind": "siren", "width": 64, "depth": 3}},
        measures={"chamfer_l1": 0.004, "bad": float("nan")},
        outputs={"mesh": folder / "mesh.ply", "checkpoint": None},
        curve=[(10, 0.5), (20, 0.25)],
    )
    b = store.add(command="fit", kind="cloud", source="/data/scan.ply", status="stopped", settings={})
    assert (a.id, b.id) == (1, 2)
    assert [r.id for r in store.list()] == [2, 1]  # newest first
    assert [r.id for r in store.list(text="BUNNY")] == [1]
    assert [r.id for r in store.list(model="siren")] == [1]
    assert [r.id for r in store.list(kind="cloud", status="stopped")] == [2]
    got = store.get(1)
    assert got.curve == [[10, 0.5], [20, 0.25]] and got.seconds == 12.5 and got.model == "siren"
    assert got.measures == {"chamfer_l1": 0.004, "bad": None}  # NaN is stored as null
    assert got.output("mesh") == folder / "mesh.ply" and got.output("checkpoint") is None
    assert got.main_measure() == ("chamfer_l1", 0.004)
    assert store.set_label(1, "baseline").name == "#1 baseline"
    store.remove(1)
    assert not folder.exists() and [r.id for r in store.list()] == [2]
    with pytest.raises(InrviewError, match="no run #1"):
        store.get(1)


def test_default_root_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("INRVIEW_RUNS", str(tmp_path / "x"))
    assert default_root() == tmp_path / "x"
    monkeypatch.delenv("INRVIEW_RUNS")
    assert default_root().name == "runs" and "inrview" in str(default_root())


def test_fit_history_then_runs_list_and_show(tmp_path, demo_shape):
    env = {"INRVIEW_RUNS": str(tmp_path / "h")}
    out = tmp_path / "spot.ply"
    r = run_cli("fit", demo_shape, "-o", out, "--steps", 80, "--resolution", 64, "--history", env=env)
    assert r.returncode == 0, r.stderr
    assert "recorded as run #1" in r.stderr
    refused = run_cli("fit", demo_shape, "-o", tmp_path / "x.txt", "--history", env=env)
    assert refused.returncode == 2  # refused before any work: not a run
    listed = run_cli("runs", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    runs = json.loads(listed.stdout)
    assert len(runs) == 1
    run = runs[0]
    assert run["command"] == "fit" and run["kind"] == "shape" and run["steps"] == 80 and run["status"] == "finished"
    assert run["settings"]["model"]["kind"] == "grid" and run["settings"]["train"]["steps"] == 80
    assert 0 < run["measures"]["chamfer_l1"] < 0.05
    assert run["curve"][-1][0] == 80 and run["curve"][-1][1] < run["curve"][0][1]  # the loss went down
    assert run["outputs"]["mesh"] == str(out.resolve())
    assert os.path.exists(run["outputs"]["checkpoint"])  # a run can be reopened and continued
    shown = run_cli("runs", "show", 1, env=env)
    assert "chamfer_l1" in shown.stdout and "grid 64x2" in shown.stdout
    table = run_cli("runs", "--source", "spot", env=env)
    assert "spot.obj" in table.stdout and "CD " in table.stdout
    missing = run_cli("runs", "show", 7, env=env)
    assert missing.returncode == 2 and missing.stderr.strip().count("\n") == 0 and "no run #7" in missing.stderr


def test_info_says_it_is_loading_a_file(capsys, monkeypatch, demo_shape):
    from inrview.cli import main

    monkeypatch.setenv("INRVIEW_STATUS_AFTER", "0")
    assert main(["info", str(demo_shape)]) == 0
    assert f"loading {demo_shape}" in capsys.readouterr().err
