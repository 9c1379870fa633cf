"""One image being fitted, step by step: data, network, task, trainer, live previews and metrics.

    >>> from inrview.image import ImageSession, load_image
    >>> s = ImageSession(load_image("photo.png"), kind="siren")
    >>> for snap in s.run(preview_interval=2.0): print(snap.step, snap.preview and snap.preview["psnr"])
    >>> s.field.save("photo_x4.png", scale=4)

The command line and the app's worker thread both drive `run()`; nothing here touches a GUI.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from ..config import ModelConfig, TrainConfig, replace
from ..config.image import image_default_lr, image_model_config
from ..field.image import ImageField
from ..io.image import ImageData, load_image
from ..metrics import image_metrics, psnr, ssim
from ..models import build_model
from ..sampling.pixels import extent
from ..training import checkpoint as ckpt
from ..training.image_tasks import PixelTask
from ..training.tasks import Task
from ..training.trainer import Snapshot, Trainer

#: Previews and metrics during training render at most this many pixels (larger images are previewed
#: at a reduced size and measured against an area-averaged target).
PREVIEW_PIXELS = 1 << 20


def area_resize(pixels: np.ndarray, height: int, width: int) -> np.ndarray:
    """Area-average (box) resampling to height x width (exact block means when the factor is whole)."""
    h, w, c = pixels.shape
    if (h, w) == (height, width):
        return pixels
    if h % height == 0 and w % width == 0:
        return pixels.reshape(height, h // height, width, w // width, c).mean(axis=(1, 3)).astype(np.float32)
    return np.stack(
        [
            np.asarray(Image.fromarray(np.ascontiguousarray(pixels[..., i])).resize((width, height), Image.BOX))
            for i in range(c)
        ],
        axis=-1,
    ).astype(np.float32)


class ImageSession:
    """Fit a network to an image (or, with another task, to what the image observes).

    image: the pixels the task learns from. model: a ModelConfig, or None for `kind`'s image defaults
    (see image_model_config). task: defaults to PixelTask (MSE on pixels, `footprint` point or area).
    reference: what previews and metrics compare the rendering with (default: the image itself; the sharp
    original in a synthetic deblurring check). mode: 'fit', 'deblur' or 'superres', kept in checkpoints.
    """

    def __init__(
        self,
        image: ImageData,
        model: ModelConfig | None = None,
        train: TrainConfig = TrainConfig(),
        device: str | None = None,
        kind: str = "grid",
        task: Task | None = None,
        footprint: str = "point",
        reference: np.ndarray | None = None,
        mode: str = "fit",
        extra_header: dict | None = None,
    ):
        self.image = image
        h, w, c = image.shape
        self.model_cfg = model or image_model_config(kind, (h, w))
        if train.lr is None:
            train = replace(train, lr=image_default_lr(self.model_cfg.kind))
        self.train_cfg = train
        self.ext = extent(h, w)
        self.task = task or PixelTask(image.pixels, self.ext, train.batch_size, footprint)
        self.model = build_model(self.model_cfg, 2, c, seed=train.seed)
        self.trainer = Trainer(self.model, self.task, train, device=device)
        self.field = ImageField(self.model, h, w, c, self.ext, image.has_alpha)
        self.reference = image.pixels if reference is None else np.asarray(reference, np.float32)
        if self.reference.shape != image.pixels.shape:
            raise ValueError(f"reference shape {self.reference.shape} differs from the image's {image.pixels.shape}")
        self.mode = mode
        self.extra_header = dict(extra_header or {})
        self.preview_size = self._preview_size(h, w)  # (height, width) of previews
        self._preview_ref = area_resize(self.reference, *self.preview_size)

    @classmethod
    def from_file(
        cls, path: str | os.PathLike, kind: str = "grid", train: TrainConfig = TrainConfig(), **kw
    ) -> ImageSession:
        """A session fitting the image file at path (see load_image); other arguments as for the constructor."""
        return cls(load_image(path), kind=kind, train=train, **kw)

    @staticmethod
    def _preview_size(h: int, w: int) -> tuple[int, int]:
        if h * w <= PREVIEW_PIXELS:
            return h, w
        f = int(np.ceil(np.sqrt(h * w / PREVIEW_PIXELS)))
        while h % f or w % f:  # prefer an exact block factor when one is near
            f += 1
            if f > 64:
                f = int(np.ceil(np.sqrt(h * w / PREVIEW_PIXELS)))
                break
        return max(1, h // f), max(1, w // f)

    # -- training -----------------------------------------------------------------------------------
    def run(
        self,
        report_every: int = 10,
        preview_interval: float | None = 1.0,
        max_steps: int | None = None,
        with_ssim: bool = True,
    ):
        """The trainer's snapshot generator; every `preview_interval` training seconds (None: never) a
        snapshot carries {'image': rendering, 'psnr', 'ssim'} against the reference."""
        preview = None if preview_interval is None else (lambda: self.preview(with_ssim))  # noqa: E731
        return self.trainer.run(report_every, preview, preview_interval or 0.0, max_steps)

    def train(self, report_every: int = 10, preview_interval: float | None = None, progress=None) -> Snapshot:
        """Run to the end of the budget; `progress` (if given) is called with every snapshot."""
        last = None
        for last in self.run(report_every, preview_interval):
            if progress is not None:
                progress(last)
        return last

    def preview(self, with_ssim: bool = True) -> dict:
        """A rendering at preview_size: {'image': (h, w, C) float32, 'psnr': dB and, with_ssim, 'ssim'}
        against the reference at that size."""
        img = self.field.render(*self.preview_size)
        out = {"image": img, "psnr": psnr(img, self._preview_ref)}
        if with_ssim:
            out["ssim"] = ssim(img, self._preview_ref)
        return out

    def stop(self) -> None:
        """Ask the trainer to stop after the current step."""
        self.trainer.stop()

    # -- results ------------------------------------------------------------------------------------
    def metrics(self, rendered: np.ndarray | None = None) -> dict:
        """PSNR (dB) and SSIM of the rendering at the image's size against the reference."""
        out = self.field.render() if rendered is None else rendered
        return image_metrics(out, self.reference)

    def checkpoint_header(self) -> dict:
        """The JSON header a checkpoint of this session records: the field's, bit depth, source, mode, training
        configuration and trainer counters."""
        head = self.field.header(self.model_cfg)
        head["image"].update(bit_depth=self.image.bit_depth, source=self.image.source)
        head.update(
            mode=self.mode,
            train=self.train_cfg.to_dict(),
            **self.extra_header,
            trainer={"step": self.trainer.state.step, "elapsed": self.trainer.state.elapsed},
        )
        return head

    def save_checkpoint(self, path: str | os.PathLike) -> Path:
        """Write weights, Adam state, batch RNG and header to path (safetensors); returns the path."""
        return ckpt.save(path, self.model, self.checkpoint_header(), self.trainer.optimizer, self.trainer.generator)
