"""The same code on CUDA: default fits, mixed precision, fused Adam, extraction on the GPU.

Every test here skips without a CUDA GPU; scripts/gpu_check.sh runs them on one."""
from __future__ import annotations

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture(scope="module")
def cuda_fit(demo_shape):
    from inrview.api import ShapeSession
    from inrview.config import FitConfig, TrainConfig

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
    from inrview.api import ShapeSession
    from inrview.config import FitConfig, ModelConfig, SamplingConfig, TrainConfig

    cfg = FitConfig(model=ModelConfig(kind="relu", width=256, depth=4),
                    sampling=SamplingConfig(n_samples=50_000),
                    train=TrainConfig(device="cuda", steps=300, precision=precision))
    s = ShapeSession.from_file(demo_shape, cfg)
    first = last = None
    for snap in s.run(report_every=10):
        first = first or snap
        last = snap
    assert last.step == 300 and np.isfinite(last.losses["total"])
    assert last.losses["total"] < 0.5 * first.losses["total"]
    assert torch.backends.cuda.matmul.allow_tf32 is False or precision != "tf32"  # restored after steps


def test_checkpoint_from_the_gpu_loads_on_the_cpu(cuda_fit, tmp_path):
    from inrview.api import load_field
    from inrview.extract import extract_mesh

    path = cuda_fit.save_checkpoint(tmp_path / "gpu.safetensors")
    field, _ = load_field(path, device="cpu")
    assert field.device.type == "cpu"
    assert len(extract_mesh(field, 64).faces) > 0
