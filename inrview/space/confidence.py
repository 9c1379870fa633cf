"""How much to trust each vertex of a completed surface.

Two measures per vertex, both in the scan's units:

- distance: to the nearest given point. Vertices within OBSERVED (a fraction of the scan's bounding-box
  diagonal) of a point were observed; the rest were inferred from the space.
- disagreement: how far apart the surfaces of the completion's best starts are there (the spread of their
  signed distances at the vertex; for occupancy spaces, of their logits scaled to distances), a measure of
  how much the data pinned the shape down.

confidence = observed, else exp(-disagreement / SPREAD) scaled by how far the vertex is from the data: 1 on
observed parts, falling where the starts disagree and the points are far. Written to PLY files as vertex
properties (distance, disagreement, confidence) and summarised for --metrics-json.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial import cKDTree

from .model import Space

#: Observed: within this fraction of the scan's bounding-box diagonal of a given point.
OBSERVED = 0.02
#: Disagreement (fraction of the diagonal) at which an inferred vertex's confidence falls to 1/e.
SPREAD = 0.01


def vertex_confidence(
    space: Space, vertices: np.ndarray, points: np.ndarray, codes: np.ndarray | None, to_space
) -> dict[str, np.ndarray]:
    """Per-vertex distance, observed (bool), disagreement and confidence (all (V,)) of a completed surface.

    vertices, points: the scan's frame (world units); codes: (K, D) the best starts' codes (None or one: no
    disagreement); to_space: maps world points (V, 3) into the space's normalised frame."""
    diag = float(np.linalg.norm(np.ptp(points, axis=0))) or 1.0
    dist, _ = cKDTree(points).query(vertices)
    observed = dist <= OBSERVED * diag
    spread = np.zeros(len(vertices))
    if codes is not None and len(codes) > 1:
        x = torch.as_tensor(to_space(np.asarray(vertices)), dtype=torch.float32)
        scale = float(np.linalg.norm(to_space(points[:1] + 1.0) - to_space(points[:1]))) / np.sqrt(3)
        with torch.no_grad():
            z = torch.as_tensor(np.asarray(codes), dtype=torch.float32)
            vals = space.decoder(z, x[None].expand(len(z), -1, -1)).numpy()
        if space.target == "occupancy":
            vals = vals * 0.01  # a logit of 1 is about 1% of the cube near the surface
        spread = vals.std(axis=0) / max(scale, 1e-12)
    inferred_trust = np.exp(-spread / (SPREAD * diag)) * np.exp(-np.maximum(dist / diag - OBSERVED, 0) / 0.1)
    confidence = np.where(observed, 1.0, inferred_trust)
    return {"distance": dist, "observed": observed, "disagreement": spread, "confidence": confidence}


def summary(conf: dict[str, np.ndarray]) -> dict:
    """The per-vertex measures summarised for --metrics-json."""
    obs, inf = conf["observed"], ~conf["observed"]
    pick = lambda a, m: float(np.mean(a[m])) if m.any() else 0.0
    return {
        "observed_fraction": float(obs.mean()),
        "distance_mean": float(conf["distance"].mean()),
        "distance_inferred_mean": pick(conf["distance"], inf),
        "disagreement_mean": float(conf["disagreement"].mean()),
        "disagreement_inferred_mean": pick(conf["disagreement"], inf),
        "disagreement_p95": float(np.percentile(conf["disagreement"], 95)),
        "confidence_mean": float(conf["confidence"].mean()),
    }


def ply_properties(conf: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The vertex properties written to a PLY: distance, disagreement, confidence (float32)."""
    return {k: np.asarray(conf[k], np.float32) for k in ("distance", "disagreement", "confidence")}
