"""The one shape pipeline: the command line, the API and the app's worker all drive it, the command line and
the API give the same mesh, and a time budget bounds extraction by the time left."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

import inrview
from inrview.cli import main
from inrview.config import FitConfig, ModelConfig, SamplingConfig, TrainConfig
from inrview.extract.grid import coarse_to_fine_grid
from inrview.io.loaders import load
from inrview.shape.pipeline import Budget, Hooks, ShapePipeline

STEPS = 40
#: a small network with a sphere from the start (geometric initialisation), so a few steps have a surface
ARGS = ["--model", "relu", "--width", "32", "--depth", "2", "--samples", "20000", "--resolution", "32"]


def small_cfg(steps: int = STEPS, seed: int = 0, seconds: float | None = None) -> FitConfig:
    model = ModelConfig(kind="relu", width=32, depth=2)
    train = TrainConfig(steps=steps, seed=seed, seconds=seconds)
    return FitConfig(model=model, sampling=SamplingConfig(n_samples=20000), train=train, resolution=32)


@pytest.fixture
def counted(monkeypatch):
    """Calls of the pipeline's open (a session is built) and steps (a session is trained), by entry point."""
    calls = {"open": 0, "steps": 0}
    open_, steps = ShapePipeline.open, ShapePipeline.steps

    def counting_open(self, *a, **k):
        calls["open"] += 1
        return open_(self, *a, **k)

    def counting_steps(self, *a, **k):
        calls["steps"] += 1
        return steps(self, *a, **k)

    monkeypatch.setattr(ShapePipeline, "open", counting_open)
    monkeypatch.setattr(ShapePipeline, "steps", counting_steps)
    return calls


def test_cli_fit_runs_the_pipeline(counted, demo_shape, tmp_path, capsys):
    out = tmp_path / "o.ply"
    assert main(["fit", str(demo_shape), "-o", str(out), "--steps", "20", "--no-metrics", "--quiet", *ARGS]) == 0
    assert counted == {"open": 1, "steps": 1} and len(load(out).faces) > 100


def test_api_fit_runs_the_pipeline_and_announces_its_phases(counted, demo_shape):
    seen = []

    class Record(Hooks):
        def phase(self, name):
            seen.append(name)

    r = inrview.fit(demo_shape, small_cfg(20), hooks=[Record()])
    assert counted == {"open": 1, "steps": 1}
    assert seen == ["load", "sampling", "training", "extraction", "writing", "measures"]
    assert list(r.phases) == seen and 0 < r.metrics.chamfer_l1 < 1.0 and r.mesh.resolution == 32


def test_cloud_fit_and_reconstruct_run_the_pipeline(counted, demo_shape, tmp_path):
    """`fit CLOUD` and `reconstruct CLOUD` (command line) and recon.reconstruct (API): one pipeline each."""
    from inrview import recon
    from inrview.io.export import save_points

    mesh = load(demo_shape)
    rng = np.random.default_rng(0)
    pts, nrm = inrview.sampling.sample_surface(mesh.vertices, mesh.faces, 3000, rng)
    cloud = tmp_path / "c.ply"
    save_points(cloud, pts, nrm)
    small = ["--steps", "20", "--resolution", "32", "--no-metrics", "--quiet", "--model", "relu", "--width", "32"]
    assert main(["fit", str(cloud), "-o", str(tmp_path / "a.ply"), *small]) == 0
    assert main(["reconstruct", str(cloud), "-o", str(tmp_path / "b.ply"), *small]) == 0
    cfg = recon.config_for(pts, "relu", steps=20, seconds=None, resolution=32, width=32)
    r = recon.reconstruct(recon.as_cloud(pts, nrm), cfg)
    assert counted == {"open": 3, "steps": 3}
    a, b = load(tmp_path / "a.ply"), load(tmp_path / "b.ply")  # the same fit by both commands
    assert np.array_equal(a.faces, b.faces) and np.allclose(a.vertices, b.vertices, atol=1e-5)
    assert len(r.mesh.faces) > 100 and r.timings["train"] > 0


def test_app_worker_runs_the_pipeline(counted, demo_shape):
    pytest.importorskip("PyQt6")
    from inrview.app.shape.worker import SessionWorker

    w = SessionWorker()
    w.preview_resolution = 24
    cfg = small_cfg(12)
    w._open(str(demo_shape), cfg)
    w._start(cfg, True, (12, None))
    while w.training:
        w._step()
    assert counted == {"open": 1, "steps": 1} and w.session.trainer.state.step == 12
    w._start(cfg, False, (5, None))  # continuing a finished run: its budget (and its configuration) grow
    while w.training:
        w._step()
    assert counted["steps"] == 2 and w.session.trainer.state.step == 17 and w.session.cfg.train.steps == 17


def test_cli_and_api_give_the_same_mesh(demo_shape, tmp_path):
    out = tmp_path / "cli.ply"
    args = ["fit", str(demo_shape), "-o", str(out), "--steps", str(STEPS), "--seed", "3", "--quiet", *ARGS]
    assert main([*args, "--no-metrics"]) == 0
    api = inrview.fit(demo_shape, small_cfg(STEPS, seed=3), measure=False)
    cli = load(out)
    assert np.array_equal(cli.faces, api.mesh.faces)
    assert np.allclose(cli.vertices, api.mesh.vertices, rtol=0, atol=1e-6 * np.abs(api.mesh.vertices).max())


