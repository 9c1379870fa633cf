"""The viewer in the real window (Xvfb): viewpoints saved, pasted and restored exactly, render styles and
orthographic projection that change the pixels, an overlaid reference, error colours written as vertex
colours, the 2D viewer zoomed with a pixel read-out, the key help, the warm-up on the loss plot, and every
dock's contents visible at 1280 x 800.

The surface drawn is the bundled demo mesh put into the surface layer as the shape worker would send it
(what a finished fit shows), so no test here pays for a training run.
"""

from __future__ import annotations

import numpy as np
import pytest
from PyQt6 import QtCore, QtGui, QtWidgets

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def win(qapp, app_tmp, window, showing):
    w = window(app_tmp / "viewer.ini", (1280, 800))
    yield from showing(w)


@pytest.fixture(scope="module")
def demo_mesh(spot_path):
    from inrview.io.loaders import load

    return load(spot_path)


def show_mesh(win, geom) -> None:
    """The demo mesh as the live surface (points, per-vertex normals, VTK cells), framed by the camera."""
    import trimesh

    from inrview.app.common.frames import SurfaceFrame

    v, f = geom.vertices.astype(np.float32), geom.faces
    normals = trimesh.Trimesh(v, f, process=False).vertex_normals.astype(np.float32)
    cells = np.column_stack([np.full(len(f), 3), f]).ravel().astype(np.int64)
    win.viewport.set_surface(SurfaceFrame(v, normals, cells))
    win.viewport.reset_view()


def pixels(win, wait) -> np.ndarray:
    vp = win.viewport
    vp.render_now()
    QtWidgets.QApplication.processEvents()
    return vp.grab_pixels()


def changed(a, b) -> float:
    return float((np.abs(a.astype(int) - b.astype(int)).sum(axis=-1) > 24).mean())


def test_a_saved_view_comes_back_exactly(win, demo_mesh, app_tmp):
    from inrview.app.common import camera

    show_mesh(win, demo_mesh)
    view = win.view
    vp = win.viewport
    vp.view_preset("+X")
    vp.camera.azimuth = 23.0
    vp.camera.elevation = 11.0
    saved = vp.camera_state()
    view.save_view("three quarters")
    text = view.copy_view()
    assert QtWidgets.QApplication.clipboard().text() == text and text.startswith("inrview-view ")
    vp.view_preset("-Z")
    assert vp.camera_state() != saved
    assert view.restore_view("three quarters")
    assert vp.camera_state() == saved  # exactly: the same floats
    vp.view_preset("+Y")
    assert view.paste_view(text) and vp.camera_state() == saved
    errors = len(win.errors)
    assert not view.paste_view("a cat on the keyboard")  # refused with one line, the camera kept
    assert len(win.errors) == errors + 1 and "inrview-view" in win.errors[-1]
    assert vp.camera_state() == saved
    # kept in the settings: a later session gets the same floats back
    view.save_settings(win.settings)
    stored = __import__("json").loads(win.settings.get("view/saved", "{}"))
    assert camera.from_text(stored["three quarters"]) == saved


def test_render_styles_and_orthographic_change_the_pixels(win, demo_mesh, wait, app_tmp):
    show_mesh(win, demo_mesh)
    panel = win.view.panel
    shots = {}
    for style in ("smooth", "flat", "wireframe", "points"):
        panel.set_style(style, 3.0)
        expected = {"wireframe": "wireframe", "points": "points"}.get(style, "surface")
        assert win.viewport.layers["surface"].actor.prop.style.lower() == expected
        shots[style] = pixels(win, wait)
    QtGui.QImage(shots["wireframe"].data, *shots["wireframe"].shape[1::-1], QtGui.QImage.Format.Format_RGB888).save(
        str(app_tmp / "wireframe.png")
    )
    # each style draws other pixels than the others (flat against smooth: the facets' shading)
    assert changed(shots["smooth"], shots["flat"]) > 0.002
    for a, b in (("smooth", "wireframe"), ("smooth", "points"), ("wireframe", "points"), ("flat", "wireframe")):
        assert changed(shots[a], shots[b]) > 0.01, (a, b)
    panel.set_style("smooth", 4.0)
    before = pixels(win, wait)
    win.view.set_orthographic(True)
    assert win.viewport.camera.parallel_projection and win.view.act_ortho.isChecked()
    assert changed(before, pixels(win, wait)) > 0.005
    win.view.set_orthographic(False)


