"""The files that ship with inrview (the demo shape and picture), found in a source checkout or a wheel."""

from __future__ import annotations

from pathlib import Path


def resource(name: str) -> str:
    """Path (str) of a bundled resource file (inrview/resources/, in a source checkout and in a wheel alike)."""
    return str(Path(__file__).resolve().parent.parent / "resources" / name)


def demo_shape() -> str:
    """Path of the bundled demo mesh (Keenan Crane's Spot, CC0)."""
    return resource("spot.obj")


def demo_image() -> str:
    """Path of the bundled demo picture (astronaut Eileen Collins, NASA, public domain; 256x256)."""
    return resource("astronaut.png")
