"""The shape controller's actions: save a checkpoint, export the mesh, start, continue, pause and stop
training (menus, toolbar and the Model dock's buttons share them)."""

from __future__ import annotations

from PyQt6 import QtWidgets
from PyQt6.QtGui import QKeySequence

from ..common.actions import make_action


def build_actions(c) -> None:
    """The shape controller's actions (c.act_*): checkpoint, mesh export and the training buttons."""
    w, SP = c.window, QtWidgets.QStyle.StandardPixmap
    c.act_save_ckpt = make_action(
        w,
        "&Save checkpoint…",
        c.exports.save_checkpoint_dialog,
        QKeySequence.StandardKey.Save,
        "Save the network (weights, optimiser, settings) to continue later",
        SP.SP_DialogSaveButton,
    )
    c.act_export_mesh = make_action(
        w,
        "Export &mesh…",
        c.exports.export_mesh_dialog,
        "Ctrl+E",
        "Extract the surface and write it in the input's units (PLY/OBJ/STL/GLB)",
    )
    c.act_start = make_action(
        w,
        "&Start",
        lambda: c.start_training(fresh=True),
        "Ctrl+Return",
        "Train a new network from scratch with the settings in the dock",
        SP.SP_MediaPlay,
    )
    c.act_continue = make_action(
        w,
        "&Continue",
        lambda: c.start_training(fresh=False),
        "Ctrl+Shift+Return",
        "Continue training the current network",
        SP.SP_MediaSeekForward,
    )
    c.act_pause = make_action(w, "&Pause", c.toggle_pause, "Ctrl+P", "Pause or resume training", SP.SP_MediaPause)
    c.act_stop = make_action(
        w, "S&top", c.stop_training, "Ctrl+.", "Stop training after the current step", SP.SP_MediaStop
    )
    for a in c._training_actions():
        c.model_panel.add_action_button(a)
