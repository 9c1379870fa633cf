"""Image fits of the 2D images tab recorded in the history of runs, as the shape fits are.

A run begins when the image worker starts training and ends with its last frame (done), a failure, or another
file opened in the tab. Its record holds the network's and the training's settings, the MSE loss curve (the
store's curve), the final PSNR and SSIM, wall seconds and three outputs in the run's own folder: a checkpoint
and the fitted picture at the image's size (both written by the image worker, which owns the network) and
metrics.json with the PSNR curve of the previews. Reopening such a run opens its checkpoint in the 2D tab.
"""

from __future__ import annotations

import json
import math
import time

from PyQt6 import QtCore

#: The tag of the worker commands that write a run's files (the tab's own status line leaves them out).
TAG = "run"


class ImageRecording:
    """What is gathered while an image fit of the tab trains."""

    def __init__(self, source: str, settings: dict, size: tuple[int, int] | None):
        self.source, self.settings, self.size = source, settings, size
        self.t0 = time.perf_counter()
        self.loss: list[tuple[int, float]] = []
        self.psnr: list[tuple[int, float]] = []
        self.step, self.progress, self.ssim = 0, 0.0, float("nan")


class ImageRuns(QtCore.QObject):
    """Records the image worker's fits in `store`; `recorded` carries each Run as it is added."""

    recorded = QtCore.pyqtSignal(object)

    def __init__(self, image, store, enabled, log, parent=None):
        super().__init__(parent)
        self.image, self.worker, self.store = image, image.worker, store
        self.enabled, self.log = enabled, log  # enabled(): the Runs dock's "record" box
        self.recording: ImageRecording | None = None
        self._start: dict | None = None  # the settings of a fit that just began (read on the worker thread)
        # read as the worker starts training (a queued slot could see the first steps already taken)
        self.worker.state.connect(self._note_start, QtCore.Qt.ConnectionType.DirectConnection)
        self.worker.state.connect(self._on_state)
        self.worker.progress.connect(self._on_progress)
        self.worker.frame.connect(self._on_frame)
        self.worker.opened.connect(self._on_opened)
        self.worker.failed.connect(self._on_failed)
        self.worker.done.connect(self._on_done)

    def _note_start(self, state: str) -> None:
        """Worker thread: a fit that begins now (not one back to training after an export's fit for upscaling)."""
        s = self.worker.session
        if state == "training" and s is not None and s.trainer.state.step == 0:
            self._start = {"model": s.model_cfg.to_dict(), "train": s.train_cfg.to_dict(), "source": s.image.source}

    def _on_state(self, state: str) -> None:
        if state != "training":  # (a queued 'busy' may arrive after the worker already began training)
            return
        start, self._start = self._start, None
        if start is None or self.recording is not None or not self.enabled():
            return
        source = str(self.image.path or start.pop("source"))
        start.pop("source", None)
        self.recording = ImageRecording(source, start, self.image.image_size)

    def _on_progress(self, d: dict) -> None:
        rec = self.recording
        if rec is None or str(d.get("message") or "").startswith("export:"):
            return
        rec.step, rec.progress = int(d["step"]), float(d["progress"])
        loss = d.get("loss")
        if loss is not None and (not rec.loss or rec.loss[-1][0] != rec.step):
            rec.loss.append((rec.step, float(loss)))

    def _on_frame(self, f) -> None:
        rec = self.recording
        if rec is None:
            return
        if math.isfinite(f.psnr):
            rec.psnr.append((int(f.step), float(f.psnr)))
        rec.ssim, rec.step = f.ssim, max(rec.step, int(f.step))
        if f.done:
            self._record("finished" if rec.progress >= 1.0 else "stopped")

    def _on_opened(self, _info) -> None:
        if self.recording is not None:
            self._record("stopped")  # another file was opened while the fit trained

    def _on_failed(self, tag: str, message: str) -> None:
        if tag == "train" and self.recording is not None:
            self._record("failed")
        elif tag == TAG:
            self.log("warning", f"a file of the image run was not kept: {message}")

    def _on_done(self, tag: str, message) -> None:
        if tag == TAG:
            self.log("info", str(message))

    def _record(self, status: str) -> None:
        rec, self.recording = self.recording, None
        folder = self.store.new_folder()
        outputs = {"metrics": folder / "metrics.json"}
        measures = {}
        if rec.psnr:
            measures["psnr"] = rec.psnr[-1][1]
        if isinstance(rec.ssim, float) and math.isfinite(rec.ssim):
            measures["ssim"] = rec.ssim
        if rec.loss:
            measures["final_loss"] = rec.loss[-1][1]
        seconds = time.perf_counter() - rec.t0
        metrics = {"input": rec.source, "steps": rec.step, "seconds": seconds, **measures}
        metrics["psnr_curve"] = [list(p) for p in rec.psnr]
        outputs["metrics"].write_text(json.dumps(metrics, indent=1))
        if self.worker.session is not None and status != "failed":
            outputs["checkpoint"] = folder / "checkpoint.safetensors"
            self.worker.save_checkpoint(str(outputs["checkpoint"]), tag=TAG)
            if rec.size is not None:
                outputs["image"] = folder / "fitted.png"
                self.worker.export(str(outputs["image"]), *rec.size, tag=TAG)
        run = self.store.add(
            command="app image fit",
            kind="image",
            source=rec.source,
            status=status,
            steps=rec.step,
            seconds=seconds,
            folder=folder,
            settings=rec.settings,
            measures=measures,
            outputs=outputs,
            curve=rec.loss,
        )
        self.log("info", f"recorded run {run.name} ({status}, {run.steps} steps)")
        self.recorded.emit(run)
