"""Configurations written before the grid settings became one GridEncoding and the sample shares one mix
(flat grid_* fields; surface/near/far/uniform fractions and two sigmas) still load: as dicts, through the
header checks, and as real checkpoint files."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

import inrview
from inrview.config import CloudLossConfig, FitConfig, GridEncoding, ModelConfig, SamplingConfig, TrainConfig
from inrview.config.checks import check_config_types
from inrview.config.space import SPACE_SAMPLING, LatentConfig, SpaceTrainConfig
from inrview.shape import ShapeSession, load_field, resume_session
from inrview.space import read_space
from inrview.space.checkpoints import checkpoint_paths, resume_fit, write_checkpoint
from inrview.space.fit import SpaceFit
from inrview.training import checkpoint as ckpt
from tests.space_shapes import RADII, write_collection

#: A grid network as the previous version recorded it in a checkpoint header.
OLD_MODEL = {
    "kind": "grid",
    "width": 16,
    "depth": 1,
    "skip": True,
    "weight_norm": False,
    "geometric_init": False,
    "activation": "relu",
    "omega0": 30.0,
    "fourier_features": 64,
    "fourier_scale": 8.0,
    "grid_levels": 3,
    "grid_base_resolution": 16,
    "grid_max_resolution": 32,
    "grid_features": 2,
    "grid_max_entries": 4194304,
}
OLD_SAMPLING = {
    "n_samples": 4000,
    "surface_fraction": 0.2,
    "near_fraction": 0.4,
    "far_fraction": 0.3,
    "uniform_fraction": 0.1,
    "sigma_near": 0.02,
    "sigma_far": 0.07,
}
OLD_LATENT = {
    "kind": "grid",
    "latent_dim": 8,
    "width": 32,
    "depth": 2,
    "grid_levels": 2,
    "grid_base_resolution": 4,
    "grid_max_resolution": 8,
    "grid_features": 4,
    "init_std": 0.01,
}
NEW_MODEL = ModelConfig(width=16, depth=1, grid=GridEncoding(levels=3, max_resolution=32))
NEW_SAMPLING = SamplingConfig(n_samples=4000, mix=(0.2, 0.4, 0.3, 0.1), sigmas=(0.02, 0.07))


def old_fit_dict(**train) -> dict:
    return {
        "model": OLD_MODEL,
        "target": "sdf",
        "sampling": OLD_SAMPLING,
        "train": {"steps": 2, "batch_size": 256, "device": "cpu", **train},
        "resolution": 32,
        "margin": 0.1,
        "cloud": None,
    }


def test_fit_config_from_the_older_flat_form():
    old = old_fit_dict()
    assert check_config_types(old) is None
    cfg = FitConfig.from_dict(old)
    assert cfg.model == NEW_MODEL and cfg.sampling == NEW_SAMPLING
    assert cfg.train == TrainConfig(steps=2, batch_size=256, device="cpu") and cfg.resolution == 32
    assert ModelConfig.from_dict(OLD_MODEL) == NEW_MODEL and SamplingConfig.from_dict(OLD_SAMPLING) == NEW_SAMPLING
    # an older dict that names some flat fields only keeps the defaults of the others
    assert ModelConfig.from_dict({"grid_levels": 6}).grid == GridEncoding(levels=6)


def test_space_configs_from_the_older_flat_form():
    lat = LatentConfig.from_dict(OLD_LATENT)
    assert lat == LatentConfig(latent_dim=8, width=32, depth=2, grid=GridEncoding(2, 4, 8, 4))
    old_sampling = {**OLD_SAMPLING, "n_samples": 60_000, "sigma_near": 0.01, "sigma_far": 0.06}
    assert SamplingConfig.from_dict(old_sampling) == SPACE_SAMPLING
    train = SpaceTrainConfig(epochs=7, lr=1e-3)
    assert SpaceTrainConfig.from_dict(json.loads(json.dumps(train.to_dict()))) == train


def test_the_current_form_round_trips_through_json():
    cfg = FitConfig(model=NEW_MODEL, sampling=NEW_SAMPLING, cloud=CloudLossConfig(pool_mix=(0.6, 0.2, 0.2)))
    d = json.loads(json.dumps(cfg.to_dict()))
    assert d["model"]["grid"]["levels"] == 3 and d["sampling"]["mix"] == [0.2, 0.4, 0.3, 0.1]
    assert check_config_types(d) is None and FitConfig.from_dict(d) == cfg
    lat = LatentConfig(grid=GridEncoding(levels=5))
    assert LatentConfig.from_dict(json.loads(json.dumps(lat.to_dict()))) == lat


@pytest.mark.parametrize(
    "edit,needle",
    [
        (lambda d: d["model"].update(grid_levels=99), "model.grid.levels = 99 is outside 1..32"),
        (lambda d: d["model"].update(grid_features="two"), "config.model.grid.features = 'two' is not a whole number"),
        (lambda d: d["sampling"].update(near_fraction=-1.0), "sampling.mix = [0.2, -1.0, 0.3, 0.1]"),
        (lambda d: d.update(sampling={"mix": [1, 2]}), "config.sampling.mix = '[1, 2]' is not a list of 4"),
        (
            lambda d: d["sampling"].update(sigma_far=-0.1),
            "sampling.sigmas = [0.02, -0.1] is not two non-negative widths",
        ),
    ],
)
def test_bad_values_are_named_in_either_form(edit, needle):
    d = json.loads(json.dumps(old_fit_dict()))
    edit(d)
    assert needle in (check_config_types(d) or "")


def test_bad_proportions_are_refused_when_made():
    with pytest.raises(ValueError, match="not all zero"):
        SamplingConfig(mix=(0.0, 0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="four"):
        SamplingConfig(mix=(0.5, 0.5))


def rewrite_header(path, out, edit):
    """A copy of the checkpoint at path, written to out with its header changed by edit(header)."""
    with safe_open(str(path), framework="pt") as f:
        tensors, header = {k: f.get_tensor(k) for k in f.keys()}, json.loads(f.metadata()["inrview"])
    edit(header)
    save_file(tensors, str(out), metadata={"inrview": json.dumps(header)})
    return out


def test_a_checkpoint_written_in_the_older_form_loads_and_resumes(tmp_path):
    """A real checkpoint whose header holds the configuration as the previous version wrote it."""
    torch.set_num_threads(1)
    cfg = FitConfig.from_dict(old_fit_dict())
    s = ShapeSession.from_file(inrview.demo_shape(), cfg)
    for _ in s.run():
        pass
    new = tmp_path / "new.safetensors"
    s.save_checkpoint(new)
    assert ckpt.read(new).header["config"]["model"]["grid"]["max_resolution"] == 32
    old = rewrite_header(
        new, tmp_path / "old.safetensors", lambda h: h["config"].update(model=OLD_MODEL, sampling=OLD_SAMPLING)
    )
    assert ckpt.read(old).header["config"]["model"]["grid_levels"] == 3
    field, _ = load_field(old)
    assert field.model.encoding.resolutions == [16, 23, 32]
    resumed = resume_session(old)
    assert resumed.cfg == s.cfg and resumed.trainer.state.step == 2


def test_a_space_checkpoint_written_in_the_older_form_loads_and_resumes(tmp_path, monkeypatch):
    monkeypatch.setenv("INRVIEW_CACHE_DIR", str(tmp_path / "cache"))
    write_collection(tmp_path / "c", RADII)
    model = LatentConfig(latent_dim=8, width=32, depth=2, grid=GridEncoding(2, 4, 8, 4))
    sampling = SamplingConfig(n_samples=2000, mix=(0.2, 0.4, 0.3, 0.1), sigmas=(0.02, 0.07))
    fit = SpaceFit(tmp_path / "c", SpaceTrainConfig(epochs=2, threads=1, device="cpu"), model, sampling=sampling)
    list(fit.run())
    last, best = checkpoint_paths(tmp_path / "s.safetensors")
    write_checkpoint(fit, last, best)

    def older(header):
        header["space"].update(network=OLD_LATENT, sampling={**OLD_SAMPLING, "n_samples": 2000})

    old = rewrite_header(last, tmp_path / "old.last.safetensors", older)
    assert read_space(old).decoder.cfg == model
    resumed = resume_fit(old, tmp_path / "c", epochs=3)
    assert resumed.trainer.step == fit.trainer.step and resumed.sampling == sampling
    list(resumed.run())
    assert resumed.trainer.step > fit.trainer.step
