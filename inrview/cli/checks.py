"""Checks made before any work starts (output paths, sizes that cannot fit in memory), and the rescue of a
result whose write fails at the end, so that no training is lost."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..config import ModelConfig, parameter_count
from ..errors import InrviewError
from ..io.limits import available_memory


def check_output(path, option: str, formats: tuple[str, ...] | None = None) -> None:
    """Refuse an output path that cannot be written: its folder missing or not writable, the path a
    folder, an existing file not writable, or an extension outside `formats` (None: any)."""
    if not path:
        return
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    ext = p.suffix.lower().lstrip(".")
    problem = (
        f"folder {folder} does not exist"
        if not folder.is_dir()
        else "is a folder"
        if p.is_dir()
        else f"cannot write '.{ext}' files (choose {', '.join(formats)})"
        if formats and ext not in formats
        else "no permission to write there"
        if not _writable(folder, p)
        else None
    )
    if problem:
        raise InrviewError(f"{option} {p}: {problem}")


def check_folder(path, option: str) -> None:
    """Refuse a folder that cannot be created or written in: a file of that name, a missing parent, no
    permission."""
    if not path:
        return
    p = Path(path)
    parent = p if p.is_dir() else (p.parent if str(p.parent) else Path("."))
    problem = (
        "is a file, not a folder"
        if p.exists() and not p.is_dir()
        else f"folder {parent} does not exist"
        if not parent.is_dir()
        else "no permission to write there"
        if not _writable(parent)
        else None
    )
    if problem:
        raise InrviewError(f"{option} {p}: {problem}")


def _writable(folder: Path, file: Path | None = None) -> bool:
    """Whether files can be created in folder (and file, if it exists, overwritten)."""
    return os.access(folder, os.W_OK | os.X_OK) and not (
        file is not None and file.exists() and not os.access(file, os.W_OK)
    )


def check_input(path) -> None:
    """Refuse an input file that is not there."""
    if not Path(path).exists():
        raise InrviewError(f"{path}: file not found")


def save_safely(path, write, what: str = "result") -> str | None:
    """write(path); should that fail (a full disk, a folder removed meanwhile), write to the temporary folder
    instead. Returns None, or the message that says what failed and where the result went."""
    if not path:
        return None
    try:
        write(path)
        return None
    except (InrviewError, OSError) as err:
        p = Path(path)
        fd, rescue = tempfile.mkstemp(prefix=f"inrview-{p.stem}-", suffix=p.suffix)
        os.close(fd)
        try:
            write(rescue)
        except (InrviewError, OSError):
            os.unlink(rescue)
            return f"{p}: could not write the {what} ({err}), nor a copy in the temporary folder"
        return f"{p}: could not write the {what} ({err}); it was saved as {rescue} instead"


def raise_problems(problems: list[str | None]) -> None:
    """Raise one InrviewError for the failed writes (one line each), if any."""
    found = [p for p in problems if p]
    if found:
        raise InrviewError("; ".join(found))


# -- memory -------------------------------------------------------------------------------------------
def _human(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} PB"


def need_memory(nbytes: float, option: str, purpose: str) -> None:
    """Refuse a setting whose estimated memory exceeds what is available, naming the option."""
    have = available_memory()
    if have is not None and nbytes > have:
        raise InrviewError(f"{option}: {purpose} needs about {_human(nbytes)} of memory, {_human(have)} is available")


def grid_bytes(resolution: int) -> float:
    """Extraction at `resolution` cells per side: a float32 value grid, its mask and the marching-cubes
    work arrays, about 12 bytes per grid vertex."""
    return 12.0 * (resolution + 1) ** 3


def check_training_memory(m: ModelConfig, in_dim: int, batch: int) -> None:
    """Refuse a network or batch that cannot fit: 16 bytes per weight (weights, gradients, Adam's two
    moments) and about 16 bytes per hidden activation of the batch (kept for the backward pass)."""
    table, mlp = parameter_count(m, in_dim)
    table, mlp = 16.0 * table, 16.0 * (mlp + m.width * (m.depth + 4))  # biases and the output layer too
    need_memory(table, "--grid-max-res", "the grid encoding")
    need_memory(table + mlp, "--width", f"a network {m.width} wide")
    need_memory(table + mlp + 16.0 * batch * m.width * (m.depth + 2), "--batch-size", f"a batch of {batch} samples")
