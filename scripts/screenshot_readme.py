#!/usr/bin/env python
"""The README's pictures of the app: the whole window mid-training, and the view at the end of the run.

Runs the real window (on a private Xvfb when there is no display) on the demo shape with a time budget;
when training is --at of the way through it saves the window as it is at that moment (docks, live surface,
slices, loss curve, status bar), and at the end it exports the view at --view-size.

With --compare it instead samples a noisy point cloud without normals from the demo shape, opens it (the
normals are estimated and oriented), trains for the budget, runs Compare with Poisson and saves the window
in side-by-side mode as compare_poisson.png.

    .venv/bin/python -m scripts.screenshot_readme --out docs/images
    .venv/bin/python -m scripts.screenshot_readme --compare --seconds 30 --out docs/images
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--file", default=str(ROOT / "inrview" / "resources" / "spot.obj"))
    ap.add_argument("--seconds", type=float, default=60.0, help="training budget")
    ap.add_argument("--at", type=float, default=0.6, help="fraction of the budget at which the window is saved")
    ap.add_argument("--size", default="1440x900", help="window size")
    ap.add_argument("--view-size", default="1200x900", help="size of the exported view")
    ap.add_argument("--out", default=str(ROOT / "docs" / "images"))
    ap.add_argument(
        "--compare",
        action="store_true",
        help="a point cloud of the shape, trained, then Compare with Poisson side by side",
    )
    ap.add_argument("--points", type=int, default=20_000, help="--compare: points sampled from the shape")
    ap.add_argument("--noise", type=float, default=0.0025, help="--compare: noise, fraction of the diagonal")
    args = ap.parse_args()

    from tests.support.xvfb import virtual_display

    virtual_display()
    os.environ["INRVIEW_SETTINGS"] = str(Path(tempfile.mkdtemp(prefix="inrview-shots-")) / "settings.ini")
    import torch

    torch.set_num_threads(1)
    from PyQt6 import QtCore, QtWidgets

    from inrview.app import make_window

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    win = make_window(restore=False, size=tuple(int(v) for v in args.size.split("x")), app_name="inrview")
    app = QtWidgets.QApplication.instance()
    win.shape.model_panel.set_budget(seconds=args.seconds)
    win.show()
    if args.compare:
        return compare_shot(app, win, args, out)
    saved = {}

    def on_frame(f):
        snap = f.snapshot
        if "window" not in saved and snap is not None and snap.progress >= args.at and f.surface is not None:
            QtCore.QTimer.singleShot(150, grab_window)  # after this surface has been drawn

    def grab_window():
        if "window" in saved:
            return
        win.shape.loss_panel._redraw()
        path = out / "app_training.png"
        if not win.grab().save(str(path), "PNG"):
            raise SystemExit(f"cannot write {path}")
        saved["window"] = path
        print(f"{path}: the window at {win.status.step_label.text()}, {win.status.time_label.text()}")

    def final():
        w, h = (int(v) for v in args.view_size.split("x"))
        path = out / "app_view.png"
        win.export_screenshot(str(path), w, h)
        saved["view"] = path
        print(f"{path}: the view after {win.status.step_label.text()}")
        QtCore.QTimer.singleShot(100, win.close)
        QtCore.QTimer.singleShot(300, app.quit)

    win.worker.frame.connect(on_frame)
    win.shape.file_opened.connect(lambda _: win.shape.start_training(fresh=True))
    win.shape.final_drawn.connect(final)
    QtCore.QTimer.singleShot(0, lambda: win.open_path(args.file))
    app.exec()
    return 0 if len(saved) == 2 else 1


def compare_shot(app, win, args, out: Path) -> int:
    """The window in side-by-side mode after Compare with Poisson on a noisy cloud without normals."""
    from PyQt6 import QtCore

    import inrview
    from inrview.io.export import save_points
    from inrview.io.surface import sample_cloud

    shape = inrview.load(args.file)
    pts, _ = sample_cloud(shape.vertices, shape.faces, args.points, noise=args.noise, seed=0)
    cloud = Path(tempfile.mkdtemp(prefix="inrview-shots-")) / f"{Path(args.file).stem}_scan.ply"
    save_points(cloud, pts)  # no normals: the app estimates and orients them
    win.shape.data_panel.set_normals_mode("auto")
    for toggle in win.shape.slices_panel.toggles:  # the two surfaces alone
        toggle.setChecked(False)
    win.shape.data_panel.show_domain.setChecked(False)
    saved = {}

    def compared(tag, result):
        if tag == "compare" and "window" not in saved:
            saved["window"] = None
            QtCore.QTimer.singleShot(400, grab)

    def grab():
        win.viewport.render_now()
        app.processEvents()
        path = out / "compare_poisson.png"
        if not win.grab().save(str(path), "PNG"):
            raise SystemExit(f"cannot write {path}")
        saved["window"] = path
        for line in win.cloud.comparison.lines:
            print(line)
        print(
            f"{path}: side by side after {win.status.step_label.text()}; "
            f"Compare took {win.cloud.compare_seconds[-1]:.1f} s"
        )
        QtCore.QTimer.singleShot(100, win.close)
        QtCore.QTimer.singleShot(300, app.quit)

    win.worker.done.connect(compared)
    win.shape.file_opened.connect(lambda _: win.shape.start_training(fresh=True))
    win.shape.final_drawn.connect(lambda: QtCore.QTimer.singleShot(200, win.cloud.compare_poisson))
    QtCore.QTimer.singleShot(0, lambda: win.open_path(cloud))
    app.exec()
    return 0 if saved.get("window") else 1


if __name__ == "__main__":
    sys.exit(main())
