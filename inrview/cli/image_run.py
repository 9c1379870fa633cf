"""The `inrview image ...` commands (their options and early refusals are in cli.image, which imports this module
only when a command runs: torch loads here): load, train, render, save."""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

from ..config.image import image_model_config, upscaling_choice
from ..errors import InrviewError
from ..field.image import ImageField
from ..image import sweep as sw
from ..image.deblur import deblur_session, finish_synthetic, reblurred_psnr, richardson_lucy, synthetic_blur
from ..image.session import ImageSession
from ..image.superres import finish_super_resolution, super_resolution_session
from ..image.views import write_views
from ..io.image import ImageData, load_image, save_image
from ..sampling.pixels import extent, output_size
from ..training.device import pick_device
from ..training.image_tasks import PixelTask
from ..training.kernels import parse_kernel
from .checks import (
    check_training_memory,
    need_memory,
    raise_problems,
    save_safely,
)
from .common import Progress, Say, config_from_args, family_options, write_json
from .timelapse import image_recorder
from .waiting import Waiting


def _load(a):

    with Waiting(a.quiet, f"loading {a.input}"):
        img = load_image(a.input, alpha=a.alpha)
    if a.crop:
        x, y, w, h = a.crop
        if x + w > img.width or y + h > img.height:
            box = ",".join(map(str, a.crop))
            raise InrviewError(f"--crop {box} reaches outside the {img.width}x{img.height} image")
        img = img.crop(y, x, h, w)
    for n in img.notices:
        Say(a.quiet).notice(n)
    return img


def _configs(a, image_size, plan: dict | None = None):
    """(model, train) configurations the options ask for, for an image of image_size (height, width); plan
    (see _fit_plan) replaces the family, its size, the step budget and the batch where the user named none."""

    p = plan or {}
    base = config_from_args(a, default_steps=p.get("steps", a.default_steps))
    train = dataclasses.replace(base.train, batch_size=a.batch_size or p.get("batch", a.batch_default))
    try:
        model = image_model_config(
            p.get("kind", a.model),
            image_size,
            width=a.width or p.get("width"),
            depth=a.depth or p.get("depth"),
            **_family_options(a),
        )
    except ValueError as e:
        raise InrviewError(str(e)) from None
    check_training_memory(model, 2, train.batch_size)
    return model, train


def _family_options(a) -> dict:
    """The family settings the options name, as image_model_config's overrides (None where an option was not
    given)."""
    return {**family_options(a), "fourier_scale": a.fourier_scale, "fourier_features": a.fourier_features}


def _named(a, option: str) -> bool:
    """Whether the command's words name `option` (as --opt VALUE, --opt=VALUE or an abbreviation argparse took)."""
    words = (w.split("=", 1)[0] for w in getattr(a, "argv", None) or () if w.startswith("--"))
    return any(len(w) > 2 and option.startswith(w) for w in words)


def _fit_plan(a, image_size: tuple[int, int], out_hw: tuple[int, int]) -> tuple[dict, object]:
    """What `image fit` trains for an image of image_size rendered at out_hw (both (height, width)):
    ({'footprint', 'supersample'} and, where the upscaling choice applies, 'kind', 'width', 'depth', 'steps',
    'batch'}, the UpscalingChoice or None). Above the fitted size the choice fills in what the user did not
    name (--model, --footprint)."""

    plan = {"footprint": a.footprint, "supersample": 2}
    choice = upscaling_choice(image_size, out_hw)
    own_model, own_footprint = _named(a, "--model"), _named(a, "--footprint")
    if choice is None or (own_model and own_footprint):
        return plan, None
    if not own_footprint:
        plan.update(footprint=choice.footprint, supersample=choice.supersample)
    if not own_model:
        plan.update(
            kind=choice.kind, width=choice.width, depth=choice.depth, steps=choice.steps, batch=choice.batch_size
        )
    return plan, choice


