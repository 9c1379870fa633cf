"""Networks for implicit fields: build_model(config, in_dim, out_dim) returns an INR.

An INR maps coordinates in [-1, 1]^d, shape (N, d), to raw outputs (N, out_dim): signed distance for SDF
targets, a logit for occupancy targets, colour for images. Which function builds a family is written in
the family table (inrview.config.families); this package holds the builders and their parts.
"""

from __future__ import annotations

import importlib

import torch

from ..config import ModelConfig, family
from .encodings import FourierFeatures, MultiResGrid
from .inr import INR, output_layer
from .networks import ReluMLP, Siren

__all__ = [
    "INR",
    "build_model",
    "output_layer",
    "FourierFeatures",
    "MultiResGrid",
    "ReluMLP",
    "Siren",
]


def builder(kind: str):
    """The function the family table names for kind: (cfg, in_dim, out_dim, seed) -> INR."""
    module, _, name = family(kind).builder.partition(":")
    return getattr(importlib.import_module(module), name)


def build_model(cfg: ModelConfig, in_dim: int = 3, out_dim: int = 1, seed: int = 0) -> INR:
    """The network named by cfg.kind, initialised deterministically from seed."""
    make = builder(cfg.kind)
    if cfg.width < 1 or cfg.depth < 1:
        raise ValueError("width and depth must be at least 1")
    torch.manual_seed(seed)
    model = make(cfg, in_dim, out_dim, seed)
    model.kind = cfg.kind
    return model
