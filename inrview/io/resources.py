"""The files that ship with inrview (the demo shape and picture), found in a source checkout or a wheel."""
from __future__ import annotations

from pathlib import Path


def resource(name: str) -> str:
    """Path (str) of a bundled resource file, from a source checkout or an installed wheel."""
    here = Path(__file__).resolve().parent.parent.parent / "resources" / name
    if here.exists():
        return str(here)
    from importlib.resources import files

    return str(files("inrview.resources") / name)


def demo_shape() -> str:
    """Path of the bundled demo mesh (Keenan Crane's Spot, CC0)."""
    return resource("spot.obj")


def demo_image() -> str:
    """Path of the bundled demo picture (astronaut Eileen Collins, NASA, public domain; 256x256)."""
    return resource("astronaut.png")
