"""`inrview image fit | sr | deblur | sweep | render`: 2D images as continuous functions, on the command line.

The options and early refusals live here, the commands in image_run (imported when one runs). Every training
command shows a progress bar (with the live PSNR), ends with one summary line, and can write its numbers with
--metrics-json. Bad input prints one line and exits with status 2.
"""

from __future__ import annotations

import argparse

from ..config import FAMILIES, ModelConfig, TrainConfig
from ..config.image import DEFAULT_BATCH, IMAGE_STEPS, SWEEP_STEPS, UpscalingChoice, image_model_config
from ..io.formats import CHECKPOINT_FORMATS, IMAGE_FORMATS, TABLE_FORMATS
from ..io.image import MAX_PIXELS
from .checks import check_folder, check_input, check_output
from .common import (
    Parser,
    TrainingDefaults,
    add_device_arg,
    add_quiet,
    add_training_args,
    deferred,
    non_negative_float,
    positive_float,
    positive_int,
)
from .timelapse import add_timelapse_args, check_timelapse

#: Training seconds between the PSNR and SSIM measures shown by an image fit's progress bar.
PREVIEW_EVERY = 5.0


def _args(p) -> None:
    p.description = "2D images as continuous functions f(x, y) -> colour."
    sub = p.add_subparsers(dest="image_command", metavar="ACTION", required=True, parser_class=Parser)
    for add in (_fit_args, _sr_args, _deblur_args, _sweep_args, _render_args):
        add(sub)


def _fit_args(sub) -> None:
    f = sub.add_parser("fit", help="fit a network to an image and render it at any size")
    _io(f, "the rendered image (.png, .jpg, .tif, .bmp)")
    _render_size_args(f)
    f.add_argument(
        "--footprint",
        choices=["point", "area"],
        default="point",
        help="pixel model: value at the centre (point) or mean over the cell (area); default point, "
        "area when rendering above the input size",
    )
    f.add_argument("--views", metavar="DIR", help="also write fitted/target/error/gradient/laplacian PNGs here")
    _common(f, ".cmd_fit", "grid", _check_fit)
    add_timelapse_args(f, orbit=False)
    f.epilog = (
        "Rendering above the input size (--scale > 1 or a larger --render-size) fits for upscaling unless "
        f"--model or --footprint is given: {_upscaling_text()} (a notice says so)."
    )


def _upscaling_text() -> str:
    return UpscalingChoice().describe()


def _sr_args(sub) -> None:
    s = sub.add_parser("sr", help="fair super-resolution check: downsample by k, fit, render full size, vs bicubic")
    _io(s, "the INR's full-size rendering")
    s.add_argument("--scale", type=positive_int, default=4, help="downsampling factor k (default 4)")
    s.add_argument("--bicubic-out", metavar="PATH", help="bicubic upsampling of the same input")
    s.add_argument("--small-out", metavar="PATH", help="the downsampled input")
    s.add_argument(
        "--footprint", choices=["point", "area"], default="area", help="pixel model of the fit (default area)"
    )
    s.add_argument(
        "--supersample", type=positive_int, default=2, help="samples per cell side for the area footprint (default 2)"
    )
    _common(
        s,
        ".cmd_sr",
        "siren",
        lambda a: _check(a, "bicubic_out", "small_out"),
        batch_help="network evaluations per step (default {}; 4 per pixel with the area footprint)",
    )


