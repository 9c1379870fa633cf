#!/usr/bin/env python
"""inrview against screened Poisson on point clouds, side by side in one process.

Synthetic cases: every mesh in <data>/meshes sampled to clouds with normals (area-uniform points, face
normals) at 100k, 10k and 2k points, clean and with isotropic Gaussian noise of 0.25% and 0.5% of the
bounding-box diagonal on the positions (normals stay exact); both surfaces are measured against the mesh
(two-sided point-to-surface Chamfer-L1 in units where the mesh's longest side is 2, F-score at 0.01).
Scans: every cloud in <data>/pointclouds, measured against its own points (one-sided data-to-surface
distance, share of the surface area farther than 2% of the diagonal from any point, watertightness).

Runs in parts: results go to a JSON-lines file (--results) and cases already there are skipped, so
`--shapes spot,bob_tri` now and `--shapes armadillo` later fill one table; `--table` prints it.

    .venv/bin/python -m scripts.bench_reconstruct --shapes spot --sizes 2000 --noise 0,0.005
    .venv/bin/python -m scripts.bench_reconstruct --no-synthetic --scan-normals file,estimate,none
    .venv/bin/python -m scripts.bench_reconstruct --table
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_DATA = Path(os.environ.get("INRVIEW_SHARED_DATA", ROOT.parent / "shared" / "data"))
DEFAULT_RESULTS = ROOT / "scripts" / "bench_reconstruct_results.jsonl"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared data folder (meshes/, pointclouds/)")
    p.add_argument("--shapes", help="comma-separated mesh names (file stems; default: all in meshes/)")
    p.add_argument("--sizes", default="100000,10000,2000", help="cloud sizes (default 100000,10000,2000)")
    p.add_argument(
        "--noise", default="0,0.0025,0.005", help="noise as a fraction of the diagonal (default 0,0.0025,0.005)"
    )
    p.add_argument("--scans", help="comma-separated scan names (default: all in pointclouds/)")
    p.add_argument(
        "--scan-normals", default="file", help="normal modes for scans: file, estimate, none (comma-separated)"
    )
    p.add_argument("--no-synthetic", action="store_true", help="only the scans")
    p.add_argument("--no-scans", action="store_true", help="only the synthetic cases")
    p.add_argument("--seconds", type=float, default=None, help="training budget per fit (default: the CLI's)")
    p.add_argument("--model", default=None, help="network family (default: the CLI's)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: the CLI's choice)")
    p.add_argument("--resolution", type=int, default=256, help="marching-cubes resolution (default 256)")
    p.add_argument("--device", default="cpu", help="training device (default cpu)")
    p.add_argument(
        "--trim-far",
        type=float,
        default=0.0,
        help="trim inrview's surface farther than this many point spacings from the data (0: watertight)",
    )
    p.add_argument("--model-kw", default=None, help="JSON object of network fields to change (experiments)")
    p.add_argument("--loss", default=None, help="JSON object of CloudLossConfig fields to change (experiments)")
    p.add_argument("--seed", type=int, default=1, help="seed of the synthetic clouds and the fits")
    p.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="JSON-lines file of results")
    p.add_argument("--tag", default="", help="label stored with each result (e.g. a configuration name)")
    p.add_argument("--rerun", action="store_true", help="run cases even when the results file has them")
    p.add_argument("--table", action="store_true", help="only print the table of the stored results")
    return p.parse_args(argv)


def machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, {platform.system()}"


def load_average() -> float | None:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def load_results(path: Path) -> list[dict]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return out


def append_result(path: Path, row: dict) -> None:
    with open(path, "a") as fh:
        fh.write(json.dumps(row, default=float) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def synthetic_cases(a) -> list[dict]:
    names = a.shapes.split(",") if a.shapes else sorted(p.stem for p in (a.data / "meshes").glob("*.obj"))
    return [
        {"kind": "synthetic", "shape": s, "n": int(n), "noise": float(z)}
        for s in names
        for n in a.sizes.split(",")
        for z in a.noise.split(",")
    ]


def scan_cases(a) -> list[dict]:
    names = a.scans.split(",") if a.scans else sorted(p.stem for p in (a.data / "pointclouds").glob("*.ply"))
    return [{"kind": "scan", "shape": s, "normals": m} for s in names for m in a.scan_normals.split(",")]


def case_key(c: dict, tag: str) -> str:
    if c["kind"] == "synthetic":
        return f"{tag}|{c['shape']}|{c['n']}|{c['noise']:g}"
    return f"{tag}|scan|{c['shape']}|{c['normals']}"


def fit_config(a, points, normals: bool = True):
    from inrview import recon

    kw = {}
    if a.seconds is not None:
        kw["seconds"] = a.seconds
    kw.update(json.loads(a.model_kw) if a.model_kw else {})
    cfg = recon.config_for(
        points,
        a.model or recon.DEFAULT_MODEL,
        normals=normals,
        resolution=a.resolution,
        device=a.device,
        seed=a.seed,
        threads=a.threads,
        **kw,
    )
    if a.loss:
        cfg = recon.with_loss(cfg, **json.loads(a.loss))
    return cfg


def run_synthetic(c: dict, a) -> dict:
    import inrview
    from inrview import recon
    from inrview.io.surface import sample_cloud
    from inrview.metrics import surface_metrics

    ref = inrview.load(a.data / "meshes" / f"{c['shape']}.obj")
    pts, nrm = sample_cloud(ref.vertices, ref.faces, c["n"], c["noise"], seed=a.seed)
    cloud = recon.as_cloud(pts, nrm, f"{c['shape']}@{c['n']}")
    cfg = fit_config(a, pts)
    res = recon.reconstruct(cloud, cfg, normals="file")
    if a.trim_far > 0:
        res.mesh.vertices, res.mesh.faces, _ = recon.trim_far(res.mesh.vertices, res.mesh.faces, pts, a.trim_far)
    base = recon.poisson_reconstruct(pts, nrm)
    m_i = surface_metrics(res.mesh.vertices, res.mesh.faces, ref.vertices, ref.faces, n_samples=100_000)
    m_p = surface_metrics(base.vertices, base.faces, ref.vertices, ref.faces, n_samples=100_000)
    return {
        **c,
        "inrview": {
            "chamfer": m_i.chamfer_l1,
            "f_score": m_i.f_score,
            "seconds": res.seconds,
            "steps": res.last.step,
            "timings": res.timings,
            "faces": len(res.mesh.faces),
            "dropped": res.dropped_pieces,
        },
        "poisson": {
            "chamfer": m_p.chamfer_l1,
            "f_score": m_p.f_score,
            "seconds": base.seconds,
            "depth": base.depth,
            "faces": len(base.faces),
        },
        "model": cfg.model.kind,
        "budget": cfg.train.seconds,
    }


def run_scan(c: dict, a) -> dict:
    import inrview
    from inrview import recon
    from inrview.metrics import data_fit

    scan = inrview.load(a.data / "pointclouds" / f"{c['shape']}.ply", max_points=recon.MAX_POINTS, seed=a.seed)
    cfg = fit_config(a, scan.vertices, normals=c["normals"] != "none")
    t0 = time.perf_counter()
    prepared = recon.prepare_cloud(scan, c["normals"])
    t_norm = time.perf_counter() - t0
    res = recon.reconstruct(scan, cfg, prepared=prepared)
    # Poisson gets the normals inrview used, or estimated ones when inrview trained without
    pcloud = prepared[0] if prepared[0].normals is not None else recon.prepare_cloud(scan, "estimate")[0]
    base = recon.poisson_reconstruct(pcloud.vertices, pcloud.normals)
    full = recon.poisson_reconstruct(pcloud.vertices, pcloud.normals, trim_quantile=0.0)
    d_i = data_fit(scan.vertices, res.mesh.vertices, res.mesh.faces)
    d_p = data_fit(scan.vertices, base.vertices, base.faces)
    d_f = data_fit(scan.vertices, full.vertices, full.faces)
    rep = prepared[1]
    return {
        **c,
        "points": len(scan.vertices),
        "flipped": rep.flipped,
        "agreement": rep.agreement,
        "inrview": {
            **d_i.to_dict(),
            "seconds": res.seconds + t_norm,
            "steps": res.last.step,
            "timings": res.timings,
            "dropped": res.dropped_pieces,
        },
        "poisson": {**d_p.to_dict(), "seconds": base.seconds, "depth": base.depth},
        "poisson_untrimmed": d_f.to_dict(),
        "model": cfg.model.kind,
        "budget": cfg.train.seconds,
    }


def print_table(rows: list[dict], tag: str | None = None) -> None:
    syn = [r for r in rows if r["kind"] == "synthetic" and (tag is None or r.get("tag", "") == tag)]
    scans = [r for r in rows if r["kind"] == "scan" and (tag is None or r.get("tag", "") == tag)]
    if syn:
        print(
            "| shape | points | noise | model | Chamfer inrview | Chamfer Poisson | ratio | F inrview | F Poisson | "
            "s inrview | s Poisson | time ratio |"
        )
        print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        wins = req = req_wins = 0
        for r in sorted(syn, key=lambda r: (r["shape"], -r["n"], r["noise"])):
            i, p = r["inrview"], r["poisson"]
            win = i["chamfer"] <= p["chamfer"]
            wins += win
            if r["noise"] > 0 or r["n"] <= 2000:
                req += 1
                req_wins += win
            print(
                f"| {r['shape']} | {r['n']} | {100 * r['noise']:g}% | {r.get('model', '?')} | "
                f"{i['chamfer'] * 1e3:.3f} | "
                f"{p['chamfer'] * 1e3:.3f} | {i['chamfer'] / p['chamfer']:.2f} | {i['f_score']:.3f} | "
                f"{p['f_score']:.3f} | {i['seconds']:.1f} | {p['seconds']:.1f} | {i['seconds'] / p['seconds']:.1f} |"
            )
        longest = max(r["inrview"]["seconds"] for r in syn)
        print(
            f"\nChamfer-L1 x 1e-3 (longest side = 2). inrview <= Poisson in {wins}/{len(syn)} cases; "
            f"in {req_wins}/{req} of the noisy or 2k-point cases; longest inrview fit {longest:.1f} s.\n"
        )
    if scans:
        print(
            "| scan | normals | model | points | flipped | data->surface inrview | Poisson | Poisson untrimmed | "
            "far area inrview | Poisson | Poisson untrimmed | watertight inrview | Poisson | s inrview | s Poisson |"
        )
        print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|")
        for r in sorted(scans, key=lambda r: (r["shape"], r["normals"])):
            i, p, f = r["inrview"], r["poisson"], r.get("poisson_untrimmed") or {}
            fm = f"{f['mean_rel']:.2e}" if f else "-"
            ff = f"{100 * f['far_area_fraction']:.2f}%" if f else "-"
            print(
                f"| {r['shape']} | {r['normals']} | {r.get('model', '?')} | {r['points']} | {r['flipped']} | "
                f"{i['mean_rel']:.2e} | {p['mean_rel']:.2e} | {fm} | {100 * i['far_area_fraction']:.2f}% | "
                f"{100 * p['far_area_fraction']:.2f}% | {ff} | {'yes' if i['watertight'] else 'no'} | "
                f"{'yes' if p['watertight'] else 'no'} | {i['seconds']:.1f} | {p['seconds']:.1f} |"
            )
        print(
            "\ndata->surface: mean distance from the scan's points to the surface, as a fraction of the "
            "bounding-box diagonal; far area: share of the surface farther than 2% of the diagonal from "
            "every point.\n"
        )
    machines = sorted({r.get("machine", "?").split(", load average")[0] for r in syn + scans})
    loads = [r["load"] for r in syn + scans if r.get("load") is not None]
    for m in machines:
        print(
            f"machine: {m}"
            + (
                f"; load average {min(loads):.1f} to {max(loads):.1f} during the runs "
                f"(a shared machine: times are noisy)"
                if loads
                else ""
            )
        )


def main(argv=None) -> int:
    a = parse_args(argv)
    rows = load_results(a.results)
    if a.table:
        print_table(rows, a.tag if a.tag else None)
        return 0
    import torch

    if not a.data.exists():
        print(f"bench_reconstruct: no data folder at {a.data}", file=sys.stderr)
        return 2
    done = {case_key(r, r.get("tag", "")) for r in rows}
    cases = ([] if a.no_synthetic else synthetic_cases(a)) + ([] if a.no_scans else scan_cases(a))
    todo = [c for c in cases if a.rerun or case_key(c, a.tag) not in done]
    print(f"{len(todo)} case(s) to run, {len(cases) - len(todo)} already in {a.results}", file=sys.stderr)
    for c in todo:
        t0 = time.perf_counter()
        torch.manual_seed(a.seed)
        row = run_synthetic(c, a) if c["kind"] == "synthetic" else run_scan(c, a)
        row.update(tag=a.tag, machine=machine(), load=load_average(), wall=time.perf_counter() - t0)
        append_result(a.results, row)
        i, p = row["inrview"], row["poisson"]
        if c["kind"] == "synthetic":
            print(
                f"{c['shape']} {c['n']} noise {c['noise']:g}: inrview {i['chamfer'] * 1e3:.3f} ({i['seconds']:.1f} s, "
                f"{i['steps']} steps) Poisson {p['chamfer'] * 1e3:.3f} ({p['seconds']:.1f} s)",
                file=sys.stderr,
            )
        else:
            print(
                f"{c['shape']} [{c['normals']}]: inrview mean {i['mean_rel']:.2e} "
                f"far {100 * i['far_area_fraction']:.2f}% "
                f"wt {i['watertight']} ({i['seconds']:.1f} s) | Poisson mean {p['mean_rel']:.2e} "
                f"far {100 * p['far_area_fraction']:.2f}% wt {p['watertight']}",
                file=sys.stderr,
            )
    rows = load_results(a.results)
    keys = {case_key(c, a.tag) for c in cases}
    print_table([r for r in rows if case_key(r, r.get("tag", "")) in keys])
    return 0


if __name__ == "__main__":
    sys.exit(main())
