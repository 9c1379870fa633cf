"""The learning-rate schedule every training loop uses: one cosine from the initial rate down to a share of it
over the budget (steps or seconds, as progress 0..1)."""

from __future__ import annotations

import math


def cosine_factor(progress: float, final: float) -> float:
    """The learning-rate factor of a cosine decay from 1 at progress 0 to `final` at progress 1 (and after)."""
    t = min(max(progress, 0.0), 1.0)
    return final + (1.0 - final) * 0.5 * (1.0 + math.cos(math.pi * t))
