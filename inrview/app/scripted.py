"""Scripted runs of the real window: open, train S seconds or N steps with the live view, save pictures, quit.

It drives the window only through its public slots and signals, exactly as a person clicking would.
"""

from __future__ import annotations

import sys
import time

from PyQt6 import QtCore, QtWidgets


class ScriptedRun(QtCore.QObject):
    def __init__(self, window, args):
        super().__init__(window)
        self.w = window
        self.args = args
        self.exit_code = 0
        self.finished = False
        self.t0 = time.perf_counter()
        window.quiet_errors = bool(args.quit)
        window.shape.file_opened.connect(self._opened)
        window.shape.open_failed.connect(self._failed)
        window.shape.training_failed.connect(self._failed)
        window.shape.final_drawn.connect(self._final)
        if args.quit:  # never hang: give up well after the run should have ended
            budget = (args.fit_seconds or 0) * 3 + (args.fit_steps or 0) * 1.0 + 180
            QtCore.QTimer.singleShot(int(budget * 1000), self._timeout)

    def _opened(self, path: str) -> None:
        if self.args.fit_seconds or self.args.fit_steps:
            self.w.shape.model_panel.set_budget(steps=self.args.fit_steps, seconds=self.args.fit_seconds)
            self.w.shape.start_training(fresh=True)
        elif not path.lower().endswith(".safetensors"):  # a checkpoint's surface arrives as a final frame
            QtCore.QTimer.singleShot(300, self._finish)

    def _final(self) -> None:
        QtCore.QTimer.singleShot(50, self._finish)

    def _failed(self, message: str) -> None:
        print(f"inrview: error: {message}", file=sys.stderr)
        self.exit_code = 2
        if self.args.quit:
            self._quit()

    def _timeout(self) -> None:
        if not self.finished:
            print("inrview: error: the scripted run did not finish in time", file=sys.stderr)
            self.exit_code = 1
            self._quit()

    def _finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        a = self.args
        try:
            if a.screenshot:
                vp = self.w.viewport
                ratio = vp.devicePixelRatioF()
                w, h = a.screenshot_size or (int(vp.width() * ratio), int(vp.height() * ratio))
                size = self.w.export_screenshot(a.screenshot, w, h, a.transparent)
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
