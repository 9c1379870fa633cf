"""Every file of the bad-input corpus (tests/corpus.py) through the loaders and the command line, in a
separate worker process, so that a segfault, an abort or a hang would show as exactly that.

For each file: the worker never dies and answers within its timeout; the loader either loads it or raises
LoadError (never another exception); the outcome is the one the corpus expects (a clear error where no
surface can be made, a notice where something was repaired); `inrview info FILE` exits 2 with one line on
stderr naming the file and the cause (or 0 when the file loads); and memory stays bounded (the
10-million-point cloud is read in chunks and subsampled, in a fresh worker whose peak is measured).
"""

from __future__ import annotations

import json
import os
import resource
import selectors
import subprocess
import sys
import time
from pathlib import Path

import corpus
import pytest

HERE = Path(__file__).resolve().parent
TIMEOUT_S = 20.0
BIG_TIMEOUT_S = 90.0
#: The big files may raise the worker's peak memory by at most this much above its baseline.
BIG_FILE_PEAK_BYTES = 700 * 1024**2
#: No corpus file may take the worker above this peak (baseline with torch imported is ~0.4 GiB).
WORKER_PEAK_BYTES = 1536 * 1024**2


class Worker:
    """tests/corpus.py --worker as a child process, fed one file at a time with a timeout each."""

    def __init__(self):
        self.proc = None
        self.start()

    def start(self):
        env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "corpus.py"), "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        ready = self._read(120.0)
        assert ready and json.loads(ready).get("ready"), "the corpus worker did not start"
        self.baseline = json.loads(ready)["rss"]

    def _read(self, timeout: float) -> str | None:
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        try:
            if not sel.select(timeout):
                return None
            return self.proc.stdout.readline()
        finally:
            sel.close()

    def run(self, case: corpus.Case, timeout: float) -> dict:
        try:
            self.proc.stdin.write(json.dumps({"path": case.path, "kind": case.kind}) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        t0 = time.perf_counter()
        line = self._read(timeout)
        if line is None:
            self.proc.kill()
            self.proc.wait()
            self.start()
            return {"status": "hang", "seconds": time.perf_counter() - t0}
        if not line:
            rc = self.proc.wait()
            self.start()
            return {"status": "crash", "returncode": rc}
        return json.loads(line)

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="session")
def corpus_cases(tmp_path_factory):
    return corpus.generate(tmp_path_factory.mktemp("bad_inputs"))


@pytest.fixture(scope="session")
def corpus_results(corpus_cases):
    """Run the whole corpus once; the big files last, each in a fresh worker so its peak memory is its own."""
    worker = Worker()
    results = []
    ordered = sorted(corpus_cases, key=lambda c: c.group == "big")
    try:
        for case in ordered:
            big = case.group == "big"
            if big:
                worker.close()
                worker.start()
            ans = worker.run(case, BIG_TIMEOUT_S if big else TIMEOUT_S)
            if big and "maxrss" in ans:
                ans["peak_growth"] = ans["maxrss"] - worker.baseline
            results.append((case, ans))
    finally:
        worker.close()
    return results


def test_corpus_is_large_and_varied(corpus_cases):
    assert len(corpus_cases) >= 200
    groups = {c.group for c in corpus_cases}
    for g in (
        "truncated",
        "corrupted",
        "empty",
        "random",
        "wrong_ext",
        "ply_header",
        "indices",
        "nan",
        "degenerate",
        "soup",
        "image",
        "big",
    ):
        assert g in groups, g
    exts = {Path(c.path).suffix for c in corpus_cases}
    assert {".ply", ".obj", ".stl", ".off", ".glb", ".xyz", ".pcd", ".png", ".jpg", ".tif", ".bmp"} <= exts


def test_no_input_crashes_hangs_or_escapes(corpus_results, capsys):
    tried = [(c, a) for c, a in corpus_results if a["status"] != "skipped"]
    crashed = [(c.name, a) for c, a in tried if a["status"] in ("crash", "hang", "unexpected")]
    refused = sum(a["status"] == "error" for _, a in tried)
    loaded = sum(a["status"] == "ok" for _, a in tried)
    noticed = sum(a["status"] == "ok" and bool(a.get("notices")) for _, a in tried)
    skipped = len(corpus_results) - len(tried)
    summary = (
        f"bad-input corpus: {len(tried)} inputs tried, {len(crashed)} crashed (segfault, abort, hang or "
        f"stray exception); {refused} refused with a clear error, {loaded} loaded ({noticed} with a notice)"
        + (f"; {skipped} image files skipped (no image loader)" if skipped else "")
    )
    with capsys.disabled():
        print("\n" + summary)
    assert not crashed, crashed[:5]


