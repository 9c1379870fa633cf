"""A completed surface coloured by how much to trust it (GUI thread only).

The worker sends a ConfidenceFrame when a completion ends: the surface it drew and, per vertex, the
confidence (1 where the scan's points are, falling where the surface was inferred and the completion's
starts disagree). Here it becomes the 'confidence' layer, drawn in place of the plain surface (which is
hidden while it shows), with a colour bar; the scan's points stay drawn on top (the 'input' layer).
"""

from __future__ import annotations

import pyvista as pv

from ..watch.draw import BAR_STYLE as WATCH_BAR_STYLE

#: Colours from low (red: inferred, the starts disagree) to high (green: observed) confidence.
CMAP = "RdYlGn"
BAR_TITLE = "confidence (1: observed; low: inferred, starts disagree)"
BAR_STYLE = {**WATCH_BAR_STYLE, "position_x": 0.2, "position_y": 0.03, "width": 0.6, "fmt": "%.1f"}


class ConfidenceView:
    """The confidence layer and its bar in one viewport; shown or hidden by the panel's toggle."""

    def __init__(self, viewport):
        self.vp = viewport
        self.frame = None  # the ConfidenceFrame drawn (None: nothing to show)
        self.wanted = True

    def set(self, frame) -> None:
        """Draw a finished completion's confidence (shown when the toggle is on)."""
        self.frame = frame
        self._draw()

    def show(self, on: bool) -> None:
        self.wanted = on
        self._draw()

    def clear(self) -> None:
        """A new surface replaces the completed one: the colours no longer belong to it."""
        self.frame = None
        self._draw()

    @property
    def showing(self) -> bool:
        return self.frame is not None and self.wanted and self.vp.visible("confidence")

    def _draw(self) -> None:
        if self.frame is None or not self.wanted:
            self.vp.remove("confidence")
            if BAR_TITLE in self.vp.scalar_bars:
                self.vp.remove_scalar_bar(BAR_TITLE, render=False)
            self.vp.unhide("surface")
            self.vp.request_render()
            return
        s = self.frame.frame
        poly = pv.PolyData(s.points, s.cells)
        poly.point_data["Normals"] = s.normals
        poly.point_data.active_normals_name = "Normals"
        poly.point_data["confidence"] = self.frame.confidence
        layer = self.vp.set_layer(
            "confidence",
            poly,
            scalars="confidence",
            cmap=CMAP,
            clim=(0.0, 1.0),
            smooth_shading=False,
            specular=0.15,
            diffuse=0.85,
            ambient=0.2,
            show_scalar_bar=False,
        )
        layer.actor.mapper.scalar_range = (0.0, 1.0)
        if BAR_TITLE not in self.vp.scalar_bars:
            self.vp.add_scalar_bar(BAR_TITLE, mapper=layer.actor.mapper, **BAR_STYLE)
        self.vp.hide("surface")
        self.vp.request_render()
