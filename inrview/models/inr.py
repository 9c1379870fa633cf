"""The INR: an optional encoding followed by a network, and the helpers every family shares."""

from __future__ import annotations

import torch
from torch import nn


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
