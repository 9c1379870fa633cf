"""Coordinate networks: the DeepSDF-style ReLU MLP and SIREN."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm as _weight_norm


class ReluMLP(nn.Module):
    """Fully connected network with optional skip connection (input concatenated again at the middle
    layer, DeepSDF Sec. 5), optional weight normalisation and optional geometric initialisation (IGR,
    Atzmon & Lipman 2020 / Gropp et al. 2020, Sec. 4): the network then starts as the signed distance of a
    sphere of radius `sphere_radius`, which makes sign-agnostic and eikonal training converge."""

    def __init__(
        self,
        in_dim: int,
        out_dim: int = 1,
        width: int = 256,
        depth: int = 4,
        skip: bool = True,
        weight_norm: bool = False,
        geometric_init: bool = False,
        activation: str = "relu",
        sphere_radius: float = 0.5,
        raw_input_dim: int | None = None,
    ):
        super().__init__()
        self.skip_at = depth // 2 if skip and depth >= 2 else None
        self.in_dim = in_dim
        dims_in, layers = in_dim, []
        for i in range(depth):
            d_in = dims_in + (in_dim if i == self.skip_at else 0)
            layers.append(nn.Linear(d_in, width))
            dims_in = width
        layers.append(nn.Linear(width, out_dim))
        if geometric_init:
            self._geometric_init(layers, sphere_radius, raw_input_dim or in_dim)
        if weight_norm:
            layers = [_weight_norm(layer) for layer in layers]
        self.layers = nn.ModuleList(layers)
        self.act = nn.Softplus(beta=100) if activation == "softplus" else nn.ReLU()

    def _geometric_init(self, layers, radius, raw_dim):
        for i, lin in enumerate(layers):
            out_f, in_f = lin.weight.shape
            if i == len(layers) - 1:
                nn.init.normal_(lin.weight, mean=math.sqrt(math.pi) / math.sqrt(in_f), std=1e-5)
                nn.init.constant_(lin.bias, -radius)
            else:
                nn.init.constant_(lin.bias, 0.0)
                nn.init.normal_(lin.weight, 0.0, math.sqrt(2.0) / math.sqrt(out_f))
                if i == 0 and in_f > raw_dim:  # encoded extras start silent so the sphere is exact
                    nn.init.zeros_(lin.weight[:, raw_dim:])
                if i == self.skip_at:  # the re-injected input starts silent as well
                    nn.init.zeros_(lin.weight[:, in_f - self.in_dim + raw_dim :])
                    nn.init.normal_(lin.weight[:, in_f - self.in_dim : in_f - self.in_dim + raw_dim], 0.0, 1e-5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for i, lin in enumerate(self.layers[:-1]):
            if i == self.skip_at:
                h = torch.cat([h, x], dim=-1)
            h = self.act(lin(h))
        return self.layers[-1](h)


class SineLayer(nn.Module):
    """sin(omega_0 (W x + b)) with SIREN's initialisation (Sitzmann et al. 2020, Sec. 3.2 and supp. 1.5):
    the first layer U(-1/n, 1/n), later layers U(-sqrt(6/n)/omega_0, sqrt(6/n)/omega_0)."""

    def __init__(self, in_f: int, out_f: int, omega0: float, first: bool, generator=None):
        super().__init__()
        self.omega0 = omega0
        self.linear = nn.Linear(in_f, out_f)
        bound = 1.0 / in_f if first else math.sqrt(6.0 / in_f) / omega0
        with torch.no_grad():
            self.linear.weight.uniform_(-bound, bound, generator=generator)
            self.linear.bias.uniform_(-1 / math.sqrt(in_f), 1 / math.sqrt(in_f), generator=generator)

    def forward(self, x):
        return torch.sin(self.omega0 * self.linear(x))


class Siren(nn.Module):
    """SIREN MLP (Sitzmann et al. 2020): `depth` sine layers of `width` units and a linear output,
    (N, in_dim) float32 coordinates -> (N, out_dim) float32. The seed fixes the initialisation."""

    def __init__(
        self, in_dim: int, out_dim: int = 1, width: int = 256, depth: int = 3, omega0: float = 30.0, seed: int = 0
    ):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        layers = [SineLayer(in_dim, width, omega0, True, g)]
        layers += [SineLayer(width, width, omega0, False, g) for _ in range(depth - 1)]
        self.body = nn.Sequential(*layers)
        self.out = nn.Linear(width, out_dim)
        bound = math.sqrt(6.0 / width) / omega0
        with torch.no_grad():
            self.out.weight.uniform_(-bound, bound, generator=g)
            self.out.bias.zero_()

    def forward(self, x):
        return self.out(self.body(x))
