"""The overlays' actors in the 3D view: one per overlay, with its colour and opacity, added to the viewport
as an "extra" (common/viewport.py) so that screenshots and time-lapse frames include them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyvista as pv


@dataclass
class Overlay:
    name: str
    path: str
    data: pv.PolyData
    actor: object
    color: str
    opacity: float


class OverlayView:
    split = False  # drawn in the same view as the surface

    def __init__(self, viewport):
        self.vp = viewport
        self.items: list[Overlay] = []

    def add(self, name: str, path: str, points: np.ndarray, faces: np.ndarray | None, color: str, opacity: float):
        if faces is not None and len(faces):
            poly = pv.PolyData(points, np.column_stack([np.full(len(faces), 3), faces]).ravel())
            style = dict(color=color, opacity=opacity, smooth_shading=True, specular=0.2)
        else:
            poly = pv.PolyData(points)
            style = dict(color=color, opacity=opacity, style="points", point_size=3.0)
        actor = self.vp.add_mesh(
            poly, name=f"overlay_{len(self.items)}_{name}", reset_camera=False, render=False, **style
        )
        self.items.append(Overlay(name, path, poly, actor, color, opacity))
        self.vp.request_render()
        return self.items[-1]

    def set_color(self, i: int, color: str) -> None:
        o = self.items[i]
        o.color = color
        o.actor.prop.color = color
        self.vp.request_render()

    def set_opacity(self, i: int, opacity: float) -> None:
        o = self.items[i]
        o.opacity = float(opacity)
        o.actor.prop.opacity = o.opacity
        self.vp.request_render()

    def remove(self, i: int) -> None:
        o = self.items.pop(i)
        self.vp.remove_actor(o.actor, render=False)
        self.vp.request_render()

    # -- the viewport's extra protocol ----------------------------------------------------------------
    def bounds(self) -> list:
        return [o.data.bounds for o in self.items if o.actor.visibility]

    def export_into(self, off: pv.Plotter, scale: float = 1.0) -> None:
        for o in self.items:
            actor = off.add_mesh(o.data, reset_camera=False, render=False, color=o.color, opacity=o.opacity)
            actor.prop.style = o.actor.prop.style
            actor.prop.point_size = o.actor.prop.point_size * scale

    def release(self) -> None:
        """Nothing of its own in the render window."""
