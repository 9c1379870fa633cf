"""inrview: implicit neural representations of shapes and images, trained and viewed live.

The public API: load a file, fit a field, extract a mesh, measure it. Nothing here imports Qt.
"""
__version__ = "0.1.0"

from .config import FitConfig, ModelConfig, SamplingConfig, TrainConfig  # noqa: E402
from .errors import CheckpointError, InrviewError, LoadError, NoSurfaceError  # noqa: E402
from .io.geometry import Geometry, Normalization, report  # noqa: E402
from .io.loaders import load  # noqa: E402
from .io.export import save_mesh  # noqa: E402
from .field import Field  # noqa: E402
from .extract import Mesh, extract_mesh, slice_field  # noqa: E402
from .metrics import surface_metrics  # noqa: E402
from .api import FitResult, ShapeSession, fit, load_field, resume_session  # noqa: E402

__all__ = ["FitConfig", "ModelConfig", "SamplingConfig", "TrainConfig", "InrviewError", "LoadError",
           "CheckpointError", "NoSurfaceError", "Geometry", "Normalization", "report", "load", "save_mesh",
           "Field", "Mesh", "extract_mesh", "slice_field", "surface_metrics", "fit", "FitResult",
           "ShapeSession", "load_field", "resume_session", "demo_shape"]


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