def _upscaling_notice(plan: dict, model, train, image_size, out_hw) -> str:
    """The one line that says what a fit above its size chose, and how to choose otherwise."""
    (h, w), (oh, ow) = image_size, out_hw
    fp = plan["footprint"] + (
        f" ({plan['supersample']}x{plan['supersample']} samples per pixel)" if plan["footprint"] == "area" else ""
    )
    return (
        f"rendering {ow}x{oh} from {w}x{h}: fitting for upscaling with {_describe(model)} and the {fp} "
        f"footprint, {train.steps} steps (what super-resolves well; --model/--footprint choose otherwise)"
    )


def _device(a):
    return None if a.device == "auto" else a.device


def _render_hw(a, height: int, width: int) -> tuple[int, int]:
    """(height, width) of the rendering --scale or --render-size asks for, if it fits in memory."""

    h, w = output_size(height, width, a.scale, a.render_size)
    need_memory(48.0 * w * h, "--render-size" if a.render_size else "--scale", f"a {w}x{h} rendering")
    return h, w


def _train(session, a, desc: str, recorder=None):
    bar = Progress(session.train_cfg, a.quiet, desc)
    interval = a.preview_every if a.preview_every and a.preview_every > 0 else None
    shown = None  # the last measured PSNR stays on the bar between measurements
    try:
        last = None
        every = 10 if recorder is None else recorder.report_every(session.train_cfg)
        for last in session.run(report_every=every, preview_interval=interval):
            if last.preview is not None:
                shown = {k: float(last.preview[k]) for k in ("psnr", "ssim") if k in last.preview}
            bar(dataclasses.replace(last, preview=shown) if shown else last)
            if recorder is not None:
                recorder(last)
    finally:
        bar.close()
    if last is not None and last.message:
        Say(a.quiet).notice(last.message)
    return last


def _describe(cfg) -> str:
    return f"{cfg.kind} {cfg.width}x{cfg.depth}"


def _save(path, pixels, has_alpha, bit_depth=8, what="image"):

    return save_safely(path, lambda p: save_image(p, pixels, bit_depth, has_alpha), what)


def _finish(a, session, problems: list, data: dict) -> None:
    """Save the checkpoint and the JSON (each rescued to the temporary folder if need be); raise one error
    for the writes that failed."""
    problems.append(save_safely(a.checkpoint, session.save_checkpoint, "checkpoint"))
    problems.append(save_safely(a.metrics_json, lambda p: write_json(p, data), "metrics"))
    raise_problems(problems)


def _run_info(a, session, model, train, last, t0) -> dict:
    return {
        "input": str(a.input),
        "output": str(a.output),
        "steps": last.step,
        "train_seconds": last.elapsed,
        "seconds": time.perf_counter() - t0,
        "device": str(session.trainer.device),
        "model": model.to_dict(),
        "train": train.to_dict(),
    }


