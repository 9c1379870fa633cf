"""Long space runs in the real window (Xvfb): a space training in the app autosaves the CLI's checkpoints;
closing the window while it trains asks whether to keep it (answered here: Save), which leaves a checkpoint;
reopening that checkpoint offers Continue, which goes on from its step. Budgets in steps."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("PyQt6")
pytestmark = pytest.mark.gui


@pytest.fixture
def shapes(tmp_path, monkeypatch):
    from tests.space_shapes import RADII, write_collection

    monkeypatch.setenv("INRVIEW_CACHE_DIR", str(tmp_path / "cache"))
    write_collection(tmp_path / "shapes", RADII)
    return tmp_path / "shapes"


def _answer(button_name: str, answered: list) -> None:
    """Click `button_name` of the question box as soon as it is up (polled from the event loop)."""
    from PyQt6 import QtCore, QtWidgets

    box = QtWidgets.QApplication.activeModalWidget()
    if isinstance(box, QtWidgets.QMessageBox):
        answered.append(box.text())
        box.button(getattr(QtWidgets.QMessageBox.StandardButton, button_name)).click()
    else:
        QtCore.QTimer.singleShot(50, lambda: _answer(button_name, answered))


def _train_until_autosaved(w, folder, out, wait, steps_past: int = 0):
    from inrview.training import checkpoint as ckpt

    last = out.with_name(out.stem + ".last.safetensors")
    wait(lambda: last.exists() and ckpt.read(last).header["trainer"]["step"] > steps_past, 240, "an autosave")
    return last


def test_autosave_close_keeps_and_continue_goes_on(shapes, tmp_path, app_tmp, window, wait):
    from PyQt6 import QtCore

    from inrview.space.checkpoints import read_training_checkpoint

    out = tmp_path / "space.safetensors"
    w = window(app_tmp / "longrun_settings.ini", (1000, 700))
    w.quiet_errors = True
    w.show()
    ctl = w.space
    ctl.worker.checkpoint_steps = 5  # autosave every 5 steps (the app's default is every 10 minutes)
    ctl.panel.epochs.setValue(100_000)  # far more than the test waits for: the space is still training
    ctl.panel.samples.setValue(3000)
    ctl.train(str(shapes), str(out))
    last = _train_until_autosaved(w, shapes, out, wait)
    assert ctl.worker.job == "train"
    answered = []
    QtCore.QTimer.singleShot(50, lambda: _answer("Save", answered))
    assert w.close()
    assert answered == ["A shape space is still training. Keep it?"]
    assert not ctl.worker.isRunning()
    data = read_training_checkpoint(last)
    saved = data.header["trainer"]["step"]
    assert 5 <= saved < data.header["resume"]["total_steps"] and out.exists()

    w2 = window(app_tmp / "longrun_settings2.ini", (1000, 700))
    w2.quiet_errors = True
    w2.show()
    ctl2 = w2.space
    ctl2.worker.checkpoint_steps = 5
    w2.open_path(str(last))
    wait(lambda: ctl2.state is not None, 60, "the checkpoint to open")
    assert ctl2.state.can_continue and ctl2.panel.continue_btn.isVisible()
    assert f"stopped at step {saved} of" in ctl2.panel.continue_btn.text()
    ctl2.panel.continue_btn.click()
    wait(
        lambda: ctl2.worker.job == "train" and ctl2.loss_panel.steps and ctl2.loss_panel.steps[-1] > saved,
        240,
        "training to go on",
    )
    assert ctl2.loss_panel.steps[0] > saved  # the steps go on from the checkpoint, not from zero
    QtCore.QTimer.singleShot(50, lambda: _answer("Save", answered))
    assert w2.close()
    head = read_training_checkpoint(last).header
    assert head["trainer"]["step"] > saved
    assert [h["from_step"] for h in head["resume"]["history"]] == [0, saved]
    assert os.path.exists(out)
