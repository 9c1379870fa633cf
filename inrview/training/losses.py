"""Loss terms, each returned in a dict of named terms so that every one can be plotted.

SDF regression: clamped L1 (DeepSDF, Park et al. 2019, Eq. 4). Occupancy: binary cross-entropy on logits
(Occupancy Networks, Mescheder et al. 2019, Eq. 3). Oriented point clouds: surface value, normal
alignment, eikonal and off-surface terms (SIREN Sec. 4.2 / IGR Eq. 2).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def gradient(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """dy/dx for a batch of scalar outputs y (N,) or (N, 1) with respect to inputs x (N, d)."""
    return torch.autograd.grad(y, x, torch.ones_like(y), create_graph=True)[0]


def clamped_l1(pred: torch.Tensor, target: torch.Tensor, clamp: float) -> torch.Tensor:
    """DeepSDF's L1 between clamped prediction and clamped target, written so that a prediction beyond
    the clamp still gets a gradient when the target is inside it (clamping the prediction directly
    leaves a network that starts far from zero with no gradient at all)."""
    t = target.clamp(-clamp, clamp)
    far = target.abs() >= clamp
    # inside the band: plain L1; beyond it: only a prediction short of the clamp (or of the wrong sign)
    # is penalised, exactly as |clamp(pred) - clamp(target)| does, but with a gradient through pred.
    near_term = (pred - t).abs()
    far_term = torch.relu(clamp - pred * torch.sign(target))
    return torch.where(far, far_term, near_term).mean()


def occupancy_bce(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of (N,) logits against (N,) labels in [0, 1]; a scalar tensor."""
    return F.binary_cross_entropy_with_logits(logits, labels)


def eikonal(grad: torch.Tensor) -> torch.Tensor:
    """Mean of (|grad| - 1)^2 over (N, d) gradients; a scalar tensor."""
    return ((grad.norm(dim=-1) - 1.0) ** 2).mean()


def normal_alignment(grad: torch.Tensor, normals: torch.Tensor) -> torch.Tensor:
    """Mean of 1 - cos(grad, normal) over (N, d) gradients and (N, d) normals; a scalar tensor."""
    return (1.0 - F.cosine_similarity(grad, normals, dim=-1)).mean()


def off_surface(values: torch.Tensor, alpha: float = 100.0) -> torch.Tensor:
    """Penalise values near zero away from the data (SIREN, Sec. 4.2)."""
    return torch.exp(-alpha * values.abs()).mean()
