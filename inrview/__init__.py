"""inrview: implicit neural representations of shapes and images, trained and viewed live.

The public API: load a file, fit a field, extract a mesh, measure it. Nothing here imports Qt.
"""
__version__ = "0.1.0"

from .config import FitConfig, ModelConfig, SamplingConfig, TrainConfig  # noqa: E402
from .errors import CheckpointError, InrviewError, LoadError, NoSurfaceError  # noqa: E402
__all__ = ["FitConfig", "ModelConfig", "SamplingConfig", "TrainConfig", "InrviewError", "LoadError",
           "CheckpointError", "NoSurfaceError", "Geometry", "Normalization", "report", "load", "save_mesh",
           "Field", "Mesh", "extract_mesh", "slice_field", "surface_metrics", "fit", "FitResult",
           "ShapeSession", "load_field", "resume_session", "demo_shape"]


#: Public names loaded on first use (PEP 562), so that `import inrview` and the command line's option
#: checks do not pay for torch: name -> module.
_LAZY = {"Geometry": ".io.geometry", "Normalization": ".io.geometry", "report": ".io.geometry", "load": ".io.loaders",
         "save_mesh": ".io.export", "Field": ".field", "Mesh": ".extract", "extract_mesh": ".extract",
         "slice_field": ".extract", "surface_metrics": ".metrics", "FitResult": ".api", "ShapeSession": ".api",
         "fit": ".api", "load_field": ".api", "resume_session": ".api"}


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'inrview' has no attribute {name!r}")


def resource(name: str) -> str:
    """Path of a bundled resource file (from a source checkout or an installed wheel)."""
    from pathlib import Path

    here = Path(__file__).resolve().parent.parent / "resources" / name
    if here.exists():
        return str(here)
    from importlib.resources import files

    return str(files("inrview.resources") / name)


def demo_shape() -> str:
    """Path of the bundled demo mesh (Keenan Crane's Spot, CC0)."""
    return resource("spot.obj")
