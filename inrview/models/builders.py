"""The builders the family table (inrview.config.families) names: one function per family,
(ModelConfig, in_dim, out_dim, seed) -> INR. build_model seeds torch and checks the sizes before calling one."""

from __future__ import annotations

from ..config import ModelConfig
from .encodings import FourierFeatures, MultiResGrid
from .inr import INR
from .networks import ReluMLP, Siren


def siren(cfg: ModelConfig, in_dim: int, out_dim: int, seed: int) -> INR:
    """A SIREN of cfg.width x cfg.depth sine layers with frequency factor cfg.omega0."""
    return INR(None, Siren(in_dim, out_dim, cfg.width, cfg.depth, cfg.omega0, seed), in_dim, out_dim)


def _relu_mlp(cfg: ModelConfig, in_dim: int, out_dim: int, raw_input_dim: int | None = None) -> ReluMLP:
    geometric = cfg.geometric_init and out_dim == 1
    return ReluMLP(
        in_dim,
        out_dim,
        cfg.width,
        cfg.depth,
        cfg.skip,
        cfg.weight_norm,
        geometric,
        cfg.activation,
        raw_input_dim=raw_input_dim,
    )


def relu(cfg: ModelConfig, in_dim: int, out_dim: int, seed: int) -> INR:
    """The DeepSDF-style ReLU MLP (skip, weight norm and geometric initialisation as cfg says)."""
    return INR(None, _relu_mlp(cfg, in_dim, out_dim), in_dim, out_dim)


def fourier(cfg: ModelConfig, in_dim: int, out_dim: int, seed: int) -> INR:
    """The ReLU MLP on a Fourier-feature encoding of the coordinates."""
    enc = FourierFeatures(in_dim, cfg.fourier_features, cfg.fourier_scale, seed)
    return INR(enc, _relu_mlp(cfg, enc.out_dim, out_dim, raw_input_dim=in_dim), in_dim, out_dim)


def grid(cfg: ModelConfig, in_dim: int, out_dim: int, seed: int) -> INR:
    """A multi-resolution feature grid followed by a small ReLU MLP."""
    enc = MultiResGrid(in_dim, cfg.grid, seed=seed)
    net = ReluMLP(enc.out_dim, out_dim, cfg.width, cfg.depth, skip=False, activation=cfg.activation)
    return INR(enc, net, in_dim, out_dim)
