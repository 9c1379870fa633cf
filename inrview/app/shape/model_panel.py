"""Model & training dock: the network, its target, the optimiser, the budget and the device.

`config()` turns the widgets into the core's FitConfig; `set_config()` shows one (a checkpoint's).
"""

from __future__ import annotations

import json
import os

from PyQt6 import QtCore, QtWidgets

from ...config import FitConfig, ModelConfig, SamplingConfig, TrainConfig, default_lr, model_config
from ..common.forms import column, family_combo, form_box, spin

PREVIEW_RESOLUTIONS = (32, 48, 64, 96, 128)


def _spin(lo, hi, value, step=1, tip="") -> QtWidgets.QSpinBox:
    """A spin box that reports a typed value when the typing ends, not at every key."""
    w = spin(lo, hi, value, step, tip)
    w.setKeyboardTracking(False)
    return w


class ModelPanel(QtWidgets.QWidget):
    def __init__(self, devices: list[str] | None = None, parent=None):
        super().__init__(parent)
        outer = column(self, 6)
        net, tr = self._network_box(), self._training_box(devices or ["cpu"])
        outer.addWidget(net)
        outer.addWidget(tr)
        self.groups = (net, tr)
        self.cloud_points: int | None = None  # a point cloud is open: its training points
        self.buttons = QtWidgets.QHBoxLayout()
        outer.addLayout(self.buttons)
        outer.addStretch(1)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self._kind_changed()

    def _network_box(self) -> QtWidgets.QGroupBox:
        net, f = form_box("Network")
        self.kind = family_combo()
        self.target = QtWidgets.QComboBox()
        self.target.addItem("Automatic (unsigned for open meshes)", "auto")
        self.target.addItem("Signed distance (SDF)", "sdf")
        self.target.addItem("Occupancy", "occupancy")
        self.target.addItem("Unsigned distance (open surfaces)", "udf")
        self.width_ = _spin(4, 2048, 64, 8, "Hidden units per layer")
        self.depth = _spin(1, 16, 2, 1, "Hidden layers")
        self.omega0 = QtWidgets.QDoubleSpinBox(decimals=1, minimum=0.1, maximum=300.0, value=30.0)
        self.omega0.setToolTip("SIREN frequency factor omega_0")
        self.levels = _spin(1, 16, 6, 1, "Resolution levels of the feature grid")
        self.grid_res = _spin(16, 2048, 128, 16, "Finest grid resolution (cells per side)")
        f.addRow("Family", self.kind)
        f.addRow("Target", self.target)
        f.addRow("Width", self.width_)
        f.addRow("Depth", self.depth)
        f.addRow("ω₀", self.omega0)
        f.addRow("Grid levels", self.levels)
        f.addRow("Grid max res.", self.grid_res)
        return net

    def _training_box(self, devices: list[str]) -> QtWidgets.QGroupBox:
        tr, g = form_box("Training")
        self.lr = QtWidgets.QDoubleSpinBox(decimals=5, minimum=0.0, maximum=1.0, singleStep=1e-4, value=0.0)
        self.lr.setSpecialValueText("auto")
        self.lr.setToolTip("Adam learning rate; 'auto' uses the family's default")
        self.batch = _spin(256, 1 << 20, TrainConfig.batch_size, 1024, "Samples per step")
        budget = QtWidgets.QHBoxLayout()
        self.budget_value = _spin(1, 10_000_000, TrainConfig.steps, 100, "Training budget")
        self.budget_unit = QtWidgets.QComboBox()
        self.budget_unit.addItems(["steps", "seconds"])
        budget.addWidget(self.budget_value, 1)
        budget.addWidget(self.budget_unit)
        self.samples = _spin(
            10_000, 5_000_000, SamplingConfig.n_samples, 50_000, "Training samples drawn once per shape"
        )
        self.device = QtWidgets.QComboBox()
        self.device.addItem(f"auto ({devices[0]})", "auto")
        for d in devices:
            self.device.addItem(d, d.split(" ")[0])
        self.threads = _spin(
            1, max(1, os.cpu_count() or 1), 1, 1, "CPU threads for training (1 leaves a core to draw the view)"
        )
        self.preview = QtWidgets.QComboBox()
        for r in PREVIEW_RESOLUTIONS:
            self.preview.addItem(f"{r}³", r)
        self.preview.setCurrentIndex(PREVIEW_RESOLUTIONS.index(64))
        self.preview.setToolTip("Resolution of the live surface (the final one is finer)")
        g.addRow("Learning rate", self.lr)
        g.addRow("Batch size", self.batch)
        g.addRow("Budget", budget)
        g.addRow("Samples", self.samples)
        g.addRow("Device", self.device)
        g.addRow("CPU threads", self.threads)
        g.addRow("Live preview", self.preview)
        return tr

    def add_action_button(self, action) -> QtWidgets.QToolButton:
        b = QtWidgets.QToolButton()
        b.setDefaultAction(action)
        b.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        b.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
        self.buttons.addWidget(b)
        return b

    def set_editable(self, editable: bool) -> None:
        for g in self.groups:
            g.setEnabled(editable)

    def set_cloud(self, points: int | None) -> None:
        """A point cloud with this many training points is open (None: a mesh or nothing). Clouds are fitted
        to a signed distance with the point-cloud losses: the target and the mesh sample pool do not apply,
        and a family's sizes are the cloud ones (`inrview.recon`)."""
        self.cloud_points = points
        cloud = points is not None
        self.target.setEnabled(not cloud)
        self.samples.setEnabled(not cloud)
        self.target.setToolTip("Point clouds are fitted to a signed distance" if cloud else "")
        self.samples.setToolTip(
            "Point clouds draw their own volume samples around the points (the distance band, each point's "
            "spread set by its 10th neighbour); a network without a geometric initialisation starts with "
            "a warm-up on a sphere's distance"
            if cloud
            else "Training samples drawn once per shape"
        )
        self._lr_text()

    def _family_defaults(self, kind: str) -> ModelConfig:
        if self.cloud_points is None:
            return model_config(kind)
        import numpy as np

        from ...recon import config_for

        # only the point count matters for a named family (SIREN's depth and omega_0)
        return config_for(np.broadcast_to(np.zeros(3), (max(self.cloud_points, 1), 3)), kind).model

    def _lr_text(self) -> None:
        kind = self.kind.currentData()
        lr = default_lr(kind)
        if self.cloud_points is not None:
            from ..cloud.state import cloud_config

            lr = cloud_config(FitConfig(model=model_config(kind), train=TrainConfig(lr=None))).train.lr or default_lr(
                kind, 3, None
            )
        self.lr.setSpecialValueText(f"auto ({lr:g})")

    def _kind_changed(self, *_):
        """A family's usual settings (the core's model_config, or the cloud sizes of `inrview.recon` while a
        point cloud is open) replace the previous family's."""
        kind = self.kind.currentData()
        m = self._family_defaults(kind)
        self.width_.setValue(m.width)
        self.depth.setValue(m.depth)
        self.omega0.setValue(m.omega0)
        self.levels.setValue(m.grid.levels)
        self.grid_res.setValue(m.grid.max_resolution)
        self.omega0.setEnabled(kind == "siren")
        self.levels.setEnabled(kind == "grid")
        self.grid_res.setEnabled(kind == "grid")
        self._lr_text()

    # -- configuration --------------------------------------------------------------------------------
    def budget(self) -> tuple[int | None, float | None]:
        v = self.budget_value.value()
        return (None, float(v)) if self.budget_unit.currentText() == "seconds" else (v, None)

    def config(self) -> FitConfig:
        kind = self.kind.currentData()
        model = model_config(
            kind,
            width=self.width_.value(),
            depth=self.depth.value(),
            omega0=self.omega0.value(),
            grid={"levels": self.levels.value(), "max_resolution": self.grid_res.value()},
        )
        steps, seconds = self.budget()
        train = TrainConfig(
            steps=steps or TrainConfig.steps,
            seconds=seconds,
            batch_size=self.batch.value(),
            lr=self.lr.value() or None,
            device=self.device.currentData(),
            threads=self.threads.value(),
        )
        return FitConfig(
            model=model,
            target=self.target.currentData(),
            sampling=SamplingConfig(n_samples=self.samples.value()),
            train=train,
        )

    def preview_resolution(self) -> int:
        return int(self.preview.currentData())

    def set_config(self, cfg: FitConfig) -> None:
        """Show a configuration (e.g. a checkpoint's); the budget and device stay as they are."""
        m: ModelConfig = cfg.model
        i = self.kind.findData(m.kind)
        if i >= 0:
            self.kind.setCurrentIndex(i)
        self.target.setCurrentIndex(max(0, self.target.findData(cfg.target)))
        self.width_.setValue(m.width)
        self.depth.setValue(m.depth)
        self.omega0.setValue(m.omega0)
        self.levels.setValue(m.grid.levels)
        self.grid_res.setValue(m.grid.max_resolution)
        self.lr.setValue(cfg.train.lr or 0.0)
        self.batch.setValue(cfg.train.batch_size)
        self.samples.setValue(cfg.sampling.n_samples)

    def set_budget(self, steps: int | None = None, seconds: float | None = None) -> None:
        if seconds is not None:
            self.budget_unit.setCurrentText("seconds")
            self.budget_value.setValue(max(1, int(round(seconds))))
        elif steps is not None:
            self.budget_unit.setCurrentText("steps")
            self.budget_value.setValue(int(steps))

    # -- settings -------------------------------------------------------------------------------------
    def _kept(self) -> dict:
        """The widgets the settings keep as they show them, by name, with their defaults."""
        return {
            "budget_unit": (self.budget_unit, "steps"),
            "budget_value": (self.budget_value, TrainConfig.steps),
            "threads": (self.threads, 1),
        }

    def save(self, s) -> None:
        s.save_widgets(
            "train",
            self._kept(),
            config=json.dumps(self.config().to_dict()),
            device=self.device.currentData(),
            preview=self.preview_resolution(),
        )

    def restore(self, s) -> None:
        text = s.get("train/config", "")
        if text:
            try:
                self.set_config(FitConfig.from_dict(json.loads(text)))
            except (ValueError, TypeError, KeyError, AttributeError):
                pass  # settings from another version: keep the defaults
        s.restore_widgets("train", self._kept())
        i = self.device.findData(s.get("train/device", "auto"))
        self.device.setCurrentIndex(max(0, i))
        r = s.get("train/preview", 64)
        if r in PREVIEW_RESOLUTIONS:
            self.preview.setCurrentIndex(PREVIEW_RESOLUTIONS.index(r))
