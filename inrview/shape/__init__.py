"""The shape pipeline: a mesh or point cloud in, a trained field and its surface out.

- `ShapeSession(geometry, cfg)`: one shape step by step (`run()` yields training snapshots with previews,
  `extract()`, `metrics()`, `save_checkpoint()`); `ShapeSession.from_file(path, cfg)`.
- `fit(source, cfg, output) -> FitResult`: load, train, extract, measure and save in one call.
- `load_field(checkpoint) -> (Field, header)` and `resume_session(checkpoint)`.
"""

from .checkpoints import config_from_header, load_field, resume_session
from .fit import EXTRACTION_RESERVE, FitResult, fit, training_seconds
from .session import ShapeSession, make_task

__all__ = [
    "EXTRACTION_RESERVE",
    "training_seconds",
    "ShapeSession",
    "make_task",
    "FitResult",
    "fit",
    "config_from_header",
    "load_field",
    "resume_session",
]
