"""The wheel a user installs carries everything it needs: the code, the demo shape and picture, the
command line. Built from this checkout, installed into a fresh virtual environment (the dependencies are
borrowed from the test environment's site-packages so that nothing is downloaded), and run from a folder
outside the checkout, so that nothing can come from the source tree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    r = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    (whl,) = out.glob("inrview-*.whl")
    return whl


def test_wheel_holds_resources_and_no_test_helpers(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for res in ("spot.obj", "spot_LICENSE.txt", "astronaut.png", "astronaut_LICENSE.txt"):
        assert f"inrview/resources/{res}" in names
    assert not any(n.startswith(("tests/", "scripts/")) for n in names)
    assert any(n.endswith("entry_points.txt") for n in names)


def test_wheel_installs_and_runs_outside_the_checkout(wheel, tmp_path):
    env_dir = tmp_path / "env"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    site = Path(
        subprocess.check_output(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    # dependencies from this environment: a plain path line, so its .pth files (the editable install of
    # the checkout among them) are not processed
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    r = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    demo = subprocess.check_output(
        [str(py), "-c", "import inrview; print(inrview.demo_shape())"], cwd=work, env=env, text=True
    ).strip()
    assert Path(demo).is_file() and str(site) in demo  # the installed copy, not the checkout's
    exe = env_dir / "bin" / "inrview"
    info = subprocess.run([str(exe), "info", demo], cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert info.returncode == 0, info.stderr[-2000:]
    assert "2930" in info.stdout  # Spot's vertex count
    fit = subprocess.run(
        [
            str(exe),
            "fit",
            demo,
            "-o",
            "spot.ply",
            "--steps",
            "120",
            "--resolution",
            "96",
            "--quiet",
            "--metrics-json",
            "m.json",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert fit.returncode == 0, fit.stderr[-2000:]
    assert (work / "spot.ply").stat().st_size > 10_000
    m = json.loads((work / "m.json").read_text())
    assert m["chamfer_l1"] < 0.01 and m["steps"] == 120
