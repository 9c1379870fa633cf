"""The shape pipeline: a mesh or point cloud in, a trained field and its surface out.

- `ShapePipeline(cfg, hooks, budget)`: the one sequence load -> prepare -> sampling -> training -> extraction
  -> writing -> measures that the command line, the API and the app drive (pipeline.py); `Hooks` for what a
  caller adds; `Budget` for wall-clock time.
- `ShapeSession(geometry, cfg)`: one shape step by step (`run()` yields training snapshots with previews,
  `extract()`, `metrics()`, `save_checkpoint()`); `ShapeSession.from_file(path, cfg)`.
- `fit(source, cfg, output) -> FitResult`: the pipeline in one call.
- `load_field(checkpoint) -> (Field, header)` and `resume_session(checkpoint)`.

The pipeline and fit() import without torch; the session and checkpoint names load on first use (PEP 562),
bringing torch in (see pipeline.heavy, the seam).
"""

from ..lazy import lazy_attributes
from .fit import fit
from .hooks import Budget, Hooks, ProgressHook
from .pipeline import FitResult, ShapePipeline

__all__ = [
    "Budget",
    "Hooks",
    "ProgressHook",
    "ShapePipeline",
    "ShapeSession",
    "make_task",
    "FitResult",
    "fit",
    "config_from_header",
    "load_field",
    "resume_session",
]

_LAZY = {
    "ShapeSession": ".session",
    "make_task": ".session",
    "config_from_header": ".checkpoints",
    "load_field": ".checkpoints",
    "resume_session": ".checkpoints",
}


__getattr__ = lazy_attributes(__name__, _LAZY, globals())
