"""Checkpoints from an unknown source: loading never executes code (pickles are refused before anything
is parsed), and everything in the file is validated (format, header types, configuration, shapes,
optimizer and random-number state) with one clear error naming the file, from read(), load_field(),
resume_session() and the command line alike."""

from __future__ import annotations

import contextlib
import io
import json
import os
import pickle
import time
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

import inrview
from inrview import cli
from inrview.config import FitConfig, SamplingConfig, TrainConfig, model_config
from inrview.errors import CheckpointError
from inrview.shape import ShapeSession, load_field, resume_session
from inrview.training import checkpoint as ckpt


class Payload:
    """Unpickling this creates a folder: proof that code ran."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    """A real checkpoint of a small ReLU network fitted for a few steps on the demo shape."""
    torch.set_num_threads(1)
    cfg = FitConfig(
        model=model_config("relu", width=32, depth=2),
        sampling=SamplingConfig(n_samples=4000),
        train=TrainConfig(steps=4, batch_size=256, device="cpu"),
    )
    s = ShapeSession.from_file(inrview.demo_shape(), cfg)
    for _ in s.run():
        pass
    path = tmp_path_factory.mktemp("ckpt") / "good.safetensors"
    s.save_checkpoint(path)
    return path


def parts(path: Path):
    with safe_open(str(path), framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, json.loads(f.metadata()["inrview"])


def craft(tmp_path: Path, good: Path, name: str, edit=None, tensors_edit=None, raw_header: str | None = None) -> Path:
    tensors, header = parts(good)
    if edit:
        edit(header)
    if tensors_edit:
        tensors_edit(tensors)
    out = tmp_path / f"{name}.safetensors"
    save_file(tensors, str(out), metadata={"inrview": raw_header if raw_header is not None else json.dumps(header)})
    return out


def expect_refused(path: Path, needle: str):
    """read, load_field, resume_session and both CLI commands: one CheckpointError/line naming the file."""
    with pytest.raises(CheckpointError) as e:
        ckpt.read(path)
    msg = str(e.value)
    assert str(path) in msg and needle in msg and "\n" not in msg, msg
    with pytest.raises(CheckpointError):
        load_field(path)
    with pytest.raises(CheckpointError):
        resume_session(path)
    for argv in (["info", str(path)], ["extract", str(path), "-o", str(path.with_suffix(".ply"))]):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            rc = cli.main(argv)
        lines = err.getvalue().strip().splitlines()
        assert rc == 2 and len(lines) == 1 and lines[0].startswith(f"inrview: error: {path}: "), (argv, err.getvalue())
    assert not path.with_suffix(".ply").exists()
    return msg


def test_a_good_checkpoint_loads_and_resumes(good):
    data = ckpt.read(good)
    assert data.header["task"] == "shape" and data.header["trainer"]["step"] == 4
    field, header = load_field(good)
    assert field.model.kind == "relu"
    s = resume_session(good)
    assert s.trainer.state.step == 4


@pytest.mark.parametrize("how", ["torch.save", "pickle protocol 2", "pickle protocol 0"])
def test_pickles_are_refused_without_running_them(tmp_path, good, how):
    marker = tmp_path / "code_ran"
    path = tmp_path / "evil.safetensors"
    obj = {"model/x": Payload(str(marker))}
    if how == "torch.save":
        pt = tmp_path / "evil.pt"
        torch.save(obj, pt)
        torch.load(pt, weights_only=False)  # the payload is live: an unsafe torch.load runs it
        assert marker.exists()
        marker.rmdir()
        path.write_bytes(pt.read_bytes())  # the same bytes under a checkpoint's name
    else:
        path.write_bytes(pickle.dumps(obj, protocol=int(how[-1])))
    needle = "refusing a pickle" if how != "pickle protocol 0" else "not a valid inrview checkpoint"
    expect_refused(path, needle)
    assert not marker.exists()


@pytest.mark.parametrize("cut", [0.0, 0.001, 0.3, 0.7, 0.999])
def test_truncated_checkpoints(tmp_path, good, cut):
    data = good.read_bytes()
    path = tmp_path / "cut.safetensors"
    path.write_bytes(data[: max(1, int(len(data) * cut))])
    expect_refused(path, "checkpoint")


def test_lying_header_length(tmp_path):
    path = tmp_path / "liar.safetensors"
    path.write_bytes((2**60).to_bytes(8, "little") + b'{"a": 1}' + bytes(100))
    expect_refused(path, "not a valid inrview checkpoint")


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.safetensors"
    path.write_bytes(os.urandom(5000))
    expect_refused(path, "checkpoint")


def test_safetensors_without_inrview_header(tmp_path):
    path = tmp_path / "plain.safetensors"
    save_file({"model/x": torch.zeros(3)}, str(path))
    expect_refused(path, "without an inrview header")


@pytest.mark.parametrize(
    "raw,needle",
    [
        ("{not json", "not valid JSON"),
        ("[" * 50000 + "]" * 50000, "not valid JSON"),
        ("[1, 2]", "does not describe an inrview checkpoint"),
        ('{"format": "something-else"}', "does not describe an inrview checkpoint"),
    ],
)
def test_bad_json_headers(tmp_path, good, raw, needle):
    expect_refused(craft(tmp_path, good, "json", raw_header=raw), needle)


CASES = {
    "version_string": (lambda h: h.update(version="1"), None, "is not a number"),
    "version_future": (lambda h: h.update(version=99), None, "newer than this inrview"),
    "unknown_field": (lambda h: h["config"]["model"].update(colour="red"), None, "unknown field config.model.colour"),
    "width_string": (
        lambda h: h["config"]["model"].update(width="32"),
        None,
        "config.model.width = '32' is not a whole number",
    ),
    "width_bool": (lambda h: h["config"]["model"].update(skip="yes"), None, "config.model.skip"),
    "kind_unknown": (lambda h: h["config"]["model"].update(kind="transformer"), None, "is not one of 'grid'"),
    "depth_huge": (lambda h: h["config"]["model"].update(depth=10**6), None, "model.depth = 1000000 is outside 1..64"),
    "width_too_big_for_file": (lambda h: h["config"]["model"].update(width=64), None, "at least"),
    "width_smaller": (lambda h: h["config"]["model"].update(width=16), None, "has shape"),
    "kind_other": (lambda h: h["config"]["model"].update(kind="siren"), None, "weights do not match"),
    "seconds_nan": (lambda h: h["config"]["train"].update(seconds=float("nan")), None, "config.train.seconds"),
    "device_hostile": (lambda h: h["config"]["train"].update(device="cuda; rm -rf /"), None, "train.device"),
    "no_config": (lambda h: h.pop("config"), None, "no configuration"),
    "norm_scale_zero": (lambda h: h["normalization"].update(scale=0), None, "normalisation"),
    "norm_center_short": (lambda h: h["normalization"].update(center=[0, 0]), None, "normalisation"),
    "norm_missing": (lambda h: h.pop("normalization"), None, "normalisation"),
    "target_bad": (lambda h: h.update(target="banana"), None, "target"),
    "in_dim_2": (lambda h: h.update(in_dim=2), None, "in_dim"),
    "step_negative": (lambda h: h["trainer"].update(step=-1), None, "trainer step"),
    "step_text": (lambda h: h["trainer"].update(step="many"), None, "trainer step"),
    "elapsed_inf": (lambda h: h["trainer"].update(elapsed=float("inf")), None, "elapsed"),
    "unexpected_tensor": (None, lambda t: t.update({"code/run_me": torch.zeros(1)}), "unexpected tensor"),
    "nan_weight": (None, lambda t: t[next(k for k in t if k.startswith("model/"))].fill_(float("nan")), "NaN"),
    "missing_weight": (None, lambda t: t.pop(sorted(k for k in t if k.startswith("model/"))[-1]), "missing"),
    "int_weight": (
        None,
        lambda t: t.update({k: t[k].to(torch.int32) for k in [sorted(x for x in t if x.startswith("model/"))[0]]}),
        "floating point",
    ),
    "rng_short": (None, lambda t: t.update({"rng/batch": t["rng/batch"][:100]}), "random-number state"),
    "rng_float": (None, lambda t: t.update({"rng/batch": t["rng/batch"].float()}), "random-number state"),
    "optim_shape": (None, lambda t: t.update({"optim/0/exp_avg": torch.zeros(7, 7)}), "optimizer state exp_avg"),
    "optim_unknown_param": (
        None,
        lambda t: t.update({"optim/999/exp_avg": torch.zeros(1)}),
        "does not name a parameter",
    ),
    "optim_groups_text": (lambda h: h["optimizer"].update(param_groups="all"), None, "parameter groups"),
    "optim_lr_text": (lambda h: h["optimizer"]["param_groups"][0].update(lr="fast"), None, "optimizer lr"),
    "optim_ids": (lambda h: h["optimizer"]["param_groups"][0].update(params=[0, 0, 0]), None, "covers parameters"),
    "optim_without_header": (lambda h: h.pop("optimizer"), None, "optimizer tensors without"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_or_broken_contents(tmp_path, good, name):
    edit, tedit, needle = CASES[name]
    expect_refused(craft(tmp_path, good, name, edit, tedit), needle)


def test_huge_network_in_header_is_refused_before_anything_is_built(tmp_path, good):
    """width 16384 x depth 64 would be 16.9 G parameters; the refusal comes from arithmetic, at once."""
    path = craft(tmp_path, good, "huge", lambda h: h["config"]["model"].update(width=16384, depth=64, kind="relu"))
    t0 = time.perf_counter()
    with pytest.raises(CheckpointError, match="at least 16911482880 parameters"):
        ckpt.read(path)
    assert time.perf_counter() - t0 < 1.0


def test_every_documented_field_round_trips(good, tmp_path):
    """The validation accepts what save() writes, for every network family."""
    for kind in ("grid", "siren", "fourier"):
        cfg = FitConfig(
            model=model_config(kind, width=16, depth=1, grid={"levels": 2, "max_resolution": 16}),
            sampling=SamplingConfig(n_samples=2000),
            train=TrainConfig(steps=2, batch_size=128, device="cpu"),
        )
        s = ShapeSession.from_file(inrview.demo_shape(), cfg)
        for _ in s.run():
            pass
        p = tmp_path / f"{kind}.safetensors"
        s.save_checkpoint(p)
        assert ckpt.read(p).header["config"]["model"]["kind"] == kind
        load_field(p)


def test_a_header_length_starting_with_0x80_is_not_mistaken_for_a_pickle(tmp_path, good):
    """The old sniff refused any file whose first byte was 0x80: one safetensors file in 256."""
    tensors, header = parts(good)
    for pad in range(256):
        header["pad"] = "x" * pad
        meta = {"inrview": json.dumps(header)}
        path = tmp_path / "probe.safetensors"
        save_file(tensors, str(path), metadata=meta)
        if path.read_bytes()[0] == 0x80:
            break
    else:
        pytest.fail("no padding gave a header length with low byte 0x80")
    assert ckpt.read(path).header["pad"] == header["pad"]
