"""The window's status bar: the state in words, training progress, step, rate, time and device."""

from __future__ import annotations

from PyQt6 import QtWidgets


def hms(seconds: float) -> str:
    """'m:ss' or 'h:mm:ss'."""
    seconds = max(0, int(round(seconds)))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class StatusBar(QtWidgets.QStatusBar):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.state_label = QtWidgets.QLabel("Ready")
        self.progress = QtWidgets.QProgressBar(maximumWidth=160, minimum=0, maximum=1000, textVisible=False)
        self.progress.setMaximumHeight(14)
        self.step_label = QtWidgets.QLabel("")
        self.rate_label = QtWidgets.QLabel("")
        self.time_label = QtWidgets.QLabel("")
        self.device_label = QtWidgets.QLabel("")
        self.addWidget(self.state_label, 1)
        for w in (self.progress, self.step_label, self.rate_label, self.time_label, self.device_label):
            self.addPermanentWidget(w)
        self._rate = (None, None, 0.0)  # (step, elapsed, it/s)

    def set_state(self, text: str) -> None:
        """The state in words; the progress bar leaves its busy (indeterminate) look."""
        self.progress.setMaximum(1000)
        self.state_label.setText(text)

    def busy(self, text: str) -> None:
        """Something without a known end runs (the progress bar becomes indeterminate)."""
        self.state_label.setText(text)
        self.progress.setMaximum(0)

    def restart_rate(self) -> None:
        self._rate = (None, None, 0.0)

    def show_progress(self, snap) -> None:
        """A trainer snapshot: progress, step, it/s (over the last half second or more), elapsed and ETA."""
        step0, el0, rate = self._rate
        if step0 is not None and snap.elapsed > el0 + 0.5:
            rate = (snap.step - step0) / (snap.elapsed - el0)
            self._rate = (snap.step, snap.elapsed, rate)
        elif step0 is None or snap.step < step0:
            self._rate = (snap.step, snap.elapsed, rate)
        self.progress.setMaximum(1000)
        self.progress.setValue(int(snap.progress * 1000))
        total = f" / {snap.total_steps}" if snap.total_steps else ""
        self.step_label.setText(f"step {snap.step}{total}")
        self.rate_label.setText(f"{rate:.1f} it/s" if rate else "")
        eta = snap.elapsed * (1 - snap.progress) / snap.progress if snap.progress > 0.01 else None
        eta_text = f", ETA {hms(eta)}" if eta is not None and not snap.done else ""
        self.time_label.setText(f"{hms(snap.elapsed)} elapsed{eta_text}")
        if snap.done:
            self.state_label.setText("Stopped" if snap.message == "stopped" else "Done")
