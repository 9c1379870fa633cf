"""inrview: implicit neural representations of shapes and images, trained and viewed live.

The public API: load a file, fit a field, extract a mesh, measure it. Nothing here imports Qt.

The core is layered, each package importing only from those below it (import-linter checks it):
config/errors < io < sampling < models < training < field < extract < metrics < the pipelines
(shape, image < recon < space) < app < cli.
"""
from .config import FitConfig, ModelConfig, SamplingConfig, TrainConfig
from .errors import CheckpointError, InrviewError, LoadError, NoSurfaceError
from .extract import Mesh, extract_mesh, slice_field
from .field import Field
from .io.export import save_mesh
from .io.geometry import Geometry, Normalization, report
from .io.loaders import load
from .io.resources import demo_image, demo_shape, resource
from .metrics import surface_metrics
from .shape import FitResult, ShapeSession, fit, load_field, resume_session
from .version import __version__

__all__ = ["__version__", "FitConfig", "ModelConfig", "SamplingConfig", "TrainConfig", "InrviewError", "LoadError",
           "CheckpointError", "NoSurfaceError", "Geometry", "Normalization", "report", "load", "save_mesh",
           "Field", "Mesh", "extract_mesh", "slice_field", "surface_metrics", "fit", "FitResult",
           "ShapeSession", "load_field", "resume_session", "demo_shape", "demo_image", "resource"]
