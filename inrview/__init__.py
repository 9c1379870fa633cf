"""inrview: implicit neural representations of shapes and images, trained and viewed live.

The public API: load a file, fit a field, extract a mesh, measure it. Nothing here imports Qt.

The packages are layered, each importing only from those below it; the order is written once, in the
import-linter contract of pyproject.toml ([tool.importlinter]), which the test command checks.

Names other than the configuration and the errors load on first use (PEP 562), so that `import inrview`
and the command line's option checks do not pay for torch.
"""

from .config import FitConfig, ModelConfig, SamplingConfig, TrainConfig
from .errors import CheckpointError, InrviewError, LoadError, NoSurfaceError
from .io.resources import demo_image, demo_shape, resource
from .lazy import lazy_attributes
from .version import __version__

__all__ = [
    "__version__",
    "FitConfig",
    "ModelConfig",
    "SamplingConfig",
    "TrainConfig",
    "InrviewError",
    "LoadError",
    "CheckpointError",
    "NoSurfaceError",
    "Geometry",
    "Normalization",
    "report",
    "load",
    "save_mesh",
    "Field",
    "Mesh",
    "extract_mesh",
    "slice_field",
    "surface_metrics",
    "fit",
    "FitResult",
    "ShapeSession",
    "load_field",
    "resume_session",
    "demo_shape",
    "demo_image",
    "resource",
]

#: Public names loaded on first use: name -> module.
_LAZY = {
    "Geometry": ".io.geometry",
    "Normalization": ".io.geometry",
    "report": ".io.geometry",
    "load": ".io.loaders",
    "save_mesh": ".io.export",
    "Field": ".field",
    "Mesh": ".extract",
    "extract_mesh": ".extract",
    "slice_field": ".extract",
    "surface_metrics": ".metrics",
    "FitResult": ".shape",
    "ShapeSession": ".shape",
    "fit": ".shape",
    "load_field": ".shape",
    "resume_session": ".shape",
}


__getattr__ = lazy_attributes(__name__, _LAZY, globals())
