"""Segmentation masks as shapes: NIfTI and NRRD volumes meshed in world coordinates, labels, the largest
piece, smoothing, and one-line errors (in a folder: skipped with a notice, the run goes on)."""

from __future__ import annotations

from pathlib import Path

import nibabel
import nrrd
import numpy as np
import pytest
import trimesh

from inrview.errors import LoadError
from inrview.io.collection import load_collection
from inrview.io.loaders import load
from inrview.io.masks import MaskOptions

HIPPOCAMPI = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "shapes" / "hippocampus"


def _ball_volume(radius: float = 6.0, shape=(24, 24, 24), centre=(12, 12, 12)) -> np.ndarray:
    idx = np.indices(shape).astype(float)
    d = np.sqrt(sum((idx[i] - centre[i]) ** 2 for i in range(3)))
    return (d <= radius).astype(np.uint8)


def _write_nifti(path: Path, vol: np.ndarray, affine: np.ndarray) -> Path:
    nibabel.save(nibabel.Nifti1Image(vol, affine), str(path))
    return path


def test_nifti_ball_lands_in_world_frame_with_its_volume(tmp_path):
    vol = _ball_volume()
    vol[1, 1, 1] = 1  # a stray voxel: not kept
    vol[20:22, 3:5, 3:5] = 2  # a second label, a separate piece
    affine = np.diag([2.0, 1.5, 1.0, 1.0])
    affine[:3, 3] = [100.0, -50.0, 7.0]
    p = _write_nifti(tmp_path / "ball.nii.gz", vol, affine)
    g = load(p, mask=MaskOptions(label=1))
    m = trimesh.Trimesh(g.vertices, g.faces, process=False)
    assert m.is_watertight and m.volume > 0  # closed, outward
    centre = (g.vertices.min(axis=0) + g.vertices.max(axis=0)) / 2
    assert np.allclose(centre, [100 + 24, -50 + 18, 7 + 12], atol=0.3)
    true_volume = 4 / 3 * np.pi * 6.0**3 * 2.0 * 1.5
    assert abs(m.volume - true_volume) / true_volume < 0.1
    assert any("largest of 2 pieces" in n for n in g.notices)
    both = load(p)  # all labels: still the ball alone (the label-2 block is a separate, smaller piece)
    assert abs(len(both.vertices) - len(g.vertices)) < 0.05 * len(g.vertices)


def test_mirroring_affine_keeps_the_surface_outward(tmp_path):
    affine = np.diag([-1.0, 1.0, 1.0, 1.0])
    g = load(_write_nifti(tmp_path / "flip.nii", _ball_volume(), affine))
    assert trimesh.Trimesh(g.vertices, g.faces, process=False).volume > 0


def test_nrrd_space_directions_and_smoothing_choice(tmp_path):
    vol = _ball_volume()
    header = {
        "space": "left-posterior-superior",
        "space directions": np.diag([0.5, 0.5, 2.0]),
        "space origin": [1.0, 2.0, 3.0],
    }
    p = tmp_path / "ball.nrrd"
    nrrd.write(str(p), vol, header)
    smooth = load(p)
    raw = load(p, mask=MaskOptions(smooth=0.0))
    for g in (smooth, raw):
        centre = (g.vertices.min(axis=0) + g.vertices.max(axis=0)) / 2
        assert np.allclose(centre, [1 + 6, 2 + 6, 3 + 24], atol=0.5)
    # the raw staircase has more area than the smoothed surface of the same ball
    area = lambda g: trimesh.Trimesh(g.vertices, g.faces, process=False).area
    assert area(raw) > 1.1 * area(smooth)


def test_bad_masks_fail_in_one_line_and_a_folder_goes_on(tmp_path):
    good = _write_nifti(tmp_path / "a_good.nii.gz", _ball_volume(), np.eye(4))
    empty = _write_nifti(tmp_path / "b_empty.nii.gz", np.zeros((8, 8, 8), np.uint8), np.eye(4))
    mri = _write_nifti(
        tmp_path / "c_mri.nii.gz", np.random.default_rng(0).random((8, 8, 8)).astype(np.float32), np.eye(4)
    )
    broken = tmp_path / "d_broken.nii.gz"
    broken.write_bytes(b"\x1f\x8b" + b"not really gzip" * 10)
    for path, words in [(empty, "empty"), (mri, "not a label mask"), (broken, "unreadable")]:
        with pytest.raises(LoadError) as e:
            load(path)
        text = str(e.value)
        assert path.name in text and words in text and "\n" not in text, text
    with pytest.raises(LoadError, match="label 5 is empty"):
        load(good, mask=MaskOptions(label=5))
    notices = []
    col = load_collection(tmp_path, notify=notices.append)
    assert col.names == ["a_good"] and len(notices) == 3
    assert all(any(n in s for s in notices) for n in ("b_empty", "c_mri", "d_broken"))


@pytest.mark.skipif(not HIPPOCAMPI.is_dir(), reason="shared hippocampus masks not present")
def test_real_hippocampus_masks_are_closed_surfaces():
    for path in sorted(HIPPOCAMPI.glob("*.nii.gz"))[:5]:
        g = load(path)
        m = trimesh.Trimesh(g.vertices, g.faces, process=False)
        assert m.is_watertight and 1000 < m.volume < 10_000, (path.name, m.volume)  # mm^3, 1 mm voxels
