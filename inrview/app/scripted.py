"""Scripted runs of the real window: open, train S seconds or N steps with the live view, save pictures, quit.

It drives the window only through its public slots and signals, exactly as a person clicking would. Every
kind of file the window opens can be scripted: shapes, point clouds and shape checkpoints (the 3D view),
shape spaces (their mean shape in the Shape spaces view) and pictures (the 2D images tab; image checkpoints
too once that tab opens them); anything else ends at once with the window's one-line error and status 2.
"""

from __future__ import annotations

import sys
import time

from PyQt6 import QtCore, QtWidgets

#: Seconds a scripted run may take beyond its training budget before it gives up (status 1).
SPARE_SECONDS = 120


def _image_parts(image) -> tuple:
    """(its worker, its panel with the steps and seconds boxes, the controller: start_training() and path) of
    the image controller."""
    return image.worker, image.panel, image


class ScriptedRun(QtCore.QObject):
    def __init__(self, window, args, this_run=None):
        super().__init__(window)
        self.w = window
        self.args = args
        self.this_run = this_run  # run_settings.ForThisRun: told once the options are in the panels
        self.exit_code = 0
        self.finished = False
        self.t0 = time.perf_counter()
        self.started = getattr(args, "started", None) or self.t0  # when the command began
        window.quiet_errors = bool(args.quit)
        shape = window.shape
        shape.file_opened.connect(self._opened)
        shape.open_failed.connect(self._failed)
        shape.training_failed.connect(self._failed)
        shape.final_drawn.connect(self._final)
        space = window.space
        space.surface_drawn.connect(lambda _update: self._final())
        space.worker.failed.connect(lambda _tag, message: self._failed(message))
        if window.image.available:
            worker = _image_parts(window.image)[0]
            worker.opened.connect(self._image_opened)
            worker.frame.connect(self._image_frame)
            worker.failed.connect(lambda _task, message: self._failed(message))
        if args.quit:  # never hang: give up well after the run should have ended
            budget = (args.fit_seconds or 0) * 3 + (args.fit_steps or 0) * 1.0 + SPARE_SECONDS
            QtCore.QTimer.singleShot(int(budget * 1000), self._timeout)

    def _training(self) -> bool:
        return bool(self.args.fit_seconds or self.args.fit_steps)

    # == shapes ========================================================================================
    def _opened(self, path: str) -> None:
        if self._training():
            self.w.shape.model_panel.set_budget(steps=self.args.fit_steps, seconds=self.args.fit_seconds)
            if self.this_run is not None:
                self.this_run.applied()
            self._wall_clock(self.w.shape.worker.state, self.w.shape.stop_training)  # before the worker can report
            self.w.shape.start_training(fresh=True)
        elif not path.lower().endswith(".safetensors"):  # a checkpoint's surface arrives as a final frame
            QtCore.QTimer.singleShot(300, self._finish)

    def _wall_clock(self, state_signal, stop) -> None:
        """--fit-seconds is wall time from the command, as every --seconds of the command line: the trainer's own
        budget counts training time only (previews and drawing come on top), so once training starts a timer stops
        it when the seconds since the command began are up (at once when opening took them all). Called before the
        training starts: a state the worker's thread reports before the connection is made never arrives here."""
        if not self.args.fit_seconds:
            return

        def started(state: str) -> None:
            if state == "training":
                state_signal.disconnect(started)
                left = self.args.fit_seconds - (time.perf_counter() - self.started)
                QtCore.QTimer.singleShot(max(0, int(left * 1000)), stop)

        state_signal.connect(started)

    def _final(self) -> None:
        QtCore.QTimer.singleShot(50, self._finish)

    # == pictures ======================================================================================
    def _image_opened(self, info) -> None:
        _, panel, owner = _image_parts(self.w.image)
        if self._training():
            panel.steps.setValue(int(self.args.fit_steps or panel.steps.maximum()))
            panel.seconds.setValue(int(round(self.args.fit_seconds or 0)))
            worker = _image_parts(self.w.image)[0]
            self._wall_clock(worker.state, worker.stop)  # connected first: the worker's thread may report at once
            owner.start_training()
        elif str(owner.path or "").lower().endswith(".safetensors"):
            QtCore.QTimer.singleShot(5000, self._finish)  # a network's picture arrives as a frame (or give up)
        else:
            QtCore.QTimer.singleShot(300, self._finish)

    def _image_frame(self, frame) -> None:
        if not self._training() or getattr(frame, "done", False):
            QtCore.QTimer.singleShot(200, self._finish)

    # == the end =======================================================================================
    def _failed(self, message: str) -> None:
        if self.finished:
            return
        print(f"inrview: error: {message}", file=sys.stderr)
        self.exit_code = 2
        if self.args.quit:
            self._quit()

    def _timeout(self) -> None:
        if not self.finished:
            print("inrview: error: the scripted run did not finish in time", file=sys.stderr)
            self.exit_code = 1
            self._quit()

    def _mode(self) -> str:
        w = self.w
        return w.tab_keys[w.tabs.currentIndex()] if w.tabs is not None else "shape"

    def _screenshot(self, path: str) -> tuple[int, int]:
        """Save the view in front: a 3D view through its off-screen export, the 2D tab as it is drawn."""
        a, mode = self.args, self._mode()
        if mode in ("shape", "space"):
            vp = self.w.viewport if mode == "shape" else self.w.space.viewport
            vp.render_now()
            ratio = vp.devicePixelRatioF()
            w, h = a.screenshot_size or (int(vp.width() * ratio), int(vp.height() * ratio))
            if mode == "shape":
                return self.w.export_screenshot(path, w, h, a.transparent)
            return vp.save_image(path, w, h, a.transparent)
        QtWidgets.QApplication.processEvents()
        picture = self.w.tabs.currentWidget().grab()
        if a.screenshot_size:
            keep = QtCore.Qt.AspectRatioMode.KeepAspectRatio
            picture = picture.scaled(*a.screenshot_size, keep, QtCore.Qt.TransformationMode.SmoothTransformation)
        if not picture.save(path, "PNG"):
            raise OSError(f"{path}: cannot write the picture")
        return picture.width(), picture.height()

    def _finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        a = self.args
        try:
            if a.screenshot:
                size = self._screenshot(a.screenshot)
                print(
                    f"{a.screenshot}: {size[0]} x {size[1]} screenshot after {time.perf_counter() - self.t0:.1f} s",
                    file=sys.stderr,
                )
            if a.window_screenshot:
                self.w.viewport.render_now()
                QtWidgets.QApplication.processEvents()
                if not self.w.grab().save(a.window_screenshot, "PNG"):
                    raise OSError(f"{a.window_screenshot}: cannot write the window picture")
        except Exception as err:  # a failed picture is a failed run
            print(f"inrview: error: {err}", file=sys.stderr)
            self.exit_code = 2
        if a.quit:
            self._quit()

    def _quit(self) -> None:
        self.finished = True
        QtCore.QTimer.singleShot(0, self.w.close)
        QtCore.QTimer.singleShot(0, QtWidgets.QApplication.instance().quit)
