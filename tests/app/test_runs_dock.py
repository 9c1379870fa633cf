"""The Runs dock in the real window: fits recorded, two runs compared (both surfaces on screen, both loss
curves on one plot), a run reopened and continued."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

pytestmark = pytest.mark.gui


def orange(px: np.ndarray) -> np.ndarray:
    r, g, b = (px[..., i].astype(int) for i in range(3))
    return (r > g + 30) & (r > b + 60)


def green(px: np.ndarray) -> np.ndarray:
    r, g, b = (px[..., i].astype(int) for i in range(3))
    return (g > r + 40) & (g > b + 30)


@pytest.fixture(scope="module")
def win(qapp, app_tmp, small_config, window, showing):
    w = window(app_tmp / "runs.ini", (1000, 760))
    small_config(w.shape.model_panel, steps=40)
    yield from showing(w)


def open_and_train(win, wait, path) -> object:
    opened, recorded = [], []
    win.shape.file_opened.connect(opened.append)
    win.runs.recorded.connect(recorded.append)
    win.open_path(path)
    wait(lambda: opened, 60, f"{path} to open")
    win.shape.start_training(fresh=True)
    wait(lambda: recorded, 90, "the run to be recorded")
    return recorded[-1]


def test_two_runs_listed_compared_reopened_and_continued(win, wait, spot_path, tmp_path):
    store = win.runs.store
    before = {r.id for r in store.list()}
    moved = tmp_path / "spot_moved.ply"  # a second real shape beside the first: spot shifted along +x
    mesh = trimesh.load(spot_path, force="mesh")
    mesh.apply_translation([1.4 * mesh.extents[0], 0.0, 0.0])
    mesh.export(moved)
    a = open_and_train(win, wait, spot_path)
    b = open_and_train(win, wait, moved)
    assert a.status == b.status == "finished" and a.steps == b.steps == 40
    assert a.curve[-1][0] == 40 and a.curve[-1][1] < a.curve[0][1], "the loss curve was not recorded"
    assert a.settings["model"]["kind"] == "grid" and a.settings["model"]["width"] == 32
    assert a.output("mesh") is not None
    wait(lambda: b.output("checkpoint") is not None, 30, "the run's checkpoint")
    panel = win.runs.panel
    listed = [r.id for r in panel.runs]
    assert listed[:2] == [b.id, a.id] and not before & {a.id, b.id}  # newest first
    assert panel.table.item(0, 2).text() == "spot_moved.ply" and panel.table.item(1, 2).text() == "spot.obj"

    win.docks["runs"].raise_()
    panel.select_ids({a.id, b.id})
    assert panel.buttons["compare"].isEnabled()
    panel.buttons["compare"].click()
    vp = win.viewport
    assert vp.visible("run_a") and vp.visible("run_b") and not vp.visible("surface"), (win.errors, list(vp.layers))
    px = vp.grab_pixels()
    assert orange(px).mean() > 0.01 and green(px).mean() > 0.01, "both surfaces should be on screen"
    vp.hide("run_b")  # each colour is its run's surface: without B, its green pixels go and A's stay
    only_a = vp.grab_pixels()
    assert green(only_a).mean() < 0.1 * green(px).mean() and orange(only_a).mean() >= orange(px).mean()
    vp.unhide("run_b")
    curves = panel.curve_items()
    assert len(curves) == 2 and [len(c.getData()[0]) for c in curves] == [len(a.curve), len(b.curve)]
    assert [c.name() for c in curves] == [a.name, b.name]
    win.grab().save(str(tmp_path.parent / "runs_dock.png"))
    win.grab().save("/tmp/inrview-runs-dock.png")
    panel.buttons["clear"].click()
    assert "run_a" not in vp.layers and vp.visible("surface")

    opened = []
    win.shape.file_opened.connect(opened.append)
    panel.select_ids({a.id})
    recorded = []
    win.runs.recorded.connect(recorded.append)
    panel.buttons["continue"].click()
    wait(lambda: recorded, 90, "the continued run to be recorded")
    assert opened[-1] == str(a.output("checkpoint"))
    c = recorded[-1]
    assert c.command == "app continue" and c.settings["start_step"] == 40 and c.steps == 80
    assert c.curve[0][0] > 40  # the continued curve starts after the first run's last step


def test_an_image_fit_of_the_2d_tab_is_recorded_and_reopened_there(win, wait, tmp_path):
    from inrview.image import demo_image, load_image, save_image

    picture = save_image(tmp_path / "detail.png", load_image(demo_image()).crop(96, 96, 40, 48).pixels)
    image = win.image
    opened = []
    image.worker.opened.connect(opened.append)
    win.open_path(str(picture))
    wait(lambda: opened, 30, "the picture to open")
    assert win.tab_keys[win.tabs.currentIndex()] == "image"
    p = image.panel
    p.kind.setCurrentIndex(p.kind.findData("grid"))
    p.width_.setValue(16)
    p.steps.setValue(120)
    p.batch.setValue(4096)
    recorded = []
    win.runs.recorded.connect(recorded.append)
    image.start_training()
    wait(lambda: recorded, 90, "the image run to be recorded")
    run = recorded[-1]
    assert run.kind == "image" and run.command == "app image fit" and run.status == "finished"
    assert run.steps == 120 and run.source == str(picture) and run.seconds > 0
    assert run.settings["model"]["kind"] == "grid" and run.settings["train"]["steps"] == 120
    assert run.curve[-1][0] == 120 and run.curve[-1][1] < run.curve[0][1], "the loss curve was not recorded"
    assert 15.0 < run.measures["psnr"] < 80.0 and abs(run.measures["psnr"] - image.last_frame.psnr) < 1e-6
    wait(lambda: run.output("checkpoint") and run.output("image"), 30, "the run's checkpoint and picture")
    metrics = __import__("json").loads(run.output("metrics").read_text())
    assert metrics["psnr_curve"][-1] == [120, run.measures["psnr"]] and len(metrics["psnr_curve"]) >= 2
    assert load_image(run.output("image")).shape[:2] == (40, 48)
    panel = win.runs.panel
    row = [r.id for r in panel.runs].index(run.id)
    assert panel.table.item(row, 2).text() == "detail.png"
    panel.select_ids({run.id})
    assert panel.buttons["reopen"].isEnabled() and not panel.buttons["compare"].isEnabled()
    assert not panel.buttons["continue"].isEnabled()

    win.tabs.setCurrentIndex(win.tab_keys.index("shape"))
    opened.clear()
    panel.buttons["reopen"].click()
    wait(lambda: opened, 30, "the run's checkpoint to open in the 2D tab")
    assert win.tab_keys[win.tabs.currentIndex()] == "image" and image.path == str(run.output("checkpoint"))
    assert "120 steps" in image.panel.info.text()
    wait(lambda: image.last_frame is not None and image.last_frame.step == 120, 20, "the reopened fit's picture")
    assert abs(image.last_frame.psnr - run.measures["psnr"]) < 1.0  # the same network, at the image's size
