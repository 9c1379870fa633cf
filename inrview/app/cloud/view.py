"""The screened Poisson surface in the 3D view, beside the network's surface or instead of it.

Side by side is a second VTK renderer in the right half of the same render window that shares the main
renderer's camera: both halves always show their surface from the same point of view, rotating either half
turns both, and each surface stays at its true place (no offset to explain). 'inrview' shows the network's
surface alone (Poisson hidden), 'Poisson' the Poisson surface alone in the full view. GUI thread only.
"""

from __future__ import annotations

import pyvista as pv

from ..common.view_export import union_bounds

POISSON_COLOR = "#b5c78f"  # sage: told apart from the network's gold at a glance
LABEL_COLOR = "#d8dde6"
LABEL_SIZE = 15
POISSON_LABEL = "screened Poisson"
SURFACE_STYLE = dict(smooth_shading=False, specular=0.25, specular_power=20, diffuse=0.85, ambient=0.12)


class CompareView:
    """Owns the Poisson actor, the right-hand renderer and the two labels of a viewport."""

    def __init__(self, viewport):
        self.vp = viewport
        self.mode = "inrview"
        self.data: pv.PolyData | None = None
        self.actor = None
        self._right = None  # the second renderer, created on first use
        self._labels: dict = {}
        self._observer = None
        self._actor_in = None  # the renderer holding the actor now

    # -- state ----------------------------------------------------------------------------------------
    @property
    def has_poisson(self) -> bool:
        return self.actor is not None and self.data is not None and self.data.n_cells > 0

    @property
    def side_by_side(self) -> bool:
        return self.mode == "side" and self.has_poisson

    @property
    def split(self) -> bool:
        """The viewport's extra protocol: the view is two halves."""
        return self.side_by_side

    def bounds(self) -> list:
        """The Poisson surface's bounds when it is shown (for fitting the camera)."""
        if self.has_poisson and self.mode in ("poisson", "side"):
            return [self.data.bounds]
        return []

    # -- updates --------------------------------------------------------------------------------------
    def set_poisson(self, frame) -> None:
        """Show a Poisson surface (frames.SurfaceFrame); None removes it."""
        if frame is None or frame.n_faces == 0:
            self.clear()
            return
        poly = pv.PolyData(frame.points, frame.cells)
        poly.point_data["Normals"] = frame.normals
        poly.point_data.active_normals_name = "Normals"
        if self.actor is None:
            vp = self.vp
            actor = vp.add_mesh(
                poly, name="poisson", color=POISSON_COLOR, reset_camera=False, render=False, **SURFACE_STYLE
            )
            vp.renderer.remove_actor(actor, reset_camera=False, render=False)  # placed by hand below
            actor.prop.interpolation = "phong"
            self.actor, self.data = actor, actor.mapper.dataset
        else:
            self.data.shallow_copy(poly)
        self.apply()

    def set_mode(self, mode: str) -> None:
        """'inrview', 'poisson' or 'side'."""
        if mode not in ("inrview", "poisson", "side"):
            raise ValueError(f"unknown view mode {mode!r}")
        self.mode = mode
        self.apply()

    def clear(self) -> None:
        """Forget the Poisson surface (a new file or new normals); back to the network's surface alone."""
        self.mode = "inrview"
        self.apply()
        if self.actor is not None:
            self._place(None)
        self.actor = self.data = None

    def release(self) -> None:
        """Before the render window closes: take the second renderer out of it."""
        self.clear()
        if self._right is not None:
            self._detach_right()
            self._right = None

    # -- layout ---------------------------------------------------------------------------------------
    def apply(self) -> None:
        vp = self.vp
        mode = self.mode if self.has_poisson else "inrview"
        hidden = {"surface"} if mode == "poisson" else set()
        changed, vp.mode_hidden = hidden ^ vp.mode_hidden, hidden
        layer = vp.layers.get("surface")
        if layer is not None and "surface" in changed:  # otherwise the surface stays as it is (e.g. hidden on open)
            layer.actor.visibility = vp.wanted("surface") and layer.data.n_points > 0
        if self.actor is not None:
            self._place(self._right_renderer() if mode == "side" else vp.renderer)
            self.actor.visibility = mode != "inrview"
        if mode == "side":
            self._attach_right()
        else:
            self._detach_right()
        self._label(
            vp.renderer, "main", "inrview" if mode == "side" else (POISSON_LABEL if mode == "poisson" else None)
        )
        if self._right is not None:
            self._label(self._right, "right", POISSON_LABEL if mode == "side" else None)
        vp.request_render()

    def _place(self, renderer) -> None:
        if self._actor_in is renderer:
            return
        if self._actor_in is not None:
            self._actor_in.RemoveActor(self.actor)
        if renderer is not None:
            renderer.AddActor(self.actor)
        self._actor_in = renderer

    def _right_renderer(self):
        if self._right is None:
            import vtk

            main = self.vp.renderer
            r = vtk.vtkRenderer()
            r.SetActiveCamera(main.GetActiveCamera())  # one camera for both halves
            r.SetBackground(main.GetBackground())
            r.SetBackground2(main.GetBackground2())
            r.SetGradientBackground(main.GetGradientBackground())
            r.AutomaticLightCreationOff()
            lights = main.GetLights()
            lights.InitTraversal()
            for _ in range(lights.GetNumberOfItems()):
                r.AddLight(lights.GetNextItem())  # the same light kit (camera lights follow the shared camera)
            r.SetUseFXAA(main.GetUseFXAA())
            self._right = r
        return self._right

    def _attach_right(self) -> None:
        vp, r = self.vp, self._right_renderer()
        rw = vp.render_window
        r.SetUseFXAA(vp.renderer.GetUseFXAA())
        if not rw.HasRenderer(r):
            rw.AddRenderer(r)
            vp.renderer.SetViewport(0.0, 0.0, 0.5, 1.0)
            r.SetViewport(0.5, 0.0, 1.0, 1.0)
            self._observer = rw.AddObserver("StartEvent", self._clip)

    def _detach_right(self) -> None:
        vp = self.vp
        rw = vp.render_window
        if self._right is not None and rw is not None and rw.HasRenderer(self._right):
            rw.RemoveRenderer(self._right)
            if self._observer is not None:
                rw.RemoveObserver(self._observer)
                self._observer = None
        if vp.renderer is not None:
            vp.renderer.SetViewport(0.0, 0.0, 1.0, 1.0)

    def _clip(self, *_):
        """One clipping range for the shared camera, from what both halves draw (each half alone would clip
        the other's geometry)."""
        main = self.vp.renderer
        b = union_bounds([main.ComputeVisiblePropBounds(), self._right.ComputeVisiblePropBounds()])
        if b is not None:
            main.ResetCameraClippingRange(*b)

    def _label(self, renderer, key: str, text: str | None) -> None:
        actor = self._labels.get(key)
        if text is None:
            if actor is not None:
                actor.SetVisibility(False)
            return
        if actor is None:
            actor = text_actor(text, LABEL_SIZE)
            renderer.AddActor(actor)
            self._labels[key] = actor
        actor.SetInput(text)
        actor.SetVisibility(True)

    # -- pictures -------------------------------------------------------------------------------------
    def export_into(self, off: pv.Plotter, scale: float = 1.0) -> None:
        """Add the Poisson surface and the labels to an off-screen plotter built like the view (one subplot,
        or two side by side); scale: the picture's height over the view's (for the labels' size)."""
        if not self.has_poisson or self.mode == "inrview":
            return
        size = max(8, round(LABEL_SIZE * scale))
        if self.mode == "side":
            off.renderers[0].AddActor(text_actor("inrview", size))
            off.subplot(0, 1)
        else:
            off.subplot(0, 0)
        actor = off.add_mesh(
            self.data, name="poisson", reset_camera=False, render=False, color=POISSON_COLOR, **SURFACE_STYLE
        )
        actor.prop.interpolation = "phong"
        off.renderer.AddActor(text_actor(POISSON_LABEL, size))
        off.subplot(0, 0)


def text_actor(text: str, size: int):
    """A label at the top left of its renderer's viewport."""
    import vtk

    actor = vtk.vtkTextActor()
    actor.SetInput(text)
    prop = actor.GetTextProperty()
    prop.SetFontSize(int(size))
    prop.SetColor(pv.Color(LABEL_COLOR).float_rgb)
    prop.SetVerticalJustificationToTop()
    actor.GetPositionCoordinate().SetCoordinateSystemToNormalizedViewport()
    actor.SetPosition(0.03, 0.96)
    return actor
