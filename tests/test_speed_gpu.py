"""The same code on CUDA: default fits, mixed precision, fused Adam, extraction on the GPU.

Every test here skips without a CUDA GPU; scripts/gpu_check.sh runs them on one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture(scope="module")
def cuda_fit(demo_shape):
    from inrview.config import FitConfig, TrainConfig
    from inrview.shape import ShapeSession

    s = ShapeSession.from_file(demo_shape, FitConfig(train=TrainConfig(device="cuda")))
    for _ in s.run(report_every=50):
        pass
    return s


def chamfer_and_iou(mesh, geometry, n=100_000, seed=0):
    """Chamfer-L1 (as metrics.surface_metrics, normalised units) and volume IoU through MeshDistance only:
    GPU machines may lack Open3D, which metrics.py uses directly; MeshDistance falls back to libigl."""
    from inrview.metrics import normalised_scale
    from inrview.sampling import MeshDistance, sample_surface

    rng = np.random.default_rng(seed)
    k = normalised_scale(geometry.vertices)
    pv, rv = mesh.vertices * k, geometry.vertices * k
    pred, ref = MeshDistance(pv, mesh.faces, sign="winding"), MeshDistance(rv, geometry.faces, sign="winding")
    acc = ref.unsigned(sample_surface(pv, mesh.faces, n, rng)[0])
    comp = pred.unsigned(sample_surface(rv, geometry.faces, n, rng)[0])
    q = rng.uniform(-1.05, 1.05, (200_000, 3))
    a, b = pred.inside(q), ref.inside(q)
    return (acc.mean() + comp.mean()) / 2, (a & b).sum() / max(1, (a | b).sum())


def test_default_fit_on_cuda_reaches_the_quality_of_issue_2(cuda_fit):
    s = cuda_fit
    assert s.trainer.device.type == "cuda"
    assert next(s.model.parameters()).is_cuda
    cd, iou = chamfer_and_iou(s.extract(256), s.geometry)
    assert cd <= 1e-3 and iou >= 0.97


def test_fused_adam_on_cuda(cuda_fit):
    assert cuda_fit.trainer.optimizer.defaults.get("fused") is True


def test_gpu_and_cpu_fields_give_the_same_surface(cuda_fit):
    """The trained CUDA model evaluated on the CPU marches to the same triangles, within float noise."""
    import copy

    from inrview.extract import coarse_to_fine_grid, marching_cubes
    from inrview.field import Field

    f_gpu = cuda_fit.field
    f_cpu = Field(copy.deepcopy(cuda_fit.model).cpu(), f_gpu.normalization, f_gpu.target)
    a, b = coarse_to_fine_grid(f_gpu, 128), coarse_to_fine_grid(f_cpu, 128)
    assert np.abs(a.values - b.values).max() < 1e-4
    ma, mb = marching_cubes(a), marching_cubes(b)
    assert abs(len(ma.faces) - len(mb.faces)) <= 0.001 * len(mb.faces)


@pytest.mark.parametrize("precision", ["tf32", "bf16"])
def test_mixed_precision_steps_train(demo_shape, precision):
    from inrview.config import FitConfig, ModelConfig, SamplingConfig, TrainConfig
    from inrview.shape import ShapeSession

    cfg = FitConfig(
        model=ModelConfig(kind="relu", width=256, depth=4),
        sampling=SamplingConfig(n_samples=50_000),
        train=TrainConfig(device="cuda", steps=300, precision=precision),
    )
    s = ShapeSession.from_file(demo_shape, cfg)
    first = last = None
    for snap in s.run(report_every=10):
        first = first or snap
        last = snap
    assert last.step == 300 and np.isfinite(last.losses["total"])
    assert last.losses["total"] < 0.5 * first.losses["total"]
    assert torch.backends.cuda.matmul.allow_tf32 is False or precision != "tf32"  # restored after steps


def test_checkpoint_from_the_gpu_loads_on_the_cpu(cuda_fit, tmp_path):
    from inrview.extract import extract_mesh
    from inrview.shape import load_field

    path = cuda_fit.save_checkpoint(tmp_path / "gpu.safetensors")
    field, _ = load_field(path, device="cpu")
    assert field.device.type == "cpu"
    assert len(extract_mesh(field, 64).faces) > 0


def test_default_fit_replays_a_cuda_graph(cuda_fit):
    """The default mesh fit on CUDA runs its steps as replays of one captured graph."""
    tr = cuda_fit.trainer
    assert tr.replays >= tr.state.step - 10
    assert isinstance(tr.optimizer.param_groups[0]["lr"], float)  # released after the run


def _timed_fit(demo_shape, monkeypatch, graph: bool):
    import time

    from inrview.config import FitConfig, TrainConfig
    from inrview.shape import ShapeSession

    monkeypatch.setenv("INRVIEW_CUDA_GRAPH", "1" if graph else "0")
    s = ShapeSession.from_file(demo_shape, FitConfig(train=TrainConfig(device="cuda")))
    list(s.run(report_every=10, max_steps=20))  # warm: allocator, kernels, capture
    torch.cuda.synchronize()
    t = time.perf_counter()
    list(s.run(report_every=10))
    torch.cuda.synchronize()
    return s, (time.perf_counter() - t) / max(1, s.trainer.state.step - 20)


def test_graphed_steps_are_faster_and_as_good_as_eager_ones(demo_shape, monkeypatch):
    g, t_graph = _timed_fit(demo_shape, monkeypatch, True)
    e, t_eager = _timed_fit(demo_shape, monkeypatch, False)
    assert g.trainer.replays > 0 and e.trainer.replays == 0
    print(f"step: graphed {1e3 * t_graph:.2f} ms, eager {1e3 * t_eager:.2f} ms ({t_eager / t_graph:.1f}x)")
    assert t_graph < t_eager
    for s in (g, e):
        cd, iou = chamfer_and_iou(s.extract(256), s.geometry)
        assert cd <= 1e-3 and iou >= 0.97


def test_non_finite_loss_in_a_graphed_run_restores_good_weights(demo_shape):
    """A loss that turns non-finite inside the graph is noticed at the next report and the last good
    weights come back, as in eager runs."""
    from inrview.config import FitConfig, TrainConfig
    from inrview.shape import ShapeSession

    s = ShapeSession.from_file(demo_shape, FitConfig(train=TrainConfig(device="cuda", steps=400)))
    poison = torch.ones((), device="cuda")
    loss = s.trainer.task.loss

    def poisoned(model, generator):
        out = loss(model, generator)
        out["total"] = out["total"] * poison
        return out

    s.trainer.task.loss = poisoned
    last = None
    for last in s.run(report_every=10):
        if last.step >= 150:
            poison.fill_(float("nan"))
    assert s.trainer.replays > 0
    assert last.done and "non-finite" in last.message and "from step 100" in last.message
    assert all(bool(torch.isfinite(p).all()) for p in s.model.parameters())
