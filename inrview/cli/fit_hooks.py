"""What the shape commands (`inrview fit`, `inrview reconstruct`) add to the shape pipeline: the output
checks made before anything loads, and the hooks for the progress bar, time-lapse frames and the files
written (mesh, checkpoints, time-lapse), each rescued to the temporary folder when its path fails."""

from __future__ import annotations

import os
import time
from pathlib import Path

from .. import cli
from ..config import FitConfig
from ..io.export import save_mesh
from ..io.formats import CHECKPOINT_FORMATS, MESH_EXPORT_FORMATS
from ..shape.pipeline import Hooks
from .checks import check_output, check_training_memory, grid_bytes, need_memory, save_safely
from .common import Progress
from .timelapse import shape_recorder

MESH_HELP = "output mesh (.ply, .obj, .stl, .glb, .off)"

#: The progress bar's label and position (0..1 of the part after training) as each phase after training begins.
PHASE_BAR = {"extraction": ("extracting", 0.0), "writing": ("writing", 0.7), "measures": ("measuring", 0.75)}
#: Seconds an interpreter may take from its process's start to importing the command line. A longer gap
#: means the process began as something else that then became this command (a shell script that ends in
#: `exec inrview ...`): its start is not the command's, and the import time is used instead.
MAX_STARTUP = 5.0


def check_mesh_outputs(a, cfg: FitConfig) -> None:
    """Refuse bad output paths and sizes that cannot fit in memory, before anything is loaded."""
    check_output(a.output, "-o/--output", MESH_EXPORT_FORMATS)
    check_output(a.checkpoint, "--checkpoint", CHECKPOINT_FORMATS)
    check_output(a.metrics_json, "--metrics-json")
    need_memory(grid_bytes(cfg.resolution), "--resolution", f"extraction at {cfg.resolution} cells per side")
    check_training_memory(cfg.model, 3, cfg.train.batch_size)


def command_started() -> float:
    """The perf_counter() time this command's process began, so that a --seconds budget counts the
    interpreter's own start-up too (read from /proc on Linux; elsewhere, or when the process began more than
    MAX_STARTUP seconds before the command line was imported, when it was imported: cli.STARTED)."""
    try:
        with open("/proc/self/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        since = time.clock_gettime(time.CLOCK_BOOTTIME) - int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, AttributeError, IndexError):
        return cli.STARTED
    began = time.perf_counter() - since
    return cli.STARTED if cli.STARTED - began > MAX_STARTUP else min(cli.STARTED, began)


def best_path(path) -> Path:
    """Where the best checkpoint of a run saved at path goes: '.best' before the suffix (x.safetensors ->
    x.best.safetensors)."""
    p = Path(path)
    return p.with_name(f"{p.stem}.best{p.suffix}")


class CommandHooks(Hooks):
    """The command line's part of a fit: a progress bar in percent of the whole command (its phases after
    training included), time-lapse frames (`timelapse`: (frames, orbit) or None), and the mesh, the
    checkpoint, the best checkpoint (when it is not the last) and the time-lapse written at the end.

    train: the TrainConfig the bar projects from; after: seconds expected after training (see Progress);
    timelapse: (session, frames, orbit degrees per frame) to record one, or None."""

    def __init__(self, a, train, after: float, desc: str = "training", timelapse=None):
        self.a = a
        self.recorder, self.final_frame = shape_recorder(*timelapse) if timelapse else (None, None)
        self.bar = Progress(train, a.quiet, desc=desc, after=after)

    def phase(self, name: str) -> None:
        if name in PHASE_BAR:
            self.bar.phase(*PHASE_BAR[name])

    def snapshot(self, snap) -> None:
        self.bar(snap)
        if self.recorder is not None:
            self.recorder(snap)

    def finish(self, mesh, session):
        if self.recorder is not None:
            self.recorder.finish(self.final_frame(mesh))
        return mesh

    def write(self, session, mesh, last) -> list:
        a = self.a
        problems = [
            save_safely(a.output, lambda p: save_mesh(p, mesh.vertices, mesh.faces), "mesh"),
            save_safely(a.checkpoint, session.save_checkpoint, "checkpoint"),
        ]
        best = session.best
        if a.checkpoint and best is not None and best.weights is not None and best.step != last.step:
            problems.append(
                save_safely(best_path(a.checkpoint), lambda p: session.save_checkpoint(p, best=True), "best checkpoint")
            )
        if self.recorder is not None:
            problems.append(save_safely(a.timelapse, self.recorder.save, "time-lapse"))
        return problems

    def close(self) -> None:
        self.bar.close()


def resolution_notice(say, mesh, asked: int) -> None:
    """Say so when a time budget made the surface coarser than asked."""
    if 0 < mesh.resolution < asked:
        say.notice(
            f"surface extracted at {mesh.resolution} cells per side instead of {asked}: the time left in "
            "the --seconds budget allowed no finer grid"
        )
