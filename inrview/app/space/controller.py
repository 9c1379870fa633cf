"""The Shape-space mode: a tab of the window with the shapes of a space, a 3D view of its own and the
sliders that move through the space.

Space checkpoints opened or dropped anywhere come here (the header says 'space'; other checkpoints stay with
the shape mode). While a space is open and this tab is showing, a dropped point cloud or mesh is completed
by the space. Every slot runs on the GUI thread and only updates widgets and actors; decoding, completion
and training run on the SpaceWorker (worker.py).
"""

from __future__ import annotations

import time
from pathlib import Path

from PyQt6 import QtCore, QtWidgets

from ..common.actions import make_action
from ..common.controller import Controller
from ..common.loss_panel import LossPanel
from ..common.viewport import Viewport
from .confidence_view import ConfidenceView
from .panel import SpacePanel
from .state import SpaceState, checkpoint_task
from .worker import SpaceWorker

TITLES = {
    "space-open": "Cannot open shape space",
    "space-complete": "Completion failed",
    "space-train": "Training the space failed",
    "space-export": "Export failed",
    "space-decode": "Cannot draw the code",
}
#: What a drop is completed from while a space is open (anything the loaders read as a shape).
SHAPE_SUFFIXES = (
    ".ply",
    ".obj",
    ".stl",
    ".off",
    ".glb",
    ".gltf",
    ".xyz",
    ".xyzn",
    ".pts",
    ".txt",
    ".csv",
    ".pcd",
    ".npy",
    ".npz",
)


