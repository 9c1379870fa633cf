"""`inrview image fit | sr | deblur | sweep | render`: 2D images as continuous functions, on the command line.

Every training command shows a progress bar (with the live PSNR), ends with one summary line, and can
write its numbers with --metrics-json. Bad input prints one line and exits with status 2 (InrviewError).
"""
from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

from ..cli import Progress, add_training_args, config_from_args, write_json
from ..errors import InrviewError

DEFAULT_STEPS = 1000


def register(sub) -> None:
    p = sub.add_parser("image", help="fit, super-resolve and deblur 2D images with coordinate networks",
                       description="2D images as continuous functions f(x, y) -> colour.")
    isub = p.add_subparsers(dest="image_command", metavar="ACTION", required=True)

    f = isub.add_parser("fit", help="fit a network to an image and render it at any size")
    f.add_argument("input", help="PNG, JPEG, TIFF or BMP image")
    f.add_argument("-o", "--output", required=True, help="rendered image (.png, .jpg, .tif, .bmp)")
    _output_size_args(f)
    f.add_argument("--footprint", choices=["point", "area"], default="point",
                   help="pixel model: value at the centre (point) or mean over the cell (area, for upscaling)")
    f.add_argument("--views", metavar="DIR", help="also write fitted/target/error/gradient/laplacian PNGs here")
    _common(f)
    f.set_defaults(func=cmd_fit)

    s = isub.add_parser("sr", help="fair super-resolution check: downsample by k, fit, render full size, vs bicubic")
    s.add_argument("input")
    s.add_argument("--factor", type=int, default=4, help="downsampling factor k (default 4)")
    s.add_argument("-o", "--output", help="the INR's full-size rendering")
    s.add_argument("--bicubic-out", metavar="PATH", help="bicubic upsampling of the same input")
    s.add_argument("--small-out", metavar="PATH", help="the downsampled input")
    s.add_argument("--footprint", choices=["point", "area"], default="area", help="pixel model of the fit (default area)")
    s.add_argument("--supersample", type=int, default=2, help="samples per cell side for the area footprint")
    _common(s, model="siren")
    s.set_defaults(func=cmd_sr)

    d = isub.add_parser("deblur", help="deblur with a known kernel (blur inside the loss)")
    d.add_argument("input", help="the blurred image (with --synthetic: the sharp image to blur first)")
    d.add_argument("--kernel", required=True,
                   help="gaussian:SIGMA, motion:LENGTH[:ANGLE_DEG], or a kernel image / .npy file")
    d.add_argument("-o", "--output", help="the deblurred image")
    d.add_argument("--synthetic", action="store_true",
                   help="blur the input with the kernel, deblur that, and compare with the input, blurred and Richardson-Lucy")
    d.add_argument("--noise", type=float, default=0.0, help="--synthetic: Gaussian noise std added after blurring")
    d.add_argument("--no-quantize", action="store_true", help="--synthetic: keep the blurred image in float (no 8-bit rounding)")
    d.add_argument("--rl-iterations", type=int, default=30, help="Richardson-Lucy iterations (default 30)")
    d.add_argument("--rl-out", metavar="PATH", help="write the Richardson-Lucy result")
    d.add_argument("--blurred-out", metavar="PATH", help="--synthetic: write the blurred input")
    d.add_argument("--patch", type=int, default=64, help="side of the training windows in pixels (default 64)")
    d.add_argument("--tv", type=float, default=0.0, help="total-variation weight (helps with noise; default 0)")
    _common(d, model="grid")
    d.set_defaults(func=cmd_deblur, batch_size=65536)  # deblurring wants big batches (see deblur.DEFAULT_BATCH)
    _help(d, "batch_size", "observed pixels per step, drawn as --patch windows (default 65536)")
    _help(s, "batch_size", "network evaluations per step (default 16384; 4 per pixel with the area footprint)")

    w = isub.add_parser("sweep", help="capacity sweep: PSNR for each width x depth after a fixed budget")
    w.add_argument("input")
    w.add_argument("--widths", default="32,64,128", help="comma-separated widths (default 32,64,128)")
    w.add_argument("--depths", default="1,2,3", help="comma-separated depths (default 1,2,3)")
    w.add_argument("-o", "--output", metavar="TABLE", help="write the table (.md Markdown, .csv CSV)")
    w.add_argument("--plot", metavar="PNG", help="write the PSNR plot")
    _common(w, model="siren", steps=300)
    w.set_defaults(func=cmd_sweep)

    r = isub.add_parser("render", help="render an image checkpoint at any size")
    r.add_argument("checkpoint")
    r.add_argument("-o", "--output", required=True)
    _output_size_args(r)
    r.add_argument("--device", default="cpu")
    r.set_defaults(func=cmd_render)


