"""The trainer: `run()` is a generator of small frozen snapshots, stoppable between steps.

The caller (command line, app worker thread, test) drives the generator; pausing is simply not asking for
the next snapshot. Nothing here touches a GUI.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import torch

from ..config import TrainConfig, default_lr
from .device import pick_device
from .tasks import Task


@dataclass(frozen=True)
class Snapshot:
    """One report from the trainer.

    step: optimisation steps done so far; total_steps: the step budget (None with a time budget only);
    losses: named loss terms as floats; elapsed: training seconds (pauses excluded); lr: current rate;
    progress: 0..1 of the step or time budget; preview: arrays from the preview callback, or None;
    done: the last snapshot of this run; message: a remark for the log (None usually).
    """

    step: int
    total_steps: int | None
    losses: dict
    elapsed: float
    lr: float
    progress: float
    preview: dict | None = None
    done: bool = False
    message: str | None = None


@dataclass
class TrainState:
    """What a checkpoint needs to resume exactly."""

    step: int = 0
    elapsed: float = 0.0
    last_good_step: int = 0
    history: list = field(default_factory=list)


def make_adam(groups: list[dict], lr: float, device: torch.device) -> torch.optim.Adam:
    """Adam with its fused kernel where this torch has one for the device: one pass over the weights
    instead of a dozen (the dense grid tables have millions of entries; on a CPU the unfused update
    was 45% of a training step and the fused one is about 4x faster)."""
    try:
        return torch.optim.Adam(groups, lr=lr, betas=(0.9, 0.99), eps=1e-15, fused=device.type in ("cpu", "cuda"))
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(groups, lr=lr, betas=(0.9, 0.99), eps=1e-15)


class Trainer:
    def __init__(self, model: torch.nn.Module, task: Task, cfg: TrainConfig = TrainConfig(),
                 device: torch.device | str | None = None):
        self.cfg = cfg
        self.device = pick_device(cfg.device if device is None else str(device))
        if cfg.threads and self.device.type == "cpu":
            torch.set_num_threads(int(cfg.threads))
        self.model = model.to(self.device)
        self.task = task.to(self.device)
        lr = cfg.lr if cfg.lr is not None else default_lr(getattr(model, "kind", "relu"))
        groups = model.parameter_groups(lr) if hasattr(model, "parameter_groups") else \
            [{"params": list(model.parameters()), "lr": lr}]
        for g in groups:
            g["initial_lr"] = g["lr"]
        self.optimizer = make_adam(groups, lr, self.device)
        self.generator = torch.Generator().manual_seed(cfg.seed)
        self.state = TrainState()
        self._stop = False
        self._good = None

    # -- control -------------------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask run() to finish after the current step (safe from another thread)."""
        self._stop = True

    def progress(self) -> float:
        """0..1 of the budget: the time budget when one is set, else the step budget."""
        if self.cfg.seconds is not None:
            return min(1.0, self.state.elapsed / self.cfg.seconds) if self.cfg.seconds > 0 else 1.0
        return min(1.0, self.state.step / self.cfg.steps) if self.cfg.steps > 0 else 1.0

    def _lr_factor(self) -> float:
        t = self.progress()
        f = self.cfg.lr_final_factor
        return f + (1 - f) * 0.5 * (1 + math.cos(math.pi * t))

    def _finished(self) -> bool:
        return self.progress() >= 1.0

    # -- the loop ------------------------------------------------------------------------------------
    def run(self, report_every: int = 10, preview: Callable[[], dict] | None = None,
            preview_interval: float = 1.0, max_steps: int | None = None):
        """Train until the budget is spent or stop() is called, yielding a Snapshot every
        `report_every` steps (and always a last one with done=True).

        preview: called (on the thread driving this generator) at most every `preview_interval` seconds
        of training; its result rides on the snapshot. max_steps: stop after this many steps of this
        call (for stepping in small slices)."""
        self._stop = False
        self.model.train()
        t_last_preview = -math.inf
        steps_this_call = 0
        losses = {}
        while not self._stop and not self._finished() and (max_steps is None or steps_this_call < max_steps):
            t0 = time.perf_counter()
            factor = self._lr_factor()
            for g in self.optimizer.param_groups:
                g["lr"] = g["initial_lr"] * factor
            self.optimizer.zero_grad(set_to_none=True)
            terms = self.task.loss(self.model, self.generator)
            total = terms["total"]
            if not torch.isfinite(total):
                yield self._recover(terms)
                return
            total.backward()
            self.optimizer.step()
            self.state.step += 1
            steps_this_call += 1
            self.state.elapsed += time.perf_counter() - t0
            if self.state.step % 100 == 0 or self._good is None:
                self._remember_good()
            if self.state.step % report_every == 0:
                losses = {k: float(v.detach()) for k, v in terms.items()}
                self.state.history.append((self.state.step, self.state.elapsed, losses["total"]))
                pv = None
                if preview is not None and self.state.elapsed - t_last_preview >= preview_interval:
                    pv = self._preview(preview)
                    t_last_preview = self.state.elapsed
                yield self._snapshot(losses, pv)
        pv = self._preview(preview) if preview is not None else None
        yield self._snapshot(losses, pv, done=True,
                             message="stopped" if self._stop else None)

    def _preview(self, preview):
        self.model.eval()
        try:
            return preview()
        finally:
            self.model.train()

    def _snapshot(self, losses, preview=None, done=False, message=None) -> Snapshot:
        return Snapshot(self.state.step, None if self.cfg.seconds else self.cfg.steps, dict(losses),
                        self.state.elapsed, self.optimizer.param_groups[0]["lr"], self.progress(), preview,
                        done, message)

    def _remember_good(self):
        self._good = (self.state.step, copy.deepcopy(self.model.state_dict()),
                      copy.deepcopy(self.optimizer.state_dict()))

    def _recover(self, terms) -> Snapshot:
        bad = ", ".join(f"{k}={float(v.detach()):.3g}" for k, v in terms.items())
        msg = f"training stopped at step {self.state.step + 1}: non-finite loss ({bad})"
        if self._good is not None:
            step, model_state, opt_state = self._good
            self.model.load_state_dict(model_state)
            self.optimizer.load_state_dict(opt_state)
            msg += f"; restored the weights from step {step}"
            self.state.step = step
        return self._snapshot({k: float(v.detach()) for k, v in terms.items()}, done=True, message=msg)

    def train(self, **kw) -> Snapshot:
        """Run to the end and return the last snapshot."""
        last = None
        for last in self.run(**kw):
            pass
        return last
