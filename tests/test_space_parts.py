"""Shape spaces, part by part: collections, cached samples, the latent decoder, a short training run,
the checkpoint, decoding, interpolation, completion and info (tiny synthetic shapes, CPU, step budgets)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inrview.config.space import LatentConfig
from inrview.errors import CheckpointError, LoadError
from inrview.io.collection import load_collection
from inrview.models.latent import CodeField, LatentDecoder
from tests.space_shapes import RADII, saved_small_space, small_sampling, write_collection
from tests.space_shapes import ellipsoid as ellipsoid_vertices

SMALL = small_sampling()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("INRVIEW_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_collection_normalisation_and_skips(tmp_path):
    write_collection(tmp_path / "c", [(1.0, 1.0, 1.0), (0.5, 0.5, 0.5)])
    (tmp_path / "c" / "broken.ply").write_bytes(b"ply\nformat ascii 1.0\nelement vertex 99\nend_header\n1 2\n")
    notes = []
    joint = load_collection(tmp_path / "c", "joint", notify=notes.append)
    assert len(joint) == 2 and len(notes) == 1 and "broken.ply" in notes[0]
    ext = [np.ptp(g.vertices, axis=0).max() for g in joint.shapes]
    assert ext[0] == pytest.approx(1.8, rel=1e-6) and ext[1] / ext[0] == pytest.approx(0.5, rel=1e-3)
    per = load_collection(tmp_path / "c", "per-shape")
    assert [np.ptp(g.vertices, axis=0).max() for g in per.shapes] == pytest.approx([1.8, 1.8], rel=1e-6)
    assert per.record()["joint"] is None and len(per.record()["per_shape"]) == 2


def test_collection_errors_name_the_file(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(LoadError, match="empty"):
        load_collection(tmp_path / "empty")
    write_collection(tmp_path / "mixed", RADII[:2])
    np.savetxt(tmp_path / "mixed" / "cloud.xyz", np.random.default_rng(0).normal(size=(200, 3)))
    with pytest.raises(LoadError, match="cloud.xyz"):
        load_collection(tmp_path / "mixed")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "a.obj").write_text("garbage\n")
    with pytest.raises(LoadError, match="bad"):
        load_collection(tmp_path / "bad")
    (tmp_path / "list.lst").write_text("mixed/shape0.ply\n# comment\nmixed/shape1.ply\n")
    assert load_collection(tmp_path / "list.lst").names == ["shape0", "shape1"]


def test_shared_connectivity_tells_a_collection_in_correspondence(tmp_path):
    """Meshes with one triangle list (ellipsoids scaled from one icosphere) are in correspondence; a box
    among them, or the same ellipsoids as point clouds, are not."""
    import trimesh

    from inrview.space.align import shared_connectivity

    write_collection(tmp_path / "same", RADII)
    assert shared_connectivity(load_collection(tmp_path / "same").shapes)
    write_collection(tmp_path / "mixed", RADII[:2])
    write_collection(tmp_path / "box", RADII[:1], kind="box")
    (tmp_path / "box" / "shape0.ply").rename(tmp_path / "mixed" / "box.ply")
    assert not shared_connectivity(load_collection(tmp_path / "mixed").shapes)
    (tmp_path / "clouds").mkdir()
    for k, r in enumerate(RADII[:2]):
        v, _ = ellipsoid_vertices(r)
        trimesh.PointCloud(v).export(tmp_path / "clouds" / f"c{k}.ply")
    assert not shared_connectivity(load_collection(tmp_path / "clouds").shapes)


def test_samples_cached_by_file_and_settings(tmp_path, cache):
    from inrview.sampling.collection import cached_shape_samples

    write_collection(tmp_path / "c", RADII[:1])
    col = load_collection(tmp_path / "c")
    s1, hit1 = cached_shape_samples(col.shapes[0], col.normalizations[0], SMALL, 0)
    s2, hit2 = cached_shape_samples(col.shapes[0], col.normalizations[0], SMALL, 0)
    _, hit3 = cached_shape_samples(col.shapes[0], col.normalizations[0], SMALL, 1)
    assert (hit1, hit2, hit3) == (False, True, False)
    np.testing.assert_array_equal(s1.sdf, s2.sdf)
    inside = np.linalg.norm(s1.points, axis=1) < 0.2  # the ellipsoid's centre is inside
    assert inside.any() and (s1.sdf[inside] < 0).all()


@pytest.mark.parametrize("kind", ["deepsdf", "grid", "deform"])
def test_decoder_shapes_and_code_field(kind):
    dec = LatentDecoder(LatentConfig(kind=kind, latent_dim=8, width=32, depth=4))
    z, x = torch.randn(3, 8), torch.rand(3, 50, 3) * 2 - 1
    out = dec(z, x)
    assert out.shape == (3, 50)
    np.testing.assert_allclose(CodeField(dec, z[1])(x[1])[:, 0].detach(), out[1].detach(), atol=1e-6)


def test_deform_space_fits_its_shapes_with_a_displacement_linear_in_the_code(tmp_path):
    """The template-and-displacement decoder trains to the grid decoder's accuracy bar on ellipsoids that vary
    the way a collection of one organ does (about one template), reads back, and moves points by B(x) z:
    twice the code, twice the displacement."""
    from inrview.metrics import surface_metrics
    from inrview.space import read_space
    from tests.space_shapes import ellipsoid, train_small_space

    organ = [(1.0, 0.6, 0.5), (0.85, 0.65, 0.5), (1.0, 0.5, 0.55), (0.9, 0.6, 0.4)]
    write_collection(tmp_path / "c", organ)
    fit, snaps = train_small_space(tmp_path / "c", 300, 50, kind="deform")
    fit.save(tmp_path / "d.safetensors")
    space = read_space(tmp_path / "d.safetensors")
    assert space.header["network"]["kind"] == "deform" and snaps[-1].losses["data"] < 0.3 * snaps[0].losses["data"]
    for i, radii in enumerate(organ):
        mesh = space.decode(space.codes[i], 64)
        v, f = ellipsoid(radii, subdivisions=4)
        assert surface_metrics(mesh.vertices, mesh.faces, v, f, n_samples=20_000, iou_samples=1000).chamfer_l1 < 0.03
    x = torch.rand(1, 100, 3) * 2 - 1
    z = space.codes[:1]
    np.testing.assert_allclose(space.decoder.warp(2 * z, x), 2 * space.decoder.warp(z, x), rtol=1e-5, atol=1e-6)
    assert float(space.decoder.warp(z, x).norm(dim=-1).max()) > 1e-3  # the codes do move the template


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 4-shape space trained for 300 epochs (one process), saved and read back."""
    from inrview.space import read_space

    tmp = tmp_path_factory.mktemp("space")
    path, snaps = saved_small_space(tmp, 300, 5)
    return tmp, snaps, read_space(path)


