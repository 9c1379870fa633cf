"""Drawing what the network learns into the viewport (GUI thread only): the training samples, the surface
coloured by its error, colour bars, the probe's marker and read-out, and picking a point with the mouse.

The arrays come prepared by the shape worker (shape/inspect.py); here they only go into VTK objects. The
samples and the probe marker are viewport layers ('samples', 'probe'), so off-screen copies of the view (a
screenshot, a time-lapse frame) carry them; the error colours ride on the surface layer's own mapper.
"""

from __future__ import annotations

import numpy as np
import pyvista as pv

from ..common.frames import diverging_lut
from ..shape.inspect import TARGET_NAMES

#: Sample colours by target, in TARGET_NAMES' order (inside, surface, outside, unsigned).
TARGET_COLORS = ("#3f7fe0", "#f4f4f4", "#e8643c", "#9c8fb8")
LOSS_CMAP = "inferno"
ERROR_CMAP = "viridis"
PROBE_COLOR = "#ff3df5"
#: Where each colour bar sits (x, y of its lower left corner as a fraction of the view), all horizontal.
BAR_PLACES = {"samples": (0.05, 0.86), "error": (0.05, 0.03), "slices": (0.55, 0.03)}
BAR_STYLE = dict(
    width=0.4,
    height=0.08,
    vertical=False,
    n_labels=3,
    fmt="%.2g",
    title_font_size=12,
    label_font_size=10,
    color="#e6e6e6",
)


class Bars:
    """The colour bars of the view, one per role ('samples', 'error', 'slices'), replaced by title."""

    def __init__(self, viewport):
        self.vp = viewport
        self.titles: dict[str, str] = {}
        self.slice_lut = pv.LookupTable()  # the slices' diverging colours (frames.diverging_lut), one range
        colors = diverging_lut()
        self.slice_lut.values = np.column_stack([colors, np.full(len(colors), 255, np.uint8)])

    def show(self, role: str, title: str, mapper=None, lookup_table=None, **style) -> None:
        """Show a bar for `mapper`'s (or `lookup_table`'s) colours; `style` overrides BAR_STYLE."""
        if self.titles.get(role) == title and title in self.vp.scalar_bars:
            return
        self.hide(role)
        x, y = BAR_PLACES[role]
        self.vp.add_scalar_bar(
            title, mapper=mapper, lookup_table=lookup_table, position_x=x, position_y=y, **{**BAR_STYLE, **style}
        )
        self.titles[role] = title

    def hide(self, role: str) -> None:
        title = self.titles.pop(role, None)
        if title is not None and title in self.vp.scalar_bars:
            self.vp.remove_scalar_bar(title, render=False)

    def range(self, role: str) -> tuple[float, float] | None:
        """The (min, max) a bar shows (its lookup table's range), or None when it is not shown."""
        title = self.titles.get(role)
        if title is None or title not in self.vp.scalar_bars:
            return None
        return tuple(self.vp.scalar_bars[title].GetLookupTable().GetRange())


def draw_samples(vp, bars: Bars, s, by_loss: bool) -> None:
    """The training samples (inspect.SamplesFrame) as points coloured by target or by loss, with a bar."""
    key = "loss" if by_loss else "target"
    layer = vp.layers.get("samples")
    if layer is not None and layer.style.get("cmap") != (LOSS_CMAP if by_loss else list(TARGET_COLORS)):
        vp.remove("samples")
    poly = pv.PolyData(s.points)
    poly.point_data[key] = s.loss if by_loss else s.target
    limit = float(np.percentile(s.loss, 98)) if by_loss and len(s.loss) else 1.0
    if by_loss:
        style = dict(cmap=LOSS_CMAP, clim=(0.0, max(limit, 1e-9)))
    else:
        style = dict(cmap=list(TARGET_COLORS), clim=(-0.5, len(TARGET_COLORS) - 0.5), n_colors=len(TARGET_COLORS))
    layer = vp.set_layer(
        "samples",
        poly,
        scalars=key,
        style="points",
        point_size=2.0,
        render_points_as_spheres=False,
        lighting=False,
        show_scalar_bar=False,
        **style,
    )
    mapper = layer.actor.mapper
    if by_loss:
        mapper.scalar_range = (0.0, max(limit, 1e-9))
        bars.show("samples", f"sample loss |f - target| ({s.loss_units})", mapper=mapper)
    else:
        mapper.lookup_table.annotations = dict(enumerate(TARGET_NAMES))
        bars.show("samples", "sample target", mapper=mapper, n_labels=0)  # the classes' names only
    vp.request_render()


def hide_samples(vp, bars: Bars) -> None:
    vp.remove("samples")
    bars.hide("samples")