def _common(p, model: str = "grid", steps: int = DEFAULT_STEPS) -> None:
    add_training_args(p, default_steps=steps)
    p.set_defaults(model=model, default_steps=steps)
    p.add_argument("--fourier-scale", type=float, help="Fourier features: std of the frequencies (default 8)")
    p.add_argument("--fourier-features", type=int, help="Fourier features: number of frequencies (default 64)")
    p.add_argument("--crop", metavar="X,Y,W,H", help="use only this window of the image")
    p.add_argument("--alpha", choices=["keep", "composite", "drop"], default="keep",
                   help="transparency: fit it (colour premultiplied), composite over white, or drop it")
    p.add_argument("--preview-every", type=float, default=5.0, metavar="S",
                   help="measure PSNR and SSIM for the progress bar every S training seconds (default 5; 0 = never)")


def _help(p, dest: str, text: str) -> None:
    for action in p._actions:
        if action.dest == dest:
            action.help = text


def _output_size_args(p) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--scale", type=float, help="render at this multiple of the input size (e.g. 4)")
    g.add_argument("--size", metavar="WxH", help="render at exactly this size")
    p.add_argument("--bit-depth", type=int, choices=[8, 16], default=8, help="bits per sample of PNG/TIFF output")


# -- helpers -----------------------------------------------------------------------------------------
def parse_size(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    try:
        w, h = (int(v) for v in text.lower().replace("*", "x").split("x"))
    except ValueError:
        raise InrviewError(f"--size '{text}' is not WIDTHxHEIGHT (e.g. 1920x1080)") from None
    if w < 1 or h < 1 or w * h > 200_000_000:
        raise InrviewError(f"--size '{text}' must be at least 1x1 and at most 200 megapixels")
    return w, h


def _ints(text: str, name: str) -> list[int]:
    try:
        vals = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise InrviewError(f"--{name} '{text}' is not a comma-separated list of whole numbers") from None
    if not vals or min(vals) < 1:
        raise InrviewError(f"--{name} needs positive whole numbers")
    return vals


def _crop(text: str) -> tuple[int, int, int, int]:
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise InrviewError(f"--crop '{text}' is not X,Y,WIDTH,HEIGHT in whole pixels") from None
    if x < 0 or y < 0 or w < 1 or h < 1:
        raise InrviewError(f"--crop '{text}': X and Y must be >= 0, WIDTH and HEIGHT >= 1")
    return x, y, w, h


def _load(a):
    from ..io.image import load_image

    crop = _crop(a.crop) if a.crop else None
    size = getattr(a, "size", None)
    parse_size(size)  # refuse a bad --size before any training
    img = load_image(a.input, alpha=a.alpha)
    if crop:
        x, y, w, h = crop
        if x + w > img.width or y + h > img.height:
            raise InrviewError(f"--crop {a.crop} reaches outside the {img.width}x{img.height} image")
        img = img.crop(y, x, h, w)
    for n in img.notices:
        print(f"notice: {n}", file=sys.stderr)
    return img


def _configs(a, image_size):
    from ..field.image import image_model_config

    if a.steps is not None and a.steps < 1:  # config_from_args would take 0 as "not given"
        raise InrviewError("--steps must be at least 1")
    for name, v in (("omega0", a.omega0), ("fourier-scale", a.fourier_scale), ("fourier-features", a.fourier_features),
                    ("grid-levels", a.grid_levels), ("grid-max-res", a.grid_max_res)):
        if v is not None and not v > 0:
            raise InrviewError(f"--{name} must be positive")
    base = config_from_args(a, default_steps=a.default_steps)
    train = base.train  # with --seconds the clock decides and the step count is ignored
    try:
        model = image_model_config(a.model, image_size, width=a.width, depth=a.depth, omega0=a.omega0,
                                   grid_levels=a.grid_levels, grid_max_resolution=a.grid_max_res,
                                   fourier_scale=a.fourier_scale, fourier_features=a.fourier_features)
    except ValueError as e:
        raise InrviewError(str(e)) from None
    return model, train


def _device(a):
    return None if a.device == "auto" else a.device


def _train(session, a, desc: str):
    bar = Progress(session.train_cfg, a.quiet, desc)
    interval = a.preview_every if a.preview_every and a.preview_every > 0 else None
    shown = None  # the last measured PSNR stays on the bar between measurements
    try:
        last = None
        for last in session.run(report_every=10, preview_interval=interval):
            if last.preview is not None:
                shown = {k: float(last.preview[k]) for k in ("psnr", "ssim") if k in last.preview}
            bar(dataclasses.replace(last, preview=shown) if shown else last)
    finally:
        bar.close()
    if last is not None and last.message:
        print(f"notice: {last.message}", file=sys.stderr)
    return last


def _describe(cfg) -> str:
    return f"{cfg.kind} {cfg.width}x{cfg.depth}"


def _save(path, pixels, bit_depth=8, has_alpha=None):
    from ..io.image import save_image

    if path:
        save_image(path, pixels, bit_depth, has_alpha)


# -- commands ----------------------------------------------------------------------------------------
def cmd_fit(a) -> int:
    from ..sampling.pixels import output_size
    from .session import ImageSession
    from ..training.image_tasks import PixelTask

    img = _load(a)
    model, train = _configs(a, img.shape[:2])
    t0 = time.perf_counter()
    from ..sampling.pixels import extent

    task = PixelTask(img.pixels, extent(img.height, img.width), train.batch_size, a.footprint)
    session = ImageSession(img, model, train, device=_device(a), task=task)
    last = _train(session, a, f"fit {_describe(model)}")
    size = parse_size(a.size)
    h, w = output_size(img.height, img.width, a.scale, size)
    out = session.field.render(h, w)
    _save(a.output, session.field.straight(out), a.bit_depth, img.has_alpha)
    m = session.metrics(out if (h, w) == (img.height, img.width) else None)
    if a.checkpoint:
        session.save_checkpoint(a.checkpoint)
    if a.views:
        write_views(session, a.views)
    seconds = time.perf_counter() - t0
    print(f"{a.output}: {w}x{h} from {img.width}x{img.height} {img.mode} ({_describe(model)}), {last.step} steps in "
          f"{last.elapsed:.1f} s training ({seconds:.1f} s total) on {session.trainer.device.type}; "
          f"PSNR {m['psnr']:.2f} dB, SSIM {m['ssim']:.4f} at the input size")
    write_json(a.metrics_json, {"command": "image fit", "input": str(a.input), "output": str(a.output),
                                "output_size": [w, h], "input_size": [img.width, img.height], "mode": img.mode,
                                "steps": last.step, "train_seconds": last.elapsed, "seconds": seconds,
                                "device": str(session.trainer.device), "final_loss": last.losses.get("total"),
                                **m, "model": model.to_dict(), "train": train.to_dict()})
    return 0


def write_views(session, folder) -> list[Path]:
    """fitted / target / error / gradient / laplacian PNGs (and the target's finite-difference maps)."""
    from ..io.image import save_image
    from ..field.image import finite_difference_maps
    from .views import error_view, magnitude_view, signed_view, to_rgb

    d = Path(folder)
    d.mkdir(parents=True, exist_ok=True)
    fitted = session.field.render()
    target = session.reference
    alpha = session.image.has_alpha
    der = session.field.derivatives()
    ref = finite_difference_maps(target)
    gmax = float(max(1e-6, _p99(ref["gradient"])))
    lmax = float(max(1e-6, _p99(abs(ref["laplacian"]))))
    views = {"fitted": to_rgb(fitted, alpha), "target": to_rgb(target, alpha), "error": error_view(fitted, target),
             "gradient": magnitude_view(der["gradient"], gmax), "laplacian": signed_view(der["laplacian"], lmax),
             "target_gradient": magnitude_view(ref["gradient"], gmax),
             "target_laplacian": signed_view(ref["laplacian"], lmax)}
    return [save_image(d / f"{k}.png", v) for k, v in views.items()]


def _p99(x):
    import numpy as np

    return np.percentile(x, 99)


def cmd_sr(a) -> int:
    from .superres import finish_super_resolution, super_resolution_session

    img = _load(a)
    if a.factor < 2:
        raise InrviewError("--factor must be at least 2")
    small_hw = (img.height // a.factor, img.width // a.factor)
    model, train = _configs(a, small_hw)
    t0 = time.perf_counter()
    try:
        session, original = super_resolution_session(img, a.factor, model, train=train, device=_device(a),
                                                      footprint=a.footprint, supersample=a.supersample)
    except ValueError as e:
        raise InrviewError(str(e)) from None
    last = _train(session, a, f"sr x{a.factor} {_describe(model)}")
    res = finish_super_resolution(session, original, a.factor)
    _save(a.output, session.field.straight(res.inr), has_alpha=img.has_alpha)
    _save(a.bicubic_out, session.field.straight(res.bicubic), has_alpha=img.has_alpha)
    _save(a.small_out, session.field.straight(res.small), has_alpha=img.has_alpha)
    if a.checkpoint:
        session.save_checkpoint(a.checkpoint)
    seconds = time.perf_counter() - t0
    print(f"{res.summary()}; {_describe(model)} {a.footprint}, {last.step} steps in {last.elapsed:.1f} s training")
    write_json(a.metrics_json, {"command": "image sr", "input": str(a.input), **res.to_dict(), "steps": last.step,
                                "train_seconds": last.elapsed, "seconds": seconds, "footprint": a.footprint,
                                "model": model.to_dict(), "train": train.to_dict()})
    return 0


def cmd_deblur(a) -> int:
    from ..io.image import ImageData
    from .deblur import deblur_session, finish_synthetic, reblurred_psnr, richardson_lucy, synthetic_blur
    from ..training.kernels import parse_kernel

    kernel, kdesc = parse_kernel(a.kernel)
    if a.noise < 0:
        raise InrviewError("--noise must be >= 0")
    img = _load(a)
    model, train = _configs(a, img.shape[:2])
    t0 = time.perf_counter()
    if a.synthetic:
        observed = synthetic_blur(img.pixels, kernel, a.noise, not a.no_quantize, train.seed + 1)
        obs = ImageData(observed, img.has_alpha, img.bit_depth, f"{img.source} (blurred)")
        reference = img.pixels
    else:
        obs, reference = img, None
    session = deblur_session(obs, kernel, model, train=train, device=_device(a), reference=reference,
                             patch=a.patch, tv_weight=a.tv, kernel_name=kdesc)
    last = _train(session, a, f"deblur {_describe(model)}")
    fit_db = reblurred_psnr(session, kernel)
    data = {"command": "image deblur", "input": str(a.input), "kernel": kdesc, "synthetic": a.synthetic,
            "noise": a.noise, "steps": last.step, "train_seconds": last.elapsed, "reblurred_psnr": fit_db,
            "model": model.to_dict(), "train": train.to_dict()}
    out = session.field.render()
    _save(a.output, session.field.straight(out), has_alpha=img.has_alpha)
    if a.synthetic:
        res = finish_synthetic(session, img.pixels, obs.pixels, kernel, a.rl_iterations)
        _save(a.blurred_out, session.field.straight(res.blurred), has_alpha=img.has_alpha)
        _save(a.rl_out, session.field.straight(res.rl), has_alpha=img.has_alpha)
        line = f"{res.summary()}; {kdesc}, {_describe(model)}, {last.step} steps in {last.elapsed:.1f} s training"
        data.update(res.to_dict())
    else:
        if a.rl_out:
            _save(a.rl_out, session.field.straight(richardson_lucy(obs.pixels, kernel, a.rl_iterations)),
                  has_alpha=img.has_alpha)
        line = (f"{a.output or 'deblurred'}: {img.width}x{img.height}, {kdesc}, {_describe(model)}, {last.step} steps in "
                f"{last.elapsed:.1f} s training; blur(result) matches the input at {fit_db:.2f} dB PSNR")
    if a.checkpoint:
        session.save_checkpoint(a.checkpoint)
    data["seconds"] = time.perf_counter() - t0
    print(line)
    write_json(a.metrics_json, data)
    return 0


def cmd_sweep(a) -> int:
    from . import sweep as sw

    img = _load(a)
    widths, depths = _ints(a.widths, "widths"), _ints(a.depths, "depths")
    _, train = _configs(a, img.shape[:2])
    overrides = {k: v for k, v in (("omega0", a.omega0), ("grid_levels", a.grid_levels),
                                   ("grid_max_resolution", a.grid_max_res), ("fourier_scale", a.fourier_scale),
                                   ("fourier_features", a.fourier_features)) if v is not None}
    t0 = time.perf_counter()
    rows = sw.capacity_sweep(img, a.model, widths, depths, train, device=_device(a),
                             progress_factory=lambda label: Progress(train, a.quiet, label), **overrides)
    text = sw.table(rows, "csv" if a.output and a.output.lower().endswith(".csv") else "markdown")
    if a.output:
        from ..io.export import atomic_path

        with atomic_path(a.output) as tmp:
            Path(tmp).write_text(text)
    if not a.quiet:
        print(sw.table(rows), file=sys.stderr)
    if a.plot:
        sw.plot(rows, a.plot)
    best = max(rows, key=lambda r: r.psnr)
    print(f"sweep {a.model}: {len(rows)} networks ({len(widths)} widths x {len(depths)} depths), "
          f"{rows[0].steps} steps each; best {best.width}x{best.depth} at {best.psnr:.2f} dB; "
          f"{time.perf_counter() - t0:.1f} s" + (f"; table {a.output}" if a.output else "") + (f"; plot {a.plot}" if a.plot else ""))
    write_json(a.metrics_json, {"command": "image sweep", "input": str(a.input), "family": a.model,
                                "rows": [r.__dict__ for r in rows], "train": train.to_dict()})
    return 0


def cmd_render(a) -> int:
    from ..field.image import ImageField

    field, head = ImageField.from_checkpoint(a.checkpoint, a.device)
    t0 = time.perf_counter()
    size = parse_size(a.size)
    try:
        field.save(a.output, a.scale, size, a.bit_depth)
    except ValueError as e:
        raise InrviewError(str(e)) from None
    from ..sampling.pixels import output_size

    h, w = output_size(field.height, field.width, a.scale, size)
    print(f"{a.output}: {w}x{h} rendered from {a.checkpoint} ({head['model']['kind']}, fitted on "
          f"{field.width}x{field.height}) in {time.perf_counter() - t0:.2f} s")
    return 0


def main(argv=None) -> int:  # `python -m inrview.image.cli ...` for quick use
    from ..cli import main as root

    return root(["image", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
