"""Checkpoints: tensors plus a JSON header in one safetensors file.

Loading never executes code from the file (no pickle): anything that is not a safetensors file with an
inrview header is refused, and the header is validated against the tensors before a model is built.
"""

from __future__ import annotations

import json
import math
import os
import platform
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ..config import FitConfig, parameter_count
from ..config.checks import check_config_types
from ..errors import CheckpointError
from ..io.export import atomic_path
from ..io.geometry import Normalization
from ..io.limits import available_memory
from ..models import build_model
from ..version import __version__

FORMAT = "inrview-checkpoint"
VERSION = 1


@dataclass
class CheckpointData:
    """A checkpoint as read: its JSON header (dict) and its tensors by name ('model/...', 'optim/...',
    'rng/batch')."""

    header: dict
    tensors: dict

    def model_state(self) -> dict:
        """The network's state dict: the 'model/' tensors with that prefix removed."""
        return {k[len("model/") :]: v for k, v in self.tensors.items() if k.startswith("model/")}


def _versions() -> dict:
    return {"inrview": __version__, "torch": torch.__version__, "python": platform.python_version()}


def _plain_group(group: dict) -> dict:
    """A parameter group as JSON: learning rates held in tensors (during graphed CUDA steps) as numbers,
    and not 'capturable', which only CUDA parameters support (the checkpoint may be resumed on a CPU)."""
    out = {k: (float(v) if torch.is_tensor(v) else v) for k, v in group.items() if k != "params"}
    if "capturable" in out:
        out["capturable"] = False
    return out | {"params": group["params"]}


def save(
    path: str | os.PathLike,
    model: torch.nn.Module | dict,
    header: dict,
    optimizer: torch.optim.Optimizer | None = None,
    generator: torch.Generator | None = None,
) -> Path:
    """Write model weights (a module, or a state dict of one) and optionally Adam state and the batch RNG,
    with a JSON header."""
    state = model if isinstance(model, dict) else model.state_dict()
    tensors = {f"model/{k}": v.detach().cpu().contiguous() for k, v in state.items()}
    head = dict(header)
    head.update(format=FORMAT, version=VERSION, versions=_versions())
    if optimizer is not None:
        opt = optimizer.state_dict()
        head["optimizer"] = {"param_groups": [_plain_group(g) for g in opt["param_groups"]]}
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
    """Read and validate a checkpoint; raise CheckpointError naming the file and the problem.

    Nothing in the file is executed (safetensors holds tensors and strings only). Beyond the format, the
    header is checked field by field, and for shape checkpoints the network it describes is compared tensor
    by tensor with the file (see check_network), so a hostile header (a billion-unit layer, a wrong shape,
    a bad random-number state or optimizer state) is refused here, before anything big is allocated or
    trained.
    """
    p = Path(path)
    meta, tensors = _read_file(p)
    header = _parse_header(p, meta)
    _check_tensor_names(p, tensors)
    data = CheckpointData(header, tensors)
    _check_common(p, data)
    if header.get("task") == "shape":
        _check_shape(p, data)
    return data