def color_surface(vp, bars: Bars, error) -> None:
    """Colour the surface layer by an inspect.ErrorFrame of its vertices (None: back to its plain colour)."""
    layer = vp.layers.get("surface")
    if layer is None:
        return
    mapper = layer.actor.mapper
    if error is None or len(error.values) != layer.data.n_points:
        if error is None:
            mapper.scalar_visibility = False
            bars.hide("error")
        return
    layer.data.point_data["error"] = error.values
    mapper.SetScalarModeToUsePointFieldData()
    mapper.SelectColorArray("error")
    if not isinstance(mapper.lookup_table, pv.LookupTable) or mapper.lookup_table.cmap is None:
        mapper.lookup_table = pv.LookupTable(ERROR_CMAP)
    mapper.scalar_range = (0.0, error.limit)
    mapper.scalar_visibility = True
    what = "surface" if error.kind == "mesh" else "nearest input point"
    bars.show("error", f"distance to the input {what} ({error.units})", mapper=mapper)
    vp.request_render()


def error_colors(vp) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The surface as coloured by its error now: (V, 3) points, (F, 3) triangles and (V, 4) uint8 colours
    through the colour bar's map and range; None when the surface is not coloured by error."""
    from vtkmodules.util.numpy_support import vtk_to_numpy

    layer = vp.layers.get("surface")
    if layer is None or "error" not in layer.data.point_data or not layer.actor.mapper.scalar_visibility:
        return None
    mapper = layer.actor.mapper
    lut = mapper.lookup_table
    lut.Build()
    table = vtk_to_numpy(lut.GetTable())
    lo, hi = mapper.scalar_range
    t = np.clip((np.asarray(layer.data.point_data["error"], float) - lo) / max(hi - lo, 1e-12), 0.0, 1.0)
    rgba = table[np.round(t * (len(table) - 1)).astype(int)].astype(np.uint8)
    rgba[:, 3] = 255
    faces = layer.data.faces.reshape(-1, 4)[:, 1:]
    return np.asarray(layer.data.points), faces, rgba


def write_colored_ply(path: str, points: np.ndarray, faces: np.ndarray, rgba: np.ndarray) -> None:
    """A binary PLY with per-vertex colours (red, green, blue, alpha), written atomically."""
    import trimesh

    from ...io.export import atomic_path

    mesh = trimesh.Trimesh(np.asarray(points, np.float64), faces, vertex_colors=rgba, process=False)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(mesh.export(file_type="ply"))


def slice_error_bar(bars: Bars, limit: float | None, units: str) -> None:
    """The bar of the slices' error colours (f - exact signed distance), or none."""
    if limit is None:
        bars.hide("slices")
        return
    bars.slice_lut.scalar_range = (-limit, limit)
    bars.show("slices", f"slice error f - sdf ({units})", lookup_table=bars.slice_lut)


def pick(vp, x: int, y: int) -> np.ndarray | None:
    """The world point (3,) under display pixel (x, y) (VTK's origin: bottom left) on the surface or a
    slice plane, or None."""
    picker = pv._vtk.vtkCellPicker()
    picker.SetTolerance(0.0005)
    picker.PickFromListOn()
    for name in ("surface", "slice_x", "slice_y", "slice_z"):
        if vp.visible(name):
            picker.AddPickList(vp.layers[name].actor)
    if not picker.Pick(x, y, 0, vp.renderer):
        return None
    return np.array(picker.GetPickPosition())


def display_position(vp, point) -> tuple[int, int]:
    """The display pixel (VTK's origin: bottom left) where a world point (3,) is drawn."""
    ren = vp.renderer
    ren.SetWorldPoint(*map(float, point), 1.0)
    ren.WorldToDisplay()
    x, y, _ = ren.GetDisplayPoint()
    return int(round(x)), int(round(y))


def draw_probe(vp, result: dict, radius: float) -> str:
    """The probe's marker at its point and its read-out in the view's corner; returns the read-out."""
    vp.set_layer("probe", pv.Sphere(radius=radius, center=result["point"]), color=PROBE_COLOR, lighting=True)
    text = probe_text(result)
    vp.add_text(text, position="upper_left", font_size=9, color="#f0f0f0", name="probe_text")
    vp.request_render()
    return text


def probe_text(r: dict) -> str:
    p = ", ".join(f"{c:.4g}" for c in r["point"])
    if r["value"] is None:
        return f"({p}): no network"
    name = "f" if r.get("distance", True) else "f (logit)"
    parts = [f"{name} = {r['value']:.4g}"]
    if r.get("exact") is not None:
        parts.append(f"exact = {r['exact']:.4g}")
    parts.append(f"|grad f| = {r['gradient_norm']:.3f}")
    return f"probe ({p}) {r.get('units', '')}\n" + "   ".join(parts)


def clear_probe(vp) -> None:
    vp.remove("probe")
    vp.remove_actor("probe_text", render=False)
    vp.request_render()
