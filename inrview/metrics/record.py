"""The base of the measures and reports the pipeline prints and writes as JSON."""

from __future__ import annotations

from dataclasses import asdict


class Record:
    """A dataclass of measures that reads as a JSON-ready dict (its fields, in order)."""

    def to_dict(self) -> dict:
        """The fields as a JSON-ready dict."""
        return asdict(self)
