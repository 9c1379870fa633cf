"""Do two revisions of inrview compute the same results? A fixed set of commands with step budgets (so the
machine's load cannot change what they compute) runs for the current checkout and for a previous git
revision, and their measures are printed side by side.

    python -m scripts.compare_revisions --previous fc74b93 [--json out.json]

Commands (inputs from ../shared/data, skipped when absent): shape fits of Spot and Bob with the defaults,
a reconstruction of the anchor scan (20k points, 300 steps), a SIREN image fit of kodim23 (300 steps).
A refactoring that moves code without changing behaviour shows identical figures (or differences at the
level of float rounding in the written files); `same_samples_chamfer_l1` measures both written surfaces with
the same 100k samples, so that a change in how a command measures does not hide or fake a difference.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from scripts.wall_time import ROOT, export_revision

DATA = Path(os.environ.get("INRVIEW_SHARED_DATA", ROOT.parent / "shared" / "data"))

#: name -> (command words after `inrview`, with {data} and {out}; the measures to report from its JSON)
CASES = {
    "fit spot": (
        ["fit", "{data}/meshes/spot.obj", "-o", "{out}.ply"],
        ["same_samples_chamfer_l1", "chamfer_l1", "normal_consistency", "iou"],
    ),
    "fit bob": (
        ["fit", "{data}/meshes/bob_tri.obj", "-o", "{out}.ply"],
        ["same_samples_chamfer_l1", "chamfer_l1", "normal_consistency", "iou"],
    ),
    "reconstruct anchor": (
        ["reconstruct", "{data}/pointclouds/anchor.ply", "-o", "{out}.ply", "--steps", "300", "--max-points", "20000"],
        ["data_fit.mean_rel", "data_fit.far_area_fraction"],
    ),
    "image fit kodim23": (
        ["image", "fit", "{data}/images/kodim23.png", "-o", "{out}.png", "--model", "siren", "--steps", "300"],
        ["psnr", "ssim"],
    ),
}


def _get(data: dict, dotted: str):
    for key in dotted.split("."):
        data = data.get(key, {}) if isinstance(data, dict) else {}
    return data if isinstance(data, (int, float)) else None


def run_case(tree: Path, words: list[str], out: Path) -> dict:
    import subprocess

    js = out.with_suffix(".json")
    cmd = [sys.executable, "-m", "inrview", *[w.format(data=DATA, out=out) for w in words], "--metrics-json", str(js)]
    env = dict(os.environ, PYTHONPATH=str(tree), INRVIEW_NO_CACHE="1")
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=out.parent)
    if r.returncode != 0:
        return {"error": (r.stderr.strip().splitlines() or ["?"])[-1]}
    data = json.loads(js.read_text())
    if words[0] == "fit" and out.with_suffix(".ply").exists():  # both surfaces measured with the same samples
        from inrview.io.loaders import load
        from scripts.bench_fit import chamfer

        data["same_samples_chamfer_l1"] = chamfer(
            load(out.with_suffix(".ply")), load(words[1].format(data=DATA)), 100_000
        )
    return data


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--previous", default="fc74b93", help="git revision to compare with (default fc74b93)")
    p.add_argument("--cases", help="comma-separated case names (default: all)")
    p.add_argument("--json", help="write the results here")
    a = p.parse_args(argv)
    if not DATA.is_dir():
        print(f"compare_revisions: {DATA} not present, nothing to compare")
        return 0
    names = [n for n in CASES if not a.cases or n in a.cases.split(",")]
    rows = []
    print(f"| case | measure | {a.previous} | current |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        trees = {"previous": export_revision(a.previous, tmp), "current": ROOT}
        for name in names:
            words, measures = CASES[name]
            got = {k: run_case(tree, words, tmp / f"{k}_{name.replace(' ', '_')}") for k, tree in trees.items()}
            for m in measures:
                vals = {k: _get(v, m) for k, v in got.items()}
                cells = [f"{vals[k]:.6g}" if vals[k] is not None else got[k].get("error", "-") for k in trees]
                print(f"| {name} | {m} | {cells[0]} | {cells[1]} |", flush=True)
                rows.append({"case": name, "measure": m, **vals})
    if a.json:
        Path(a.json).write_text(json.dumps({"previous": a.previous, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
