"""The one worker-thread loop of the app (DESIGN.md's threading rule).

A CommandThread owns a training generator and a queue of commands. Between two training steps it runs
whatever the GUI thread posted (open a file, export, save, read the network), so nothing else ever
touches the network while it trains; its results go back to the GUI thread as signals only.
"""

from __future__ import annotations

import queue
import traceback

from PyQt6 import QtCore

from ...errors import InrviewError

QUIT = object()


def describe(err: BaseException) -> str:
    """One line for a dialog or the log."""
    text = str(err) if isinstance(err, InrviewError) else f"{type(err).__name__}: {err}"
    text = text.strip()
    return text.splitlines()[0][:300] if text else type(err).__name__


class CommandThread(QtCore.QThread):
    done = QtCore.pyqtSignal(str, object)  # (command tag, result)
    failed = QtCore.pyqtSignal(str, str)  # (command tag, one-line message)
    state = QtCore.pyqtSignal(str)  # 'idle' | 'busy' | 'training' | 'paused'

    def __init__(self, parent=None):
        super().__init__(parent)
        self._queue: queue.Queue = queue.Queue()
        self._gen = None
        self._paused = False
        self._quitting = False

    # == GUI-thread API (thread-safe) =================================================================
    def post(self, tag: str, fn, *args) -> None:
        self._queue.put((tag, fn, args))

    def pause(self) -> None:
        """Hold training after the current step; the state signal says 'paused' once it is held."""
        if self._gen is not None:
            self._paused = True

    def resume(self) -> None:
        self._paused = False

    @property
    def training(self) -> bool:
        return self._gen is not None

    @property
    def paused(self) -> bool:
        return self._paused

    def stop(self) -> None:  # pragma: no cover - every worker defines how its run is stopped
        raise NotImplementedError

    def quit_loop(self) -> None:
        """Stop training and end the loop once the commands queued so far have run."""
        self._quitting = True
        self.stop()
        self._queue.put(QUIT)

    # == the thread ==================================================================================
    def warm_up(self) -> None:
        """Runs first on the thread (imports and pools that should not cost the first step)."""

    def keep_when_quitting(self, tag: str) -> bool:
        """Which queued commands still run after quit_loop() (all of them unless a worker says)."""
        return True

    def unexpected(self, err: BaseException) -> None:
        """A command failed with something other than an InrviewError: keep the traceback."""
        traceback.print_exc()

    def _step(self) -> None:  # pragma: no cover - every worker defines a training step
        raise NotImplementedError

    def run(self) -> None:
        self.warm_up()
        held = False  # whether the GUI has been told that training is paused
        while True:
            if self._gen is not None and self._paused != held:
                held = self._paused
                self.state.emit("paused" if held else "training")
            stepping = self._gen is not None and not self._paused
            try:
                item = self._queue.get_nowait() if stepping else self._queue.get(timeout=0.05)
            except queue.Empty:
                item = None
            if item is QUIT:
                break
            if item is not None:
                if self._quitting and not self.keep_when_quitting(item[0]):
                    continue
                self._execute(*item)
            elif stepping:
                self._step()
        if self._gen is not None:
            self._gen.close()
            self._gen = None

    def _execute(self, tag: str, fn, args) -> None:
        try:
            result = fn(*args)
        except Exception as err:  # every failure becomes a message; the previous state is kept
            if not isinstance(err, InrviewError):
                self.unexpected(err)
            self.failed.emit(tag, describe(err))
            if self._gen is None:
                self.state.emit("idle")
            return
        if result is not None and result != "":
            self.done.emit(tag, result)

    def _drain(self, **step_options) -> None:
        """End a running fit, stepping it to its last snapshot (before its session is replaced)."""
        if self._gen is None:
            return
        self.stop()
        while self._gen is not None:
            self._step(**step_options)