def _read_file(p: Path) -> tuple[dict, dict]:
    """The safetensors metadata and tensors of the file at p, refusing a missing file, a pickle/zip, a file
    too big for free memory and anything safetensors cannot read."""
    if not p.exists():
        raise CheckpointError(p, "checkpoint not found")
    if not p.is_file():
        raise CheckpointError(p, "is not a file")
    size = p.stat().st_size
    with open(p, "rb") as fh:
        head = fh.read(9)
    if len(head) < 9:
        raise CheckpointError(p, "not an inrview checkpoint (file too short)")
    # safetensors: an 8-byte little-endian header length, then the JSON header. Only when that is not what
    # the file holds is a pickle signature meaningful (a header length can start with 0x80 too).
    looks_safetensors = head[8:9] == b"{" and 8 + int.from_bytes(head[:8], "little") <= size
    if not looks_safetensors and (head[:4] == b"PK\x03\x04" or (head[0] == 0x80 and 2 <= head[1] <= 5)):
        raise CheckpointError(
            p, "refusing a pickle/zip (torch.save) file: inrview checkpoints hold only tensors and JSON"
        )
    free = available_memory()
    if free is not None and size > 0.7 * free:
        raise CheckpointError(p, f"checkpoint is {size / 1024**3:.1f} GiB, more than the free memory allows")
    try:
        with safe_open(str(p), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises several types for corrupt files
        msg = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
        raise CheckpointError(p, f"not a valid inrview checkpoint ({msg})") from None
    return meta, tensors


def _parse_header(p: Path, meta: dict) -> dict:
    """The inrview JSON header from the safetensors metadata, checked for format and version."""
    if "inrview" not in meta:
        raise CheckpointError(p, "safetensors file without an inrview header")
    try:
        header = json.loads(meta["inrview"])
    except (ValueError, RecursionError) as e:
        raise CheckpointError(p, f"header is not valid JSON ({str(e).splitlines()[0][:100]})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(p, "header does not describe an inrview checkpoint")
    version = header.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise CheckpointError(p, f"header version {str(version)[:20]!r} is not a number")
    if version > VERSION:
        raise CheckpointError(p, f"checkpoint version {version} is newer than this inrview reads ({VERSION})")
    return header


def _check_tensor_names(p: Path, tensors: dict) -> None:
    """Every tensor is model/, optim/ or rng/, and the model's floating-point weights are finite."""
    for k, v in tensors.items():
        if not k.startswith(("model/", "optim/", "rng/")):
            raise CheckpointError(p, f"unexpected tensor {k[:60]!r}")
        if v.is_floating_point() and k.startswith("model/") and not torch.isfinite(v).all():
            raise CheckpointError(p, f"tensor {k[6:]} holds NaN or infinite values")


def _check_common(p: Path, data: CheckpointData) -> None:
    """Fields every checkpoint may have: trainer counters and the batch random-number state."""
    trainer = data.header.get("trainer", {})
    if not isinstance(trainer, dict):
        raise CheckpointError(p, "header 'trainer' is not an object")
    step, elapsed = trainer.get("step", 0), trainer.get("elapsed", 0.0)
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        raise CheckpointError(p, f"header trainer step {str(step)[:20]!r} is not a non-negative whole number")
    if not isinstance(elapsed, (int, float)) or isinstance(elapsed, bool) or not math.isfinite(elapsed) or elapsed < 0:
        raise CheckpointError(p, f"header trainer elapsed time {str(elapsed)[:20]!r} is not a non-negative number")
    rng = data.tensors.get("rng/batch")
    if rng is not None:
        ref = torch.Generator().get_state()
        if rng.dtype != ref.dtype or tuple(rng.shape) != tuple(ref.shape):
            raise CheckpointError(
                p,
                f"random-number state has dtype {rng.dtype} and shape {tuple(rng.shape)}, "
                f"expected {ref.dtype} {tuple(ref.shape)}",
            )
        try:
            torch.Generator().set_state(rng)
        except (RuntimeError, ValueError) as e:
            raise CheckpointError(p, f"random-number state is invalid ({str(e).splitlines()[0][:100]})") from None


def _check_shape(p: Path, data: CheckpointData) -> None:
    """A 3D shape checkpoint: typed config, normalisation, target, and the network's tensors."""
    head = data.header
    cfg_dict = head.get("config")
    if not isinstance(cfg_dict, dict):
        raise CheckpointError(p, "header has no configuration")
    problem = check_config_types(cfg_dict)
    if problem:
        raise CheckpointError(p, f"header configuration: {problem}")
    try:
        cfg = FitConfig.from_dict(cfg_dict)
    except (TypeError, ValueError) as e:
        raise CheckpointError(p, f"header has no usable configuration ({str(e)[:120]})") from None
    try:
        Normalization.from_dict(head["normalization"])
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise CheckpointError(p, f"header has no valid normalisation ({str(e)[:100]})") from None
    if head.get("target", cfg.target) not in ("sdf", "occupancy", "udf"):
        raise CheckpointError(p, f"header target {str(head.get('target'))[:20]!r} is not 'sdf', 'occupancy' or 'udf'")
    for key, want in (("in_dim", 3), ("out_dim", 1)):
        if head.get(key, want) != want:
            raise CheckpointError(p, f"header {key} is {str(head.get(key))[:20]!r}; a 3D shape network has {want}")
    check_network(p, data, cfg.model, 3, 1, cfg.train.seed)


def check_network(p, data: CheckpointData, model_cfg, in_dim: int, out_dim: int, seed: int = 0) -> None:
    """Compare the network the header describes with the file's tensors, weight by weight (and the
    optimizer state when present). A header whose network is bigger than the weights in the file is
    refused from a lower bound of its parameter count, before anything is built; otherwise the network is
    built (at most about the file's size) and its shapes compared exactly."""
    held = sum(int(v.numel()) for k, v in data.tensors.items() if k.startswith("model/"))
    need = param_lower_bound(model_cfg, in_dim)
    if need > held:
        raise CheckpointError(
            p, f"the header describes a network of at least {need} parameters, the file holds {held} weights"
        )
    try:
        model = build_model(model_cfg, in_dim, out_dim, seed=seed)
    except Exception as e:  # noqa: BLE001 - any failure to describe the network is a bad header
        raise CheckpointError(p, f"cannot build the network in the header ({str(e).splitlines()[0][:120]})") from None
    load_model_state(model, data, p, check_only=True)
    _check_optimizer(p, model, data)


def param_lower_bound(m, in_dim: int) -> int:
    """Fewest parameters a network of this config can have (config.parameter_count: its feature tables, its
    first and hidden layers; biases, skips and output layers only add to it)."""
    return sum(parameter_count(m, in_dim))


def _check_optimizer(p, model: torch.nn.Module, data: CheckpointData) -> None:
    opt = data.header.get("optimizer")
    optim_tensors = {k: v for k, v in data.tensors.items() if k.startswith("optim/")}
    if not opt:
        if optim_tensors:
            raise CheckpointError(p, "optimizer tensors without an optimizer header")
        return
    groups = opt.get("param_groups") if isinstance(opt, dict) else None
    if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
        raise CheckpointError(p, "header optimizer has no list of parameter groups")
    params = (
        model.parameter_groups(1.0) if hasattr(model, "parameter_groups") else [{"params": list(model.parameters())}]
    )
    shapes = [tuple(q.shape) for g in params for q in g["params"]]
    ids = []
    for g in groups:
        pl = g.get("params")
        if not isinstance(pl, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in pl):
            raise CheckpointError(p, "header optimizer group without a list of parameter numbers")
        for key in ("lr", "eps", "weight_decay"):
            if key in g and (
                not isinstance(g[key], (int, float)) or isinstance(g[key], bool) or not math.isfinite(g[key])
            ):
                raise CheckpointError(p, f"header optimizer {key} {str(g[key])[:20]!r} is not a number")
        ids += pl
    if sorted(ids) != list(range(len(shapes))):
        raise CheckpointError(
            p, f"header optimizer covers parameters {sorted(ids)[:8]}..., the network has {len(shapes)}"
        )
    for k, v in optim_tensors.items():
        parts = k.split("/")
        if len(parts) != 3 or not parts[1].isdigit() or int(parts[1]) >= len(shapes):
            raise CheckpointError(p, f"optimizer tensor {k[:60]!r} does not name a parameter")
        pid, name = int(parts[1]), parts[2]
        if name in ("exp_avg", "exp_avg_sq") and tuple(v.shape) != shapes[pid]:
            raise CheckpointError(
                p,
                f"optimizer state {name} of parameter {pid} has shape {tuple(v.shape)}, "
                f"the parameter has {shapes[pid]}",
            )
        if not v.is_floating_point() or not torch.isfinite(v).all():
            raise CheckpointError(p, f"optimizer tensor {k[:60]!r} is not finite floating point")


def load_model_state(model: torch.nn.Module, data: CheckpointData, path="checkpoint", check_only: bool = False) -> None:
    """Copy weights into a model built from the header, checking names, shapes and kinds first
    (check_only: only check, e.g. against a model on the 'meta' device)."""
    state = data.model_state()
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    if missing or extra:
        raise CheckpointError(
            path,
            "weights do not match the network in the header"
            + (f"; missing {', '.join(missing[:4])}" if missing else "")
            + (f"; unexpected {', '.join(extra[:4])}" if extra else ""),
        )
    for k, v in own.items():
        if tuple(v.shape) != tuple(state[k].shape):
            raise CheckpointError(
                path, f"tensor {k} has shape {tuple(state[k].shape)}, the network needs {tuple(v.shape)}"
            )
        if v.is_floating_point() and not state[k].is_floating_point():
            raise CheckpointError(path, f"tensor {k} holds {state[k].dtype}, the network needs floating point")
    if not check_only:
        model.load_state_dict(state)


def load_optimizer_state(optimizer: torch.optim.Optimizer, data: CheckpointData, path="checkpoint") -> bool:
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
    try:
        optimizer.load_state_dict({"state": state, "param_groups": opt["param_groups"]})
    except (ValueError, KeyError, TypeError, RuntimeError) as e:
        raise CheckpointError(
            path, f"optimizer state does not fit the network ({str(e).splitlines()[0][:100]})"
        ) from None
    return True
