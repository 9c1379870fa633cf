"""Each loader on real files (the demo shape converted to every format, and the shared scans)."""

from __future__ import annotations

import numpy as np
import open3d as o3d
import pytest
import trimesh

import inrview
from inrview.errors import LoadError
from inrview.io.export import save_mesh, save_points
from inrview.io.loaders import as_point_cloud
from tests.conftest import shared


@pytest.fixture(scope="module")
def spot():
    return inrview.load(inrview.demo_shape())


@pytest.mark.parametrize("ext", ["ply", "obj", "stl", "off", "glb"])
def test_mesh_formats_round_trip(spot, tmp_path, ext):
    p = save_mesh(tmp_path / f"spot.{ext}", spot.vertices, spot.faces)
    g = inrview.load(p)
    assert g.is_mesh and len(g.faces) == len(spot.faces)
    assert len(g.vertices) == len(spot.vertices)  # STL/GLB duplicates are merged by position
    assert np.abs(g.bounds - spot.bounds).max() < 1e-5
    assert inrview.report(g).watertight


def test_ascii_ply_and_gltf(spot, tmp_path):
    tm = trimesh.Trimesh(spot.vertices, spot.faces, process=False)
    (tmp_path / "a.ply").write_bytes(tm.export(file_type="ply", encoding="ascii"))
    assert len(inrview.load(tmp_path / "a.ply").faces) == len(spot.faces)
    files = tm.export(file_type="gltf")  # dict of file name -> bytes
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    assert len(inrview.load(tmp_path / "model.gltf").faces) == len(spot.faces)


def test_point_formats(spot, tmp_path):
    pc = as_point_cloud(spot, n=3000, seed=1)
    assert pc.kind == "points" and pc.normals.shape == (3000, 3)
    for ext in ("ply", "xyzn", "npy"):
        g = inrview.load(save_points(tmp_path / f"p.{ext}", pc.vertices, pc.normals))
        assert g.kind == "points" and len(g.vertices) == 3000
        assert g.normals is not None and np.abs(np.abs((g.normals * pc.normals).sum(1)) - 1).max() < 1e-4
    np.savetxt(tmp_path / "p.xyz", pc.vertices)
    g = inrview.load(tmp_path / "p.xyz")
    assert g.normals is None and np.abs(g.vertices - pc.vertices).max() < 1e-12
    np.savetxt(tmp_path / "p.txt", np.hstack([pc.vertices, pc.normals]))
    assert inrview.load(tmp_path / "p.txt").normals is not None  # unit columns read as normals
    np.savetxt(
        tmp_path / "p.pts",
        np.hstack([pc.vertices, np.full((3000, 1), 7.0), np.zeros((3000, 3))]),
        header="3000",
        comments="",
    )
    g = inrview.load(tmp_path / "p.pts")
    assert len(g.vertices) == 3000 and g.normals is None  # intensity + colour columns are not normals
    np.savez(tmp_path / "p.npz", points=pc.vertices, normals=pc.normals)
    assert inrview.load(tmp_path / "p.npz").normals is not None
    o = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(pc.vertices))
    o.normals = o3d.utility.Vector3dVector(pc.normals)
    o3d.io.write_point_cloud(str(tmp_path / "p.pcd"), o)
    g = inrview.load(tmp_path / "p.pcd")
    assert len(g.vertices) == 3000 and g.normals is not None


def test_shared_meshes_and_scans():
    teapot = inrview.load(shared("meshes/teapot.obj"))
    assert teapot.is_mesh and not inrview.report(teapot).watertight
    bob = inrview.load(shared("meshes/bob_tri.obj"))
    assert len(bob.vertices) == 5344 and inrview.report(bob).watertight  # seams merged
    bunny = inrview.load(shared("open_meshes/bun_zipper.ply"))
    assert len(bunny.faces) == 69451 and not inrview.report(bunny).watertight
    garg = inrview.load(shared("pointclouds/gargoyle.ply"))
    assert garg.kind == "points" and len(garg.vertices) == 95435 and garg.normals is not None
    sub = inrview.load(shared("pointclouds/gargoyle.ply"), max_points=10000)
    assert len(sub.vertices) == 10000 and any("subsampled" in n for n in sub.notices)


def test_non_finite_points_are_dropped_with_a_count(tmp_path):
    pts = np.random.default_rng(0).normal(size=(100, 3))
    pts[[3, 50], 1] = np.nan
    pts[7, 0] = np.inf
    np.savetxt(tmp_path / "n.xyz", pts)
    g = inrview.load(tmp_path / "n.xyz")
    assert len(g.vertices) == 97
    assert any("dropped 3 point(s)" in n for n in g.notices)


@pytest.mark.parametrize(
    "name,content,needle",
    [
        ("missing.ply", None, "file not found"),
        ("empty.obj", b"", "file is empty"),
        ("shape.xyz2", b"1 2 3\n", "unknown format"),
        (
            "garbage.ply",
            b"ply\nformat binary_little_endian 1.0\nelement vertex 100\nproperty float x\nend_header\n\x00\x01",
            "unreadable PLY",
        ),
        ("words.xyz", b"1 2 3\n4 five 6\n", "line 2: not numeric"),
        ("flat.xyz", b"1 1 1\n1 1 1\n", "no extent"),
        ("two.xyz", b"1 2\n3 4\n", "at least 3 columns"),
        ("nan.xyz", b"nan nan nan\ninf 1 2\n", "NaN or infinite"),
        ("noface.obj", b"o nothing\n", "no"),
    ],
)
def test_bad_files_raise_one_error_naming_the_file(tmp_path, name, content, needle):
    p = tmp_path / name
    if content is not None:
        p.write_bytes(content)
    with pytest.raises(LoadError) as e:
        inrview.load(p)
    assert name in str(e.value) and needle in str(e.value)
