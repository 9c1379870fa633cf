"""`--history`: record a training command's run in the history of runs (inrview.runs).

The command itself is not changed: before it runs, its --metrics-json and --checkpoint default to files in
a fresh folder of the store (so the run can be reopened and continued), every progress snapshot adds a point
to the loss curve, and once it has returned the run is recorded from the JSON it wrote. A command that runs
another (`fit CLOUD` runs `reconstruct`) is recorded once, by the inner one.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

#: Recorders of the commands now running, outermost first.
_ACTIVE: list[Recorder] = []

#: Top-level measures that are bookkeeping rather than quality (kept out of a run's measures).
NOT_MEASURES = ("start_step", "seconds", "train_seconds", "steps")


def add_history_arg(p) -> None:
    p.add_argument(
        "--history",
        action="store_true",
        help="record this run (settings, measures, time, loss curve, outputs) in the history of runs: "
        "`inrview runs` lists them, the app's Runs dock reopens and compares them",
    )


class Recorder:
    def __init__(self, args):
        from ..runs import RunStore

        self.store = RunStore()
        self.folder = self.store.new_folder()
        self.t0 = time.perf_counter()
        self.curve: list[tuple[int, float]] = []
        self.nested = False
        if not getattr(args, "metrics_json", None):
            args.metrics_json = str(self.folder / "metrics.json")
        if hasattr(args, "checkpoint") and not args.checkpoint:
            args.checkpoint = str(self.folder / "checkpoint.safetensors")

    def note(self, snap) -> None:
        total = (snap.losses or {}).get("total")
        if total is not None and (not self.curve or self.curve[-1][0] != snap.step):
            self.curve.append((int(snap.step), float(total)))

    def finish(self, args, code: int):
        """Record the run; the Run, or None when an inner command recorded it or nothing was written."""
        if self.nested:
            return None
        path = Path(args.metrics_json)
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            data = {}
        if not data and not self.curve:  # refused before training began: not a run
            return None
        measures = {
            k: v
            for k, v in data.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in NOT_MEASURES
        }
        outputs = {
            "mesh" if args.command in ("fit", "reconstruct") else "image": getattr(args, "output", None),
            "checkpoint": getattr(args, "checkpoint", None),
            "metrics": args.metrics_json,
        }
        outputs = {k: str(Path(v).resolve()) for k, v in outputs.items() if v and Path(v).exists()}
        sub = getattr(args, "image_command", None) or getattr(args, "space_command", None)
        command = f"{args.command} {sub}" if sub else args.command
        kind = "image" if args.command == "image" else ("cloud" if args.command == "reconstruct" else "shape")
        return self.store.add(
            command=command,
            kind=kind,
            source=str(Path(str(data.get("input") or getattr(args, "input", "") or "")).resolve()),
            status="finished" if code == 0 else "failed",
            steps=int(data.get("steps") or (self.curve[-1][0] if self.curve else 0)),
            seconds=float(data.get("seconds") or time.perf_counter() - self.t0),
            folder=self.folder,
            settings=data.get("config") or data.get("train") or {},
            measures=measures,
            outputs=outputs,
            curve=self.curve,
        )


def start(args) -> Recorder | None:
    """A recorder when the command was given --history."""
    if not getattr(args, "history", False):
        return None
    for outer in _ACTIVE:
        outer.nested = True
    rec = Recorder(args)
    _ACTIVE.append(rec)
    return rec


def stop(rec: Recorder | None, args, code: int) -> None:
    if rec is None:
        return
    _ACTIVE.remove(rec)
    run = rec.finish(args, code)
    if run is None and rec.folder.is_dir() and not any(rec.folder.iterdir()):
        rec.folder.rmdir()  # nothing was recorded: leave no empty folder behind
    if run is not None and not getattr(args, "quiet", False):
        import sys

        print(f"recorded as run #{run.id} (`inrview runs show {run.id}`)", file=sys.stderr)


def note(snap) -> None:
    """A progress snapshot of the innermost recorded command (a point of its loss curve)."""
    if _ACTIVE:
        _ACTIVE[-1].note(snap)
