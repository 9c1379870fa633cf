"""`inrview image ...` end to end on the bundled demo image (tiny budgets): files, summary lines, JSON,
and one-line errors with exit status 2."""

from __future__ import annotations

import json

import pytest

from inrview.cli import main
from inrview.image import demo_image, load_image

CROP = ["--crop", "96,96,32,32", "--threads", "1"]


def run(capsys, *args):
    rc = main(["image", *map(str, args)])
    out, err = capsys.readouterr()
    return rc, out, err


def test_fit_scale_views_checkpoint_and_render(tmp_path, capsys):
    out, js, ck = tmp_path / "fit.png", tmp_path / "fit.json", tmp_path / "fit.safetensors"
    rc, so, _ = run(
        capsys,
        "fit",
        demo_image(),
        "-o",
        out,
        "--scale",
        3,
        "--model",
        "grid",
        "--width",
        16,
        "--steps",
        60,
        "--metrics-json",
        js,
        "--checkpoint",
        ck,
        "--views",
        tmp_path / "views",
        *CROP,
    )
    assert rc == 0
    lines = so.strip().splitlines()
    assert len(lines) == 1 and "96x96 from 32x32 RGB" in lines[0] and "PSNR" in lines[0]
    data = json.loads(js.read_text())
    assert data["steps"] == 60 and data["output_size"] == [96, 96] and data["psnr"] > 20
    assert load_image(out).shape == (96, 96, 3)
    assert {p.name for p in (tmp_path / "views").iterdir()} >= {
        "fitted.png",
        "target.png",
        "error.png",
        "gradient.png",
        "laplacian.png",
    }
    rc, so, _ = run(capsys, "render", ck, "-o", tmp_path / "r.tif", "--render-size", "50x20", "--bit-depth", 16)
    assert rc == 0 and "50x20" in so
    r = load_image(tmp_path / "r.tif")
    assert r.shape == (20, 50, 3) and r.bit_depth == 16


def test_quiet_prints_nothing(tmp_path, capsys):
    js = tmp_path / "q.json"
    rc, so, se = run(
        capsys,
        "fit",
        demo_image(),
        "-o",
        tmp_path / "q.png",
        "--width",
        8,
        "--steps",
        5,
        "--metrics-json",
        js,
        "--quiet",
        *CROP,
    )
    assert rc == 0 and so == "" and se == ""
    assert json.loads(js.read_text())["steps"] == 5


def test_sr_deblur_sweep(tmp_path, capsys):
    js = tmp_path / "sr.json"
    rc, so, _ = run(
        capsys,
        "sr",
        demo_image(),
        "--scale",
        4,
        "--width",
        16,
        "--steps",
        20,
        "-o",
        tmp_path / "sr.png",
        "--bicubic-out",
        tmp_path / "bic.png",
        "--metrics-json",
        js,
        *CROP,
    )
    assert rc == 0 and "x4 super-resolution 8x8 -> 32x32" in so and "bicubic" in so
    d = json.loads(js.read_text())
    assert {"inr_psnr", "bicubic_psnr", "inr_ssim", "bicubic_ssim"} <= set(d)
    assert load_image(tmp_path / "sr.png").shape == load_image(tmp_path / "bic.png").shape == (32, 32, 3)

    js = tmp_path / "db.json"
    rc, so, _ = run(
        capsys,
        "deblur",
        demo_image(),
        "--kernel",
        "gaussian:1",
        "--synthetic",
        "--steps",
        20,
        "--width",
        16,
        "-o",
        tmp_path / "db.png",
        "--rl-out",
        tmp_path / "rl.png",
        "--blurred-out",
        tmp_path / "bl.png",
        "--metrics-json",
        js,
        *CROP,
    )
    assert rc == 0 and "Richardson-Lucy" in so and len(so.strip().splitlines()) == 1
    d = json.loads(js.read_text())
    assert {"inr_psnr", "blurred_psnr", "rl_psnr", "reblurred_psnr"} <= set(d)
    # a real blurred photo: no ground truth, the data term is reported instead
    rc, so, _ = run(
        capsys,
        "deblur",
        tmp_path / "bl.png",
        "--kernel",
        "motion:5:30",
        "--steps",
        10,
        "--width",
        16,
        "-o",
        tmp_path / "db2.png",
    )
    assert rc == 0 and "blur(result) matches the input" in so

    rc, so, _ = run(
        capsys,
        "sweep",
        demo_image(),
        "--widths",
        "8,16",
        "--depths",
        "1,2",
        "--steps",
        10,
        "--table",
        tmp_path / "t.md",
        "--plot",
        tmp_path / "p.png",
        *CROP,
    )
    assert rc == 0 and "4 networks" in so
    assert (tmp_path / "t.md").read_text().count("| siren |") == 4
    assert (tmp_path / "p.png").stat().st_size > 1000


