"""What the user waits for: `inrview fit` from the command to the written mesh, phase by phase, side by side
with a previous revision of inrview in the same run (`python -m scripts.bench_fit --wall`).

For each mesh (the bundled Spot and every mesh of the shared data):

1. the quality target: Chamfer-L1 of marching cubes over the exact signed distance at 128^3 (bench_fit's);
2. `inrview fit MESH -o OUT.ply --no-metrics` with the defaults, cold (no sample cache), as a new process:
   its wall time is the time from the command to the written mesh; the mesh's Chamfer-L1 (same samples as
   the target) says whether it reached the target; the phases come from --metrics-json;
3. `inrview fit MESH -o OUT.ply --seconds S` (with the measures, as a user runs it) for each S in --budgets:
   the wall time against S.

Each command runs for the current checkout and for the previous revision (exported with `git archive`
into a temporary folder and put first on PYTHONPATH), interleaved mesh by mesh so that both see the same
machine load.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PHASES = ("import", "load", "sampling", "training", "extraction", "writing", "measures")


def export_revision(rev: str, into: Path) -> Path:
    """The tree of git revision `rev` unpacked under `into`; returns its folder."""
    archive = into / "rev.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), rev], check=True)
    out = into / rev
    out.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(out, filter="data")
    return out


def run_fit(tree: Path, mesh: Path, out: Path, extra: list[str]) -> dict:
    """One `python -m inrview fit` of the package in `tree`, as a new process: wall seconds, the JSON it
    wrote (when asked for), the exit status."""
    env = dict(os.environ, PYTHONPATH=str(tree), INRVIEW_NO_CACHE="1")
    js = out.with_suffix(".json")
    cmd = [sys.executable, "-m", "inrview", "fit", str(mesh), "-o", str(out), "--metrics-json", str(js), *extra]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=out.parent)
    wall = time.perf_counter() - t0
    data = json.loads(js.read_text()) if r.returncode == 0 and js.exists() else {}
    return {
        "wall": wall,
        "rc": r.returncode,
        "error": r.stderr.strip().splitlines()[-1:] if r.returncode else [],
        "json": data,
    }


def measure_mesh(out: Path, geometry, samples: int) -> float | None:
    """Chamfer-L1 of a written mesh against the input, as bench_fit measures targets."""
    from inrview.io.loaders import load
    from scripts.bench_fit import chamfer

    return chamfer(load(out), geometry, samples) if out.exists() else None


def wall_rows(meshes: list[Path], previous: str, budgets: list[float], samples: int) -> list[dict]:
    """Run both revisions on every mesh; one row per mesh."""
    from inrview.io.loaders import load
    from scripts.bench_fit import quality_target

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        trees = {"current": ROOT, "previous": export_revision(previous, tmp)}
        for mesh in meshes:
            geometry = load(mesh)
            row = {"mesh": mesh.stem, "target": quality_target(mesh, 128, samples)[0]}
            for name, tree in trees.items():
                out = tmp / f"{name}_{mesh.stem}.ply"
                r = run_fit(tree, mesh, out, ["--no-metrics", "--quiet"])
                r["chamfer"] = measure_mesh(out, geometry, samples)
                row[name] = r
                for s in budgets:
                    rb = run_fit(tree, mesh, tmp / f"{name}_{mesh.stem}_{s:g}s.ply", ["--seconds", f"{s:g}", "--quiet"])
                    row[f"{name}_{s:g}s"] = rb
            print(
                json.dumps(
                    {
                        k: (v if not isinstance(v, dict) else {kk: vv for kk, vv in v.items() if kk != "json"})
                        for k, v in row.items()
                    },
                    default=float,
                ),
                flush=True,
            )
            rows.append(row)
    return rows


def _cell(r: dict, target: float) -> str:
    if r["rc"] != 0:
        return f"failed ({' '.join(r['error'])[:40]})"
    ok = r.get("chamfer") is not None and r["chamfer"] <= target
    return f"{r['wall']:.2f}{'' if ok else ' (above target)'}"


def print_tables(rows: list[dict], budgets: list[float]) -> None:
    """The markdown tables of docs/benchmarks.md: time to the written mesh, its phases, the budgets."""
    print("\n| mesh | target | previous: command to mesh (s) | current (s) | current Chamfer-L1 |")
    print("|---|---|---|---|---|")
    for row in rows:
        cur = row["current"]
        cd = f"{cur['chamfer']:.2e}" if cur.get("chamfer") else "-"
        print(
            f"| {row['mesh']} | {row['target']:.2e} | {_cell(row['previous'], row['target'])} | "
            f"{_cell(cur, row['target'])} | {cd} |"
        )
    for name in ("previous", "current"):
        walls = [row[name]["wall"] for row in rows if row[name]["rc"] == 0]
        if walls:
            print(f"median {name}: {statistics.median(walls):.2f} s")
    print("\n| mesh | " + " | ".join(PHASES[:-1]) + " | total (s) |")
    print("|---" * len(PHASES) + "|---|")
    for row in rows:
        ph = row["current"]["json"].get("phases", {})
        print(
            f"| {row['mesh']} | "
            + " | ".join(f"{ph.get(p, 0):.2f}" for p in PHASES[:-1])
            + f" | {row['current']['wall']:.2f} |"
        )
    if budgets:
        print("\n| mesh | " + " | ".join(f"previous --seconds {s:g} | current --seconds {s:g}" for s in budgets) + " |")
        print("|---" * (1 + 2 * len(budgets)) + "|")
        for row in rows:
            cells = [f"{row[f'{n}_{s:g}s']['wall']:.2f}" for s in budgets for n in ("previous", "current")]
            print(f"| {row['mesh']} | " + " | ".join(cells) + " |")
        for s in budgets:
            over = [row[f"current_{s:g}s"]["wall"] - s for row in rows]
            print(
                f"--seconds {s:g}: current wall time exceeds the budget by at most {max(over):.2f} s "
                f"(median {statistics.median(over):.2f} s)"
            )


def run(meshes: list[Path], previous: str, budgets: list[float], samples: int, json_path: str | None) -> int:
    """Measure, print the tables, optionally keep the rows as JSON."""
    print(f"# wall time of `inrview fit`: current checkout vs {previous}; load {os.getloadavg()[0]:.2f}")
    rows = wall_rows(meshes, previous, budgets, samples)
    print_tables(rows, budgets)
    print(f"# load at the end {os.getloadavg()[0]:.2f}")
    if json_path:
        Path(json_path).write_text(json.dumps({"previous": previous, "rows": rows}, indent=1, default=float))
    return 0


def budget_rows(meshes: list[Path], budgets: list[float], samples: int) -> list[dict]:
    """`inrview fit MESH --seconds S` (measures on, as a user runs it) for every mesh and budget, current
    checkout only, cold: wall time from launching the process to its exit, the machine's load average
    when it started, the mesh's resolution and Chamfer-L1 (bench_fit's samples)."""
    from inrview.io.loaders import load

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for mesh in meshes:
            geometry = load(mesh)
            for s in budgets:
                load_avg = os.getloadavg()[0]
                out = tmp / f"{mesh.stem}_{s:g}s.ply"
                r = run_fit(ROOT, mesh, out, ["--seconds", f"{s:g}", "--quiet"])
                js = r.pop("json")
                row = {
                    "mesh": mesh.stem,
                    "seconds": s,
                    "load": load_avg,
                    **r,
                    "chamfer": measure_mesh(out, geometry, samples) if r["rc"] == 0 else None,
                    "resolution": js.get("resolution"),
                    "steps": js.get("steps"),
                    "phases": js.get("phases", {}),
                }
                print(json.dumps(row, default=float), flush=True)
                rows.append(row)
    return rows


def print_budget_table(rows: list[dict], budgets: list[float], slack: float = 3.0) -> None:
    """The table of docs/benchmarks.md: wall seconds per mesh and budget (resolution reached), and whether
    every run ended within S + slack."""
    print("\n| mesh | " + " | ".join(f"--seconds {s:g}" for s in budgets) + " |")
    print("|---" * (1 + len(budgets)) + "|")
    for mesh in dict.fromkeys(r["mesh"] for r in rows):
        cells = []
        for s in budgets:
            r = next(x for x in rows if x["mesh"] == mesh and x["seconds"] == s)
            if r["rc"] != 0:
                cells.append(f"{r['wall']:.1f} failed ({' '.join(r['error'])[:40]})")
            else:
                mark = "" if r["wall"] <= s + slack else " **over**"
                cells.append(f"{r['wall']:.1f} ({r['resolution']}^3, load {r['load']:.1f}){mark}")
        print(f"| {mesh} | " + " | ".join(cells) + " |")
    ok = [r for r in rows if r["rc"] == 0 and r["wall"] <= r["seconds"] + slack]
    worst = max(rows, key=lambda r: r["wall"] - r["seconds"])
    print(
        f"\n{len(ok)} of {len(rows)} runs ended within S + {slack:g} s; worst: {worst['mesh']} --seconds "
        f"{worst['seconds']:g} in {worst['wall']:.1f} s (load {worst['load']:.1f})"
    )


def run_budgets(meshes: list[Path], budgets: list[float], samples: int, json_path: str | None) -> int:
    """Measure the --seconds budgets, print their table, optionally keep the rows as JSON."""
    print(f"# `inrview fit --seconds S`, wall time from launch to exit; load {os.getloadavg()[0]:.2f}")
    rows = budget_rows(meshes, budgets, samples)
    print_budget_table(rows, budgets)
    print(f"# load at the end {os.getloadavg()[0]:.2f}")
    if json_path:
        Path(json_path).write_text(json.dumps({"rows": rows}, indent=1, default=float))
    return 0
