"""The 3D view: an embedded pyvistaqt interactor with one actor per named layer, updated in place.

Layers: 'input' (points or translucent mesh), 'surface' (the network's zero level set), 'slice_x|y|z' (field
values on a plane, diverging colour map centred at zero), 'contour_x|y|z' (the zero contour on each plane),
'domain' (the training cube's outline) and 'normals' (a point cloud's normals as line glyphs). Features add
what is not a layer as an "extra" (`add_extra`; e.g. the screened Poisson surface, cloud/view.py, or overlaid
meshes, overlay/). A layer's actor is created once; later updates swap the data inside its dataset (shallow
copy of arrays already prepared by the worker), so the GUI thread never rebuilds actors. Viewpoints as data are
in camera.py, pictures at any size in view_export.py.

Keyboard: VTK's default character keys (stereo on '3', wireframe on 'w', exit on 'e'/'q', ...) never reach
VTK; every key the view reacts to is a menu action of the window (R reset, camera presets, ...).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

import numpy as np
import pyvista as pv
from PyQt6 import QtCore, QtGui, QtWidgets
from pyvistaqt import QtInteractor

from . import camera as cam
from . import view_export
from .frames import SliceFrame, SurfaceFrame

AXES = "xyz"
SURFACE_COLOR = "#e3c08a"
INPUT_COLOR = "#7fa7d9"
CONTOUR_COLOR = "#101010"
BACKGROUND = ("#14171c", "#414a5a")  # bottom, top of the gradient
#: How surfaces are drawn (the View dock's choice): lit smoothly, per face, as edges or as vertices.
RENDER_STYLES = {"smooth": "Smooth", "flat": "Flat", "wireframe": "Wireframe", "points": "Points"}
#: The layers a render style applies to (the network's surface and the overlays drawn beside it).
STYLED = ("surface",)


@dataclass
class Layer:
    data: pv.DataSet
    actor: object
    style: dict
    image: pv.ImageData | None = None  # a textured layer's texture image (slices)
    values: np.ndarray | None = None  # a slice's field values (H, W), as drawn


def qimage_rgb(image: QtGui.QImage) -> np.ndarray:
    """(H, W, 3) uint8 copy of a QImage's colours."""
    img = image.convertToFormat(QtGui.QImage.Format.Format_RGBA8888)
    h, w, stride = img.height(), img.width(), img.bytesPerLine()
    buf = img.constBits()
    buf.setsize(h * stride)
    rows = np.frombuffer(buf, np.uint8, count=h * stride).reshape(h, stride)
    return rows[:, : w * 4].reshape(h, w, 4)[..., :3].copy()