def test_a_reference_is_overlaid_in_its_colour(win, demo_mesh, spot_path, wait, app_tmp):
    show_mesh(win, demo_mesh)
    before = pixels(win, wait)
    added = []
    win.overlay.added.connect(added.append)
    win.overlay.add(str(spot_path), color="#00c8ff", opacity=1.0)
    wait(lambda: added, 30, "the overlay to load")
    win.viewport.reset_view()
    after = pixels(win, wait)
    cyan = lambda px: (px[..., 2].astype(int) > px[..., 0] + 80) & (px[..., 1].astype(int) > px[..., 0] + 60)  # noqa: E731
    # the reference sits where the surface is: its colour now covers a good part of the shape
    assert cyan(after).mean() - cyan(before).mean() > 0.02, (cyan(after).mean(), cyan(before).mean())
    win.overlay.set_color(0, "#ff00ff")
    win.overlay.view.set_opacity(0, 0.7)
    assert win.overlay.view.items[0].actor.prop.opacity == pytest.approx(0.7)
    shot = win.viewport.export_image(320, 240)  # screenshots carry the overlay
    from PIL import Image

    Image.fromarray(shot).save(app_tmp / "overlay.png")
    magenta = (shot[..., 0].astype(int) > shot[..., 1] + 60) & (shot[..., 2].astype(int) > shot[..., 1] + 60)
    assert magenta.mean() > 0.01, magenta.mean()
    win.overlay.panel.list.setCurrentRow(0)
    win.overlay.remove_selected()
    assert not win.overlay.view.items
    errors = len(win.errors)
    missing = app_tmp / "no_such_reference.ply"
    win.overlay.add(str(missing))
    wait(lambda: len(win.errors) > errors, 20, "the overlay's error")
    assert "no_such_reference.ply" in win.errors[-1] and "\n" not in win.errors[-1]
    assert not win.overlay.view.items and not win.overlay._pending


def test_error_colours_export_as_vertex_colours(win, demo_mesh, app_tmp):
    import trimesh

    from inrview.app.shape.inspect import ErrorFrame
    from inrview.app.watch import draw

    show_mesh(win, demo_mesh)
    n = win.viewport.layers["surface"].data.n_points
    values = np.linspace(0.0, 0.02, n).astype(np.float32)  # the colour range's bottom to its top
    draw.color_surface(win.viewport, win.watch.bars, ErrorFrame(values, 0.02, "units", "mesh"))
    win.watch.act_errors.setChecked(True)
    out = app_tmp / "errors.ply"
    assert win.watch.export_errors(str(out))
    mesh = trimesh.load(out, process=False)
    colors = np.asarray(mesh.visual.vertex_colors)
    assert len(mesh.vertices) == n and len(mesh.faces) == len(demo_mesh.faces)
    low, high = colors[0, :3].astype(int), colors[-1, :3].astype(int)
    assert low[2] > low[1] and high[0] > 200 and high[1] > 200  # viridis: purple at 0, yellow at the top
    draw.color_surface(win.viewport, win.watch.bars, None)
    win.watch.act_errors.setChecked(False)


def test_the_image_viewer_zooms_and_reads_out_pixels(win, wait, app_tmp):
    from inrview.image import demo_image, load_image, save_image

    png = str(save_image(app_tmp / "crop.png", load_image(demo_image()).crop(96, 96, 40, 48).pixels))
    image = win.image
    opened = []
    image.worker.opened.connect(opened.append)
    win.open_path(png)
    wait(lambda: opened, 20, "the picture to open")
    assert win.tabs.currentIndex() == win.tab_keys.index("image")
    wait(lambda: image.panel.view.isVisible(), 10, "the 2D tab")
    p = image.panel
    p.set_zoom(4.0)
    view = p.view
    assert view.zoom() == pytest.approx(4.0)
    rect = view.target_rect()
    assert rect.width() == pytest.approx(48 * 4) and rect.height() == pytest.approx(40 * 4)
    # the pixel under the mouse: the middle of the view is the picture's middle
    centre = QtCore.QPointF(view.width() / 2 + 1, view.height() / 2 + 1)
    ev = QtGui.QMouseEvent(
        QtCore.QEvent.Type.MouseMove,
        centre,
        view.mapToGlobal(centre),
        QtCore.Qt.MouseButton.NoButton,
        QtCore.Qt.MouseButton.NoButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
    )
    QtWidgets.QApplication.sendEvent(view, ev)
    text = p.readout.text()
    target = image.target[20, 24]
    assert text.startswith("pixel (24, 20)") and f"target ({target[0]}, {target[1]}, {target[2]})" in text
    from inrview.app.common.viewport import qimage_rgb

    shown = qimage_rgb(view.grab().toImage())
    # drawn in 4 x 4 blocks of the target's own colours: the middle of each block is the image pixel
    ys = (rect.top() + 4 * np.arange(40) + 2).astype(int)
    xs = (rect.left() + 4 * np.arange(48) + 2).astype(int)
    np.testing.assert_array_equal(shown[np.ix_(ys, xs)], image.target)
    p.show_side_by_side(True)
    assert all(p.views[n].isVisibleTo(p) for n in ("target", "fitted", "error")) and p.color_bar.isVisibleTo(p)
    p.show_side_by_side(False)
    # a checkpoint saved from the tab opens again in the app, in this tab (not as a 3D shape)
    p.kind.setCurrentIndex(p.kind.findData("grid"))
    p.width_.setValue(16)
    p.steps.setValue(40)
    image.start_training()
    wait(lambda: image.last_frame is not None and image.last_frame.done, 60, "the picture's fit")
    ckpt = str(app_tmp / "picture.safetensors")
    saved = []
    image.worker.done.connect(lambda tag, msg: saved.append(tag))
    image.worker.save_checkpoint(ckpt)
    wait(lambda: "checkpoint" in saved, 20, "the checkpoint")
    win.show_tab(win.shape)
    errors, opened = len(win.errors), []
    image.worker.opened.connect(opened.append)
    assert win.open_path(ckpt)
    wait(lambda: len(opened) > 0 and image.last_frame.step == 40, 20, "the checkpoint to open")
    assert win.tabs.currentIndex() == win.tab_keys.index("image") and len(win.errors) == errors
    assert "a grid network after 40 steps" in p.info.text()
    win.show_tab(win.shape)