# -- commands ----------------------------------------------------------------------------------------
def cmd_fit(a) -> int:
    """Fit the image, render it at the asked size; one summary line."""

    img = _load(a)
    h, w = _render_hw(a, img.height, img.width)
    plan, choice = _fit_plan(a, img.shape[:2], (h, w))
    model, train = _configs(a, img.shape[:2], plan)
    if choice is not None:
        Say(a.quiet).notice(_upscaling_notice(plan, model, train, img.shape[:2], (h, w)))
    t0 = time.perf_counter()
    task = PixelTask(
        img.pixels, extent(img.height, img.width), train.batch_size, plan["footprint"], plan["supersample"]
    )
    session = ImageSession(img, model, train, device=_device(a), task=task)
    recorder, final_frame = image_recorder(session, a.timelapse_frames) if a.timelapse else (None, None)
    last = _train(session, a, f"fit {_describe(model)}", recorder)
    with Waiting(a.quiet, f"rendering {w}x{h}") as wait:
        out = session.field.render(h, w)
        wait.phase(f"writing {a.output}")
        problems = [_save(a.output, session.field.straight(out), img.has_alpha, a.bit_depth)]
        if recorder is not None:
            wait.phase(f"writing the time-lapse {a.timelapse}")
            recorder.finish(final_frame())
            problems.append(save_safely(a.timelapse, recorder.save, "time-lapse"))
        wait.phase("measuring PSNR and SSIM at the input size")
        m = session.metrics(out if (h, w) == (img.height, img.width) else None)
        if a.views:
            wait.phase(f"writing the views to {a.views}")
            write_views(session, a.views)
    data = {
        "command": "image fit",
        **_run_info(a, session, model, train, last, t0),
        "output_size": [w, h],
        "input_size": [img.width, img.height],
        "mode": img.mode,
        "final_loss": last.losses.get("total"),
        "footprint": plan["footprint"],
        "supersample": plan["supersample"],
        "upscaling": choice is not None,
        **m,
    }
    Say(a.quiet)(
        f"{a.output}: {w}x{h} from {img.width}x{img.height} {img.mode} ({_describe(model)}), {last.step} "
        f"steps in {last.elapsed:.1f} s training ({data['seconds']:.1f} s total) on "
        f"{session.trainer.device.type}; PSNR {m['psnr']:.2f} dB, SSIM {m['ssim']:.4f} at the input size"
    )
    _finish(a, session, problems, data)
    return 0


