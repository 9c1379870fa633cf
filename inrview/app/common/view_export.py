"""Pictures of the 3D view at any size: the scene is drawn again in an off-screen window with the same layers,
extras and camera, whatever the widget's size (screenshots, time-lapse frames, scripted runs)."""

from __future__ import annotations

import numpy as np
import pyvista as pv

from . import camera as cam


def union_bounds(bounds: list) -> tuple | None:
    """(xmin, xmax, ymin, ymax, zmin, zmax) around every valid bounds tuple, or None."""
    valid = [b for b in bounds if b is not None and b[0] <= b[1] and b[2] <= b[3] and b[4] <= b[5]]
    if not valid:
        return None
    b = np.array(valid, dtype=float).reshape(len(valid), 3, 2)
    return tuple(np.column_stack([b[:, :, 0].min(0), b[:, :, 1].max(0)]).ravel())


def copy_colors(src, dst) -> None:
    """Colour a mapper's data as another mapper does (its lookup table, array, range)."""
    dst.SetLookupTable(src.GetLookupTable())
    dst.SetScalarMode(src.GetScalarMode())
    dst.SetColorMode(src.GetColorMode())
    dst.SelectColorArray(src.GetArrayName())
    dst.SetScalarRange(src.GetScalarRange())
    dst.ScalarVisibilityOn()


def _copy_layers(vp, off: pv.Plotter) -> None:
    for name, layer in vp.layers.items():
        if not layer.actor.visibility or layer.data.n_points == 0:
            continue
        style = dict(layer.style)
        if layer.image is not None:  # a texture of its own: GL objects are not shared across windows
            tex = pv.Texture(layer.image.copy())
            tex.interpolate = True
            style["texture"] = tex
        actor = off.add_mesh(layer.data, name=name, reset_camera=False, render=False, **style)
        prop, shown = actor.prop, layer.actor.prop
        prop.interpolation = shown.interpolation
        prop.style, prop.point_size, prop.opacity = shown.style, shown.point_size, shown.opacity
        if layer.actor.mapper.scalar_visibility:  # the colours as shown (e.g. the surface's error)
            copy_colors(layer.actor.mapper, actor.mapper)


def export_image(vp, width: int, height: int, transparent: bool = False, background=("#14171c", "#414a5a")):
    """Render vp's scene and camera at width x height off-screen; (H, W, 3|4) uint8 (RGBA with a transparent
    background when asked)."""
    side = any(e.split for e in vp.extras)
    off = pv.Plotter(
        off_screen=True, window_size=(int(width), int(height)), shape=(1, 2) if side else (1, 1), border=False
    )
    try:
        if transparent:
            off.set_background("white")
        else:
            off.set_background(background[0], top=background[1])
        off.enable_anti_aliasing("ssaa" if width * height <= 2500 * 2500 else "fxaa")
        _copy_layers(vp, off)
        for extra in vp.extras:
            extra.export_into(off, height / max(1, vp.height() * vp.devicePixelRatioF()))
        off.subplot(0, 0)
        cam.apply_state(off.camera, vp.camera_state())
        if side:
            off.link_views()  # the right half looks through the same camera
        b = union_bounds([r.ComputeVisiblePropBounds() for r in off.renderers])
        if b is not None:
            off.renderers[0].ResetCameraClippingRange(*b)
        return off.screenshot(None, transparent_background=transparent, return_img=True)
    finally:
        off.close()


def save_image(vp, path: str, width: int, height: int, transparent: bool = False) -> tuple[int, int]:
    """Write a PNG of vp's scene at width x height (atomic write); returns the size written."""
    from PIL import Image

    from ...io.export import atomic_path

    arr = export_image(vp, width, height, transparent)
    with atomic_path(path) as tmp:
        Image.fromarray(arr).save(tmp, format="PNG")
    return arr.shape[1], arr.shape[0]