def test_key_help_lists_the_keys_and_the_docs_are_linked(win):
    from inrview.app import guide

    dlg = guide.show_keys(win)
    text = dlg.table.toPlainText()
    for key in ("F1", "Ctrl+Shift+C", "Ctrl+Shift+V", "Ctrl+Return"):
        assert key in text, key
    dlg.close()
    labels = [a.text() for a in win.menuBar().actions() if a.text() == "&Help"][0]
    assert labels
    for name in guide.DOCS.values():
        assert (guide.docs_dir() / name).is_file(), name
    tips = win.shape.loss_panel.plot
    win.shape.loss_panel.add([(1, {"sphere": 0.3, "total": 0.3}), (2, {"surface": 0.1, "eikonal": 0.05, "total": 0.1})])
    win.shape.loss_panel.flush()
    assert "eikonal" in tips.toolTip() and "warm-up" in tips.toolTip()
    win.shape.loss_panel.clear()


def test_the_warm_up_is_marked_on_the_loss_plot(win):
    panel = win.shape.loss_panel
    panel.clear()
    points = [(s, {"sphere": 0.2 / s, "total": 0.2 / s}) for s in range(1, 101)]
    points += [(s, {"surface": 2e-5, "eikonal": 1e-4, "total": 1e-4}) for s in range(101, 160)]
    panel.add(points)
    panel.flush()
    assert panel.warmup_steps == (1, 100)
    assert panel.warmup in panel.plot.items() and panel.warmup_line.value() == 100
    assert "warm-up ends (step 100)" in panel.warmup_label.format
    panel.clear()
    assert panel.warmup_steps is None and panel.warmup not in panel.plot.items()


def _clipped_children(dock: QtWidgets.QDockWidget) -> list[str]:
    """Inputs and buttons of a dock not wholly inside the part of it that is on screen."""
    inner = dock.widget()
    if isinstance(inner, QtWidgets.QScrollArea):
        area = inner.viewport()
    else:
        area = inner
    seen = QtCore.QRect(area.mapTo(dock, QtCore.QPoint(0, 0)), area.size())
    bad = []
    kinds = (QtWidgets.QAbstractButton, QtWidgets.QAbstractSpinBox, QtWidgets.QComboBox, QtWidgets.QSlider)
    for child in inner.findChildren(QtWidgets.QWidget):
        if isinstance(child, kinds) and child.isVisibleTo(inner) and child.window() is dock.window():
            r = QtCore.QRect(child.mapTo(dock, QtCore.QPoint(0, 0)), child.size())
            if not seen.contains(r):
                bad.append(f"{type(child).__name__} '{getattr(child, 'text', lambda: '')()}'")
    return bad


def test_every_dock_is_usable_at_1280_by_800(win, wait):
    win.resize(1280, 800)
    win.show_tab(win.shape)
    wait(lambda: win.width() == 1280 and win.height() == 800, 5, "the window at 1280 x 800")
    assert win.minimumSizeHint().width() <= 1280 and win.minimumSizeHint().height() <= 800
    for name, dock in win.docks.items():
        dock.raise_()
        QtWidgets.QApplication.processEvents()
        assert dock.isVisible(), name
        g = dock.geometry()
        assert g.right() < win.width() and g.bottom() < win.height() and g.left() >= 0 and g.top() >= 0, name
        inner = dock.widget()
        assert inner.width() >= inner.minimumSizeHint().width(), name
        assert inner.height() >= inner.minimumSizeHint().height(), name
        assert not _clipped_children(dock), (name, _clipped_children(dock))
    # no stray tab bar over the view: each visible dock tab bar is a group of its own
    bars = [b for b in win.findChildren(QtWidgets.QTabBar) if b.parent() is win and b.isVisible()]
    groups = [{b.tabText(i) for i in range(b.count())} for b in bars]
    assert all(not (a < b) for a in groups for b in groups), groups
    loss = win.shape.loss_panel
    win.docks["loss"].raise_()
    QtWidgets.QApplication.processEvents()
    assert loss.plot.height() >= 150  # the plot and its legend, not a 60-pixel strip
    # the shape-space tab: Stop and Export on screen without scrolling
    win.show_tab(win.space)
    QtWidgets.QApplication.processEvents()
    panel = win.space.panel
    for b in (panel.stop_btn, panel.export_btn):
        top_left = b.mapTo(win, QtCore.QPoint(0, 0))
        assert 0 <= top_left.y() and top_left.y() + b.height() <= win.height() - win.statusBar().height(), b.text()
    win.show_tab(win.shape)
