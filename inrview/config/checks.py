"""Checks of a FitConfig dict read from a file (a checkpoint's header): every field of the right type and in
a sane range, the network a family of the table, before anything is built from it."""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing

from . import FAMILIES, FitConfig


def check_config_types(d: dict) -> str | None:
    """The first field of a FitConfig dict whose value has the wrong type or is out of range, as a message."""

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

    msg = check(FitConfig, d, "config")
    if msg:
        return msg
    device = d.get("train", {}).get("device", "auto")
    if not re.fullmatch(r"auto|cpu|mps|cuda(:\d{1,2})?", device):
        return f"train.device = {device[:30]!r} is not auto, cpu, cuda, cuda:N or mps"
    m = d.get("model", {})
    if m.get("kind", "grid") not in FAMILIES:
        return f"model.kind = {str(m['kind'])[:30]!r} is not one of {', '.join(map(repr, FAMILIES))}"
    for key, top in (
        ("width", 1 << 14),
        ("depth", 64),
        ("fourier_features", 1 << 12),
        ("grid_levels", 32),
        ("grid_max_resolution", 1 << 14),
        ("grid_base_resolution", 1 << 14),
        ("grid_features", 64),
        ("grid_max_entries", 1 << 26),
    ):
        if key in m and not 1 <= m[key] <= top:
            return f"model.{key} = {m[key]} is outside 1..{top}"
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
    return True


def _describe(hint) -> str:
    if typing.get_origin(hint) is typing.Literal:
        return "one of " + ", ".join(map(repr, typing.get_args(hint)))
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(_describe(h) for h in typing.get_args(hint))
    names = {int: "a whole number", float: "a finite number", bool: "true or false", str: "text", type(None): "null"}
    return names.get(hint, str(hint).replace("typing.", ""))
