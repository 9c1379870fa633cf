"""Kill a writer mid-write: the target is always the old file or the new one, whole.

Writers run as child processes (forked from a forkserver that has imported inrview once, so each start
is cheap); each announces when it starts and finishes a write, and is killed with SIGKILL at a random
moment shortly after a start. After every kill the target must read back as one complete version. A
naive writer (writing straight into the target) is killed the same way as a control: it must leave torn
files, which shows that the check can see a torn file.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import stat
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL and forkserver are POSIX")

KILLS = 6


def _mesh(k: int):
    """Version k of a 50k-face mesh: the grid is lifted by k (so the version is readable back)."""
    n = 160
    x, y = np.meshgrid(np.linspace(0, 1, n), np.linspace(0, 1, n))
    v = np.c_[x.ravel(), y.ravel(), np.sin(6 * x.ravel()) * 0.1 + k]
    i = np.arange(n - 1)[:, None] * n + np.arange(n - 1)[None, :]
    i = i.ravel()
    f = np.r_[np.c_[i, i + 1, i + n], np.c_[i + 1, i + n + 1, i + n]]
    return v, f


def _model(k: int):
    import torch

    m = torch.nn.Sequential(torch.nn.Linear(512, 1024), torch.nn.Linear(1024, 512))
    with torch.no_grad():
        for prm in m.parameters():
            prm.fill_(float(k))
    return m


def writer(kind: str, path: str, conn, start_k: int) -> None:
    """Write versions start_k, start_k + 1, ... of the target forever, announcing each write."""
    from inrview.io.export import save_mesh, save_points
    from inrview.training import checkpoint

    k = start_k
    while True:
        conn.send(("start", k))
        if kind == "mesh":
            v, f = _mesh(k)
            save_mesh(path, v, f)
        elif kind == "points":
            v, _ = _mesh(k)
            save_points(path, v, np.tile([0.0, 0.0, 1.0], (len(v), 1)))
        elif kind == "checkpoint":
            checkpoint.save(path, _model(k), {"k": k})
        elif kind == "naive":
            data = _naive_bytes(k)
            with open(path, "wb") as fh:  # what the atomic writer avoids: writing into the target itself
                for s in range(0, len(data), 1 << 16):
                    fh.write(data[s : s + (1 << 16)])
                    fh.flush()
                    time.sleep(0.0005)
        conn.send(("done", k))
        k += 1


def _naive_bytes(k: int) -> bytes:
    v, f = _mesh(k)
    head = (
        f"ply\nformat binary_little_endian 1.0\nelement vertex {len(v)}\nproperty float x\nproperty float y\n"
        f"property float z\nelement face {len(f)}\nproperty list uchar int vertex_indices\nend_header\n"
    )
    rec = np.zeros(len(f), dtype=[("n", "u1"), ("i", "<i4", (3,))])
    rec["n"], rec["i"] = 3, f
    return head.encode() + v.astype("<f4").tobytes() + rec.tobytes()


def read_version(kind: str, path: Path) -> int:
    """The version a target holds, or raise if it is not one whole version."""
    if kind == "checkpoint":
        from inrview.training import checkpoint

        data = checkpoint.read(path)
        k = data.header["k"]
        for t in data.model_state().values():
            assert bool((t == float(k)).all()), "weights from two versions"
        return k
    import inrview

    g = inrview.load(path, max_points=None)
    ref, f = _mesh(0)
    k = int(round(float(g.vertices[0, 2] - ref[0, 2])))
    assert len(g.vertices) == len(ref), "vertex count"
    assert np.allclose(g.vertices, ref + [0, 0, k], atol=1e-5), "coordinates from two versions"
    if kind != "points":
        assert g.faces is not None and len(g.faces) == len(f), "face count"
    return k


@pytest.fixture(scope="module")
def ctx():
    c = mp.get_context("forkserver")
    c.set_forkserver_preload(
        ["inrview", "inrview.io.export", "inrview.training.checkpoint", "trimesh", "safetensors.torch", __name__]
    )
    return c


def kill_loop(ctx, kind: str, path: Path, kills: int = KILLS, seed: int = 0) -> dict:
    """Start a writer, kill it at a random moment during a write, check the target; repeat."""
    rng = np.random.default_rng(seed)
    versions, torn, mid_write = [], [], 0
    k = 1
    for _ in range(kills):
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=writer, args=(kind, str(path), child, k), daemon=True)
        proc.start()
        child.close()
        # let it finish one write (so the old file exists), then kill during a later one
        events = []
        stamps = []
        while not events or events[-1][0] != "start" or len(events) < 3:  # start, done, start
            assert parent.poll(60), "the writer did not write"
            try:
                events.append(parent.recv())
                stamps.append(time.perf_counter())
            except EOFError:
                proc.join(5)
                raise AssertionError(f"the writer died: exit code {proc.exitcode}, events {events}") from None
        write_time = stamps[1] - stamps[0]  # how long its first whole write took
        time.sleep(float(rng.uniform(0.05, 0.9)) * write_time)
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(10)
        try:
            while parent.poll():
                events.append(parent.recv())
        except EOFError:  # the pipe's end, once the announcements sent before the kill are read
            pass
        parent.close()
        mid_write += events[-1][0] == "start"
        k = max(e[1] for e in events) + 1
        try:
            versions.append(read_version(kind, path))
        except Exception as e:  # noqa: BLE001 - a torn file shows up as any failure to read it whole
            torn.append(f"{type(e).__name__}: {str(e)[:80]}")
    return {"versions": versions, "torn": torn, "mid_write": mid_write}


@pytest.mark.parametrize("kind", ["mesh", "points", "checkpoint"])
def test_killed_writer_leaves_old_or_new_file_whole(ctx, tmp_path, kind):
    path = tmp_path / ("target.safetensors" if kind == "checkpoint" else "target.ply")
    out = kill_loop(ctx, kind, path)
    assert not out["torn"], out["torn"]
    assert len(out["versions"]) == KILLS
    assert out["mid_write"] >= KILLS // 2, out  # most kills really landed inside a write
    # leftovers of the killed writers are hidden temporaries, removed by the next successful write
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".target")]
    from inrview.io.export import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_bytes(path.read_bytes())
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".target")], leftovers


def test_control_naive_writer_tears_files(ctx, tmp_path):
    """The same kills on a writer that writes into the target: torn files appear (the check can see them)."""
    out = kill_loop(ctx, "naive", tmp_path / "target.ply")
    assert len(out["torn"]) >= 1, out  # how many kills land mid-write depends on the machine's speed


def test_exception_inside_write_keeps_old_file(tmp_path):
    from inrview.io.export import atomic_path

    target = tmp_path / "keep.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half of the new")
            raise RuntimeError("disk on fire")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_permissions_follow_the_target_or_the_umask(tmp_path):
    from inrview.io.export import save_mesh

    v, f = _mesh(0)
    new = tmp_path / "new.ply"
    save_mesh(new, v[:500], f[:200])
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(new.stat().st_mode) == 0o666 & ~mask  # not mkstemp's private 0600
    os.chmod(new, 0o640)
    save_mesh(new, v[:500], f[:200])
    assert stat.S_IMODE(new.stat().st_mode) == 0o640


def test_missing_folder_is_a_clear_error(tmp_path):
    from inrview.errors import InrviewError
    from inrview.io.export import save_mesh

    v, f = _mesh(0)
    with pytest.raises(InrviewError, match="does not exist"):
        save_mesh(tmp_path / "nope" / "x.ply", v, f)
