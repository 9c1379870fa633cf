"""Images in and out: any PNG/JPEG/TIFF/BMP to float pixels in [0, 1], and back to a file.

`load_image` returns an ImageData whose `pixels` are what a network fits: float32 (H, W, C) in [0, 1] with
C = 1 (grey), 3 (RGB) or, when transparency is kept, 2/4 with *premultiplied* colour (a fully transparent
pixel's colour is meaningless, so it must not pull the fit). `ImageData.to_straight` undoes that for
export. 8-bit, 16-bit, 32-bit integer and float files are all scaled to [0, 1]; every problem raises
LoadError naming the file.
"""

from __future__ import annotations

import os
import struct
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np

from ..errors import InrviewError, LoadError
from .export import atomic_path
from .formats import IMAGE_FORMATS

AlphaMode = Literal["keep", "composite", "drop"]

#: Images with more pixels than this are neither read nor rendered (Pillow's decompression-bomb guard,
#: made explicit).
MAX_PIXELS = 200_000_000


@dataclass
class ImageData:
    """Pixels ready for fitting plus what is needed to write them back.

    pixels: float32 (H, W, C) in [0, 1]; with alpha (C = 2 or 4) colour is premultiplied by alpha.
    has_alpha: the last channel is opacity. bit_depth: bits per sample of the source (8, 16, 32).
    source: file path or a description. notices: remarks for the user (alpha dropped, page skipped...).
    """

    pixels: np.ndarray
    has_alpha: bool = False
    bit_depth: int = 8
    source: str = "array"
    notices: list = field(default_factory=list)

    @property
    def height(self) -> int:
        """Rows of pixels (H)."""
        return self.pixels.shape[0]

    @property
    def width(self) -> int:
        """Columns of pixels (W)."""
        return self.pixels.shape[1]

    @property
    def channels(self) -> int:
        """Channels per pixel (C: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA)."""
        return self.pixels.shape[2]

    @property
    def shape(self) -> tuple[int, int, int]:
        """(H, W, C) of the pixels."""
        return tuple(self.pixels.shape)

    @property
    def mode(self) -> str:
        """The Pillow mode of the channel layout: 'L', 'LA', 'RGB' or 'RGBA'."""
        return {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[self.channels]

    def to_straight(self, pixels: np.ndarray | None = None) -> np.ndarray:
        """Pixels (these or the given rendering, same channel layout) with alpha un-premultiplied."""
        p = np.clip(self.pixels if pixels is None else pixels, 0.0, 1.0).astype(np.float32)
        if not self.has_alpha:
            return p
        a = p[..., -1:]
        colour = np.where(a > 1e-6, p[..., :-1] / np.maximum(a, 1e-6), 0.0)
        return np.concatenate([np.clip(colour, 0, 1), a], axis=-1).astype(np.float32)

    def crop(self, top: int, left: int, height: int, width: int) -> ImageData:
        """A copy holding pixels[top:top + height, left:left + width] (clipped to the image); raises
        InrviewError when nothing of the image is left."""
        px = self.pixels[top : top + height, left : left + width]
        if px.shape[0] < 1 or px.shape[1] < 1:
            raise InrviewError(f"{self.source}: crop {height}x{width} at ({top}, {left}) is outside the image")
        return replace(
            self,
            pixels=np.ascontiguousarray(px),
            source=f"{self.source} [crop {px.shape[1]}x{px.shape[0]}]",
            notices=list(self.notices),
        )

    @staticmethod
    def from_array(
        array: np.ndarray, alpha: AlphaMode = "keep", background=(1.0, 1.0, 1.0), source: str = "array"
    ) -> ImageData:
        """Build from (H, W) or (H, W, C) uint8/uint16/float data (straight, not premultiplied, alpha)."""
        arr = np.asarray(array)
        depth = _bit_depth(arr.dtype)
        return _finish(to_unit_float(arr, source), depth, source, alpha, background, [])


def to_unit_float(arr: np.ndarray, source="array") -> np.ndarray:
    """Integer or float samples as float32 in [0, 1] (integers by their type's range)."""
    if arr.dtype == bool:
        return arr.astype(np.float32)
    if np.issubdtype(arr.dtype, np.unsignedinteger):
        return (arr.astype(np.float64) / np.iinfo(arr.dtype).max).astype(np.float32)
    if np.issubdtype(arr.dtype, np.signedinteger):
        info = np.iinfo(arr.dtype)
        if arr.min(initial=0) < 0:
            return ((arr.astype(np.float64) - info.min) / (info.max - info.min)).astype(np.float32)
        # Pillow's 'I' mode holds 16-bit PNGs as int32: use the 16-bit range when the values fit in it
        top = 65535.0 if arr.max(initial=0) <= 65535 and arr.dtype.itemsize >= 4 else float(info.max)
        return (arr.astype(np.float64) / top).astype(np.float32)
    if np.issubdtype(arr.dtype, np.floating):
        out = arr.astype(np.float32)
        if not np.isfinite(out).all():
            raise LoadError(source, "image holds NaN or infinite values")
        return out
    raise LoadError(source, f"unsupported sample type {arr.dtype}")


def _bit_depth(dtype) -> int:
    return 8 if dtype in (np.uint8, np.int8, bool) else 16 if dtype.itemsize == 2 else 32


def _finish(px: np.ndarray, depth: int, source: str, alpha: AlphaMode, background, notices: list) -> ImageData:
    if px.ndim == 2:
        px = px[..., None]
    if px.ndim != 3 or px.shape[2] not in (1, 2, 3, 4) or px.shape[0] < 1 or px.shape[1] < 1:
        raise LoadError(source, f"cannot use an image of shape {px.shape} (need H x W with 1-4 channels)")
    lo, hi = float(px.min()), float(px.max())
    if lo < 0 or hi > 1:
        notices.append(f"sample values span [{lo:.3g}, {hi:.3g}]; clipped to [0, 1]")
        px = np.clip(px, 0, 1)
    has_alpha = px.shape[2] in (2, 4)
    if has_alpha:
        a = px[..., -1:]
        if alpha == "drop" or (alpha == "keep" and a.min() >= 1.0):
            if alpha == "keep":
                notices.append("alpha channel is fully opaque; fitting colour only")
            px, has_alpha = px[..., :-1], False
        elif alpha == "composite":
            bg = np.asarray(background, np.float32)[: px.shape[2] - 1]
            if px.shape[2] == 2:
                bg = np.asarray([np.mean(background)], np.float32)
            px = px[..., :-1] * a + bg * (1 - a)
            has_alpha = False
            notices.append("transparent pixels composited over the background colour")
        elif alpha == "keep":
            px = np.concatenate([px[..., :-1] * a, a], axis=-1)  # premultiplied
        else:
            raise InrviewError(f"unknown alpha mode {alpha!r} (choose keep, composite or drop)")
    return ImageData(np.ascontiguousarray(px, dtype=np.float32), has_alpha, depth, source, notices)


# -- loading ------------------------------------------------------------------------------------------
def load_image(path: str | os.PathLike, alpha: AlphaMode = "keep", background=(1.0, 1.0, 1.0)) -> ImageData:
    """Read PNG, JPEG, TIFF or BMP (grey, grey+alpha, RGB, RGBA, palette, CMYK; 1/8/16-bit, float TIFF).

    alpha: 'keep' fits opacity as a channel (colour premultiplied), 'composite' blends over `background`,
    'drop' ignores it. A fully opaque alpha channel is always dropped (with a notice).
    """
    p = Path(path)
    ext = p.suffix.lower().lstrip(".")
    if not p.exists():
        raise LoadError(p, "file not found")
    if p.is_dir():
        raise LoadError(p, "is a folder, not an image")
    if ext not in IMAGE_FORMATS:
        raise LoadError(p, f"unknown image format '.{ext}' (supported: {', '.join(IMAGE_FORMATS)})")
    if p.stat().st_size == 0:
        raise LoadError(p, "file is empty")
    notices: list[str] = []
    try:
        if ext in ("tif", "tiff"):
            arr = _read_tiff(p, notices)
        elif ext == "png" and _png_is_16bit_colour(p):
            arr = _read_png16(p)
        else:
            arr = _read_pillow(p, notices)
    except LoadError:
        raise
    except MemoryError:
        raise LoadError(p, "not enough memory to read this image") from None
    except Exception as e:  # decoders raise many types for broken files
        msg = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
        raise LoadError(p, f"cannot read image ({msg})") from None
    if arr.size == 0:
        raise LoadError(p, "image has no pixels")
    if arr.shape[0] * arr.shape[1] > MAX_PIXELS:
        raise LoadError(p, f"image has {arr.shape[0] * arr.shape[1]} pixels, more than the {MAX_PIXELS} limit")
    return _finish(to_unit_float(arr, str(p)), _bit_depth(arr.dtype), str(p), alpha, background, notices)


def _png_is_16bit_colour(p: Path) -> bool:
    """Pillow reads 16-bit grey PNGs whole but cuts 16-bit RGB(A) and grey+alpha to 8 bits."""
    with open(p, "rb") as fh:
        head = fh.read(26)
    if len(head) < 26 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return False
    depth, colour_type = struct.unpack(">BB", head[24:26])
    return depth == 16 and colour_type in (2, 4, 6)


def _check_pixels(p: Path, width: int, height: int) -> None:
    """Refuse an image from its header, before a single pixel is decoded (memory stays bounded)."""
    if width * height > MAX_PIXELS:
        raise LoadError(p, f"image is {width} x {height} = {width * height} pixels, more than the {MAX_PIXELS} limit")


def _read_png16(p: Path) -> np.ndarray:
    import png  # deferred: kept off the command line's start-up

    reader = png.Reader(filename=str(p))
    reader.preamble()
    _check_pixels(p, reader.width, reader.height)
    w, h, rows, info = reader.asDirect()
    arr = np.vstack([np.asarray(r, dtype=np.uint16) for r in rows])
    return arr.reshape(h, w, info["planes"])


def _read_pillow(p: Path, notices: list) -> np.ndarray:
    from PIL import Image, ImageOps  # deferred: kept off the command line's start-up

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    with warnings.catch_warnings():  # our own limit below says it in one line; Pillow's warning is noise
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        im = Image.open(p)
    with im:
        _check_pixels(p, *im.size)
        n_frames = getattr(im, "n_frames", 1)
        if n_frames > 1:
            notices.append(f"file holds {n_frames} frames; using the first")
        im.load()
        im = ImageOps.exif_transpose(im) or im  # photos stored sideways with an orientation tag
        mode = im.mode
        if mode == "1":
            im = im.convert("L")
        elif mode == "P" or mode == "PA":
            im = im.convert("RGBA" if ("transparency" in im.info or mode == "PA") else "RGB")
        elif mode in ("CMYK", "YCbCr", "LAB", "HSV"):
            im = im.convert("RGB")
        elif mode.startswith("I;16"):
            return np.asarray(im).astype(np.uint16)
        elif mode == "La":
            im = im.convert("LA")
        elif mode == "RGBa":
            im = im.convert("RGBA")
        return np.asarray(im).copy()


def _read_tiff(p: Path, notices: list) -> np.ndarray:
    import tifffile  # deferred: kept off the command line's start-up

    with tifffile.TiffFile(p) as tif:
        if len(tif.pages) > 1:
            notices.append(f"TIFF holds {len(tif.pages)} pages; using the first")
        page = tif.pages[0]
        shape = page.shape
        if len(shape) >= 2:
            hw = [d for d, a in zip(shape, page.axes) if a in "YX"]
            if len(hw) == 2:
                _check_pixels(p, hw[1], hw[0])
        photometric = getattr(page.photometric, "name", str(page.photometric))
        if photometric in ("PALETTE", "SEPARATED", "YCBCR", "CIELAB"):
            return _read_pillow(p, notices)  # Pillow converts these colour models to RGB
        arr = page.asarray()
        axes = page.axes
    if "S" in axes and arr.ndim == 3 and axes.index("S") == 0:  # planar samples first
        arr = np.moveaxis(arr, 0, -1)
    arr = np.squeeze(arr) if arr.ndim > 3 else arr
    if arr.ndim == 3 and arr.shape[2] > 4:
        notices.append(f"TIFF has {arr.shape[2]} samples per pixel; using the first 3 as RGB")
        arr = arr[..., :3]
    if photometric == "MINISWHITE":
        arr = np.iinfo(arr.dtype).max - arr if np.issubdtype(arr.dtype, np.integer) else 1.0 - arr
    return arr


# -- saving -------------------------------------------------------------------------------------------
def save_image(path: str | os.PathLike, pixels: np.ndarray, bit_depth: int = 8, has_alpha: bool | None = None) -> Path:
    """Write float pixels in [0, 1] (straight alpha), shape (H, W) or (H, W, C), by the file's extension.

    PNG and TIFF take bit_depth 8 or 16 (TIFF also 32 = float32); JPEG and BMP are 8-bit without alpha
    (transparency is composited over white there). The write is atomic.
    """
    p = Path(path)
    ext = p.suffix.lower().lstrip(".")
    if ext not in IMAGE_FORMATS:
        raise InrviewError(f"{p}: cannot write '.{ext}' images (choose png, jpg, tif or bmp)")
    px = np.clip(np.asarray(pixels, np.float32), 0, 1)
    if px.ndim == 2:
        px = px[..., None]
    c = px.shape[2]
    if has_alpha is None:
        has_alpha = c in (2, 4)
    if ext in ("jpg", "jpeg", "bmp"):
        if has_alpha:
            px = px[..., :-1] * px[..., -1:] + (1 - px[..., -1:])
        bit_depth = 8
    if bit_depth not in (8, 16, 32) or (bit_depth == 32 and ext not in ("tif", "tiff")):
        raise InrviewError(f"{p}: bit depth {bit_depth} is not available for .{ext} (use 8 or 16; 32 only for TIFF)")
    if bit_depth == 32:
        data = px
    else:
        top = 255 if bit_depth == 8 else 65535
        data = np.round(px * top).astype(np.uint8 if bit_depth == 8 else np.uint16)
    with atomic_path(p) as tmp:
        if ext in ("tif", "tiff"):
            import tifffile  # deferred: kept off the command line's start-up

            tifffile.imwrite(
                tmp,
                data[..., 0] if data.shape[2] == 1 else data,
                photometric="minisblack" if data.shape[2] <= 2 else "rgb",
                extrasamples=("unassalpha",) if data.shape[2] in (2, 4) else None,
            )
        elif bit_depth == 16:
            import png  # deferred: kept off the command line's start-up

            h, w, ch = data.shape
            writer = png.Writer(w, h, greyscale=ch <= 2, alpha=ch in (2, 4), bitdepth=16)
            with open(tmp, "wb") as fh:
                writer.write(fh, data.reshape(h, w * ch))
        else:
            from PIL import Image  # deferred: kept off the command line's start-up

            img = Image.fromarray(data[..., 0] if data.shape[2] == 1 else data)  # L, LA, RGB or RGBA
            fmt = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "bmp": "BMP"}[ext]
            img.save(tmp, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return p
