"""Export dialogs that remember what was chosen last time (kept in the settings)."""

from __future__ import annotations

from PyQt6 import QtWidgets

MESH_FILTER = "PLY (*.ply);;OBJ (*.obj);;STL (*.stl);;glTF binary (*.glb)"
CHECKPOINT_FILTER = "inrview checkpoint (*.safetensors)"
OPEN_FILTER = (
    "Shapes and checkpoints (*.ply *.obj *.stl *.off *.glb *.gltf *.xyz *.xyzn *.pts *.txt *.csv *.pcd "
    "*.npy *.npz *.nii *.nii.gz *.nrrd *.nhdr *.safetensors);;Meshes (*.ply *.obj *.stl *.off *.glb *.gltf);;"
    "Segmentation masks (*.nii *.nii.gz *.nrrd *.nhdr);;"
    "Point clouds (*.ply *.xyz *.xyzn *.pts *.txt *.csv *.pcd *.npy *.npz);;"
    "Checkpoints (*.safetensors);;All files (*)"
)
MESHES_FILTER = "Meshes (*.ply *.obj *.stl *.off *.glb *.gltf);;All files (*)"
IMAGE_FILTER = ";;Images, for the image mode (*.png *.jpg *.jpeg *.tif *.tiff *.bmp)"


class ScreenshotDialog(QtWidgets.QDialog):
    """Width, height (independent of the window) and a transparent background option."""

    def __init__(self, settings, default_size: tuple[int, int], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Export screenshot")
        self.settings = settings
        form = QtWidgets.QFormLayout(self)
        self.width_ = QtWidgets.QSpinBox(minimum=16, maximum=8192)
        self.height_ = QtWidgets.QSpinBox(minimum=16, maximum=8192)
        self.width_.setValue(settings.get("dialogs/screenshot_width", max(16, default_size[0])))
        self.height_.setValue(settings.get("dialogs/screenshot_height", max(16, default_size[1])))
        self.transparent = QtWidgets.QCheckBox("Transparent background")
        self.transparent.setChecked(settings.get("dialogs/screenshot_transparent", False))
        use_view = QtWidgets.QPushButton("Use the view's size")
        use_view.clicked.connect(
            lambda: (self.width_.setValue(default_size[0]), self.height_.setValue(default_size[1]))
        )
        form.addRow("Width (px)", self.width_)
        form.addRow("Height (px)", self.height_)
        form.addRow("", use_view)
        form.addRow("", self.transparent)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> tuple[int, int, bool]:
        return self.width_.value(), self.height_.value(), self.transparent.isChecked()

    def accept(self) -> None:
        w, h, t = self.values()
        self.settings.set("dialogs/screenshot_width", w)
        self.settings.set("dialogs/screenshot_height", h)
        self.settings.set("dialogs/screenshot_transparent", t)
        super().accept()


class MeshExportDialog(QtWidgets.QDialog):
    """The marching-cubes resolution of an exported mesh (written in the input's units)."""

    def __init__(self, settings, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Export mesh")
        self.settings = settings
        form = QtWidgets.QFormLayout(self)
        self.resolution = QtWidgets.QSpinBox(minimum=16, maximum=1024, singleStep=32)
        self.resolution.setValue(settings.get("dialogs/mesh_resolution", 256))
        self.resolution.setToolTip("Cells per side of the extraction grid over the training cube")
        form.addRow("Resolution", self.resolution)
        form.addRow("", QtWidgets.QLabel("The mesh is written in the input file's units."))
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def accept(self) -> None:
        self.settings.set("dialogs/mesh_resolution", self.resolution.value())
        super().accept()


def open_file(window, title: str, filters: str) -> str:
    """An open-file dialog over `window` starting in the folder used last; '' when cancelled."""
    path, _ = QtWidgets.QFileDialog.getOpenFileName(window, title, window.settings.last_dir(), filters)
    return path


def save_path(parent, settings, title: str, filters: str, default_name: str, key: str) -> str | None:
    """A save-file dialog starting in the folder used last for this kind of file; remembers the filter."""
    from pathlib import Path

    folder = settings.get(f"dialogs/{key}_dir", "") or settings.last_dir()
    selected = settings.get(f"dialogs/{key}_filter", "")
    path, chosen = QtWidgets.QFileDialog.getSaveFileName(
        parent, title, str(Path(folder) / default_name), filters, selected
    )
    if not path:
        return None
    settings.set(f"dialogs/{key}_dir", str(Path(path).parent))
    settings.set(f"dialogs/{key}_filter", chosen)
    if not Path(path).suffix and chosen:  # add the extension of the chosen filter
        ext = chosen.split("*")[-1].rstrip(")").strip()
        path += ext
    return path