def test_outcomes_match_expectations(corpus_results):
    wrong = []
    for case, ans in corpus_results:
        st = ans["status"]
        if st == "skipped" or case.expect is None:
            continue
        if case.expect == "error":
            if st != "error":
                wrong.append((case.name, "expected a LoadError", ans.get("notices")))
            elif case.text and case.text not in ans["message"]:
                wrong.append((case.name, f"message lacks {case.text!r}", ans["message"]))
        elif case.expect == "ok":
            if st != "ok":
                wrong.append((case.name, "expected to load", ans.get("message")))
            elif case.text and not any(case.text in n for n in ans.get("notices", [])):
                wrong.append((case.name, f"no notice with {case.text!r}", ans.get("notices")))
    assert not wrong, wrong[:10]


def test_loaded_geometry_is_sane(corpus_results):
    for case, ans in corpus_results:
        if case.kind == "shape" and ans["status"] == "ok":
            assert ans["finite"] and ans["faces_ok"], case.name
            assert ans["vertices"] >= 3, case.name


def test_cli_exits_2_with_one_line_naming_file_and_cause(corpus_results):
    """`inrview info FILE` for shapes; `inrview image fit FILE` for images the image loader refuses."""
    checked = 0
    for case, ans in corpus_results:
        if "cli_rc" not in ans or ans["status"] not in ("ok", "error"):
            continue
        err = ans["cli_stderr"]
        if ans["status"] == "error":
            lines = [ln for ln in err.splitlines() if ln.strip()]
            assert ans["cli_rc"] == 2, (case.name, ans["cli_rc"], err)
            assert len(lines) == 1, (case.name, err)
            line = lines[0]
            assert line.startswith("inrview: error: "), (case.name, line)
            assert case.path in line, (case.name, line)
            cause = line.split(case.path, 1)[1].lstrip(": ")
            assert len(cause) >= 8, (case.name, line)
        else:
            assert ans["cli_rc"] == 0, (case.name, ans["cli_rc"], err)
            assert "error" not in err.lower(), (case.name, err)
        checked += 1
    assert checked > 150


def test_memory_stays_bounded(corpus_results):
    big = [(c, a) for c, a in corpus_results if c.group == "big" and c.kind == "shape" and "peak_growth" in a]
    assert any(c.name == "big/ten_million.ply" for c, _ in big)
    for case, ans in big:
        assert ans["peak_growth"] < BIG_FILE_PEAK_BYTES, (case.name, ans["peak_growth"] / 1024**2)
    for case, ans in corpus_results:
        if "maxrss" in ans and case.name != "big/huge_20000x20000.png":  # the image loader's, see below
            assert ans["maxrss"] < WORKER_PEAK_BYTES, (case.name, ans["maxrss"] / 1024**2)
    ten = next(a for c, a in big if c.name == "big/ten_million.ply")
    assert ten["status"] == "ok" and ten["vertices"] == 2_000_000
    assert ten["seconds"] < 30


def test_huge_image_is_refused_within_bounded_memory(corpus_results):
    case, ans = next((c, a) for c, a in corpus_results if c.name == "big/huge_20000x20000.png")
    if ans["status"] == "skipped":
        pytest.skip("no image loader")
    assert ans["status"] == "error" and "pixels, more than" in ans["message"]
    assert ans["seconds"] < 2  # refused from the header, not after decoding 400 million pixels
    assert ans["peak_growth"] < BIG_FILE_PEAK_BYTES, ans["peak_growth"] / 1024**2


def test_real_command_line_on_a_few_bad_files(corpus_cases):
    """The real entry point (`python -m inrview`, a fresh interpreter per file, both at once)."""
    pick = {"truncated/ply_binary_trunc60.ply", "wrong_ext/png_named.ply"}
    cases = [c for c in corpus_cases if c.name in pick]
    assert len(cases) == 2
    procs = []
    for c in cases:
        procs.append(
            (
                c,
                subprocess.Popen(
                    [sys.executable, "-m", "inrview", "info", c.path],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=dict(os.environ, OMP_NUM_THREADS="1"),
                ),
            )
        )
    for c, p in procs:
        out, err = p.communicate(timeout=120)
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert p.returncode == 2, (c.name, p.returncode, err)
        assert len(lines) == 1 and lines[0].startswith(f"inrview: error: {c.path}: "), (c.name, err)


def test_worker_reports_its_peak(corpus_results):
    """ru_maxrss is in KiB on Linux and bytes on macOS; the worker normalises it to bytes."""
    maxrss = [a["maxrss"] for _, a in corpus_results if "maxrss" in a]
    assert maxrss and min(maxrss) > 20 * 1024**2  # Python + numpy at least (import inrview no longer loads torch)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > 0