def test_training_reduces_loss_and_checkpoint_holds_everything(trained):
    tmp, snaps, space = trained
    assert snaps[-1].done and snaps[-1].step == 300 and snaps[-1].epoch == pytest.approx(300)
    late = np.median([s.losses["data"] for s in snaps[-10:]])
    assert late < 0.4 * snaps[0].losses["data"]
    assert space.codes.shape == (4, 8) and space.names == ["shape0", "shape1", "shape2", "shape3"]
    assert len(space.header["shape_error"]) == 4 and max(space.header["shape_error"]) < 0.02
    assert space.normalise == "joint" and space.target == "sdf"


def test_decode_is_watertight_and_close(trained):
    from inrview.metrics import surface_metrics
    from inrview.space.mesh import check_closed
    from tests.space_shapes import ellipsoid

    _, _, space = trained
    mesh = space.decode(space.code("shape2"), 64)
    assert check_closed(mesh) == (True, 1)
    v, f = ellipsoid(RADII[2], subdivisions=4)
    m = surface_metrics(mesh.vertices, mesh.faces, v, f, n_samples=20_000, iou_samples=20_000)
    assert m.chamfer_l1 < 0.03  # normalised units (longest side 2)


def test_interpolation_and_info(trained, tmp_path):
    from inrview.space import info, write_interpolation

    _, _, space = trained
    rows = write_interpolation(space, "shape0", 1, tmp_path / "i", steps=3, resolution=48)
    assert len(rows) == 3 and all(r["watertight"] and r["pieces"] == 1 for r in rows)
    data = info(space)
    assert len(data["shapes"]) == 4 and sum(data["variance_share"]) == pytest.approx(1.0, abs=1e-6)


def test_complete_from_sparse_points(trained):
    from inrview.io.surface import sample_cloud
    from inrview.metrics import surface_metrics
    from inrview.space import complete
    from tests.space_shapes import ellipsoid

    _, _, space = trained
    v, f = ellipsoid(RADII[0], subdivisions=4)
    pts, _ = sample_cloud(v, f, 300, seed=3)
    res = complete(space, pts, steps=100)
    mesh = space.decode(res.code, 64, res.normalization)
    assert surface_metrics(mesh.vertices, mesh.faces, v, f, n_samples=20_000, iou_samples=1000).chamfer_l1 < 0.04
    assert not res.far
    blob = np.random.default_rng(0).normal(size=(300, 3)) * [0.1, 0.1, 1.0] + [0.0, 0.0, 0.0]
    assert complete(space, blob, steps=100).far  # a thin needle is nothing this space knows


def test_read_space_refuses_other_checkpoints(tmp_path, demo_shape):
    from inrview.config import FitConfig, TrainConfig
    from inrview.shape import ShapeSession
    from inrview.space import read_space

    session = ShapeSession.from_file(demo_shape, FitConfig(train=TrainConfig(steps=1)))
    session.save_checkpoint(tmp_path / "shape.safetensors")
    with pytest.raises(CheckpointError, match="shape.safetensors.*not a shape space"):
        read_space(tmp_path / "shape.safetensors")
