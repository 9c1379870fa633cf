"""Checkpoints: tensors plus a JSON header in one safetensors file.

Loading never executes code from the file (no pickle): anything that is not a safetensors file with an
inrview header is refused, and the header is validated against the tensors before a model is built.
"""
from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import CheckpointError
from ..io.export import atomic_path

FORMAT = "inrview-checkpoint"
VERSION = 1


@dataclass
class CheckpointData:
    header: dict
    tensors: dict

    def model_state(self) -> dict:
        return {k[len("model/"):]: v for k, v in self.tensors.items() if k.startswith("model/")}


def _versions() -> dict:
    from .. import __version__

    return {"inrview": __version__, "torch": torch.__version__, "python": platform.python_version()}


def save(path: str | os.PathLike, model: torch.nn.Module, header: dict, optimizer: torch.optim.Optimizer | None = None,
         generator: torch.Generator | None = None) -> Path:
    """Write model weights (and optionally Adam state and the batch RNG) with a JSON header."""
    from safetensors.torch import save_file

    tensors = {f"model/{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    head = dict(header)
    head.update(format=FORMAT, version=VERSION, versions=_versions())
    if optimizer is not None:
        opt = optimizer.state_dict()
        head["optimizer"] = {"param_groups": [{k: v for k, v in g.items() if k != "params"} | {"params": g["params"]}
                                              for g in opt["param_groups"]]}
        for pid, st in opt["state"].items():
            for k, v in st.items():
                t = v if torch.is_tensor(v) else torch.tensor(v)
                tensors[f"optim/{pid}/{k}"] = t.detach().cpu().contiguous()
    if generator is not None:
        tensors["rng/batch"] = generator.get_state()
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"inrview": json.dumps(head)})
    return Path(path)


def read(path: str | os.PathLike) -> CheckpointData:
    """Read and validate the header; raise CheckpointError naming the file and the problem."""
    from safetensors import safe_open

    p = Path(path)
    if not p.exists():
        raise CheckpointError(p, "checkpoint not found")
    with open(p, "rb") as fh:
        head8 = fh.read(8)
    if len(head8) < 8:
        raise CheckpointError(p, "not an inrview checkpoint (file too short)")
    if head8[:2] == b"PK" or head8[:1] == b"\x80":
        raise CheckpointError(p, "refusing a pickle/zip (torch.save) file: inrview checkpoints hold only tensors and JSON")
    try:
        with safe_open(str(p), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises several types for corrupt files
        raise CheckpointError(p, f"not a valid inrview checkpoint ({str(e).splitlines()[0][:160]})") from None
    if "inrview" not in meta:
        raise CheckpointError(p, "safetensors file without an inrview header")
    try:
        header = json.loads(meta["inrview"])
    except json.JSONDecodeError as e:
        raise CheckpointError(p, f"header is not valid JSON ({e.msg})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(p, "header does not describe an inrview checkpoint")
    if header.get("version", 0) > VERSION:
        raise CheckpointError(p, f"checkpoint version {header.get('version')} is newer than this inrview reads ({VERSION})")
    for k, v in tensors.items():
        if v.is_floating_point() and k.startswith("model/") and not torch.isfinite(v).all():
            raise CheckpointError(p, f"tensor {k[6:]} holds NaN or infinite values")
    return CheckpointData(header, tensors)


def load_model_state(model: torch.nn.Module, data: CheckpointData, path="checkpoint") -> None:
    """Copy weights into a model built from the header, checking names and shapes first."""
    state = data.model_state()
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    if missing or extra:
        raise CheckpointError(path, "weights do not match the network in the header"
                              + (f"; missing {', '.join(missing[:4])}" if missing else "")
                              + (f"; unexpected {', '.join(extra[:4])}" if extra else ""))
    for k, v in own.items():
        if tuple(v.shape) != tuple(state[k].shape):
            raise CheckpointError(path, f"tensor {k} has shape {tuple(state[k].shape)}, the network needs {tuple(v.shape)}")
    model.load_state_dict(state)


def load_optimizer_state(optimizer: torch.optim.Optimizer, data: CheckpointData) -> bool:
    """Restore Adam's moments when the checkpoint has them; returns whether it did."""
    opt = data.header.get("optimizer")
    if not opt:
        return False
    state = {}
    for k, v in data.tensors.items():
        if k.startswith("optim/"):
            _, pid, name = k.split("/", 2)
            state.setdefault(int(pid), {})[name] = v
    current = optimizer.state_dict()
    if len(opt["param_groups"]) != len(current["param_groups"]):
        return False
    optimizer.load_state_dict({"state": state, "param_groups": opt["param_groups"]})
    return True
