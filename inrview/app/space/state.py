"""What the Shape-space mode knows about the open space, as plain numpy (no Qt, no VTK).

The worker builds a SpaceState when a space opens (names, training errors, codes and their principal
directions); the panel turns its sliders into a code with `SpaceState.code_at`, so the arithmetic of
morphing and of moving along the principal directions lives here and is tested without a window.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Principal directions offered as sliders (at most; fewer when the space has fewer shapes).
MAX_DIRECTIONS = 4
#: The sliders reach this many standard deviations of the codes along each direction.
SIGMAS = 3.0


def checkpoint_task(path: str | Path) -> str | None:
    """The 'task' an inrview checkpoint's header names ('space', 'shape', 'image', ...), read from the
    safetensors metadata only; None for anything that is not a readable inrview checkpoint."""
    p = Path(path)
    if p.suffix.lower() != ".safetensors" or not p.is_file():
        return None
    try:
        from safetensors import safe_open

        with safe_open(str(p), "pt") as fh:
            meta = fh.metadata() or {}
        return json.loads(meta.get("inrview", "{}")).get("task")
    except Exception:  # noqa: BLE001 - unreadable: the shape mode opens it and names the problem
        return None


@dataclass(frozen=True)
class SpaceState:
    """An open space as the panel sees it.

    path; names (n,); errors (n,) training error per shape; codes (n, D); mean (D,); directions (K, D) unit
    rows; sigmas (K,) standard deviation of the codes along each direction; shares (K,) variance shares;
    target 'sdf' | 'occupancy'; normalise 'joint' | 'per-shape'."""

    path: str
    names: list
    errors: np.ndarray
    codes: np.ndarray
    mean: np.ndarray
    directions: np.ndarray
    sigmas: np.ndarray
    shares: np.ndarray
    target: str
    normalise: str
    resume: dict | None = None  # a training checkpoint's run (space.checkpoints.resume_info), else None

    @property
    def can_continue(self) -> bool:
        """A training checkpoint whose run stopped before its budget: the panel offers Continue."""
        return bool(self.resume) and not self.resume["finished"] and bool(self.resume.get("folder"))

    @classmethod
    def of(cls, path: str, space) -> SpaceState:
        """The state of an inrview.space.Space read from path."""
        from ...space import principal_directions
        from ...space.checkpoints import resume_info

        codes = space.codes.numpy().astype(np.float64)
        mean, dirs, share = principal_directions(codes)
        sig = ((codes - mean) @ dirs.T).std(axis=0) if len(codes) else np.zeros(0)
        k = int(min(MAX_DIRECTIONS, np.count_nonzero(sig > 1e-9)))
        errors = np.asarray(space.header.get("shape_error", [np.nan] * len(space.names)), np.float64)
        return cls(
            str(path),
            list(space.names),
            errors,
            codes,
            mean,
            dirs[:k],
            sig[:k],
            share[:k],
            space.target,
            space.normalise,
            resume_info(path),
        )

    def code_at(self, a: int, b: int, t: float, offsets, from_mean: bool = False) -> np.ndarray:
        """(D,) float32 code: (1 - t) z_a + t z_b (or the mean of the codes) plus offsets[k] standard
        deviations along principal direction k."""
        base = self.mean if from_mean else (1.0 - t) * self.codes[a] + t * self.codes[b]
        off = np.zeros(len(self.sigmas)) if offsets is None else np.asarray(offsets, np.float64)[: len(self.sigmas)]
        code = base + (off * self.sigmas[: len(off)]) @ self.directions[: len(off)]
        return code.astype(np.float32)

    def summary(self) -> str:
        """One line: shapes, target, normalisation, code length."""
        return (
            f"{Path(self.path).name}: {len(self.names)} shapes, {self.target}, {self.normalise} "
            f"normalisation, codes of {self.codes.shape[1]}"
        )
