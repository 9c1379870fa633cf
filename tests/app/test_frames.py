"""What the worker prepares for drawing (numpy only: no Qt, no VTK)."""

from __future__ import annotations

import numpy as np

from inrview.app.common import frames
from inrview.extract import SliceImage


def _cube():
    v = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)
    import trimesh

    return v, trimesh.convex.convex_hull(v).faces


def test_vertex_normals_point_outward_and_are_unit():
    import trimesh

    v, f = _cube()
    m = trimesh.Trimesh(v, f, process=False)
    m.fix_normals()
    n = frames.vertex_normals(m.vertices, m.faces)
    assert n.dtype == np.float32 and n.shape == (8, 3)
    np.testing.assert_allclose(np.linalg.norm(n, axis=1), 1.0, atol=1e-6)
    # on a cube centred at 0, each corner's normal points along its position
    assert (np.sum(n * m.vertices, axis=1) > 0.9 * np.sqrt(3)).all()


def test_vtk_cells_layout():
    cells = frames.vtk_cells(np.array([[0, 1, 2], [2, 3, 0]]))
    assert cells.tolist() == [3, 0, 1, 2, 3, 2, 3, 0]
    sf = frames.surface_frame(np.zeros((4, 3)), np.array([[0, 1, 2], [2, 3, 0]]))
    assert sf.n_faces == 2 and sf.points.dtype == np.float32


def test_slice_contour_traces_the_zero_level_of_a_circle():
    # the SDF of a circle of radius 0.5 on the plane z = 0.25, sampled on [-1, 1]^2
    n = 129
    t = np.linspace(-1, 1, n)
    u, v = np.meshgrid(t, t, indexing="xy")
    values = (np.hypot(u - 0.2, v) - 0.5).astype(np.float32)
    img = SliceImage(values, axis=2, offset=0.25, extent=(-1.0, 1.0, -1.0, 1.0))
    s = frames.slice_frame(img)
    assert len(s.contour_points) > 50
    p = s.contour_points
    np.testing.assert_allclose(p[:, 2], 0.25)
    r = np.hypot(p[:, 0] - 0.2, p[:, 1])
    assert np.abs(r - 0.5).max() < 0.01
    # one closed polyline: [count, indices...]
    assert s.contour_lines[0] == len(p) and len(s.contour_lines) == len(p) + 1


def test_slice_quad_and_colours():
    values = np.array([[-1.0, 0.0, 1.0, 2.0]] * 3, np.float32)  # H=3 rows (second axis), W=4 columns (first)
    img = SliceImage(values, axis=0, offset=0.5, extent=(0.0, 3.0, 10.0, 12.0))
    s = frames.with_colors({0: frames.slice_frame(img)}, limit=1.0)[0]
    pts, tc = s.quad()
    np.testing.assert_allclose(pts, [[0.5, 0, 10], [0.5, 3, 10], [0.5, 3, 12], [0.5, 0, 12]])
    # texel centres on the samples: the corners sit half a texel inside the texture
    np.testing.assert_allclose(tc[0], [0.125, 1 / 6]) and np.testing.assert_allclose(tc[2], [0.875, 5 / 6])
    rgb = s.rgb
    assert rgb.shape == (3, 4, 3) and rgb.dtype == np.uint8
    blue, white, red, clipped = rgb[0]
    assert blue[2] > blue[0] + 40 and red[0] > red[2] + 40 and (red == clipped).all()
    assert white.min() > 235  # zero is (nearly) white
    assert s.contour_points.shape[1] == 3 and len(s.contour_points) >= 2  # the zero column is traced


def test_slice_limit_is_symmetric_percentile():
    a = frames.SliceFrame(
        0,
        0.0,
        np.linspace(-2, 1, 101, dtype=np.float32).reshape(1, -1),
        (0, 1, 0, 1),
        np.zeros((0, 3), np.float32),
        np.zeros(0, np.int64),
    )
    lim = frames.slice_limit({0: a})
    assert 1.9 < lim <= 2.0


def test_display_points_subsamples_large_clouds():
    p = np.random.default_rng(0).normal(size=(1000, 3))
    assert frames.display_points(p, limit=100).shape == (100, 3)
    assert frames.display_points(p, limit=5000).shape == (1000, 3)
