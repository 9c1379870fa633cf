"""Image loading and saving: every format, layout and bit depth lands in [0, 1] with the right values."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from inrview.errors import InrviewError, LoadError
from inrview.image import ImageData, load_image, save_image
from inrview.io.image import to_unit_float


def ramp(h=12, w=17, c=3, top=255, dtype=np.uint8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, top + 1, size=(h, w, c) if c else (h, w)).astype(dtype)


@pytest.mark.parametrize("ext", ["png", "bmp", "tif"])
def test_rgb_8bit_lossless_formats_round_trip(tmp_path, ext):
    a = ramp()
    Image.fromarray(a).save(tmp_path / f"a.{ext}")
    img = load_image(tmp_path / f"a.{ext}")
    assert img.shape == (12, 17, 3) and img.mode == "RGB" and img.bit_depth == 8 and not img.has_alpha
    np.testing.assert_allclose(img.pixels, a / 255.0, atol=1e-6)


def test_jpeg_is_close_and_exif_rotation_is_applied(tmp_path):
    a = np.zeros((16, 32, 3), np.uint8)
    a[:, :16] = 200
    im = Image.fromarray(a)
    exif = im.getexif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    im.save(tmp_path / "a.jpg", quality=95, exif=exif)
    img = load_image(tmp_path / "a.jpg")
    assert img.shape == (32, 16, 3)  # shown upright: the 32-wide picture stands 32 high
    assert img.pixels[:8].mean() > 0.6 and img.pixels[-8:].mean() < 0.1  # bright half rotated to the top


def test_greyscale_8_and_16_bit_png(tmp_path):
    g8 = ramp(c=0)
    Image.fromarray(g8).save(tmp_path / "g8.png")
    img = load_image(tmp_path / "g8.png")
    assert img.shape == (12, 17, 1) and img.mode == "L"
    np.testing.assert_allclose(img.pixels[..., 0], g8 / 255.0, atol=1e-6)
    g16 = ramp(c=0, top=65535, dtype=np.uint16)
    save_image(tmp_path / "g16.png", g16 / 65535.0, bit_depth=16)
    img16 = load_image(tmp_path / "g16.png")
    assert img16.bit_depth == 16
    np.testing.assert_allclose(img16.pixels[..., 0], g16 / 65535.0, atol=1e-6)  # full 16-bit precision


@pytest.mark.parametrize("channels", [3, 4])
def test_16bit_colour_png_keeps_all_bits(tmp_path, channels):
    a = ramp(c=channels, top=65535, dtype=np.uint16, seed=3)
    if channels == 4:
        a[..., 3] = 65535  # opaque, so the colour is exact after premultiplication
        a[0, 0, 3] = 1000
    path = save_image(tmp_path / "c16.png", a / 65535.0, bit_depth=16)
    back = load_image(path, alpha="drop")
    assert back.bit_depth == 16 and back.channels == 3
    np.testing.assert_allclose(back.pixels, a[..., :3] / 65535.0, atol=1e-6)
    # values that differ only below 8 bits stay different (Pillow alone would merge them)
    assert len(np.unique(np.round(back.pixels * 65535))) > 256


def test_16bit_and_float_tiff(tmp_path):
    import tifffile

    a = ramp(c=3, top=65535, dtype=np.uint16)
    tifffile.imwrite(tmp_path / "a.tif", a, photometric="rgb")
    img = load_image(tmp_path / "a.tif")
    assert img.bit_depth == 16
    np.testing.assert_allclose(img.pixels, a / 65535.0, atol=1e-6)
    f = np.linspace(0, 1, 12 * 17, dtype=np.float32).reshape(12, 17)
    tifffile.imwrite(tmp_path / "f.tif", f)
    np.testing.assert_allclose(load_image(tmp_path / "f.tif").pixels[..., 0], f, atol=1e-7)
    planar = np.moveaxis(ramp(), -1, 0)  # samples first, as planar TIFFs store them
    tifffile.imwrite(tmp_path / "p.tif", planar, photometric="rgb", planarconfig="separate")
    np.testing.assert_allclose(load_image(tmp_path / "p.tif").pixels, np.moveaxis(planar, 0, -1) / 255.0, atol=1e-6)


def test_rgba_alpha_modes(tmp_path):
    a = ramp(c=4)
    a[..., 3] = 255
    a[:6, :, 3] = 0  # top half fully transparent, with garbage colour underneath
    a[6:8, :, 3] = 128
    Image.fromarray(a, "RGBA").save(tmp_path / "a.png")
    keep = load_image(tmp_path / "a.png")
    assert keep.has_alpha and keep.mode == "RGBA"
    assert np.all(keep.pixels[:6, :, :3] == 0)  # premultiplied: invisible colour cannot pull the fit
    straight = keep.to_straight()
    np.testing.assert_allclose(straight[8:, :, :3], a[8:, :, :3] / 255.0, atol=1e-6)
    comp = load_image(tmp_path / "a.png", alpha="composite")
    assert comp.channels == 3 and np.allclose(comp.pixels[:6], 1.0)  # transparent -> white background
    drop = load_image(tmp_path / "a.png", alpha="drop")
    np.testing.assert_allclose(drop.pixels, a[..., :3] / 255.0, atol=1e-6)


def test_opaque_alpha_is_dropped_with_a_notice(tmp_path):
    a = ramp(c=4)
    a[..., 3] = 255
    Image.fromarray(a, "RGBA").save(tmp_path / "a.png")
    img = load_image(tmp_path / "a.png")
    assert img.channels == 3 and not img.has_alpha and any("opaque" in n for n in img.notices)


def test_palette_and_greyscale_alpha(tmp_path):
    Image.fromarray(ramp()).convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(tmp_path / "p.png")
    assert load_image(tmp_path / "p.png").mode == "RGB"
    la = np.stack([ramp(c=0), np.full((12, 17), 100, np.uint8)], -1)
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    img = load_image(tmp_path / "la.png")
    assert img.mode == "LA"
    np.testing.assert_allclose(img.pixels[..., 0], la[..., 0] / 255.0 * (100 / 255.0), atol=1e-6)


@pytest.mark.parametrize("ext,bits", [("png", 8), ("png", 16), ("tif", 8), ("tif", 16), ("bmp", 8), ("jpg", 8)])
def test_save_round_trip(tmp_path, ext, bits):
    rng = np.random.default_rng(1)
    if ext == "jpg":  # lossy: a smooth picture, where JPEG is accurate
        yy, xx = np.mgrid[0:16, 0:24] / 24.0
        px = np.stack([xx, yy, 0.5 + 0.3 * np.sin(3 * xx)], -1).astype(np.float32)
    else:
        px = rng.random((10, 14, 3)).astype(np.float32)
    path = save_image(tmp_path / f"o.{ext}", px, bit_depth=bits)
    back = load_image(path).pixels
    tol = {8: 0.5 / 255 + 1e-6, 16: 0.5 / 65535 + 1e-6}[bits] if ext != "jpg" else 0.05
    assert np.abs(back - px).max() <= tol


def test_save_rgba_to_jpeg_composites_over_white(tmp_path):
    px = np.zeros((8, 8, 4), np.float32)  # fully transparent black
    back = load_image(save_image(tmp_path / "o.jpg", px)).pixels
    assert back.min() > 0.95


def test_errors_name_the_file(tmp_path):
    with pytest.raises(LoadError, match="file not found"):
        load_image(tmp_path / "missing.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(LoadError, match="empty"):
        load_image(tmp_path / "empty.png")
    (tmp_path / "junk.png").write_bytes(b"this is not a png at all")
    with pytest.raises(LoadError, match="junk.png: cannot read image"):
        load_image(tmp_path / "junk.png")
    Image.fromarray(ramp(64, 64)).save(tmp_path / "t.png")
    data = (tmp_path / "t.png").read_bytes()
    (tmp_path / "trunc.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(LoadError, match="trunc.png"):
        load_image(tmp_path / "trunc.png")
    (tmp_path / "a.gif").write_bytes(b"GIF89a")
    with pytest.raises(LoadError, match="unknown image format"):
        load_image(tmp_path / "a.gif")
    with pytest.raises(InrviewError, match="cannot write"):
        save_image(tmp_path / "o.gif", np.zeros((2, 2, 3)))


def test_unit_float_conversions():
    assert to_unit_float(np.array([0, 255], np.uint8)).tolist() == [0.0, 1.0]
    assert to_unit_float(np.array([0, 65535], np.uint16)).tolist() == [0.0, 1.0]
    assert to_unit_float(np.array([0, 65535], np.int32)).tolist() == [0.0, 1.0]  # Pillow's 16-bit 'I' mode
    with pytest.raises(LoadError, match="NaN"):
        to_unit_float(np.array([0.0, np.nan], np.float32))
    img = ImageData.from_array(np.array([[-0.5, 2.0]], np.float32))
    assert img.pixels.min() == 0 and img.pixels.max() == 1 and img.notices
