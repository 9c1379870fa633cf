"""The app's tests run the real window with its embedded VTK view on an Xvfb display they start themselves.

The embedded pyvistaqt view cannot render on Qt's 'offscreen' platform, so every test in this folder runs on
'xcb' against a private Xvfb server (24-bit, -noreset). Settings go to a temporary INI file, never the user's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

_XVFB: subprocess.Popen | None = None
_TMP = Path(tempfile.mkdtemp(prefix="inrview-app-tests-"))
SETTINGS = _TMP / "settings.ini"


def pytest_configure(config):
    global _XVFB
    from tests.support.xvfb import start_xvfb

    started = start_xvfb("1280x1024x24")  # always a private display: no windows pop up on a desktop
    if started is None and not os.environ.get("DISPLAY"):
        os.environ["INRVIEW_NO_DISPLAY"] = "1"
        return
    if started is not None:
        os.environ["DISPLAY"], _XVFB = started
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    os.environ["INRVIEW_SETTINGS"] = str(SETTINGS)
    os.environ.setdefault("PYVISTA_OFF_SCREEN", "false")


def pytest_unconfigure(config):
    global _XVFB
    from tests.support.xvfb import stop

    stop(_XVFB)
    _XVFB = None
    shutil.rmtree(_TMP, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    if os.environ.get("INRVIEW_NO_DISPLAY"):
        skip = pytest.mark.skip(reason="no Xvfb and no DISPLAY: install xvfb (scripts/setup.sh does)")
        for item in items:
            if "tests/app" in str(item.fspath).replace(os.sep, "/") and "gui" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def qapp_args():
    return ["inrview-tests"]


@pytest.fixture(scope="session")
def app_tmp() -> Path:
    return _TMP


@pytest.fixture(scope="session")
def spot_path() -> Path:
    import inrview

    return Path(inrview.demo_shape())


def small_config_into(panel, steps: int | None = None) -> None:
    """Set the Model & training dock to a tiny, fast configuration (as a user would), with a budget of `steps`
    when given."""
    panel.kind.setCurrentIndex(panel.kind.findData("grid"))
    panel.levels.setValue(3)
    panel.grid_res.setValue(32)
    panel.width_.setValue(32)
    panel.batch.setValue(2048)
    panel.samples.setValue(20_000)
    panel.preview.setCurrentIndex(panel.preview.findData(32))
    panel.threads.setValue(1)
    if steps is not None:
        panel.set_budget(steps=steps)


def python() -> str:
    return sys.executable


def wait_until(condition, timeout: float = 30.0, what: str = "condition") -> None:
    """Spin the Qt event loop until condition() is true; fail with `what` after timeout seconds."""
    from PyQt6 import QtCore, QtWidgets

    app = QtWidgets.QApplication.instance()
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 20)
        time.sleep(0.005)


@pytest.fixture(scope="session")
def wait():
    return wait_until


def new_window(settings_path, size: tuple[int, int]):
    """The real main window as the app builds it (inrview.app.make_window), with its own settings file and
    without restoring a saved layout."""
    from inrview.app import make_window

    return make_window(settings_path, restore=False, size=size)


@pytest.fixture(scope="session")
def window():
    return new_window


def shown(w, wait):
    """Show window w (its questions answered yes: a modal one would block the run) and yield it; then close it
    and wait for its worker to end. For module fixtures: `yield from showing(w)`."""
    w.confirm = lambda title, question: True
    w.show()
    wait(lambda: w.viewport.isVisible(), 10, "the window to show")
    yield w
    w.close()
    wait(lambda: not w.worker.isRunning(), 30, "the worker to end")


@pytest.fixture(scope="session")
def showing(wait):
    return lambda w: shown(w, wait)


@pytest.fixture(scope="session")
def small_config():
    return small_config_into
