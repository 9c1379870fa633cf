"""The store: one SQLite file (runs.sqlite) and a folder per run for the files the run wrote there.

A run is a row: when it began, which command made it, the input, how it ended, its steps and wall seconds,
its settings (the configuration dictionary a checkpoint records), its final measures, its outputs
({name: path}) and its loss curve ([[step, total loss], ...]). Everything but the numbers is JSON text, so
the file stays readable with any SQLite client. The root is $INRVIEW_RUNS when set (tests point it at a
temporary folder), else the user's data folder (platformdirs), e.g. ~/.local/share/inrview/runs.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InrviewError

#: The environment variable naming the store's folder.
ENV = "INRVIEW_RUNS"

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    command TEXT NOT NULL,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    steps INTEGER NOT NULL,
    seconds REAL NOT NULL,
    folder TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    settings TEXT NOT NULL,
    measures TEXT NOT NULL,
    outputs TEXT NOT NULL,
    curve TEXT NOT NULL
)
"""
JSON_FIELDS = ("settings", "measures", "outputs", "curve")
COLUMNS = ("id", "created", "command", "kind", "source", "status", "steps", "seconds", "folder", "label")


def default_root() -> Path:
    """$INRVIEW_RUNS, else the user's data folder for inrview plus 'runs'."""
    env = os.environ.get(ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("inrview", appauthor=False)) / "runs"


def _finite(value):
    """JSON cannot hold NaN or infinity: they are stored as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


@dataclass(frozen=True)
class Run:
    """One recorded run (see the module's docstring for the fields)."""

    id: int
    created: float
    command: str
    kind: str
    source: str
    status: str
    steps: int
    seconds: float
    folder: str
    label: str = ""
    settings: dict = field(default_factory=dict)
    measures: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)
    curve: list = field(default_factory=list)

    @property
    def model(self) -> str:
        """The network family ('' when the settings do not say)."""
        m = self.settings.get("model")
        return str(m.get("kind", "")) if isinstance(m, dict) else ""

    @property
    def name(self) -> str:
        """'#12 spot' (the label when it has one, else the input's file name without its suffix)."""
        return f"#{self.id} {self.label or Path(self.source).stem or self.kind}"

    def output(self, name: str) -> Path | None:
        """The output `name` ('mesh', 'checkpoint', ...) when it was written and still exists."""
        p = self.outputs.get(name)
        return Path(p) if p and Path(p).exists() else None

    def when(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(self.created))

    def main_measure(self) -> tuple[str, float] | None:
        """The measure a list shows: Chamfer-L1 for shapes, PSNR for pictures, else the final loss."""
        for key in ("chamfer_l1", "psnr", "final_loss"):
            v = self.measures.get(key)
            if isinstance(v, (int, float)):
                return key, float(v)
        return None

    def measure_text(self) -> str:
        """main_measure as a list shows it ('CD 4.00e-03', '31.20 dB', 'loss 0.0123'; '-' without one)."""
        m = self.main_measure()
        if m is None:
            return "-"
        key, v = m
        return {"chamfer_l1": f"CD {v:.2e}", "psnr": f"{v:.2f} dB", "final_loss": f"loss {v:.3g}"}[key]

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in (*COLUMNS, *JSON_FIELDS)}


class RunStore:
    """The runs under `root` (default: default_root()); the file is created on first use."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root is not None else default_root()
        self.path = self.root / "runs.sqlite"

    def _connect(self) -> sqlite3.Connection:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=10)
            db.execute(SCHEMA)
        except (OSError, sqlite3.Error) as err:
            raise InrviewError(f"{self.path}: cannot open the history of runs ({err})") from None
        db.row_factory = sqlite3.Row
        return db

    def new_folder(self) -> Path:
        """A fresh folder for the files of a run about to be recorded (its checkpoint, mesh, metrics)."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        folder = self.root / "files" / f"{stamp}-{secrets.token_hex(3)}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def add(
        self,
        *,
        command: str,
        kind: str,
        source: str,
        status: str = "finished",
        steps: int = 0,
        seconds: float = 0.0,
        folder: str | os.PathLike = "",
        label: str = "",
        settings: dict | None = None,
        measures: dict | None = None,
        outputs: dict | None = None,
        curve: list | None = None,
        created: float | None = None,
    ) -> Run:
        """Record a run; returns it with its id."""
        row = {
            "created": time.time() if created is None else float(created),
            "command": command,
            "kind": kind,
            "source": str(source),
            "status": status,
            "steps": int(steps),
            "seconds": float(seconds),
            "folder": str(folder),
            "label": label,
            "settings": json.dumps(_finite(settings or {})),
            "measures": json.dumps(_finite(measures or {})),
            "outputs": json.dumps({k: str(v) for k, v in (outputs or {}).items() if v}),
            "curve": json.dumps(_finite([[int(s), float(v)] for s, v in (curve or [])])),
        }
        names = ", ".join(row)
        with self._connect() as db:
            cur = db.execute(f"INSERT INTO runs ({names}) VALUES ({', '.join('?' * len(row))})", tuple(row.values()))
            run_id = cur.lastrowid
        db.close()
        return self.get(run_id)

    def get(self, run_id: int) -> Run:
        with self._connect() as db:
            row = db.execute("SELECT * FROM runs WHERE id = ?", (int(run_id),)).fetchone()
        db.close()
        if row is None:
            raise InrviewError(f"no run #{run_id} in {self.path}")
        return _run(row)

    def list(
        self, *, text: str = "", kind: str = "", model: str = "", status: str = "", limit: int | None = None
    ) -> list[Run]:
        """Runs newest first; text matches the input, the command or the label (case-insensitive), kind, model
        and status must be equal when given."""
        if not self.path.exists():
            return []
        with self._connect() as db:
            rows = db.execute("SELECT * FROM runs ORDER BY id DESC").fetchall()
        db.close()
        runs = [_run(r) for r in rows]
        t = text.lower()
        runs = [
            r
            for r in runs
            if (not t or t in f"{r.source} {r.command} {r.label}".lower())
            and (not kind or r.kind == kind)
            and (not model or r.model == model)
            and (not status or r.status == status)
        ]
        return runs[:limit] if limit else runs

    def set_label(self, run_id: int, label: str) -> Run:
        self.get(run_id)
        with self._connect() as db:
            db.execute("UPDATE runs SET label = ? WHERE id = ?", (label, int(run_id)))
        db.close()
        return self.get(run_id)

    def remove(self, run_id: int) -> Run:
        """Forget a run and delete the files it wrote into its own folder (files elsewhere are kept)."""
        import shutil

        run = self.get(run_id)
        with self._connect() as db:
            db.execute("DELETE FROM runs WHERE id = ?", (int(run_id),))
        db.close()
        folder = Path(run.folder) if run.folder else None
        if folder is not None and folder.is_dir() and self.root in folder.parents:
            shutil.rmtree(folder, ignore_errors=True)
        return run


def _run(row: sqlite3.Row) -> Run:
    values = {k: row[k] for k in COLUMNS}
    for k in JSON_FIELDS:
        try:
            values[k] = json.loads(row[k])
        except ValueError:
            values[k] = {} if k != "curve" else []
    return Run(**values)
