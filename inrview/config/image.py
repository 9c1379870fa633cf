"""Configuration of picture fits: the networks and learning rates that suit images, the choice for upscaling,
the deblurring batch. Plain values (no torch), so the command line builds its help from them at once."""

from __future__ import annotations

from dataclasses import dataclass, replace

from . import FAMILIES, ModelConfig, TrainConfig, model_config

#: Observed pixels per step. Deblurring needs big batches more than many steps: on kodim23 (Gaussian
#: sigma 2, grid) 2000 steps of 65536 pixels gained 3.96 dB, 6000 steps of 16384 only 2.72 dB (random
#: windows touch few grid vertices per step, and Adam's moments for the others go stale).
DEFAULT_BATCH = 65536
DEFAULT_PATCH = 64

#: Steps of an image fit when neither --steps nor --seconds is given (the app's image mode uses the same).
IMAGE_STEPS = 1000

#: Steps of a capacity sweep cell unless configured.
SWEEP_STEPS = 300


#: Learning rates for image fits are the family table's image_lr (the 3D defaults are tuned for shapes).
#: SIREN's published 1e-4 suits its 10k-step runs; at the few hundred to few thousand steps a CPU affords,
#: 1e-3 (with the trainer's cosine decay) is stable and far ahead: on kodim23, SIREN 256x3, 300 steps of
#: 8192 pixels reached 25.8 dB at 1e-4, 27.7 dB at 3e-4 and 29.4 dB at 1e-3. Grid tables start near zero
#: and need 1e-2 to grow within a few hundred steps (2e-3, the shape default, reached 17 dB where 1e-2
#: reached 32 dB on a 48x48 crop in 100 steps).
def image_default_lr(kind: str) -> float:
    """Adam learning rate for an image fit with a network of this family (its image_lr; 1e-3 otherwise)."""
    return FAMILIES[kind].image_lr if kind in FAMILIES else 1e-3


def image_model_config(kind: str, image_size: tuple[int, int], **overrides) -> ModelConfig:
    """A family's usual network for an image of image_size (height, width); overrides as model_config's.
    For the grid encoding the finest level gets one cell per pixel of the longer side (coarser levels
    spaced geometrically from 16, 8 levels): an image needs its own resolution, not the 3D default of 128
    cells."""
    finest = max(2, int(max(image_size)))
    if kind == "grid":
        given = {k: v for k, v in (overrides.get("grid") or {}).items() if v is not None}
        grid = {"max_resolution": finest, "levels": 8, "base_resolution": min(16, finest), **given}
        grid["base_resolution"] = min(grid["base_resolution"], grid["max_resolution"])
        overrides = {**overrides, "grid": grid}
    return model_config(kind, **overrides)


@dataclass(frozen=True)
class UpscalingChoice:
    """The network, observation model and budget of a fit meant to be rendered above its size.

    SIREN's smooth prior is what beats bicubic upsampling (scripts/bench_upscale.py; the default grid at
    point samples interpolates below it). At this CPU budget (steps x batch_size network evaluations) point
    samples beat the area footprint (each pixel the mean of f over its cell, from supersample x supersample
    jittered samples, as `image sr` uses): on kodim23 /4, 600 steps, +0.38 dB vs +0.06 dB over bicubic on a
    bicubic-downsampled input; the area footprint needs supersample^2 evaluations a pixel and more steps.
    """

    kind: str = "siren"
    width: int = 128
    depth: int = 3
    footprint: str = "point"
    supersample: int = 2
    steps: int = 600
    batch_size: int = 16384

    def model_config(self, image_size: tuple[int, int], **overrides) -> ModelConfig:
        """The chosen network for an image of image_size (height, width); overrides (None ignored) win."""
        given = {k: v for k, v in overrides.items() if v is not None}
        return image_model_config(self.kind, image_size, **{"width": self.width, "depth": self.depth, **given})

    def train_config(self, train: TrainConfig = TrainConfig(), steps_given: bool = False) -> TrainConfig:
        """train with the chosen step budget and batch (unless steps_given: the caller's own --steps/--seconds)."""
        return train if steps_given else replace(train, steps=self.steps, batch_size=self.batch_size)

    def describe(self) -> str:
        """One phrase such as 'siren 128x3, area footprint (2x2 samples per pixel), 600 steps'."""
        area = f" ({self.supersample}x{self.supersample} samples per pixel)" if self.footprint == "area" else ""
        return f"{self.kind} {self.width}x{self.depth}, {self.footprint} footprint{area}, {self.steps} steps"


def upscaling_choice(image_size: tuple[int, int], output_size: tuple[int, int]) -> UpscalingChoice | None:
    """What to fit on an image of image_size (height, width) to render it at output_size (height, width):
    an UpscalingChoice when the output is larger along either side, None otherwise (a plain fit is best)."""
    (h, w), (oh, ow) = image_size, output_size
    return UpscalingChoice() if oh > h or ow > w else None
