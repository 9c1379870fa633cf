"""Capacity sweep: how much of an image a network of a given width and depth captures in a fixed budget.

Each (width, depth) cell trains the same family from the same seed on the same pixels for the same steps
(or seconds), then measures PSNR/SSIM of the rendering. Results come as rows, a Markdown or CSV table, and
a PNG heat map (matplotlib when installed, else drawn with Pillow).
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..config import TrainConfig
from ..config.image import SWEEP_STEPS, image_model_config
from ..errors import InrviewError
from ..io.export import atomic_path
from ..io.image import ImageData
from .session import ImageSession
from .views import magnitude_view, to_uint8


@dataclass
class SweepRow:
    """One network of a capacity sweep: family, width, depth, parameter count, steps and training
    seconds, and the PSNR (dB) and SSIM it reached."""

    kind: str
    width: int
    depth: int
    parameters: int
    steps: int
    train_seconds: float
    psnr: float
    ssim: float


def capacity_sweep(
    image: ImageData,
    kind: str = "siren",
    widths=(32, 64, 128),
    depths=(1, 2, 3),
    train: TrainConfig = TrainConfig(steps=SWEEP_STEPS),
    device: str | None = None,
    on_row=None,
    progress_factory=None,
    **model_overrides,
) -> list[SweepRow]:
    """Train one network per (width, depth) and measure it; on_row(row) is called after each cell and
    progress_factory(label) may return a per-cell snapshot callback (with a .close())."""
    widths, depths = [int(w) for w in widths], [int(d) for d in depths]
    if not widths or not depths or min(widths) < 1 or min(depths) < 1:
        raise InrviewError("sweep widths and depths must be non-empty lists of positive whole numbers")
    rows = []
    for d in depths:
        for w in widths:
            cfg = image_model_config(kind, image.shape[:2], width=w, depth=d, **model_overrides)
            session = ImageSession(image, cfg, train, device=device)
            bar = progress_factory(f"{kind} {w}x{d}") if progress_factory else None
            try:
                last = session.train(progress=bar)
            finally:
                if bar is not None and hasattr(bar, "close"):
                    bar.close()
            m = session.metrics()
            row = SweepRow(
                kind,
                w,
                d,
                sum(p.numel() for p in session.model.parameters()),
                last.step,
                last.elapsed,
                m["psnr"],
                m["ssim"],
            )
            rows.append(row)
            if on_row is not None:
                on_row(row)
    return rows


def table(rows: list[SweepRow], fmt: str = "markdown") -> str:
    """The sweep as a Markdown table (one line per network) or CSV."""
    if fmt == "csv":
        buf = io.StringIO()
        wr = csv.DictWriter(buf, fieldnames=list(asdict(rows[0]).keys()) if rows else ["kind"])
        wr.writeheader()
        for r in rows:
            wr.writerow(asdict(r))
        return buf.getvalue()
    lines = [
        "| family | width | depth | parameters | steps | train s | PSNR dB | SSIM |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.kind} | {r.width} | {r.depth} | {r.parameters} | {r.steps} | {r.train_seconds:.1f} | "
        f"{r.psnr:.2f} | {r.ssim:.4f} |"
        for r in rows
    ]
    return "\n".join(lines) + "\n"


def grid_of(rows: list[SweepRow], key: str = "psnr") -> tuple[list[int], list[int], np.ndarray]:
    """The sweep as a table: (sorted widths, sorted depths, (depths, widths) float64 array of `key`,
    NaN where no row)."""
    widths = sorted({r.width for r in rows})
    depths = sorted({r.depth for r in rows})
    g = np.full((len(depths), len(widths)), np.nan)
    for r in rows:
        g[depths.index(r.depth), widths.index(r.width)] = getattr(r, key)
    return widths, depths, g


def plot(rows: list[SweepRow], path: str | os.PathLike, title: str | None = None, backend: str = "auto") -> Path:
    """A PNG: PSNR against width, one line per depth, next to a width x depth heat map.
    backend: 'auto' (matplotlib if importable, else Pillow), 'matplotlib' or 'pillow'."""
    if not rows:
        raise InrviewError("nothing to plot: the sweep has no results")
    if backend == "auto":
        try:
            import matplotlib  # noqa: F401 (deferred: optional, only --plot needs it)

            backend = "matplotlib"
        except ImportError:
            backend = "pillow"
    title = title or f"{rows[0].kind}: PSNR after {rows[0].steps} steps"
    with atomic_path(path) as tmp:
        if backend == "matplotlib":
            _plot_matplotlib(rows, tmp, title)
        elif backend == "pillow":
            _plot_pillow(rows, tmp, title)
        else:
            raise InrviewError(f"unknown plot backend {backend!r} (choose auto, matplotlib or pillow)")
    return Path(path)


def _plot_matplotlib(rows, path, title):
    from matplotlib.figure import Figure  # deferred: no pyplot: no global state, no GUI backend

    widths, depths, g = grid_of(rows)
    fig = Figure(figsize=(9.5, 4.0), dpi=110)
    ax1, ax2 = fig.subplots(1, 2)
    for i, d in enumerate(depths):
        ax1.plot(widths, g[i], marker="o", label=f"depth {d}")
    ax1.set_xscale("log", base=2)
    ax1.set_xticks(widths, [str(w) for w in widths])
    ax1.set_xlabel("width (hidden units)")
    ax1.set_ylabel("PSNR (dB)")
    ax1.grid(alpha=0.3)
    ax1.legend()
    im = ax2.imshow(g, origin="lower", cmap="viridis", aspect="auto")
    ax2.set_xticks(range(len(widths)), [str(w) for w in widths])
    ax2.set_yticks(range(len(depths)), [str(d) for d in depths])
    ax2.set_xlabel("width")
    ax2.set_ylabel("depth")
    for i in range(len(depths)):
        for j in range(len(widths)):
            if np.isfinite(g[i, j]):
                ax2.text(j, i, f"{g[i, j]:.1f}", ha="center", va="center", color="white", fontsize=9)
    fig.colorbar(im, ax=ax2, label="PSNR (dB)")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, format="png")


def _plot_pillow(rows, path, title):
    """A heat map with numbers, drawn with Pillow alone (for installs without matplotlib)."""
    widths, depths, g = grid_of(rows)
    cell, left, top = 80, 70, 50
    img = Image.new("RGB", (left + cell * len(widths) + 20, top + cell * len(depths) + 50), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    lo, hi = np.nanmin(g), np.nanmax(g)
    norm = (g - lo) / (hi - lo) if hi > lo else np.full_like(g, 0.5)
    colours = to_uint8(magnitude_view(np.nan_to_num(norm) * 0.8 + 0.1, 1.0))
    draw.text((10, 10), title, fill="black", font=font)
    for i, d in enumerate(depths):
        y0 = top + cell * (len(depths) - 1 - i)  # deeper networks higher up, like the matplotlib map
        draw.text((10, y0 + cell // 2 - 6), f"depth {d}", fill="black", font=font)
        for j in range(len(widths)):
            x0 = left + cell * j
            draw.rectangle([x0, y0, x0 + cell - 2, y0 + cell - 2], fill=tuple(int(v) for v in colours[i, j]))
            if np.isfinite(g[i, j]):
                txt_col = "white" if norm[i, j] < 0.6 else "black"
                draw.text((x0 + 18, y0 + cell // 2 - 6), f"{g[i, j]:.1f} dB", fill=txt_col, font=font)
    for j, w in enumerate(widths):
        draw.text((left + cell * j + cell // 2 - 12, top + cell * len(depths) + 8), f"w {w}", fill="black", font=font)
    img.save(path, format="PNG")