def _deblur_args(sub) -> None:
    d = sub.add_parser("deblur", help="deblur with a known kernel (blur inside the loss)")
    _io(d, "the deblurred image", "the blurred image (with --synthetic: the sharp image to blur first)")
    d.add_argument(
        "--kernel", required=True, help="gaussian:SIGMA, motion:LENGTH[:ANGLE_DEG], or a kernel image / .npy file"
    )
    d.add_argument(
        "--synthetic",
        action="store_true",
        help="blur the input with the kernel, deblur that, and compare with the input, blurred and Richardson-Lucy",
    )
    d.add_argument(
        "--noise",
        type=non_negative_float,
        default=0.0,
        help="--synthetic: Gaussian noise std added after blurring (default 0)",
    )
    d.add_argument(
        "--no-quantize", action="store_true", help="--synthetic: keep the blurred image in float (no 8-bit rounding)"
    )
    d.add_argument("--rl-iterations", type=positive_int, default=30, help="Richardson-Lucy iterations (default 30)")
    d.add_argument("--rl-out", metavar="PATH", help="write the Richardson-Lucy result")
    d.add_argument("--blurred-out", metavar="PATH", help="--synthetic: write the blurred input")
    d.add_argument("--patch", type=positive_int, default=64, help="side of the training windows in pixels (default 64)")
    d.add_argument(
        "--tv", type=non_negative_float, default=0.0, help="total-variation weight (helps with noise; default 0)"
    )
    _common(
        d,
        ".cmd_deblur",
        "grid",
        lambda a: _check(a, "rl_out", "blurred_out"),
        batch=DEFAULT_BATCH,
        batch_help="observed pixels per step, drawn as --patch windows (default {})",
    )


def _sweep_args(sub) -> None:
    w = sub.add_parser("sweep", help="capacity sweep: PSNR for each width x depth after a fixed budget")
    w.add_argument("input", help="PNG, JPEG, TIFF or BMP image")
    w.add_argument("--widths", type=int_list, default=[32, 64, 128], help="comma-separated widths (default 32,64,128)")
    w.add_argument("--depths", type=int_list, default=[1, 2, 3], help="comma-separated depths (default 1,2,3)")
    w.add_argument("--table", metavar="PATH", help="write the table (.md Markdown, .csv CSV)")
    w.add_argument("--plot", metavar="PNG", help="write the PSNR plot")
    _common(w, ".cmd_sweep", "siren", _check_sweep, steps=SWEEP_STEPS)


def _render_args(sub) -> None:
    r = sub.add_parser("render", help="render an image checkpoint at any size")
    r.add_argument("checkpoint", help="image checkpoint (.safetensors) written by `inrview image ... --checkpoint`")
    r.add_argument("-o", "--output", required=True, help="the rendered image (.png, .jpg, .tif, .bmp)")
    _render_size_args(r)
    add_device_arg(r)
    add_quiet(r)
    r.set_defaults(func=deferred(".image_run", "cmd_render", _check_render))


def _io(p, output: str, input_help: str = "PNG, JPEG, TIFF or BMP image") -> None:
    p.add_argument("input", help=input_help)
    p.add_argument("-o", "--output", required=True, help=output)


def image_defaults(model: str, steps: int, batch: int) -> TrainingDefaults:
    """The training defaults of an image command, read from the image pipeline's own choices."""
    return TrainingDefaults(
        model=model,
        steps=steps,
        batch_size=batch,
        lr={k: f.image_lr for k, f in FAMILIES.items()},
        sizes={k: (image_model_config(k, (64, 64)).width, image_model_config(k, (64, 64)).depth) for k in FAMILIES},
        grid_levels=str(image_model_config("grid", (64, 64)).grid.levels),
        grid_max_res="the image's longer side in pixels",
    )


