"""`inrview info FILE`: what a file holds, in a few readable lines (`--json` for the raw facts).

A mesh or point cloud: its load report. A checkpoint: what it is (a 3D shape, a picture, a shape space), the
network (family, size, parameters), what it learned and from which file, how long it trained, how its input
was normalised and the measures it records; `--json` prints its raw header (without the optimiser's state).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from ..config import ModelConfig
from ..config.space import LatentConfig
from .checks import check_input
from .waiting import Waiting

KINDS = {"shape": "a 3D shape", "image": "a picture", "space": "a shape space"}
TARGETS = {"sdf": "signed distance", "occupancy": "occupancy", "udf": "unsigned distance"}


def _args(p) -> None:
    p.add_argument("file", help="mesh, point cloud or checkpoint (.safetensors)")
    p.add_argument("--json", action="store_true", help="print JSON: the load report, or the checkpoint's raw header")
    p.set_defaults(func=cmd_info)


def cmd_info(a) -> int:
    check_input(a.file)
    if str(a.file).lower().endswith(".safetensors"):
        from ..training.checkpoint import read

        with Waiting(False, f"reading {a.file}"):
            data = read(a.file)
        header = {k: v for k, v in data.header.items() if k != "optimizer"}
        print(json.dumps(header, indent=2) if a.json else summary(a.file, header, data.model_state()))
        return 0
    from ..io.geometry import report
    from ..io.loaders import load

    with Waiting(False, f"loading {a.file}"):
        rep = report(load(a.file))
    print(json.dumps(dataclasses.asdict(rep), indent=2) if a.json else rep)
    return 0


def _count(n: float) -> str:
    return f"{n / 1e6:.2f} M" if n >= 1e6 else f"{n / 1e3:.1f} k" if n >= 1e3 else f"{n:.0f}"


def _upgraded(cls, values) -> dict:
    """A network's recorded settings in this version's form (an older checkpoint's flat keys moved)."""
    return cls.upgrade(values) if isinstance(values, dict) else {}


def _model_line(model: dict, state: dict) -> str:
    kind = model.get("kind", "?")
    line = f"{kind} {model.get('width')}x{model.get('depth')}"
    if kind == "grid":
        grid = model.get("grid") or {}
        line += f", {grid.get('levels')} grid levels up to {grid.get('max_resolution')}"
    elif kind == "siren":
        line += f", omega0 {model.get('omega0')}"
    if state:
        line += f"; {_count(sum(int(t.numel()) for t in state.values()))} parameters"
    return line


def _train_line(train: dict, trainer: dict) -> str:
    parts = [f"{trainer.get('step', 0)} steps", f"{float(trainer.get('elapsed', 0.0)):.1f} s of training"]
    for key, name in (("batch_size", "batch"), ("lr", "lr"), ("seed", "seed"), ("device", "device")):
        if train.get(key) is not None:
            parts.append(f"{name} {train[key]}")
    return ", ".join(parts)


def _source_line(source: str | None) -> str:
    if not source:
        return "not recorded"
    return source + ("" if Path(source).exists() else " (not found here)")


def _measures_line(live: dict) -> str | None:
    hist = live.get("history") if isinstance(live, dict) else None
    best = live.get("best") if isinstance(live, dict) else None
    if not hist:
        return None
    last = hist[-1]
    text = f"at step {last['step']}: " + ", ".join(
        f"{k} {v:.4g}" for k, v in last.items() if k not in ("step", "elapsed") and isinstance(v, (int, float))
    )
    if best and best.get("step") != last["step"]:
        text += f"; best Chamfer-L1 {best['measures'].get('chamfer_l1', float('nan')):.4g} at step {best['step']}"
    return text


def _space_normalisation(norm) -> str:
    mode = norm.get("mode", "?") if isinstance(norm, dict) else str(norm)
    return {"joint": "joint (one transform: relative size and position kept)", "per-shape": "per shape"}.get(mode, mode)


def summary(path, header: dict, state: dict) -> str:
    """The checkpoint as aligned 'name  value' lines."""
    task = header.get("task", "?")
    rows: list[tuple[str, str]] = []
    if task == "space":
        space = header.get("space", {})
        rows += [
            ("shapes", str(len(space.get("names", [])))),
            ("network", _model_line(_upgraded(LatentConfig, space.get("network")), state)),
            ("target", TARGETS.get(header.get("target"), str(header.get("target")))),
            ("normalised", _space_normalisation(space.get("normalisation"))),
            ("more", f"`inrview space info {path}`"),
        ]
    else:
        config = header.get("config", {}) if task == "shape" else {}
        model = config.get("model") or header.get("model") or {}
        train = config.get("train") or header.get("train") or {}
        image = header.get("image", {})
        rows.append(("model", _model_line(_upgraded(ModelConfig, model), state)))
        if task == "shape":
            rows.append(("target", TARGETS.get(header.get("target"), str(header.get("target")))))
        else:
            size = f"{image.get('width')} x {image.get('height')}, {image.get('channels')} channel(s)"
            rows.append(("target", f"{size}, {image.get('bit_depth')}-bit ({header.get('mode', 'fit')})"))
        rows.append(("trained", _train_line(train, header.get("trainer", {}))))
        rows.append(("source", _source_line(header.get("source") or image.get("source"))))
        norm = header.get("normalization")
        if norm:
            centre = ", ".join(f"{c:.4g}" for c in norm["center"])
            rows.append(("normalised", f"unit = (world - ({centre})) * {norm['scale']:.6g}"))
        measures = _measures_line(header.get("live", {}))
        if measures:
            rows.append(("measures", measures))
    versions = header.get("versions", {})
    rows.append(("written by", ", ".join(f"{k} {v}" for k, v in versions.items()) or "?"))
    width = max(len(k) for k, _ in rows)
    return "\n".join([f"{path}: {KINDS.get(task, task)} checkpoint"] + [f"  {k:<{width}}  {v}" for k, v in rows])


#: The commands of this group: (name, help, option builder[, add_parser keywords]); see cli.GROUPS.
COMMANDS = (("info", "what a file holds: a mesh's load report or a checkpoint's summary", _args),)
