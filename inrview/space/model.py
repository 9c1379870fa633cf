"""A trained shape space in memory and on disk: the decoder, every shape's code and what is needed to use
them (normalisation, shape names, network, target, sampling, code statistics, per-shape training error).

On disk it is an inrview checkpoint (safetensors: tensors model/decoder.* and model/codes.embedding.weight,
and a JSON header whose 'task' is 'space'); nothing in the file is executed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..config.space import LatentConfig
from ..errors import CheckpointError
from ..extract import Mesh
from ..io.geometry import Normalization
from ..models.latent import LatentDecoder, ShapeCodes
from ..training import checkpoint as ckpt
from .mesh import code_mesh

TASK = "space"


class _Weights(nn.Module):
    """The tensors of a space: decoder and codes, under the names the file uses."""

    def __init__(self, decoder: LatentDecoder, codes: ShapeCodes):
        super().__init__()
        self.decoder, self.codes = decoder, codes


@dataclass
class Space:
    """A shape space ready to use.

    decoder: the LatentDecoder (eval mode, frozen); codes: (n_shapes, D) float32 tensor; names: shape
    names in code order; target: 'sdf' or 'occupancy'; normalise: 'joint' or 'per-shape';
    normalizations: one per shape; header: the file's 'space' record (network, training, sampling, stats).
    """

    decoder: LatentDecoder
    codes: torch.Tensor
    names: list[str]
    target: str
    normalise: str
    normalizations: list[Normalization]
    header: dict

    def __post_init__(self):
        self.decoder.eval()
        for p in self.decoder.parameters():
            p.requires_grad_(False)

    @property
    def latent_dim(self) -> int:
        """Length D of the codes."""
        return int(self.codes.shape[1])

    def index(self, name: str | int) -> int:
        """The index of a shape given by name or index; KeyError naming the known shapes otherwise."""
        if isinstance(name, int) or (isinstance(name, str) and name.isdigit() and name not in self.names):
            i = int(name)
            if 0 <= i < len(self.names):
                return i
        elif name in self.names:
            return self.names.index(name)
        shown = ", ".join(self.names[:8]) + (" ..." if len(self.names) > 8 else "")
        raise KeyError(f"no shape {name!r} in the space (shapes: {shown})")

    def code(self, name: str | int) -> torch.Tensor:
        """(D,) the code of a training shape."""
        return self.codes[self.index(name)]

    def world_normalization(self, i: int | None = None) -> Normalization:
        """The transform of shape i (per-shape), or the joint one."""
        return self.normalizations[0 if i is None or self.normalise == "joint" else i]

    def decode(
        self, code: torch.Tensor | np.ndarray, resolution: int = 64, normalization: Normalization | None = None
    ) -> Mesh:
        """The surface of a code: watertight, one piece. code: (D,); returns a Mesh in world units of
        `normalization` (default: the joint one, or for per-shape spaces the normalised frame)."""
        norm = normalization
        if norm is None:
            norm = self.normalizations[0] if self.normalise == "joint" else Normalization()
        return code_mesh(self.decoder, torch.as_tensor(np.asarray(code, np.float32)), self.target, norm, resolution)


def save_space(path: str | os.PathLike, decoder: LatentDecoder, codes: torch.Tensor, record: dict) -> Path:
    """Write a space checkpoint. codes: (n_shapes, D); record: the header's 'space' object (see
    space.fit.space_record). Returns the path."""
    holder = ShapeCodes(codes.shape[0], codes.shape[1])
    with torch.no_grad():
        holder.weight.copy_(codes)
    return ckpt.save(path, _Weights(decoder.cpu(), holder), {"task": TASK, "space": record, "target": record["target"]})


def read_space(path: str | os.PathLike) -> Space:
    """Load a space checkpoint; CheckpointError naming the file for anything else (a single-shape
    checkpoint, a damaged header, tensors that do not match the network the header describes)."""
    p = Path(path)
    data = ckpt.read(p)
    task = data.header.get("task")
    if task != TASK:
        raise CheckpointError(
            p, f"is a {task or 'single-shape'} checkpoint, not a shape space (make one with 'inrview space fit')"
        )
    rec = data.header.get("space")
    try:
        net = LatentConfig.from_dict(rec["network"])
        names = [str(n) for n in rec["names"]]
        norm = rec["normalisation"]
        norms = [Normalization.from_dict(n) for n in norm["per_shape"]]
        target = rec["target"]
        if target not in ("sdf", "occupancy") or norm["mode"] not in ("joint", "per-shape"):
            raise ValueError("target or normalisation mode unknown")
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(p, f"space header is incomplete or invalid ({str(e)[:100]})") from None
    state = data.model_state()
    codes = state.get("codes.embedding.weight")
    if codes is None or codes.ndim != 2 or codes.shape != (len(names), net.latent_dim) or len(norms) != len(names):
        raise CheckpointError(
            p,
            f"holds {None if codes is None else tuple(codes.shape)} codes for "
            f"{len(names)} shape names of length {net.latent_dim}",
        )
    decoder = LatentDecoder(net)
    try:
        decoder.load_state_dict({k[len("decoder.") :]: v for k, v in state.items() if k.startswith("decoder.")})
    except RuntimeError as e:
        raise CheckpointError(p, f"decoder weights do not match the header ({str(e).splitlines()[0][:100]})") from None
    return Space(decoder, codes.float(), names, target, norm["mode"], norms, rec)