def _common(
    p,
    command: str,
    model: str,
    check,
    steps: int = IMAGE_STEPS,
    batch: int = TrainConfig().batch_size,
    batch_help: str | None = None,
) -> None:
    """The training options of an image command, and its handler: check(args), then image_run's command."""
    add_training_args(p, image_defaults(model, steps, batch))
    p.set_defaults(func=deferred(".image_run", command[1:], check), default_steps=steps, batch_default=batch)
    if batch_help:
        next(a for a in p._actions if a.dest == "batch_size").help = batch_help.format(batch)
    m = ModelConfig()
    p.add_argument(
        "--fourier-scale",
        type=positive_float,
        help=f"Fourier features: std of the frequencies (default {m.fourier_scale:g})",
    )
    p.add_argument(
        "--fourier-features",
        type=positive_int,
        help=f"Fourier features: number of frequencies (default {m.fourier_features})",
    )
    p.add_argument("--crop", type=crop_box, metavar="X,Y,W,H", help="use only this window of the image")
    p.add_argument(
        "--alpha",
        choices=["keep", "composite", "drop"],
        default="keep",
        help="transparency: fit it (colour premultiplied), composite over white, or drop it (default keep)",
    )
    p.add_argument(
        "--preview-every",
        type=non_negative_float,
        default=PREVIEW_EVERY,
        metavar="S",
        help=f"PSNR and SSIM on the progress bar every S training seconds (default {PREVIEW_EVERY:g}; 0 = never)",
    )


def _render_size_args(p) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--scale", type=positive_float, help="render at this multiple of the input size (default 1)")
    g.add_argument("--render-size", type=render_size, metavar="WxH", help="render at exactly this size")
    p.add_argument(
        "--bit-depth", type=int, choices=[8, 16], default=8, help="bits per sample of PNG/TIFF output (default 8)"
    )


# -- option types (argparse reports their errors as "argument --NAME: ...") ---------------------------
def render_size(text: str) -> tuple[int, int]:
    """(width, height) from 'WxH'; refuses sizes under 1x1 or over MAX_PIXELS."""
    try:
        w, h = (int(v) for v in text.lower().replace("*", "x").split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not WIDTHxHEIGHT (e.g. 1920x1080)") from None
    if w < 1 or h < 1 or w * h > MAX_PIXELS:
        raise argparse.ArgumentTypeError(f"'{text}' must be at least 1x1 and at most {MAX_PIXELS // 10**6} megapixels")
    return w, h


def int_list(text: str) -> list[int]:
    """Positive whole numbers from 'A,B,C'."""
    try:
        vals = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of whole numbers") from None
    if not vals or min(vals) < 1:
        raise argparse.ArgumentTypeError(f"'{text}': the numbers must be positive")
    return vals


def crop_box(text: str) -> tuple[int, int, int, int]:
    """(x, y, width, height) from 'X,Y,W,H' in whole pixels."""
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not X,Y,WIDTH,HEIGHT in whole pixels") from None
    if x < 0 or y < 0 or w < 1 or h < 1:
        raise argparse.ArgumentTypeError(f"'{text}': X and Y must be >= 0, WIDTH and HEIGHT >= 1")
    return x, y, w, h


# -- early refusals (no torch): output paths, inputs, options --------------------------------------------
def _check(a, *images: str) -> None:
    """Refuse bad output paths and options before the image is loaded (images: the image-output options)."""

    for option in ("output", *images):
        check_output(
            getattr(a, option, None),
            "-o/--output" if option == "output" else f"--{option.replace('_', '-')}",
            IMAGE_FORMATS,
        )
    check_output(getattr(a, "checkpoint", None), "--checkpoint", CHECKPOINT_FORMATS)
    check_output(getattr(a, "metrics_json", None), "--metrics-json")
    if getattr(a, "input", None):
        check_input(a.input)


def _check_fit(a) -> None:
    _check(a)
    check_folder(a.views, "--views")
    check_timelapse(a)


def _check_sweep(a) -> None:
    check_output(a.table, "--table", TABLE_FORMATS)
    check_output(a.plot, "--plot", ("png",))
    check_output(a.metrics_json, "--metrics-json")
    check_input(a.input)


def _check_render(a) -> None:
    _check(a)
    check_input(a.checkpoint)


#: The commands of this group: (name, help, option builder[, add_parser keywords]); see cli.GROUPS.
COMMANDS = (("image", "fit, super-resolve and deblur 2D images with coordinate networks", _args),)
