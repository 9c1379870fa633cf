"""Options given on the command line are for this run only: they never change the user's saved settings.

Two ways, by what the run is. A run that quits by itself (--quit) works on a throwaway copy of the settings
file: it starts with the user's choices, and whatever it writes (panels, recent files, window state) is
dropped with the copy. A window that stays open saves as usual when it closes, except the Model & training
values the options set (--model, --fit-steps, --fit-seconds): while the dock still shows exactly what the
options put there, the values saved before the run are written back.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from pathlib import Path

from .common.settings import Settings

#: The settings group of the Model & training dock (shape/model_panel.py).
GROUP = "train/"


@contextlib.contextmanager
def throwaway_copy(enabled: bool, settings_path: str | None):
    """When enabled: the path of a temporary copy of the settings file (settings_path, or the user's when
    None), removed at the end of the `with` block; otherwise None."""
    if not enabled:
        yield None
        return
    folder = Path(tempfile.mkdtemp(prefix="inrview-run-"))
    try:
        source = Settings(settings_path or None).path
        copy = folder / "settings.ini"
        if source.is_file():
            shutil.copyfile(source, copy)
        yield str(copy)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class ForThisRun:
    """Keeps the Model & training values saved before the command line's options changed the dock."""

    def __init__(self, window):
        self.window = window
        qs = window.settings.qs
        self.before = {k: qs.value(k) for k in qs.allKeys() if k.startswith(GROUP)}
        self.set_by_options = None
        save = window.save_settings

        def save_settings() -> None:
            save()
            self._put_back()

        window.save_settings = save_settings

    def _panel_state(self) -> str:
        panel = self.window.shape.model_panel
        return json.dumps([panel.config().to_dict(), panel.budget()])

    def applied(self) -> None:
        """The options are in the dock now (call once they have all been applied)."""
        self.set_by_options = self._panel_state()

    def _put_back(self) -> None:
        if self.set_by_options is None or self._panel_state() != self.set_by_options:
            return  # changed by hand since: the person's choice is saved
        qs = self.window.settings.qs
        for k in [k for k in qs.allKeys() if k.startswith(GROUP)]:
            qs.remove(k)
        for k, v in self.before.items():
            qs.setValue(k, v)
        qs.sync()
