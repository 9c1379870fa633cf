"""The sample cache cannot poison a run: damaged entries are found, reported in one line and drawn again;
two processes filling one entry at once draw it once; `inrview cache` shows it and `cache clear` empties it."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from inrview.cli import main
from inrview.sampling import SampleSet, cache, store

ROOT = Path(__file__).resolve().parent.parent


def _samples(seed: int = 0) -> SampleSet:
    rng = np.random.default_rng(seed)
    pts = rng.uniform(-1, 1, (5000, 3)).astype(np.float32)
    return SampleSet(pts, np.linalg.norm(pts, axis=1).astype(np.float32) - 0.5, pts[:100].copy(), pts[:100].copy())


def test_damaged_entries_are_reported_and_drawn_again(tmp_path, caplog):
    path = tmp_path / "e.npz"
    draws = []

    def draw():
        draws.append(1)
        return _samples()

    assert cache.fetch(path, draw)[1] is False and len(draws) == 1
    got, hit = cache.fetch(path, draw)
    assert hit and len(draws) == 1 and np.array_equal(got.points, _samples().points)
    whole = path.read_bytes()
    for damage in ("truncated", "flipped"):
        if damage == "truncated":
            path.write_bytes(whole[: len(whole) // 2])
        else:  # one bit of the samples changed: the zip is still readable, the checksum is not
            data = bytearray(whole)
            data[len(data) // 2] ^= 0x10
            path.write_bytes(bytes(data))
        assert cache.load(path) is None
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="inrview"):
            got, hit = cache.fetch(path, draw)
        lines = [r.getMessage() for r in caplog.records]
        assert not hit and len(lines) == 1 and str(path) in lines[0] and "drawing it again" in lines[0], lines
        assert np.array_equal(got.sdf, _samples().sdf) and cache.load(path) is not None
    assert len(draws) == 3


FILL = """
import sys, time
from pathlib import Path
import numpy as np
from inrview.sampling import SampleSet, cache
path, marker, me = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
def draw():
    with open(path.parent / "draws", "a") as fh:
        fh.write(me + "\\n")
    for _ in range(600):  # the first drawer holds the lock until the other process is waiting for it
        if marker.exists():
            break
        time.sleep(0.05)
    time.sleep(0.5)
    pts = np.random.default_rng(0).uniform(-1, 1, (20000, 3)).astype(np.float32)
    return SampleSet(pts, pts[:, 0].copy())
if me == "b":
    while not (path.parent / "draws").exists():
        time.sleep(0.05)
    marker.touch()
samples, hit = cache.fetch(path, draw)
print("hit" if hit else "drew", float(samples.points.sum()))
"""


def test_two_processes_filling_one_entry_draw_it_once(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    args = [str(tmp_path / "e.npz"), str(tmp_path / "waiting")]
    procs = [
        subprocess.Popen([sys.executable, "-c", FILL, *args, me], env=env, stdout=subprocess.PIPE, text=True)
        for me in ("a", "b")
    ]
    outs = [p.communicate(timeout=300)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sorted(o[0] for o in outs) == ["drew", "hit"] and outs[0][1] == outs[1][1]
    assert (tmp_path / "draws").read_text().split() == ["a"]
    arrays, why = store.read_entry(tmp_path / "e.npz")
    assert why is None and arrays["points"].shape == (20000, 3)


def test_cache_command_shows_and_clears(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("INRVIEW_CACHE_DIR", str(tmp_path / "c"))
    cache.save(tmp_path / "c" / "a.npz", _samples(0))
    cache.save(tmp_path / "c" / "space" / "b.npz", _samples(1))
    (tmp_path / "c" / "space" / "b.lock").touch()
    assert main(["cache"]) == 0
    line = capsys.readouterr().out.strip()
    size = sum(p.stat().st_size for p in (tmp_path / "c").rglob("*.npz"))
    assert line == f"sample cache {tmp_path / 'c'}: 2 entries, {size / 1024**2:.1f} MiB"
    assert main(["cache", "clear"]) == 0
    assert "2 entries" in capsys.readouterr().out
    assert not [p for p in (tmp_path / "c").rglob("*") if p.is_file()]