def cmd_sr(a) -> int:
    """Downsample by --scale, fit, render at full size; compare with bicubic."""

    img = _load(a)
    if a.scale < 2:
        raise InrviewError("--scale must be at least 2")
    model, train = _configs(a, (img.height // a.scale, img.width // a.scale))
    t0 = time.perf_counter()
    try:
        session, original = super_resolution_session(
            img, a.scale, model, train=train, device=_device(a), footprint=a.footprint, supersample=a.supersample
        )
    except ValueError as e:
        raise InrviewError(str(e)) from None
    last = _train(session, a, f"sr x{a.scale} {_describe(model)}")
    with Waiting(a.quiet, f"rendering x{a.scale}, the bicubic baseline and their measures"):
        res = finish_super_resolution(session, original, a.scale)
    straight = session.field.straight
    problems = [
        _save(path, straight(px), img.has_alpha, what=what)
        for path, px, what in (
            (a.output, res.inr, "image"),
            (a.bicubic_out, res.bicubic, "bicubic image"),
            (a.small_out, res.small, "small image"),
        )
    ]
    Say(a.quiet)(
        f"{res.summary()}; {_describe(model)} {a.footprint}, {last.step} steps in {last.elapsed:.1f} s training"
    )
    _finish(
        a,
        session,
        problems,
        {
            "command": "image sr",
            **_run_info(a, session, model, train, last, t0),
            **res.to_dict(),
            "footprint": a.footprint,
        },
    )
    return 0


def cmd_deblur(a) -> int:
    """Deblur with a known kernel (a synthetic check with --synthetic); one summary line."""

    kernel, kdesc = parse_kernel(a.kernel)
    img = _load(a)
    model, train = _configs(a, img.shape[:2])
    t0 = time.perf_counter()
    obs, reference = img, None
    if a.synthetic:
        observed = synthetic_blur(img.pixels, kernel, a.noise, not a.no_quantize, train.seed + 1)
        obs, reference = ImageData(observed, img.has_alpha, img.bit_depth, f"{img.source} (blurred)"), img.pixels
    session = deblur_session(
        obs,
        kernel,
        model,
        train=train,
        device=_device(a),
        reference=reference,
        patch=a.patch,
        tv_weight=a.tv,
        kernel_name=kdesc,
    )
    last = _train(session, a, f"deblur {_describe(model)}")
    with Waiting(a.quiet, f"rendering, blurring it again and writing {a.output}"):
        fit_db = reblurred_psnr(session, kernel)
        straight = session.field.straight
        problems = [_save(a.output, straight(session.field.render()), img.has_alpha)]
    data = {
        "command": "image deblur",
        "kernel": kdesc,
        "synthetic": a.synthetic,
        "noise": a.noise,
        "reblurred_psnr": fit_db,
    }
    trained = f"{_describe(model)}, {last.step} steps in {last.elapsed:.1f} s training"
    if a.synthetic:
        with Waiting(a.quiet, f"Richardson-Lucy ({a.rl_iterations} iterations) and the measures"):
            res = finish_synthetic(session, img.pixels, obs.pixels, kernel, a.rl_iterations)
        problems += [
            _save(a.blurred_out, straight(res.blurred), img.has_alpha, what="blurred image"),
            _save(a.rl_out, straight(res.rl), img.has_alpha, what="Richardson-Lucy image"),
        ]
        line = f"{res.summary()}; {kdesc}, {trained}"
        data.update(res.to_dict())
    else:
        if a.rl_out:
            with Waiting(a.quiet, f"Richardson-Lucy ({a.rl_iterations} iterations)"):
                rl = richardson_lucy(obs.pixels, kernel, a.rl_iterations)
            problems.append(_save(a.rl_out, straight(rl), img.has_alpha, what="Richardson-Lucy image"))
        line = (
            f"{a.output}: {img.width}x{img.height}, {kdesc}, {trained}; "
            f"blur(result) matches the input at {fit_db:.2f} dB PSNR"
        )
    Say(a.quiet)(line)
    _finish(a, session, problems, {**_run_info(a, session, model, train, last, t0), **data})
    return 0


def cmd_sweep(a) -> int:
    """Train each width x depth for the same budget; a table of PSNR."""
    widths, depths = a.widths, a.depths

    img = _load(a)
    _, train = _configs(a, img.shape[:2])
    overrides = {k: v for k, v in _family_options(a).items() if v is not None}
    t0 = time.perf_counter()
    rows = sw.capacity_sweep(
        img,
        a.model,
        widths,
        depths,
        train,
        device=_device(a),
        progress_factory=lambda label: Progress(train, a.quiet, label),
        **overrides,
    )
    text = sw.table(rows, "csv" if a.table and a.table.lower().endswith(".csv") else "markdown")
    problems = [save_safely(a.table, lambda p: Path(p).write_text(text), "table")]
    if a.plot:
        with Waiting(a.quiet, f"plotting {a.plot}"):
            sw.plot(rows, a.plot)
    best = max(rows, key=lambda r: r.psnr)
    if not a.quiet:
        print(sw.table(rows), file=sys.stderr)
    Say(a.quiet)(
        f"sweep {a.model}: {len(rows)} networks ({len(widths)} widths x {len(depths)} depths), "
        f"{rows[0].steps} steps each; best {best.width}x{best.depth} at {best.psnr:.2f} dB; "
        f"{time.perf_counter() - t0:.1f} s"
        + (f"; table {a.table}" if a.table else "")
        + (f"; plot {a.plot}" if a.plot else "")
    )
    data = {
        "command": "image sweep",
        "input": str(a.input),
        "family": a.model,
        "rows": [r.__dict__ for r in rows],
        "train": train.to_dict(),
    }
    problems.append(save_safely(a.metrics_json, lambda p: write_json(p, data), "metrics"))
    raise_problems(problems)
    return 0


def cmd_render(a) -> int:
    """Render an image checkpoint at --scale or --render-size."""

    field, head = ImageField.from_checkpoint(a.checkpoint, pick_device(a.device))
    h, w = _render_hw(a, field.height, field.width)
    t0 = time.perf_counter()
    with Waiting(a.quiet, f"rendering {w}x{h} and writing {a.output}"):
        raise_problems([_save(a.output, field.straight(field.render(h, w)), field.has_alpha, a.bit_depth)])
    Say(a.quiet)(
        f"{a.output}: {w}x{h} rendered from {a.checkpoint} ({head['model']['kind']}, fitted on "
        f"{field.width}x{field.height}) in {time.perf_counter() - t0:.2f} s"
    )
    return 0
