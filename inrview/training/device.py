"""Choosing where training runs and how: device, CPU threads, arithmetic precision, out-of-memory errors."""

from __future__ import annotations

import contextlib
import os

import torch


def pick_device(name: str = "auto") -> torch.device:
    """'auto' gives CUDA when present, then Apple MPS, then the CPU; other names are checked."""
    if name in (None, "", "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device '{name}' requested but no CUDA GPU is available")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError(f"device '{name}' requested but Apple MPS is not available")
    return dev


def describe_devices() -> list[str]:
    """Human-readable list of what torch can use here."""
    out = ["cpu"]
    if torch.cuda.is_available():
        out = [f"cuda:{i} ({torch.cuda.get_device_name(i)})" for i in range(torch.cuda.device_count())] + out
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.insert(0, "mps (Apple GPU)")
    return out


def default_threads(model: torch.nn.Module) -> int | None:
    """Torch CPU threads when the configuration names none: 1 for grid-encoded models on up to 4 cores.

    The 3D grid_sample kernel parallelises over its batch dimension only, which is 1 here, so more threads
    speed up just the small MLP; meanwhile OpenMP's spinning workers made a default-model step 5x slower
    (85 -> 500-1000 ms) on a 2-core machine shared with other work. None leaves torch's choice."""
    enc = getattr(model, "encoding", None)
    if enc is not None and hasattr(enc, "resolutions") and (os.cpu_count() or 1) <= 4:
        return 1
    return None


@contextlib.contextmanager
def matmul_precision(precision: str, device: torch.device):
    """TensorFloat-32 matrix products on CUDA for the duration of a step when precision is 'tf32'."""
    if precision != "tf32" or device.type != "cuda":
        yield
        return
    before = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = True
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before


def autocast(precision: str, device: torch.device):
    """bfloat16 autocast of the forward pass when precision is 'bf16' (the loss is reduced in fp32)."""
    if precision == "bf16" and device.type in ("cuda", "cpu"):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def is_out_of_memory(err: BaseException) -> bool:
    """CUDA's OutOfMemoryError, the same as a RuntimeError (MPS, older torch), or the CPU allocator's."""
    if isinstance(err, (MemoryError, getattr(torch.cuda, "OutOfMemoryError", MemoryError))):
        return True
    text = str(err).lower()
    return isinstance(err, RuntimeError) and (
        "out of memory" in text or "not enough memory" in text or "can't allocate memory" in text
    )
