"""Viewpoints of the 3D view as plain data: camera presets, a camera's state as a dict, and that state as one
line of text (what Copy view puts on the clipboard, what saved views keep in the settings).

The text is `inrview-view {json}`: position, focal point, up vector, view angle, orthographic flag and scale.
Pasting anything else is refused with one line saying what was expected.
"""

from __future__ import annotations

import json

import numpy as np

PREFIX = "inrview-view"
KEYS = ("position", "focal_point", "up", "view_angle", "parallel", "scale")

#: Camera presets: name -> direction from the focal point to the camera, given for a +Y-up scene.
PRESETS = {
    "+X": (1, 0, 0),
    "-X": (-1, 0, 0),
    "+Y": (0, 1, 0),
    "-Y": (0, -1, 0),
    "+Z": (0, 0, 1),
    "-Z": (0, 0, -1),
    "iso": (1.35, 0.75, -1.0),
}  # a three-quarter view from above (Spot shows its face and flank)


def preset_direction(name: str, up_axis: int) -> tuple[np.ndarray, np.ndarray]:
    """(unit direction from the focal point to the camera, up vector) of a preset with Y (1) or Z (2) up."""
    d = np.array(PRESETS[name], dtype=float)
    if up_axis == 2:  # presets are written for +Y up; with Z up, Y becomes Z and Z becomes -Y
        d = np.array([d[0], -d[2], d[1]])
    d /= np.linalg.norm(d)
    up = np.zeros(3)
    up[up_axis] = 1.0
    if abs(np.dot(d, up)) > 0.99:  # looking along the up axis
        up = np.roll(up, -1) if name.startswith("+") else -np.roll(up, -1)
    return d, up


def state_of(camera) -> dict:
    """A pyvista camera's state as plain floats."""
    return {
        "position": [float(v) for v in camera.position],
        "focal_point": [float(v) for v in camera.focal_point],
        "up": [float(v) for v in camera.up],
        "view_angle": float(camera.view_angle),
        "parallel": bool(camera.parallel_projection),
        "scale": float(camera.parallel_scale),
    }


def apply_state(camera, state: dict) -> None:
    camera.position = tuple(state["position"])
    camera.focal_point = tuple(state["focal_point"])
    camera.up = tuple(state["up"])
    camera.view_angle = state["view_angle"]
    camera.parallel_projection = state["parallel"]
    camera.parallel_scale = state["scale"]


def to_text(state: dict) -> str:
    return f"{PREFIX} {json.dumps({k: state[k] for k in KEYS}, separators=(',', ':'))}"


def from_text(text: str) -> dict:
    """The state in a line of `to_text`; raises ValueError with one line naming what is wrong."""
    text = (text or "").strip()
    if not text.startswith(PREFIX):
        raise ValueError(f"not a viewpoint: expected a line starting with '{PREFIX}' (use Copy view)")
    try:
        raw = json.loads(text[len(PREFIX) :])
        state = {
            "position": _vec(raw["position"]),
            "focal_point": _vec(raw["focal_point"]),
            "up": _vec(raw["up"]),
            "view_angle": float(raw["view_angle"]),
            "parallel": bool(raw["parallel"]),
            "scale": float(raw["scale"]),
        }
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"not a usable viewpoint ({str(e)[:80]})") from None
    if np.allclose(state["position"], state["focal_point"]) or not np.any(state["up"]):
        raise ValueError("not a usable viewpoint (the camera sits on its focal point or has no up vector)")
    if not (0 < state["view_angle"] < 180 and state["scale"] > 0):
        raise ValueError("not a usable viewpoint (view angle or scale out of range)")
    return state


def _vec(v) -> list[float]:
    out = [float(x) for x in v]
    if len(out) != 3 or not np.all(np.isfinite(out)):
        raise ValueError("a vector of three finite numbers expected")
    return out
