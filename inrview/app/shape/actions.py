"""The shape controller's actions: save a checkpoint, export the mesh, start, continue, pause and stop
training (menus, toolbar and the Model dock's buttons share them)."""

from __future__ import annotations

from PyQt6 import QtWidgets
from PyQt6.QtGui import QKeySequence

from ..common.actions import make_action


def build_actions(c) -> None:
    """The shape controller's actions (c.act_*): checkpoint, mesh export and the training buttons."""
    w, SP = c.window, QtWidgets.QStyle.StandardPixmap
    # attribute, text, slot, shortcut, tip, icon
    table = (
        ("act_save_ckpt", "&Save checkpoint…", c.exports.save_checkpoint_dialog, QKeySequence.StandardKey.Save,
         "Save the network (weights, optimiser, settings) to continue later", SP.SP_DialogSaveButton),
        ("act_export_mesh", "Export &mesh…", c.exports.export_mesh_dialog, "Ctrl+E",
         "Extract the surface and write it in the input's units (PLY/OBJ/STL/GLB)", None),
        ("act_start", "&Start", lambda: c.start_training(fresh=True), "Ctrl+Return",
         "Train a new network from scratch with the settings in the dock", SP.SP_MediaPlay),
        ("act_continue", "&Continue", lambda: c.start_training(fresh=False), "Ctrl+Shift+Return",
         "Continue training the current network", SP.SP_MediaSeekForward),
        ("act_pause", "&Pause", c.toggle_pause, "Ctrl+P", "Pause or resume training", SP.SP_MediaPause),
        ("act_stop", "S&top", c.stop_training, "Ctrl+.", "Stop training after the current step", SP.SP_MediaStop),
    )  # fmt: skip
    for name, text, slot, shortcut, tip, icon in table:
        setattr(c, name, make_action(w, text, slot, shortcut, tip, icon))
    for a in c._training_actions():
        c.model_panel.add_action_button(a)