class Viewport(QtInteractor):
    """The central 3D widget. Only the GUI thread calls into it."""

    def __init__(self, parent=None):
        super().__init__(parent, auto_update=False, multi_samples=0)
        self.setAcceptDrops(False)  # drops go to the window (pyvistaqt's own drop handler calls pv.read)
        self.setMinimumSize(200, 150)
        self.layers: dict[str, Layer] = {}
        self.user_hidden: set[str] = set()  # layers the user switched off (kept off across updates)
        self.mode_hidden: set[str] = set()  # layers the comparison's view mode hides (e.g. 'surface' for Poisson)
        self.up_axis = 1
        self.render_style, self.point_size, self.slice_opacity = "smooth", 4.0, 0.6
        self.render_seconds: deque = deque(maxlen=200)
        self.set_background(BACKGROUND[0], top=BACKGROUND[1])
        self.enable_anti_aliasing("fxaa")
        self.enable_trackball_style()
        # lines and polygons on the same plane (the zero contour on a slice): draw the lines on top
        pv._vtk.vtkMapper.SetResolveCoincidentTopologyToPolygonOffset()
        self._dirty = False
        self._render_timer = QtCore.QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.setInterval(15)
        self._render_timer.timeout.connect(self._render_now)
        if self.iren is not None:
            self.iren.clear_key_event_callbacks()  # pyvista's 'q' quits, 'b'/'v'/'C' pick ...
        self.extras: list = []  # what features draw besides the layers (add_extra)

    # -- keyboard: nothing goes to VTK ----------------------------------------------------------------
    def keyPressEvent(self, ev: QtGui.QKeyEvent) -> None:  # noqa: N802
        ev.ignore()  # the window's actions handle the keys that mean something

    def keyReleaseEvent(self, ev: QtGui.QKeyEvent) -> None:  # noqa: N802
        ev.ignore()

    # -- drops go to the window, never to pyvistaqt's handler (it calls pv.read, which can crash) -------
    def dragEnterEvent(self, ev) -> None:  # noqa: N802
        ev.ignore()

    def dropEvent(self, ev) -> None:  # noqa: N802
        ev.ignore()

    # -- rendering ------------------------------------------------------------------------------------
    # pyvistaqt's widget renders the VTK scene inside paintGL and then blits it. Asking VTK to Render() as
    # well (what plotter.render() does) would draw every frame twice: a repaint request is all it takes.
    def request_render(self) -> None:
        """Render soon; several requests within a frame collapse into one render."""
        self._dirty = True
        if not self._render_timer.isActive():
            self._render_timer.start()

    def render_now(self) -> None:
        """Repaint at the next turn of the event loop, without the coalescing delay."""
        self._dirty = True
        self._render_now()

    def _render_now(self) -> None:
        if not self._dirty or getattr(self, "_closed", False):
            return
        self._dirty = False
        self._rendered = True
        QtWidgets.QWidget.update(self)  # a paint event soon; Qt merges repeated requests

    def paintGL(self) -> None:  # noqa: N802
        t0 = time.perf_counter()
        super().paintGL()
        self.render_seconds.append(time.perf_counter() - t0)

    def add_extra(self, extra) -> None:
        """Something a feature draws besides the layers. It provides: bounds() (a list of bounds tuples to
        frame with the camera), split (True when it shows the view as two halves), export_into(plotter, scale)
        (adds itself to an off-screen copy of the view) and release() (before the render window closes)."""
        self.extras.append(extra)

    # -- layers ---------------------------------------------------------------------------------------
    def set_layer(self, name: str, data: pv.DataSet, **style) -> Layer:
        """Create the layer `name` with add_mesh's `style`, or swap `data` into the one there is."""
        return self._set(name, data, **style)

    def _set(self, name: str, data: pv.DataSet, **style) -> Layer:
        layer = self.layers.get(name)
        if layer is None:
            actor = self.add_mesh(data, name=name, reset_camera=False, render=False, **style)
            layer = Layer(actor.mapper.dataset, actor, style)
            self.layers[name] = layer
        else:
            layer.data.shallow_copy(data)
        layer.actor.visibility = self.wanted(name)
        return layer

    def wanted(self, name: str) -> bool:
        """Whether a layer should be drawn: neither the user nor the view mode hides it."""
        return name not in self.user_hidden and name not in self.mode_hidden

    def hide(self, name: str) -> None:
        if name in self.layers:
            self.layers[name].actor.visibility = False
            self.request_render()

    def unhide(self, name: str) -> None:
        """Show a layer again (unless the user switched it off)."""
        layer = self.layers.get(name)
        if layer is not None and self.wanted(name) and layer.data.n_points:
            layer.actor.visibility = True
            self.request_render()

    def show_layer(self, name: str, visible: bool) -> None:
        """The user's choice for a layer; it holds across later updates of that layer."""
        (self.user_hidden.discard if visible else self.user_hidden.add)(name)
        if name in self.layers:
            self.layers[name].actor.visibility = self.wanted(name)
            self.request_render()

    def remove(self, name: str) -> None:
        layer = self.layers.pop(name, None)
        if layer is not None:
            self.remove_actor(layer.actor, render=False)
            self.request_render()

    def visible(self, name: str) -> bool:
        layer = self.layers.get(name)
        return bool(layer is not None and layer.actor.visibility and layer.data.n_points)

    def set_surface(self, s: SurfaceFrame | None) -> None:
        if s is None or s.n_faces == 0:
            self.hide("surface")
            return
        poly = pv.PolyData(s.points, s.cells)
        poly.point_data["Normals"] = s.normals
        poly.point_data.active_normals_name = "Normals"
        layer = self._set(
            "surface",
            poly,
            color=SURFACE_COLOR,
            smooth_shading=False,
            specular=0.25,
            specular_power=20,
            diffuse=0.85,
            ambient=0.12,
        )
        self.style_actor(layer.actor)
        self.request_render()

    def set_glyphs(self, name: str, g) -> None:
        """Line glyphs (cloud.GlyphFrame: segments coloured from base to tip); None removes the layer."""
        if g is None or g.count == 0:
            self.remove(name)
            return
        poly = pv.PolyData(g.points, lines=g.lines)
        poly.point_data["rgb"] = g.colors
        self._set(name, poly, scalars="rgb", rgb=True, line_width=1.5, lighting=False, show_scalar_bar=False)
        self.request_render()

    def set_input(self, points: np.ndarray, cells: np.ndarray | None, style: str, opacity: float = 0.25) -> None:
        """style: 'points', 'mesh' (translucent, needs cells) or 'hidden'."""
        self.remove("input")  # the style changes the actor's properties: rebuild this one (rare)
        if style == "hidden" or len(points) == 0:
            return
        if style == "mesh" and cells is not None and len(cells):
            self._set("input", pv.PolyData(points, cells), color=INPUT_COLOR, opacity=opacity, smooth_shading=False)
        else:
            size = 2.0 if len(points) > 50_000 else 3.5
            self._set(
                "input",
                pv.PolyData(points),
                color=INPUT_COLOR,
                point_size=size,
                style="points",
                render_points_as_spheres=len(points) <= 50_000,
                opacity=min(1.0, 0.35 + opacity),
            )
        self.request_render()

    def set_domain(self, lo: np.ndarray, hi: np.ndarray) -> None:
        box = pv.Box(bounds=(lo[0], hi[0], lo[1], hi[1], lo[2], hi[2])).extract_all_edges()
        self._set("domain", box, color="#8a93a3", line_width=1, opacity=0.35, lighting=False)
        self.request_render()

    def set_slice(self, s: SliceFrame, limit: float | None = None) -> None:
        """A slice as one textured quad: the worker has already applied the colour map, so drawing it costs
        four vertices and a texture upload instead of a 128 x 128 grid of interpolated scalars."""
        from .frames import colorize

        ax = AXES[s.axis]
        name = f"slice_{ax}"
        rgb = s.rgb if s.rgb is not None else colorize(s.values, limit or float(np.nanmax(np.abs(s.values)) or 1.0))
        h, w = rgb.shape[:2]
        pts, tc = s.quad()
        quad = pv.PolyData(pts, np.array([4, 0, 1, 2, 3]))
        quad.active_texture_coordinates = tc
        layer = self.layers.get(name)
        if layer is not None and layer.image is not None and layer.image.dimensions == (w, h, 1):
            layer.image.point_data["rgb"] = rgb.reshape(-1, 3)
            layer.image.Modified()
            self._set(name, quad)
        else:
            self.remove(name)
            img = pv.ImageData(dimensions=(w, h, 1))
            img.point_data["rgb"] = rgb.reshape(-1, 3)
            tex = pv.Texture(img)
            tex.interpolate = True
            layer = self._set(name, quad, texture=tex, lighting=False, show_scalar_bar=False)
            layer.actor.prop.opacity = self.slice_opacity
            layer.image = img
        layer.values = s.values
        name = f"contour_{ax}"
        if len(s.contour_points):
            self._set(
                name,
                pv.PolyData(s.contour_points, lines=s.contour_lines),
                color=CONTOUR_COLOR,
                line_width=2.5,
                lighting=False,
            )
        else:
            self.hide(name)
        self.request_render()

    def hide_slice(self, axis: int) -> None:
        self.hide(f"slice_{AXES[axis]}")
        self.hide(f"contour_{AXES[axis]}")

    # -- camera ---------------------------------------------------------------------------------------
    def _up_vector(self) -> np.ndarray:
        up = np.zeros(3)
        up[self.up_axis] = 1.0
        return up

    def _scene_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        names = [n for n in ("surface", "input") if self.visible(n)] or [n for n in ("domain",) if n in self.layers]
        bounds = [self.layers[n].data.bounds for n in names] + [b for e in self.extras for b in e.bounds()]
        if not bounds:
            return np.full(3, -1.0), np.full(3, 1.0)
        b = np.array(bounds).reshape(len(bounds), 3, 2)
        return b[:, :, 0].min(axis=0), b[:, :, 1].max(axis=0)

    def view_preset(self, name: str) -> None:
        """Look at the scene from a preset direction (+X .. -Z, iso) with the chosen up axis."""
        d, up = cam.preset_direction(name, self.up_axis)
        lo, hi = self._scene_bounds()
        center = (lo + hi) / 2
        radius = max(float(np.linalg.norm(hi - lo)) / 2, 1e-9)
        c = self.camera
        c.focal_point = tuple(center)
        c.position = tuple(center + d * radius * 3.0)
        c.up = tuple(up)
        self.reset_camera(render=False, bounds=(lo[0], hi[0], lo[1], hi[1], lo[2], hi[2]))
        self.request_render()

    def reset_view(self) -> None:
        self.view_preset("iso")

    def camera_state(self) -> dict:
        """Position, focal point, up, view angle, orthographic flag and scale (common/camera.py)."""
        return cam.state_of(self.camera)

    def set_camera_state(self, state: dict) -> None:
        """Put the camera exactly where a camera_state() was (a saved or pasted viewpoint)."""
        cam.apply_state(self.camera, state)
        self.renderer.ResetCameraClippingRange()
        self.request_render()

    def set_orthographic(self, on: bool) -> None:
        """Parallel projection (no perspective), keeping what the view frames about the same size."""
        c = self.camera
        if bool(c.parallel_projection) == on:
            return
        if on:
            distance = float(np.linalg.norm(np.subtract(c.position, c.focal_point)))
            c.parallel_scale = distance * np.tan(np.radians(c.view_angle) / 2)
        c.parallel_projection = on
        self.request_render()

    # -- render styles --------------------------------------------------------------------------------
    def set_render_style(self, style: str, point_size: float | None = None) -> None:
        """'smooth', 'flat', 'wireframe' or 'points' (vertices of point_size pixels) for the surfaces."""
        if style not in RENDER_STYLES:
            raise ValueError(f"unknown render style {style!r} (choose {', '.join(RENDER_STYLES)})")
        self.render_style = style
        if point_size is not None:
            self.point_size = float(point_size)
        for name in STYLED:
            if name in self.layers:
                self.style_actor(self.layers[name].actor)
        self.request_render()

    def style_actor(self, actor) -> None:
        """Apply the current render style to one actor's properties."""
        prop, style = actor.prop, self.render_style
        prop.style = {"wireframe": "wireframe", "points": "points"}.get(style, "surface")
        prop.interpolation = "flat" if style == "flat" else "phong"
        prop.point_size, prop.line_width = self.point_size, 1.0

    def set_slice_opacity(self, opacity: float) -> None:
        """Opacity of the slice planes (their zero contours stay opaque)."""
        self.slice_opacity = float(opacity)
        for a in AXES:
            layer = self.layers.get(f"slice_{a}")
            if layer is not None:
                layer.actor.prop.opacity = self.slice_opacity
        self.request_render()

    def close(self) -> None:
        if not getattr(self, "_closed", True):
            for extra in self.extras:
                extra.release()  # e.g. a second renderer leaves the render window before it closes
        super().close()

    # -- pictures -------------------------------------------------------------------------------------
    def grab_pixels(self) -> np.ndarray:
        """What the widget shows now, as an (H, W, 3) uint8 array: grabFramebuffer renders (paintGL) into the
        widget's framebuffer and reads it back."""
        self._rendered = True
        return qimage_rgb(self.grabFramebuffer())

    def export_image(self, width: int, height: int, transparent: bool = False) -> np.ndarray:
        """The current scene and camera at width x height, whatever the widget's size (view_export.py)."""
        return view_export.export_image(self, width, height, transparent, BACKGROUND)

    def save_image(self, path: str, width: int, height: int, transparent: bool = False) -> tuple[int, int]:
        """Write a PNG of the scene at width x height (atomic write); returns the size written."""
        return view_export.save_image(self, path, width, height, transparent)

    def renderer_name(self) -> str:
        """The OpenGL renderer string (e.g. 'llvmpipe ...' for Mesa's CPU rasteriser)."""
        try:
            caps = self.ren_win.ReportCapabilities() or ""
        except Exception:  # no context yet
            return ""
        for line in caps.splitlines():
            if "renderer string" in line:
                return line.split(":", 1)[1].strip()
        return ""

    @property
    def software_rendering(self) -> bool:
        name = self.renderer_name().lower()
        return any(k in name for k in ("llvmpipe", "softpipe", "swrast", "software", "swr"))

    def actor_count(self) -> int:
        """Props in the renderer (a leak check: it must not grow while training)."""
        return self.renderer.GetViewProps().GetNumberOfItems()