class SlowSphere:
    """A distance field whose surface is rough (a sphere plus fine ripples) and whose evaluation costs a fixed
    time per point, like a network on a loaded machine."""

    is_distance = True

    def __init__(self, points_per_second: float):
        self.rate = points_per_second
        self.device = torch.device("cpu")

    def evaluate_unit_tensor(self, x: torch.Tensor) -> torch.Tensor:
        time.sleep(len(x) / self.rate)
        r = x.norm(dim=1)
        return r - 0.6 + 0.02 * torch.sin(40 * x[:, 0]) * torch.sin(40 * x[:, 1])


def test_extraction_keeps_its_deadline_by_coarsening():
    field = SlowSphere(2e6)
    t0 = time.perf_counter()
    full = coarse_to_fine_grid(field, 128)
    took = time.perf_counter() - t0  # every level
    seconds = 0.4 * took
    t0 = time.perf_counter()
    budgeted = coarse_to_fine_grid(field, 128, deadline=t0 + seconds)
    spent = time.perf_counter() - t0
    assert budgeted.resolution < 128 and full.resolution == 128
    assert spent <= seconds + 0.1 * took  # at most one chunk of evaluations late
    # the coarser grid is the one a plain extraction at that resolution gives
    assert np.array_equal(budgeted.values, coarse_to_fine_grid(field, budgeted.resolution).values)


def test_no_deadline_gives_the_full_grid_unchanged():
    field = SlowSphere(1e9)
    far = coarse_to_fine_grid(field, 64, deadline=time.perf_counter() + 3600)
    plain = coarse_to_fine_grid(field, 64)
    assert far.resolution == 64 and np.array_equal(far.values, plain.values) and far.evaluations == plain.evaluations


def test_time_budget_counts_from_its_start(demo_shape):
    """A budget that began 2 s earlier leaves 2 s less training: the trainer's budget follows the wall clock."""
    cfg = small_cfg(1_000_000, seconds=4.0)
    took = {}
    for name, ago in (("fresh", 0.0), ("late", 2.0)):
        pipeline = ShapePipeline(cfg, budget=Budget(4.0, time.perf_counter() - ago))
        session = pipeline.open(load(demo_shape))
        pipeline.budget.started += pipeline.phases["sampling"]  # drawing the samples is not what is compared
        t0 = time.perf_counter()
        pipeline.train(session)
        took[name] = time.perf_counter() - t0
    assert took["late"] < 0.75 * took["fresh"]  # 2 s of 4 gone before training: about half of it left


def test_a_command_budget_counts_the_interpreter_start():
    """A command's clock starts with its interpreter, not with a shell that ran for a while and then exec'd
    it (the quick start's setup script ends that way: its install time is not the fit's)."""
    import subprocess
    import sys

    from inrview import cli
    from inrview.cli.fit_hooks import MAX_STARTUP, command_started

    began = command_started()
    assert began <= cli.STARTED and cli.STARTED - began < 600
    probe = "from inrview import cli; from inrview.cli.fit_hooks import command_started as s; print(cli.STARTED - s())"
    direct = float(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout)
    late = f"sleep {MAX_STARTUP + 1}; exec {sys.executable} -c '{probe}'"
    after_shell = float(subprocess.run(["bash", "-c", late], capture_output=True, text=True, check=True).stdout)
    assert 0.0 <= direct < MAX_STARTUP and after_shell == 0.0, (direct, after_shell)


def test_a_short_budget_draws_no_more_samples_than_it_can_train_on():
    cfg = FitConfig()
    assert ShapePipeline(cfg, budget=Budget(2.0)).sampling_for_budget(cfg).sampling.n_samples == 100_000
    assert ShapePipeline(cfg, budget=Budget(5.0)).sampling_for_budget(cfg).sampling.n_samples == 250_000
    for kept in (Budget(None), Budget(10.0), Budget(60.0)):  # a step budget and longer ones keep the default
        assert ShapePipeline(cfg, budget=kept).sampling_for_budget(cfg) is cfg


def test_a_field_without_a_surface_trains_at_a_useful_rate_until_it_has_one(demo_shape):
    """Past its budget, a field with no surface trains on with the learning rate of a run that has the grace
    time to go, and stops at its first surface, long before the grace ends."""
    cfg = FitConfig(model=ModelConfig(kind="grid"), sampling=SamplingConfig(n_samples=50_000))
    pipeline = ShapePipeline(cfg, budget=Budget(0.01))
    session = pipeline.open(load(demo_shape))
    assert not session.has_surface()  # a grid field starts constant
    rates = []
    pipeline.hooks.append(type("Rates", (Hooks,), {"snapshot": lambda self, s: rates.append(s.lr)})())
    last = pipeline.until_surface(session, None, time.perf_counter() + 600, every=1)
    assert session.has_surface() and last.step < 200
    assert min(rates) > 0.5 * max(rates)  # the schedule runs over the grace, not over each look


def test_the_search_for_a_first_surface_draws_smaller_batches_and_restores_the_batch(demo_shape):
    cfg = FitConfig(model=ModelConfig(kind="grid"), sampling=SamplingConfig(n_samples=50_000))
    pipeline = ShapePipeline(cfg, budget=Budget(0.01), device="cpu")
    session = pipeline.open(load(demo_shape))
    task, seen = session.trainer.task, []
    pipeline.hooks.append(type("Batches", (Hooks,), {"snapshot": lambda self, s: seen.append(task.batch_size)})())
    pipeline.until_surface(session, None, time.perf_counter() + 600, every=1)
    assert session.has_surface() and set(seen) == {cfg.train.batch_size // 8}
    assert task.batch_size == cfg.train.batch_size  # the rest of the run trains on whole batches
