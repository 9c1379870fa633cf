"""Networks for implicit fields: build_model(config, in_dim, out_dim) returns an INR.

An INR maps coordinates in [-1, 1]^d, shape (N, d), to raw outputs (N, out_dim): signed distance for SDF
targets, a logit for occupancy targets, colour for images.
"""

from __future__ import annotations

import torch
from torch import nn

from ..config import ModelConfig
from .encodings import FourierFeatures, MultiResGrid, level_resolutions
from .networks import ReluMLP, Siren

__all__ = [
    "INR",
    "build_model",
    "output_layer",
    "FourierFeatures",
    "MultiResGrid",
    "ReluMLP",
    "Siren",
    "level_resolutions",
]


class INR(nn.Module):
    """An optional encoding followed by a network."""

    def __init__(self, encoding: nn.Module | None, net: nn.Module, in_dim: int, out_dim: int):
        super().__init__()
        self.encoding, self.net, self.in_dim, self.out_dim = encoding, net, in_dim, out_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoding(x) if self.encoding is not None else x
        return self.net(h)

    def parameter_groups(self, lr: float) -> list[dict]:
        """Grid tables learn faster than MLP weights and take no weight decay."""
        groups = [{"params": list(self.net.parameters()), "lr": lr, "name": "net"}]
        if self.encoding is not None and any(p.requires_grad for p in self.encoding.parameters()):
            groups.append({"params": list(self.encoding.parameters()), "lr": lr, "name": "encoding"})
        return groups


def output_layer(model: nn.Module) -> nn.Linear | None:
    """The linear layer that produces the network's output (the last one registered: every family ends
    with one), or None."""
    last = None
    for m in model.modules():
        if isinstance(m, nn.Linear):
            last = m
    return last


def build_model(cfg: ModelConfig, in_dim: int = 3, out_dim: int = 1, seed: int = 0) -> INR:
    """The network named by cfg.kind, initialised deterministically from seed."""
    model = _build(cfg, in_dim, out_dim, seed)
    model.kind = cfg.kind
    return model


def _build(cfg: ModelConfig, in_dim: int, out_dim: int, seed: int) -> INR:
    torch.manual_seed(seed)
    if cfg.width < 1 or cfg.depth < 1:
        raise ValueError("width and depth must be at least 1")
    if cfg.kind == "siren":
        return INR(None, Siren(in_dim, out_dim, cfg.width, cfg.depth, cfg.omega0, seed), in_dim, out_dim)
    if cfg.kind == "relu":
        net = ReluMLP(
            in_dim,
            out_dim,
            cfg.width,
            cfg.depth,
            cfg.skip,
            cfg.weight_norm,
            cfg.geometric_init and out_dim == 1,
            cfg.activation,
        )
        return INR(None, net, in_dim, out_dim)
    if cfg.kind == "fourier":
        enc = FourierFeatures(in_dim, cfg.fourier_features, cfg.fourier_scale, seed)
        net = ReluMLP(
            enc.out_dim,
            out_dim,
            cfg.width,
            cfg.depth,
            cfg.skip,
            cfg.weight_norm,
            cfg.geometric_init and out_dim == 1,
            cfg.activation,
            raw_input_dim=in_dim,
        )
        return INR(enc, net, in_dim, out_dim)
    if cfg.kind == "grid":
        enc = MultiResGrid(
            in_dim,
            cfg.grid_levels,
            cfg.grid_base_resolution,
            cfg.grid_max_resolution,
            cfg.grid_features,
            cfg.grid_max_entries,
            seed=seed,
        )
        net = ReluMLP(enc.out_dim, out_dim, cfg.width, cfg.depth, skip=False, activation=cfg.activation)
        return INR(enc, net, in_dim, out_dim)
    raise ValueError(f"unknown model kind {cfg.kind!r} (choose grid, siren, relu or fourier)")
