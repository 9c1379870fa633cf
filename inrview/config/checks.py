"""Checks of a FitConfig dict read from a file (a checkpoint's header): every field of the right type and in
a sane range, the network a family of the table, before anything is built from it."""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing

from . import FAMILIES, FitConfig, SamplingConfig


def check_config_types(d: dict) -> str | None:
    """The first field of a FitConfig dict (an older version's too) whose value has the wrong type or is out
    of range, as a message."""

    def check(cls, values, where):
        if not isinstance(values, dict):
            return f"{where} is not an object"
        hints = typing.get_type_hints(cls)
        names = {f.name for f in dataclasses.fields(cls)}
        for key, val in values.items():
            if key not in names:
                return f"unknown field {where}.{key}"[:120]
            hint = hints[key]
            if val is not None and typing.get_origin(hint) in (typing.Union, types.UnionType):
                hint = next((h for h in typing.get_args(hint) if dataclasses.is_dataclass(h)), hint)
            if dataclasses.is_dataclass(hint):
                msg = check(hint, val, f"{where}.{key}")
                if msg:
                    return msg
            elif not _matches(hint, val):
                return f"{where}.{key} = {str(val)[:30]!r} is not {_describe(hint)}"
        return None

    if not isinstance(d, dict):
        return "config is not an object"
    d = FitConfig.upgrade(d)
    msg = check(FitConfig, d, "config")
    if msg:
        return msg
    device = d.get("train", {}).get("device", "auto")
    if not re.fullmatch(r"auto|cpu|mps|cuda(:\d{1,2})?", device):
        return f"train.device = {device[:30]!r} is not auto, cpu, cuda, cuda:N or mps"
    m = d.get("model", {})
    if m.get("kind", "grid") not in FAMILIES:
        return f"model.kind = {str(m['kind'])[:30]!r} is not one of {', '.join(map(repr, FAMILIES))}"
    grid = m.get("grid", {})
    for where, values, key, top in (
        ("model", m, "width", 1 << 14),
        ("model", m, "depth", 64),
        ("model", m, "fourier_features", 1 << 12),
        ("model.grid", grid, "levels", 32),
        ("model.grid", grid, "max_resolution", 1 << 14),
        ("model.grid", grid, "base_resolution", 1 << 14),
        ("model.grid", grid, "features", 64),
        ("model.grid", grid, "max_entries", 1 << 26),
    ):
        if key in values and not 1 <= values[key] <= top:
            return f"{where}.{key} = {values[key]} is outside 1..{top}"
    try:  # the pool's own rules (SamplingConfig checks its proportions and widths when made)
        SamplingConfig.from_dict(d.get("sampling", {}))
    except ValueError as e:
        return str(e)
    return None


def _matches(hint, val) -> bool:
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return val in typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(h, val) for h in typing.get_args(hint))
    if hint is type(None):
        return val is None
    if hint is bool:
        return isinstance(val, bool)
    if hint is int:
        return isinstance(val, int) and not isinstance(val, bool)
    if hint is float:
        return isinstance(val, (int, float)) and not isinstance(val, bool) and math.isfinite(val)
    if hint is str:
        return isinstance(val, str)
    if origin is tuple:
        items = typing.get_args(hint)
        return isinstance(val, (list, tuple)) and len(val) == len(items) and all(map(_matches, items, val))
    return True


def _describe(hint) -> str:
    if typing.get_origin(hint) is typing.Literal:
        return "one of " + ", ".join(map(repr, typing.get_args(hint)))
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(_describe(h) for h in typing.get_args(hint))
    if typing.get_origin(hint) is tuple:
        return f"a list of {len(typing.get_args(hint))} ({', '.join(_describe(h) for h in typing.get_args(hint))})"
    names = {int: "a whole number", float: "a finite number", bool: "true or false", str: "text", type(None): "null"}
    return names.get(hint, str(hint).replace("typing.", ""))
