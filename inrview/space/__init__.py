"""Shape spaces: one latent-conditioned network over a collection of shapes (DeepSDF's auto-decoder, or
occupancy), with completion from points, interpolation and the codes' principal directions.

    >>> from inrview.space import SpaceFit, read_space, complete
    >>> fit = SpaceFit("femurs/"); [s for s in fit.run()]; fit.save("femurs.safetensors")
    >>> space = read_space("femurs.safetensors")
    >>> result = complete(space, scan_points)          # a new code, the decoder frozen
    >>> mesh = space.decode(result.code, 128, result.normalization)
    >>> done = complete_scan(space, scan_points, scan_normals, seconds=30)  # what `space complete` runs:
    >>> done.mesh, done.confidence, done.refinement    # pose, adaptation, refit of a dense scan
"""

from .complete import Completion, CompletionSnapshot, complete, complete_steps
from .explore import info, interpolate, principal_directions, write_interpolation
from .fit import SpaceFit
from .model import Space, read_space, save_space
from .scan import ScanProgress, ScanResult, complete_scan, complete_scan_steps

__all__ = [
    "SpaceFit",
    "Space",
    "read_space",
    "save_space",
    "complete",
    "complete_steps",
    "Completion",
    "CompletionSnapshot",
    "complete_scan",
    "complete_scan_steps",
    "ScanResult",
    "ScanProgress",
    "interpolate",
    "write_interpolation",
    "info",
    "principal_directions",
]
