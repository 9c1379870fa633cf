"""What every configuration shares: its fields as a JSON-ready dict and back, nested configurations and
tuples included, with the keys older versions wrote carried over to the fields that replaced them (so
older checkpoints keep loading)."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import ClassVar


class Config:
    """A frozen dataclass's JSON round trip (to_dict / from_dict) and the upgrade of older dicts."""

    #: Keys older versions wrote, each to where its value lives now: (field, i) for item i of a tuple field,
    #: (field, name) for a field of a nested configuration.
    FORMER_KEYS: ClassVar[dict[str, tuple[str, int | str]]] = {}

    def to_dict(self) -> dict:
        """The fields as a JSON-ready dict (nested configurations as dicts)."""
        return dataclasses.asdict(self)

    @classmethod
    def upgrade(cls, values: dict) -> dict:
        """values (to_dict's output, possibly an older version's) in this version's form: former keys moved
        to the fields that replaced them, nested configurations upgraded too. Anything else stays as it
        is, for from_dict or the header checks to judge."""
        out = dict(values)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for old, (name, place) in cls.FORMER_KEYS.items():
            if old not in out:
                continue
            current = out.get(name, _default(fields[name]))
            if isinstance(place, int) and isinstance(current, (list, tuple)) and place < len(current):
                out[name] = [*current[:place], out.pop(old), *current[place + 1 :]]
            elif isinstance(place, str) and isinstance(current, (dict, Config)):
                nested = current.to_dict() if isinstance(current, Config) else current
                out[name] = {**nested, place: out.pop(old)}
        hints = typing.get_type_hints(cls)
        for name, value in out.items():
            nested_cls = nested_config(hints[name]) if name in fields else None
            if nested_cls is not None and isinstance(value, dict):
                out[name] = nested_cls.upgrade(value)
        return out

    @classmethod
    def from_dict(cls, values: dict):
        """The configuration from to_dict's output (or an older version's); ValueError naming any unknown
        field."""
        values = cls.upgrade(values)
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown {cls.__name__} field(s): {', '.join(sorted(unknown))}")
        hints = typing.get_type_hints(cls)
        return cls(**{name: _from_json(hints[name], value) for name, value in values.items()})


def nested_config(hint) -> type[Config] | None:
    """The configuration class a field's type names (alone or beside None), None for other types."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return next((h for h in typing.get_args(hint) if nested_config(h)), None)
    return hint if isinstance(hint, type) and issubclass(hint, Config) else None


def _from_json(hint, value):
    nested_cls = nested_config(hint)
    if nested_cls is not None and isinstance(value, dict):
        return nested_cls.from_dict(value)
    return tuple(value) if isinstance(value, list) and typing.get_origin(hint) is tuple else value


def _default(f: dataclasses.Field):
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None if f.default is dataclasses.MISSING else f.default
