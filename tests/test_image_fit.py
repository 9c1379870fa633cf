"""The claims the Image mode lets people check, asserted on small crops of a real photograph.

kodim23 (../shared/data) is used when it is there, the bundled public-domain demo photo otherwise, so these
relations are always tested. Each crop is the most detailed window of its size (largest mean squared
gradient), chosen by the same rule for any picture: flat sky would make every method look alike.
Budgets are small and fixed in steps (not seconds) so the results do not depend on the machine's load.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from inrview.config import TrainConfig
from inrview.config.image import image_model_config
from inrview.image import (
    ImageSession,
    demo_image,
    finite_difference_maps,
    gaussian_kernel,
    load_image,
    super_resolution_check,
    synthetic_deblur_check,
)

# as in tests/conftest.py (not imported: tests/app has a conftest module of the same name)
SHARED_DATA = Path(os.environ.get("INRVIEW_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def most_detailed(img, size: int):
    lum = img.pixels.mean(-1)
    gy, gx = np.gradient(lum)
    e = gx**2 + gy**2
    step = max(1, size // 4)
    _, y, x = max(
        (e[y : y + size, x : x + size].mean(), y, x)
        for y in range(0, img.height - size + 1, step)
        for x in range(0, img.width - size + 1, step)
    )
    return img.crop(y, x, size, size)


@pytest.fixture(scope="module")
def photo():
    p = SHARED_DATA / "images" / "kodim23.png"
    return load_image(p if p.exists() else demo_image())


@pytest.fixture(scope="module")
def fits(photo):
    """SIREN and a plain ReLU MLP of the same width, same steps and pixels, each at its family's rate."""
    crop = most_detailed(photo, 48)
    out = {}
    for kind, depth in (("siren", 3), ("relu", 3)):
        s = ImageSession(
            crop,
            image_model_config(kind, crop.shape[:2], width=64, depth=depth),
            TrainConfig(steps=120, batch_size=1 << 20, device="cpu", threads=1),
        )
        s.train()
        out[kind] = s
    return crop, out


def test_siren_beats_relu_by_10db_at_equal_steps(fits):
    _, s = fits
    siren, relu = s["siren"].metrics()["psnr"], s["relu"].metrics()["psnr"]
    assert siren >= relu + 10.0, f"SIREN {siren:.2f} dB vs ReLU {relu:.2f} dB"
    assert s["siren"].metrics()["ssim"] > s["relu"].metrics()["ssim"] + 0.3


def test_siren_represents_derivatives_relu_cannot(fits):
    """SIREN's autograd Laplacian follows the picture's own (finite-difference) Laplacian; a ReLU
    network is piecewise linear, so its Laplacian is zero wherever it is defined."""
    crop, s = fits
    ref = finite_difference_maps(crop.pixels)
    d_siren = s["siren"].field.derivatives()
    d_relu = s["relu"].field.derivatives()
    corr_lap = np.corrcoef(d_siren["laplacian"].ravel(), ref["laplacian"].ravel())[0, 1]
    corr_grad = np.corrcoef(d_siren["gradient"].ravel(), ref["gradient"].ravel())[0, 1]
    assert corr_lap > 0.7 and corr_grad > 0.7, (corr_lap, corr_grad)
    assert np.abs(d_relu["laplacian"]).max() == 0.0
    assert d_relu["gradient"].std() > 0  # it does have a (piecewise-constant) gradient


def test_grid_encoding_fits_fast(photo):
    crop = most_detailed(photo, 48)
    s = ImageSession(
        crop,
        image_model_config("grid", crop.shape[:2], width=32),
        TrainConfig(steps=150, batch_size=1 << 20, device="cpu", threads=1),
    )
    last = s.train()
    assert s.metrics()["psnr"] >= 30.0
    assert last.elapsed < 60.0  # and well within a minute of CPU (typically ~1 s)


def test_capacity_decides_detail(photo):
    """Same family, steps and seed: the wider, deeper SIREN captures more of the picture."""
    from inrview.image import capacity_sweep

    crop = most_detailed(photo, 32)
    rows = capacity_sweep(
        crop, "siren", widths=(8, 48), depths=(1, 2), train=TrainConfig(steps=60, batch_size=1 << 20, threads=1)
    )
    psnr = {(r.width, r.depth): r.psnr for r in rows}
    assert psnr[(48, 2)] > psnr[(8, 1)] + 3.0, psnr
    assert psnr[(48, 2)] >= max(psnr.values()) - 0.5


def test_x4_super_resolution_at_least_bicubic(photo):
    """Fair check: area-downsample a 128x128 crop to 32x32, fit that, render 128x128, compare with the
    original next to bicubic upsampling of the same 32x32 input."""
    crop = most_detailed(photo, 128)
    res = super_resolution_check(
        crop,
        4,
        image_model_config("siren", (32, 32), width=64),
        train=TrainConfig(steps=300, batch_size=1 << 20, device="cpu", threads=1),
    )
    assert res.inr.shape == res.bicubic.shape == (128, 128, 3)
    assert res.inr_metrics["psnr"] >= res.bicubic_metrics["psnr"], res.summary()


def test_deblur_gaussian_sigma2_gains_3db(photo):
    crop = most_detailed(photo, 48)
    res = synthetic_deblur_check(
        crop, gaussian_kernel(2.0), train=TrainConfig(steps=400, batch_size=2304, device="cpu", threads=1), patch=48
    )
    gain = res.inr_metrics["psnr"] - res.blurred_metrics["psnr"]
    assert gain >= 3.0, res.summary()
    assert res.inr_metrics["ssim"] > res.blurred_metrics["ssim"]
