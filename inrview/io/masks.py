"""Segmentation masks as shapes: a labelled volume (NIfTI .nii / .nii.gz through nibabel, NRRD .nrrd / .nhdr
through pynrrd) meshed by marching cubes in the file's world coordinates.

The voxels kept are every non-zero label (default) or one label; the largest connected piece is kept (a
stray island of a few voxels is common in hand segmentations), the binary volume is smoothed by a Gaussian
of `smooth` voxels (0: the raw staircase) and meshed at level 1/2, so the surface is closed and encloses
the mask. Vertices go through the file's index-to-world transform (the NIfTI affine, the NRRD space
directions and origin), so a mesh lands where the scanner put the voxels, in its units (millimetres).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import LoadError
from .formats import MASK_FORMATS  # noqa: F401  (the extensions this module reads)


def ndimage():
    """scipy.ndimage, imported when a mask is first read: a deferred heavy import (0.2 s that every command
    reading a mesh paid at start-up, before the training modules could begin to load)."""
    return importlib.import_module("scipy.ndimage")


#: More distinct values than this and the volume is an intensity image, not a label mask.
MAX_LABELS = 255


@dataclass(frozen=True)
class MaskOptions:
    """How a mask becomes a surface: label (None: all non-zero voxels), smooth (Gaussian sigma in voxels
    before marching cubes; 0 keeps the voxel staircase), largest (keep only the largest connected piece)."""

    label: int | None = None
    smooth: float = 1.0
    largest: bool = True


def mask_format(path: str | Path) -> str | None:
    """'nifti' or 'nrrd' when the name says the file is a mask, else None."""
    name = Path(path).name.lower()
    if name.endswith((".nii", ".nii.gz")):
        return "nifti"
    if name.endswith((".nrrd", ".nhdr")):
        return "nrrd"
    return None


def read_mask(path: str | Path, options: MaskOptions | None = None):
    """(vertices (N, 3) world units, faces (M, 3), notices) of the mask's surface; LoadError naming the file
    for a volume that is not a label mask, an empty label, or a mask with nothing to mesh."""
    p = Path(path)
    opt = options or MaskOptions()
    volume, to_world = _read_volume(p)
    chosen, notes = _select(p, volume, opt)
    verts, faces = _mesh(chosen, opt.smooth)
    if len(faces) == 0:
        raise LoadError(p, "the mask gives no surface (too few voxels)")
    world = verts @ to_world[:3, :3].T + to_world[:3, 3]
    if np.linalg.det(to_world[:3, :3]) < 0:  # a mirroring transform turns the faces inside out
        faces = faces[:, ::-1]
    return world, faces.astype(np.int64), notes


def _read_volume(p: Path) -> tuple[np.ndarray, np.ndarray]:
    """The voxel array (3-D) and the 4x4 index-to-world transform."""
    if mask_format(p) == "nifti":
        import nibabel

        img = nibabel.load(str(p))
        data, affine = np.asanyarray(img.dataobj), np.asarray(img.affine, dtype=np.float64)
    else:
        import nrrd

        data, header = nrrd.read(str(p))
        affine = _nrrd_affine(header, data.ndim)
    data = np.asarray(data)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise LoadError(p, f"is a {data.ndim}-D volume {tuple(data.shape)}: a mask must be 3-D")
    return data, affine


def _nrrd_affine(header: dict, ndim: int) -> np.ndarray:
    """Index-to-world from an NRRD header: 'space directions' (one row per axis) and 'space origin', else
    'spacings', else unit voxels."""
    affine = np.eye(4)
    dirs = header.get("space directions")
    if dirs is not None:
        rows = [np.asarray(d, dtype=np.float64) for d in dirs]
        rows = [r for r in rows if r.size == 3 and np.all(np.isfinite(r))]  # 'none' rows are non-spatial axes
        if len(rows) == 3:
            affine[:3, :3] = np.stack(rows).T
    elif header.get("spacings") is not None:
        sp = np.asarray(header["spacings"], dtype=np.float64)[:3]
        affine[:3, :3] = np.diag(np.where(np.isfinite(sp), sp, 1.0))
    origin = header.get("space origin")
    if origin is not None and np.all(np.isfinite(np.asarray(origin, dtype=np.float64))):
        affine[:3, 3] = np.asarray(origin, dtype=np.float64)
    return affine


def _select(p: Path, volume: np.ndarray, opt: MaskOptions) -> tuple[np.ndarray, list[str]]:
    """The boolean voxels to mesh (label chosen, largest piece) and notices."""
    if volume.dtype.kind == "f":
        finite = volume[np.isfinite(volume)]
        if finite.size and not np.all(finite == np.round(finite)):
            raise LoadError(p, "holds non-integer values: an intensity image, not a label mask")
    elif volume.dtype.kind not in "iub":
        raise LoadError(p, f"holds {volume.dtype} voxels, not labels")
    labels = np.unique(volume)
    present = [int(v) for v in labels if v != 0 and np.isfinite(v)]
    if len(present) > MAX_LABELS:
        raise LoadError(p, f"holds {len(present)} distinct values: an intensity image, not a label mask")
    if not present:
        raise LoadError(p, "the mask is empty (no non-zero voxels)")
    if opt.label is None:
        chosen = np.isfinite(volume) & (volume != 0)
    elif opt.label not in present:
        raise LoadError(p, f"label {opt.label} is empty (labels present: {', '.join(map(str, present[:20]))})")
    else:
        chosen = volume == opt.label
    notes = [f"mask: {'label ' + str(opt.label) if opt.label is not None else 'all non-zero labels'}"]
    if opt.largest:
        pieces, count = ndimage().label(chosen, structure=np.ones((3, 3, 3), bool))
        if count > 1:
            sizes = np.bincount(pieces.ravel())[1:]
            keep = int(sizes.argmax()) + 1
            notes.append(f"kept the largest of {count} pieces ({sizes.max()} of {sizes.sum()} voxels)")
            chosen = pieces == keep
    return chosen, notes


def _mesh(chosen: np.ndarray, smooth: float) -> tuple[np.ndarray, np.ndarray]:
    """Marching cubes of the (smoothed) binary volume at 1/2, in voxel index coordinates; closed because the
    volume is padded with empty voxels first."""
    from skimage.measure import marching_cubes

    pad = 2 + int(np.ceil(3 * smooth))
    field = np.pad(chosen.astype(np.float32), pad)
    if smooth > 0:
        field = ndimage().gaussian_filter(field, smooth)
    if field.max() <= 0.5:  # a piece thinner than the smoothing: mesh the raw voxels instead
        field = np.pad(chosen.astype(np.float32), pad)
    verts, faces, _, _ = marching_cubes(field, 0.5)
    # skimage orders faces so that normals point towards lower values: outward for a filled mask
    return verts - pad, faces[:, ::-1]