@pytest.mark.parametrize(
    "args,message",
    [
        (["fit", "missing.png", "-o", "x.png"], "missing.png: file not found"),
        (["deblur", "IMG", "-o", "x.png", "--kernel", "boxy:3"], "kernel 'boxy:3'"),
        (["deblur", "IMG", "--kernel", "gaussian:1"], "-o/--output"),
        (["fit", "IMG", "-o", "x.png", "--render-size", "12by7"], "--render-size: '12by7'"),
        (["fit", "IMG", "-o", "x.webp"], "cannot write '.webp'"),
        (["fit", "IMG", "-o", "nowhere/x.png"], "folder nowhere does not exist"),
        (["fit", "IMG", "-o", "x.png", "--checkpoint", "c.pt"], "--checkpoint c.pt"),
        (["fit", "IMG", "-o", "x.png", "--width", "100000000"], "--width"),
        (["fit", "IMG", "-o", "x.png", "--batch-size", "0"], "--batch-size"),
        (["fit", "IMG", "-o", "x.png", "--scale", "100000"], "--scale"),
        (["sr", "IMG", "-o", "x.png", "--scale", "0"], "--scale"),
        (["sweep", "IMG", "--table", "t.txt"], "--table t.txt"),
        (["render", "nope.safetensors", "-o", "x.png"], "nope.safetensors: file not found"),
        (["fit", "IMG", "-o", "x.png", "--crop", "0,0,9999,5"], "outside"),
        (["fit", "IMG", "-o", "x.png", "--steps", "0"], "--steps"),
        (["sweep", "IMG", "--widths", "8,x"], "--widths"),
        (["fit", "IMG", "-o", "x.png", "--model", "fourier", "--fourier-scale", "-2"], "--fourier-scale"),
    ],
)
def test_errors_are_one_line_exit_2(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    args = [demo_image() if a == "IMG" else a for a in args]
    rc = main(["image", *args, "--quiet"] if args[0] != "deblur" else ["image", *args, "--quiet", "--steps", "1"])
    _, err = capsys.readouterr()
    assert rc == 2
    assert len(err.strip().splitlines()) == 1 and message in err


def test_every_phase_after_training_says_what_it_waits_for(tmp_path, capsys, monkeypatch):
    """With the status line's silent second set to 0, each phase of a fit, a super-resolution and a deblur
    shows its line as it begins (the same lines a slow machine shows after a second)."""
    monkeypatch.setenv("INRVIEW_STATUS_AFTER", "0")
    out = tmp_path / "f.png"
    rc, _, err = run(capsys, "fit", demo_image(), "-o", out, "--steps", 5, "--width", 16, "--views", tmp_path, *CROP)
    assert rc == 0
    for line in (f"loading {demo_image()}", "rendering 32x32", f"writing {out}", "measuring PSNR", "writing the views"):
        assert f"{line}" in err, (line, err[-800:])
    rc, _, err = run(capsys, "sr", demo_image(), "--scale", 2, "--steps", 5, "--width", 16, "-o", out, *CROP)
    assert rc == 0 and "rendering x2, the bicubic baseline" in err
    rc, _, err = run(
        capsys, "deblur", demo_image(), "--kernel", "gaussian:1", "--synthetic", "--steps", 5, "-o", out, *CROP
    )
    assert rc == 0 and "blurring it again" in err and "Richardson-Lucy (" in err
    rc, _, err = run(capsys, "fit", demo_image(), "-o", out, "--steps", 5, "--width", 16, "--quiet", *CROP)
    assert rc == 0 and err == ""  # --quiet: no status lines either


def test_status_lines_stay_silent_for_a_short_wait(capsys):
    from inrview.cli.waiting import Waiting

    with Waiting(False, "a short wait") as wait:
        wait.phase("another short one")
    assert capsys.readouterr().err == ""  # under a second (the default): nothing to say
