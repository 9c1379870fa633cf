"""Image pieces with known answers: coordinates, kernels, the blur inside the loss, derivatives, views,
checkpoints, the sweep's table and plot."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from inrview.config import TrainConfig
from inrview.config.image import image_model_config
from inrview.errors import CheckpointError, InrviewError, LoadError
from inrview.image import (
    BlurTask,
    ImageData,
    ImageField,
    ImageSession,
    PixelTask,
    blur,
    demo_image,
    extent,
    gaussian_kernel,
    load_image,
    motion_kernel,
    parse_kernel,
    render,
)
from inrview.image.sweep import SweepRow, plot, table
from inrview.sampling.pixels import pixel_centres, to_values


class Lookup(nn.Module):
    """A 'network' that returns a given picture: nearest pixel of the image at each coordinate."""

    def __init__(self, pixels, ext):
        super().__init__()
        self.px = torch.from_numpy(pixels)
        self.ext = ext
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        h, w, _ = self.px.shape
        j = ((x[:, 0] / self.ext[0] + 1) * 0.5 * w - 0.5).round().long().clamp(0, w - 1)
        i = ((x[:, 1] / self.ext[1] + 1) * 0.5 * h - 0.5).round().long().clamp(0, h - 1)
        return 2 * self.px[i, j] - 1 + 0 * self.dummy


class Quadratic(nn.Module):
    """value(x, y) = 0.5 + 0.5 * (a x^2 + b y^2 + c x y + d x): derivatives known in closed form."""

    def __init__(self, a, b, c, d):
        super().__init__()
        self.p = nn.Parameter(torch.tensor([a, b, c, d], dtype=torch.float32))

    def forward(self, x):
        a, b, c, d = self.p
        X, Y = x[:, 0], x[:, 1]
        return (a * X**2 + b * Y**2 + c * X * Y + d * X)[:, None]


def test_domain_is_isotropic_and_pixel_centred():
    assert extent(50, 100) == (1.0, 0.5)
    c = pixel_centres(2, 4, (1.0, 0.5)).numpy()
    np.testing.assert_allclose(c[:4, 0], [-0.75, -0.25, 0.25, 0.75])
    np.testing.assert_allclose(c[::4, 1], [-0.25, 0.25])
    # a finer grid samples the same domain: its pixel centres average to the coarse ones (block of 2x2)
    fine = pixel_centres(4, 8, (1.0, 0.5)).numpy().reshape(2, 2, 4, 2, 2).mean((1, 3))
    np.testing.assert_allclose(fine.reshape(-1, 2), c, atol=1e-6)


def test_kernels():
    g = gaussian_kernel(2.0)
    assert g.shape == (13, 13) and abs(g.sum() - 1) < 1e-6 and np.allclose(g, g.T) and g.argmax() == 84
    m = motion_kernel(9, 0)
    rows = np.nonzero(m.sum(1) > 1e-6)[0]
    assert len(rows) == 1 and (m[rows[0]] > 1e-6).sum() in (9, 10, 11)  # one row, ~9 px long
    v = motion_kernel(9, 90)
    assert (v.sum(0) > 1e-6).sum() == 1  # vertical
    d = motion_kernel(8, 45)
    assert abs(d.sum() - 1) < 1e-6 and np.allclose(d, d[::-1, ::-1])  # a centred diagonal line
    assert d[0, -1] > 0 or d[1, -2] > 0  # 45 degrees goes up-right on screen
    k, desc = parse_kernel("motion:5:30")
    assert "motion" in desc and abs(k.sum() - 1) < 1e-6
    with pytest.raises(InrviewError):
        parse_kernel("gaussian:-1")
    with pytest.raises(InrviewError):
        parse_kernel("nonsense")
    const = np.full((20, 20, 3), 0.3, np.float32)
    np.testing.assert_allclose(blur(const, m), 0.3, atol=1e-6)


def test_kernel_image_file(tmp_path):
    from inrview.image import load_kernel, save_image

    k = np.zeros((6, 7), np.float32)
    k[2, 1:6] = 1.0
    save_image(tmp_path / "k.png", k)
    kk = load_kernel(tmp_path / "k.png")
    assert kk.shape[0] % 2 == 1 and kk.shape[1] % 2 == 1 and abs(kk.sum() - 1) < 1e-6
    assert (kk > 0).sum() == 5
    save_image(tmp_path / "zero.png", np.zeros((3, 3), np.float32))
    with pytest.raises(LoadError, match="all zero"):
        load_kernel(tmp_path / "zero.png")


def test_blur_inside_the_loss_matches_scipy_blur():
    """With f = the sharp image, BlurTask's loss is zero exactly when its convolution, flip and border
    handling agree with kernels.blur: checked with an asymmetric kernel and windows touching the borders."""
    rng = np.random.default_rng(0)
    sharp = rng.random((30, 26, 3)).astype(np.float32)
    k = motion_kernel(7, 30)
    k[0, 0] += 0.05  # break every symmetry
    k /= k.sum()
    pad = ((0, 0), (0, 0)) if k.shape[0] % 2 else ((0, 1), (0, 1))
    k = np.pad(k, pad)
    ext = extent(30, 26)
    obs = blur(sharp, k)
    task = BlurTask(obs, ext, k, patch=12, patches=16)
    g = torch.Generator().manual_seed(0)
    model = Lookup(sharp, ext)
    assert float(task.loss(model, g)["mse"].detach()) < 1e-10
    wrong = BlurTask(blur(sharp, k[::-1, ::-1].copy()), ext, k, patch=12, patches=16)  # flipped kernel: not zero
    assert float(wrong.loss(model, torch.Generator().manual_seed(0))["mse"].detach()) > 1e-4


def test_pixel_task_area_footprint_averages_the_cell():
    """A 2x finer picture fitted through the area footprint: the loss is zero for the fine picture
    (its 2x2 block means are the coarse pixels) and not for a shifted one."""
    rng = np.random.default_rng(1)
    fine = rng.random((16, 16, 1)).astype(np.float32)
    coarse = fine.reshape(8, 2, 8, 2, 1).mean((1, 3))
    ext = extent(8, 8)
    task = PixelTask(coarse, ext, batch_size=10**6, footprint="area", supersample=2)
    model = Lookup(fine, ext)
    # with supersample 2 the strata are exactly the 4 fine pixels; jitter stays inside each of them
    assert float(task.loss(model, torch.Generator().manual_seed(0))["mse"].detach()) < 1e-10
    shifted = Lookup(np.roll(fine, 1, axis=1), ext)
    assert float(task.loss(shifted, torch.Generator().manual_seed(0))["mse"].detach()) > 1e-3


def test_autograd_derivatives_match_closed_form():
    a, b, c, d = 0.7, -0.4, 0.3, 0.2
    h, w = 10, 20
    ext = extent(h, w)
    f = ImageField(Quadratic(a, b, c, d), h, w, 1, ext)
    der = f.derivatives()
    xy = pixel_centres(h, w, ext).numpy()
    px, py = 2 * ext[0] / w, 2 * ext[1] / h
    gx = 0.5 * (2 * a * xy[:, 0] + c * xy[:, 1] + d) * px
    gy = 0.5 * (2 * b * xy[:, 1] + c * xy[:, 0]) * py
    np.testing.assert_allclose(der["gradient"].ravel(), np.hypot(gx, gy), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(der["laplacian"], 0.5 * (2 * a * px**2 + 2 * b * py**2), rtol=1e-4)


def test_relu_laplacian_is_zero_and_siren_is_not():
    for kind, nonzero in (("relu", False), ("siren", True), ("grid", False)):
        model = __import__("inrview.models", fromlist=["build_model"]).build_model(
            image_model_config(kind, (16, 16), width=16, depth=2), 2, 3, seed=0
        )
        lap = ImageField(model, 16, 16, 3, (1.0, 1.0)).derivatives()["laplacian"]
        assert (np.abs(lap).max() > 1e-6) == nonzero, kind


def test_image_model_config_sizes_the_grid_to_the_image():
    cfg = image_model_config("grid", (300, 500))
    assert cfg.grid.max_resolution == 500 and cfg.grid.levels == 8
    assert image_model_config("grid", (8, 8)).grid.base_resolution <= 8
    assert image_model_config("siren", (300, 500), omega0=12.0).omega0 == 12.0


def test_render_any_size_and_alpha_round_trip(tmp_path):
    rgba = np.zeros((12, 12, 4), np.float32)
    rgba[..., 0] = 1.0
    rgba[..., 3] = np.linspace(0, 1, 12)[None, :]  # transparent on the left, opaque on the right
    img = ImageData.from_array(rgba)
    assert img.has_alpha
    s = ImageSession(
        img, image_model_config("grid", img.shape[:2], width=16), TrainConfig(steps=80, batch_size=10**6, device="cpu")
    )
    s.train()
    assert s.metrics()["psnr"] > 30
    out = s.field.render_scaled(size=(30, 18))
    assert out.shape == (18, 30, 4)
    path = s.field.save(tmp_path / "a.png", scale=2)
    back = load_image(path, alpha="keep")
    assert back.shape == (24, 24, 4) and back.has_alpha
    straight = back.to_straight()
    assert straight[:, -6:, 0].min() > 0.9  # red where it is visible


def test_checkpoint_round_trip_and_refusals(tmp_path):
    img = load_image(demo_image()).crop(100, 100, 24, 20)
    s = ImageSession(img, image_model_config("siren", img.shape[:2], width=16), TrainConfig(steps=5, device="cpu"))
    s.train()
    path = s.save_checkpoint(tmp_path / "img.safetensors")
    field, head = ImageField.from_checkpoint(path)
    assert head["task"] == "image" and head["trainer"]["step"] == 5
    np.testing.assert_allclose(field.render(40, 48), s.field.render(40, 48), atol=1e-6)
    from inrview.training import checkpoint as ckpt

    bad = dict(head)
    bad["image"] = dict(head["image"], channels=4)  # the weights have 3 outputs
    for k in ("format", "version", "versions"):
        bad.pop(k, None)
    ckpt.save(tmp_path / "bad.safetensors", s.model, bad)
    with pytest.raises(CheckpointError):
        ImageField.from_checkpoint(tmp_path / "bad.safetensors")
    shape_like = {k: v for k, v in head.items() if k not in ("format", "version", "versions")}
    shape_like["task"] = "shape"
    ckpt.save(tmp_path / "shape.safetensors", s.model, dict(shape_like, task="other"))
    with pytest.raises(CheckpointError, match="not an image"):
        ImageField.from_checkpoint(tmp_path / "shape.safetensors")


def test_sweep_table_and_both_plot_backends(tmp_path):
    rows = [SweepRow("siren", w, d, w * d, 10, 0.1, 20 + w / 16 + d, 0.5) for d in (1, 2) for w in (16, 32)]
    md = table(rows)
    assert md.count("\n") == 6 and "| siren | 32 | 2 |" in md
    assert table(rows, "csv").splitlines()[0].startswith("kind,width,depth")
    from PIL import Image

    for backend in ("pillow", "matplotlib"):
        if backend == "matplotlib":
            pytest.importorskip("matplotlib")
        p = plot(rows, tmp_path / f"{backend}.png", backend=backend)
        im = Image.open(p)
        assert (
            im.size[0] > 150 and len(np.unique(np.asarray(im.convert("RGB")).reshape(-1, 3), axis=0)) > 8
        )  # a real picture


def test_render_chunks_agree():
    model = __import__("inrview.models", fromlist=["build_model"]).build_model(
        image_model_config("fourier", (9, 7), width=8, depth=2), 2, 2, seed=3
    )
    a = render(model, 9, 7, extent(9, 7), chunk=5)
    b = render(model, 9, 7, extent(9, 7), chunk=4096)
    np.testing.assert_allclose(a, b, atol=1e-6)
    x = pixel_centres(9, 7, extent(9, 7))
    np.testing.assert_allclose(b.reshape(-1, 2), np.clip(to_values(model(x)).detach().numpy(), 0, 1), atol=1e-6)


def test_image_core_loads_no_qt():
    """DESIGN: the core never imports Qt; a whole headless image fit, sweep plot included, loads none."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from inrview.image import ImageData, ImageSession\n"
        "from inrview.config.image import image_model_config\n"
        "from inrview.image.sweep import SweepRow, plot\n"
        "from inrview.config import TrainConfig\n"
        "img = ImageData.from_array(np.random.default_rng(0).random((8, 8, 3)))\n"
        "s = ImageSession(img, image_model_config('siren', (8, 8), width=8), TrainConfig(steps=3))\n"
        "s.train(preview_interval=0.0); s.field.derivatives()\n"
        "plot([SweepRow('siren', 8, 1, 1, 3, 0.1, 10.0, 0.1)], sys.argv[1])\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PyQt6', 'PyQt5', 'PySide6', 'pyvistaqt'))\n"
        "assert not bad, bad\n"
    )
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run([sys.executable, "-c", code, f"{d}/p.png"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
