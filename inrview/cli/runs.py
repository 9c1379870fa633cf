"""`inrview runs`: the history of runs (inrview.runs): list and filter them, show one, label or remove one.

inrview runs                      the latest runs, newest first
inrview runs --source bunny       those whose input, command or label contains 'bunny'
inrview runs show 12 [--json]     everything recorded about run 12
"""

from __future__ import annotations

import json
import time

from ..errors import InrviewError
from .common import positive_int

ACTIONS = ("list", "show", "label", "remove")


def _args(p) -> None:
    p.add_argument("action", nargs="?", default="list", choices=ACTIONS, help="what to do (default: list)")
    p.add_argument("run", nargs="?", type=positive_int, help="the run's number (show, label, remove)")
    p.add_argument("text", nargs="?", help="the new label (label)")
    p.add_argument("--source", default="", metavar="TEXT", help="only runs whose input, command or label has TEXT")
    p.add_argument("--kind", default="", choices=["", "shape", "cloud", "image"], help="only runs of this kind")
    p.add_argument("--model", default="", metavar="FAMILY", help="only runs of this network family")
    p.add_argument("--status", default="", choices=["", "finished", "stopped", "failed"], help="only these")
    p.add_argument("--limit", type=positive_int, default=20, help="at most N runs (default 20)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_runs)


def cmd_runs(a) -> int:
    from ..runs import RunStore

    store = RunStore()
    if a.action != "list" and a.run is None:
        raise InrviewError(f"runs {a.action}: give the run's number (see `inrview runs`)")
    if a.action == "label" and a.text is None:
        raise InrviewError("runs label: give the run's number and the label")
    if a.action == "list":
        found = store.list(text=a.source, kind=a.kind, model=a.model, status=a.status, limit=a.limit)
        print(json.dumps([r.to_dict() for r in found], indent=2) if a.json else table(found, store))
        return 0
    if a.action == "show":
        run = store.get(a.run)
        print(json.dumps(run.to_dict(), indent=2) if a.json else describe(run))
    elif a.action == "label":
        print(store.set_label(a.run, a.text).name)
    else:
        print(f"removed run {store.remove(a.run).name}")
    return 0


def table(runs, store) -> str:
    """The runs as an aligned table (or a line saying there are none)."""
    if not runs:
        return f"no runs recorded in {store.path}"
    rows = [("#", "when", "command", "model", "input", "steps", "time", "measure", "status")]
    for r in runs:
        rows.append(
            (
                str(r.id),
                r.when(),
                r.command,
                r.model or "-",
                r.label or r.source.rsplit("/", 1)[-1],
                str(r.steps),
                f"{r.seconds:.1f} s",
                r.measure_text(),
                r.status,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)


def describe(run) -> str:
    """Everything about one run, one fact a line."""
    lines = [
        f"run {run.name}: {run.command} of {run.source}",
        f"  when      {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(run.created))}",
        f"  status    {run.status}, {run.steps} steps in {run.seconds:.1f} s",
    ]
    model = run.settings.get("model") if isinstance(run.settings.get("model"), dict) else {}
    if model:
        lines.append(f"  model     {model.get('kind')} {model.get('width')}x{model.get('depth')}")
    train = run.settings.get("train") if isinstance(run.settings.get("train"), dict) else {}
    if train:
        lines.append(
            "  training  "
            + ", ".join(
                f"{k} {train[k]}" for k in ("steps", "seconds", "batch_size", "lr", "seed") if train.get(k) is not None
            )
        )
    for k, v in sorted(run.measures.items()):
        lines.append(f"  {k:<9} {v:.6g}" if isinstance(v, float) else f"  {k:<9} {v}")
    for k, v in run.outputs.items():
        lines.append(f"  {k:<9} {v}")
    if run.curve:
        (s0, v0), (s1, v1) = run.curve[0], run.curve[-1]
        lines.append(f"  loss      {v0:.4g} at step {s0} -> {v1:.4g} at step {s1}")
    return "\n".join(lines)


#: The commands of this group: (name, help, option builder[, add_parser keywords]); see cli.GROUPS.
COMMANDS = (
    ("runs", "list, show, label or remove the recorded runs (`fit --history`, and every fit in the app)", _args),
)
