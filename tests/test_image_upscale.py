"""`inrview image fit` above the fitted size: the upscaling choice is made, announced and recorded, what the
user names is kept, and on a real picture it beats bicubic upsampling (budgets in steps, not seconds)."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from inrview.cli import main
from inrview.config.image import upscaling_choice
from inrview.image import bicubic_upsample, demo_image, image_metrics, load_image

CROP = ["--crop", "96,96,32,32", "--threads", "1"]


def fit(capsys, tmp_path, *args):
    js = tmp_path / "fit.json"
    rc = main(
        [
            "image",
            "fit",
            str(demo_image()),
            "-o",
            str(tmp_path / "big.png"),
            "--metrics-json",
            str(js),
            *map(str, args),
            *CROP,
        ]
    )
    out, err = capsys.readouterr()
    return rc, err, json.loads(js.read_text()) if js.exists() else None


def test_the_choice_is_made_only_above_the_fitted_size():
    assert upscaling_choice((32, 32), (32, 32)) is None and upscaling_choice((32, 32), (16, 16)) is None
    choice = upscaling_choice((32, 32), (32, 64))
    assert choice.kind == "siren" and choice.model_config((32, 32)).width == choice.width
    assert "siren" in choice.describe() and f"{choice.steps} steps" in choice.describe()


def test_scale_above_one_picks_the_upscaling_fit_and_says_so(capsys, tmp_path):
    choice = upscaling_choice((32, 32), (64, 64))
    rc, err, data = fit(capsys, tmp_path, "--scale", 2, "--width", 16, "--steps", 5)
    assert rc == 0
    notices = [line for line in err.splitlines() if "upscaling" in line]
    assert (
        len(notices) == 1 and notices[0].startswith("notice: rendering 64x64 from 32x32") and "siren 16x3" in notices[0]
    )
    assert data["model"]["kind"] == choice.kind and data["model"]["width"] == 16  # --width is kept
    assert data["footprint"] == choice.footprint and data["upscaling"] is True and data["output_size"] == [64, 64]
    rc, err, data = fit(capsys, tmp_path, "--render-size", "40x33", "--width", 16, "--steps", 5, "--quiet")
    assert rc == 0 and err == "" and data["model"]["kind"] == choice.kind


def test_named_model_and_footprint_are_kept(capsys, tmp_path):
    rc, err, data = fit(capsys, tmp_path, "--scale", 2, "--model", "grid", "--footprint", "area", "--steps", 5)
    assert rc == 0 and "upscaling" not in err
    assert data["model"]["kind"] == "grid" and data["footprint"] == "area" and data["upscaling"] is False
    rc, err, data = fit(capsys, tmp_path, "--scale", 2, "--mod=relu", "--width", 8, "--steps", 5)
    assert rc == 0 and data["model"]["kind"] == "relu" and data["upscaling"] is True  # the footprint is still chosen
    assert "relu 8x" in err
    rc, err, data = fit(capsys, tmp_path, "--steps", 5, "--width", 8)  # at the input size: the plain default
    assert rc == 0 and data["model"]["kind"] == "grid" and data["upscaling"] is False and "upscaling" not in err


def test_x4_upscale_of_a_real_picture_beats_bicubic(tmp_path, capsys):
    """The bundled 256x256 photo, made 64x64 by Pillow's bicubic filter, upscaled x4 by the
    command's own choice (its default steps) vs bicubic upsampling, both against the photo."""
    photo = Image.open(demo_image()).convert("RGB")
    photo.save(tmp_path / "photo.png")
    photo.resize((64, 64), Image.BICUBIC).save(tmp_path / "small.png")
    rc = main(
        [
            "image",
            "fit",
            str(tmp_path / "small.png"),
            "-o",
            str(tmp_path / "x4.png"),
            "--scale",
            "4",
            "--threads",
            "1",
            "--quiet",
        ]
    )
    assert rc == 0
    ref = load_image(tmp_path / "photo.png").pixels
    fitted = image_metrics(load_image(tmp_path / "x4.png").pixels, ref)
    bicubic = image_metrics(bicubic_upsample(load_image(tmp_path / "small.png").pixels, 256, 256), ref)
    assert fitted["psnr"] > bicubic["psnr"], (fitted, bicubic)
    assert np.isfinite(fitted["ssim"])
