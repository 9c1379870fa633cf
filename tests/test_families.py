"""A new network family is one entry of the family table plus the module that builds it: this file is both
(a tanh MLP), and the family then trains, checkpoints, reloads and shows in the command line through the
same paths as the bundled ones."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from inrview.config import FAMILIES, Family, FitConfig, SamplingConfig, TrainConfig, model_config, parameter_count
from inrview.config.image import image_default_lr, image_model_config
from inrview.models import INR, build_model


class TanhMLP(nn.Module):
    """The new family's network: linear layers with tanh between them."""

    def __init__(self, in_dim, out_dim, width, depth):
        super().__init__()
        dims = [in_dim] + [width] * depth
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.out = nn.Linear(width, out_dim)

    def forward(self, x):
        for lin in self.hidden:
            x = torch.tanh(lin(x))
        return self.out(x)


def build(cfg, in_dim, out_dim, seed):
    """The builder the table entry names."""
    return INR(None, TanhMLP(in_dim, out_dim, cfg.width, cfg.depth), in_dim, out_dim)


TANH = Family("tanh", "Tanh MLP", f"{__name__}:build", size=(32, 2), cloud_size=(24, 2), lr=3e-3, image_lr=5e-3)


@pytest.fixture
def tanh_family(monkeypatch):
    monkeypatch.setitem(FAMILIES, "tanh", TANH)  # the one entry (removed again after the test)
    torch.set_num_threads(1)
    return TANH


def test_the_table_is_what_every_default_reads(tanh_family):
    m = model_config("tanh")
    assert (m.width, m.depth) == (32, 2)
    assert image_model_config("tanh", (16, 16)).width == 32 and image_default_lr("tanh") == 5e-3
    net = build_model(m, 3, 1, seed=0)
    held = sum(p.numel() for p in net.parameters())
    assert sum(parameter_count(m, 3)) <= held <= 1.1 * sum(parameter_count(m, 3))
    with pytest.raises(ValueError, match="unknown model kind 'tanh2'.*tanh"):
        model_config("tanh2")


def test_a_new_family_fits_checkpoints_and_reloads(tanh_family, tmp_path, demo_shape):
    from inrview.shape import fit, load_field
    from inrview.training import checkpoint as ckpt

    cfg = FitConfig(
        model=model_config("tanh"),
        sampling=SamplingConfig(n_samples=20_000),
        train=TrainConfig(steps=120, batch_size=2048, device="cpu", threads=1),
        resolution=40,
    )
    result = fit(demo_shape, cfg, measure=False)
    assert result.last.step == 120 and result.last.lr < 3e-3  # the table's rate, decayed
    assert len(result.mesh.faces) > 100
    path = result.session.save_checkpoint(tmp_path / "tanh.safetensors")
    assert ckpt.read(path).header["config"]["model"]["kind"] == "tanh"  # the header validates against the table
    field, _ = load_field(path)
    x = torch.from_numpy(np.random.default_rng(0).uniform(-1, 1, (256, 3)).astype(np.float32))
    with torch.no_grad():
        assert torch.allclose(field.model(x), result.session.model.to("cpu")(x))


def test_a_new_family_on_the_command_line(tanh_family, tmp_path, demo_shape, capsys):
    from inrview.cli import main

    out = tmp_path / "bob.ply"
    args = ["fit", demo_shape, "-o", out, "--model", "tanh", "--steps", 40, "--samples", 20000]
    rc = main([str(a) for a in [*args, "--resolution", 32, "--batch-size", 1024, "--no-metrics", "--quiet"]])
    assert rc == 0 and out.stat().st_size > 1000
    try:
        main(["fit", "--help"])
    except SystemExit:
        pass
    assert "tanh: Tanh MLP" in " ".join(capsys.readouterr().out.split())