class SpaceController(Controller):
    TAB = ("space", "Shape spaces")
    space_opened = QtCore.pyqtSignal(object)  # SpaceState
    surface_drawn = QtCore.pyqtSignal(object)  # worker.SurfaceUpdate, after it is in the view
    completed = QtCore.pyqtSignal(object)  # the completion's last report (dict)

    def __init__(self, window):
        super().__init__(window)
        self.panel = SpacePanel()
        self.viewport = Viewport()
        self.loss_panel = LossPanel()
        self.worker = SpaceWorker()
        self.confidence_view = ConfidenceView(self.viewport)  # a finished completion's colours and bar
        self.state: SpaceState | None = None
        self.running = False
        self.updates: list[tuple[float, object]] = []  # (perf_counter when drawn, SurfaceUpdate)
        self.last_completion: dict | None = None
        self._reset_camera = False  # frame the first surface of a newly opened space
        self._connect()
        self.act_train = make_action(
            window,
            "Train shape space from folder…",
            self.train_dialog,
            tip="Train one network over a folder of meshes or point clouds (a shape space)",
        )
        self.act_export = make_action(
            window,
            "Export shape-space surface…",
            self.export_dialog,
            tip="Write the morphed or completed surface of the Shape spaces tab as a mesh",
        )
        self.worker.start()

    def _connect(self) -> None:
        w, p = self.worker, self.panel
        self.connect_named(w, "opened", "surface", "points", "completion", "confidence", "progress", "state", "failed")
        for signal, slot in (
            (w.done, lambda tag, msg: self._say(msg)),
            (w.log, self.window.log),
            (p.code_changed, self.show_current_code),
            (p.open_clicked, self.open_dialog),
            (p.train_clicked, self.train_dialog),
            (p.complete_clicked, self.complete_dialog),
            (p.export_clicked, self.export_dialog),
            (p.stop_clicked, self.worker.stop),
            (p.continue_clicked, self.continue_training),
            (p.show_confidence.toggled, self.confidence_view.show),
        ):
            signal.connect(slot)

    # == the window's hooks ============================================================================
    def tab(self):
        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(self.panel)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setMinimumWidth(self.panel.minimumSizeHint().width() + 16)
        right = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        right.addWidget(self.viewport)
        right.addWidget(self.loss_panel)
        right.setSizes([600, 140])
        self.loss_panel.hide()  # shown when a space trains here
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        split.addWidget(scroll)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        return split

    def file_actions(self) -> list:
        return [self.act_train, self.act_export]

    def update_actions(self) -> None:
        self.act_export.setEnabled(self.state is not None)
        self.act_train.setEnabled(not self.running)
        self.panel.set_running(self.running, self.state is not None)

    def accepts(self, path: str) -> bool:
        if checkpoint_task(path) == "space":
            return True
        return self.state is not None and self.showing() and Path(path).suffix.lower() in SHAPE_SUFFIXES

    def open_path(self, path: str) -> bool:
        if checkpoint_task(path) == "space":
            self.window.status.busy(f"Opening {Path(path).name}…")
            self.worker.open_space(path)
            return True
        return self.complete_path(path)

    def confirm_close(self) -> bool:
        """While a space trains, ask whether to keep it: Save stops it with a checkpoint (Continue goes on
        from it when it is opened again) and writes the space, Discard stops it without writing more,
        Cancel keeps the window open."""
        if self.worker.job != "train":
            return True
        self.keep_box = box = QtWidgets.QMessageBox(self.window)
        box.setIcon(QtWidgets.QMessageBox.Icon.Question)
        box.setWindowTitle("A shape space is training")
        box.setText("A shape space is still training. Keep it?")
        box.setInformativeText(
            "Save writes a checkpoint to continue from later; Discard stops it without writing more."
        )
        buttons = QtWidgets.QMessageBox.StandardButton
        box.setStandardButtons(buttons.Save | buttons.Discard | buttons.Cancel)
        box.setDefaultButton(buttons.Save)
        answer = box.exec()
        if answer not in (buttons.Save, buttons.Discard):
            return False
        self.worker.stop_training(keep=answer == buttons.Save)
        self.window.status.busy("Writing the space's checkpoint…" if answer == buttons.Save else "Stopping…")
        while not self.worker.idle.wait(0.05):  # the worker finishes its step and writes the checkpoint
            QtWidgets.QApplication.processEvents(QtCore.QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
        return True

    def continue_training(self) -> None:
        """Go on training the open training checkpoint from where it stopped."""
        if self.state is None or not self.state.can_continue or self.running:
            return
        self.loss_panel.clear()
        self.loss_panel.show()
        self.window.status.restart_rate()
        self.window.status.busy(f"Continuing {Path(self.state.path).name}…")
        self.worker.continue_training(self.state.path)

    def close(self) -> None:
        self.worker.shutdown()  # before the view closes: nothing may arrive for a closed view
        self.viewport.close()

    def showing(self) -> bool:
        """This mode's tab is the one in front."""
        tabs = self.window.tabs
        return tabs is not None and self.window.tab_keys[tabs.currentIndex()] == self.TAB[0]

    # == commands ======================================================================================
    def show_current_code(self) -> None:
        """Send the code the sliders describe; a completion still running is stopped (the user moved on)."""
        code = self.panel.current_code()
        if code is None:
            return
        if self.worker.job == "complete":
            self.worker.stop()
        self.viewport.remove("input")
        self.panel.set_completion(None)
        self.worker.resolution = self.panel.resolution.currentData()
        self.worker.show_code(code)

    def complete_path(self, path: str) -> bool:
        if self.state is None:
            self.window.show_error("No shape space open", f"{path}: open a shape space before completing points")
            return False
        if self.worker.job == "train":
            self.window.show_error("Training is running", f"{path}: stop training the space before completing points")
            return False
        self.panel.set_completion(None)
        self.window.status.busy(f"Completing {Path(path).name}…")
        self.worker.resolution = self.panel.resolution.currentData()
        self.worker.complete_file(path, self.panel.steps.value())
        return True

    def open_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self.window,
            "Open a shape space",
            self.window.settings.last_dir(),
            "Shape spaces (*.safetensors);;All files (*)",
        )
        if path:
            self.window.open_path(path)

    def complete_dialog(self) -> None:
        from ..common.dialogs import OPEN_FILTER

        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self.window, "Points to complete", self.window.settings.last_dir(), OPEN_FILTER
        )
        if path:
            self.complete_path(path)

    def train_dialog(self) -> None:
        from ..common.dialogs import CHECKPOINT_FILTER, save_path

        folder = QtWidgets.QFileDialog.getExistingDirectory(
            self.window, "Folder of shapes (one kind)", self.window.settings.last_dir()
        )
        if not folder:
            return
        out = save_path(
            self.window,
            self.window.settings,
            "Save the shape space as",
            CHECKPOINT_FILTER,
            f"{Path(folder).name}_space.safetensors",
            "space",
        )
        if out:
            self.train(folder, out)

    def train(self, folder: str, out: str) -> None:
        """Train a space on a folder with the panel's epochs and samples; it opens here when done."""
        self.window.show_tab(self)
        self.loss_panel.clear()
        self.loss_panel.show()
        self.window.status.restart_rate()
        self.window.status.busy(f"Sampling the shapes in {Path(folder).name}…")
        self.worker.train(folder, out, self.panel.epochs.value(), self.panel.samples.value())

    def export_dialog(self) -> None:
        from ..common.dialogs import MESH_FILTER, MeshExportDialog, save_path

        if self.state is None:
            return
        dlg = MeshExportDialog(self.window.settings, self.window)
        if not dlg.exec():
            return
        path = save_path(
            self.window,
            self.window.settings,
            "Export surface",
            MESH_FILTER,
            f"{Path(self.state.path).stem}_surface.ply",
            "mesh",
        )
        if path:
            self.worker.export(path, dlg.resolution.value())

    # == worker results ================================================================================
    def _on_opened(self, state: SpaceState) -> None:
        if self.window.closed:
            return
        self.state = state
        self.panel.set_state(state)
        self.viewport.remove("input")
        self._reset_camera = True
        self.window.add_recent(state.path)
        self.window.log("info", f"opened {state.summary()}")
        self.window.status.set_state("Ready")
        self.window.update_actions()
        self.space_opened.emit(state)

    def _on_surface(self, update) -> None:
        if self.window.closed:
            return
        if self.confidence_view.frame is not None:  # a new surface: the colours belonged to the last one
            self.confidence_view.clear()
            self.panel.set_confidence(None)
        self.viewport.set_surface(update.frame)
        if self._reset_camera and update.frame is not None:
            self._reset_camera = False
            self.viewport.reset_view()
        self.viewport.render_now()
        self.updates.append((time.perf_counter(), update))
        self.surface_drawn.emit(update)

    def _on_points(self, points) -> None:
        self.viewport.set_input(points, None, "points", 0.6)

    def _on_confidence(self, frame) -> None:
        if self.window.closed:
            return
        self.confidence_view.set(frame)
        self.panel.set_confidence(frame.summary)
        self.viewport.render_now()

    def _on_completion(self, report: dict) -> None:
        if report.get("distance") is not None:
            self.panel.set_completion(
                report["distance"], report.get("message", ""), "" if report["done"] else f" (step {report['step']})"
            )
        if report["done"]:
            self.last_completion = report
            self.window.status.set_state(
                f"Completed: points to surface {report['distance']:.4g}"
                if report["distance"] is not None
                else "Completed: no surface"
            )
            if report.get("far"):
                self.window.log("warning", report["message"])
            self.completed.emit(report)

    def _on_progress(self, snap) -> None:
        self.loss_panel.add([(snap.step, snap.losses)])
        self.window.status.show_progress(snap)
        if snap.done:
            self.loss_panel.flush()

    def _on_state(self, state: str) -> None:
        self.running = state == "training"
        self.window.update_actions()

    def _on_failed(self, tag: str, message: str) -> None:
        self.window.status.set_state("Ready")
        self.window.show_error(TITLES.get(tag, "Error"), message)

    def _say(self, message: str) -> None:
        self.window.statusBar().showMessage(message, 5000)
        self.window.log("info", message)
