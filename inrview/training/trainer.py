"""The trainer: `run()` is a generator of small frozen snapshots, stoppable between steps.

The caller (command line, app worker thread, test) drives the generator; pausing is simply not asking for
the next snapshot. Nothing here touches a GUI.

Faults (the safety net every training loop shares, training/safety.py): a NaN or infinite loss stops
training and restores the last good weights (kept every 100 steps), saying so in the last snapshot's
message. Running out of memory on a GPU halves the batch and carries on; after OOM_RETRIES failures in a row
(or when the batch cannot shrink further) training moves to the CPU with the configured batch; out of memory
on the CPU halves the batch down to MIN_BATCH and then stops with the last good weights. Every such event
rides on a snapshot's message.
"""

from __future__ import annotations

import dataclasses
import gc
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from ..config import TrainConfig, default_lr
from ..errors import TrainingError
from .cuda_graph import GRAPH_ENV, GRAPH_WARMUP, GraphedStep, make_adam
from .device import autocast, default_threads, is_out_of_memory, matmul_precision, pick_device
from .safety import Fault, SafetyNet, non_finite
from .schedule import cosine_factor
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


#: Consecutive out-of-memory failures on an accelerator before training moves to the CPU.
OOM_RETRIES = 3


class Trainer:
    """Trains `model` on `task` with Adam and a cosine learning-rate decay under `cfg`, on `device` (None:
    cfg.device). `run(...)` yields Snapshots; `stop()` ends it between steps; `optimizer`, `generator`
    (the batch RNG) and `state` (step, elapsed) are what a checkpoint saves."""

    def __init__(
        self,
        model: torch.nn.Module,
        task: Task,
        cfg: TrainConfig = TrainConfig(),
        device: torch.device | str | None = None,
    ):
        self.cfg = cfg
        self._notices: list[str] = []
        self.device = self._choose_device(cfg, device)
        if self.device.type == "cpu":
            threads = cfg.threads or default_threads(model)
            if threads:
                torch.set_num_threads(int(threads))
        try:
            self.model = model.to(self.device)
            self.task = task.to(self.device)
        except Exception as err:  # noqa: BLE001 - only out-of-memory is handled
            if not is_out_of_memory(err) or self.device.type == "cpu":
                raise
            self._notices.append(
                f"the network and its samples do not fit in {self.device.type} memory "
                f"({str(err).splitlines()[0][:80]}): training on the cpu"
            )
            self.device = torch.device("cpu")
            gc.collect()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            self.model = model.to(self.device)
            self.task = task.to(self.device)
        lr = (
            cfg.lr
            if cfg.lr is not None
            else default_lr(getattr(model, "kind", "relu"), getattr(model, "in_dim", 3), getattr(task, "target", None))
        )
        groups = (
            model.parameter_groups(lr)
            if hasattr(model, "parameter_groups")
            else [{"params": list(model.parameters()), "lr": lr}]
        )
        for g in groups:
            g["initial_lr"] = g["lr"]
        self.optimizer = make_adam(groups, lr, self.device)
        self.generator = torch.Generator().manual_seed(cfg.seed)
        self.state = TrainState()
        self._stop = False
        #: The last good weights and the handling of faulty steps (a non-finite loss ends the run).
        self.safety = SafetyNet([self.model], self.optimizer)
        #: Steps done by replaying a captured CUDA graph (see GraphedStep).
        self.replays = 0
        #: Where training goes after repeated out-of-memory failures on an accelerator.
        self.fallback_device = torch.device("cpu")

    def _choose_device(self, cfg: TrainConfig, device) -> torch.device:
        """An explicitly requested device that is not here is an error; a device that only the
        configuration names (say, a checkpoint made on a GPU machine) falls back to the best one here."""
        try:
            return pick_device(cfg.device if device is None else str(device))
        except (ValueError, RuntimeError) as e:
            if device is not None or cfg.device in (None, "", "auto", "cpu"):
                raise TrainingError(str(e)) from None
            chosen = pick_device("auto")
            self._notices.append(f"{e}: training on {chosen.type} instead")
            return chosen

    # -- control -------------------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask run() to finish after the current step (safe from another thread)."""
        self._stop = True

    def set_seconds(self, seconds: float | None) -> None:
        """Change the time budget (seconds of training; None: the step budget) before or between runs."""
        self.cfg = dataclasses.replace(self.cfg, seconds=seconds)

    def progress(self) -> float:
        """0..1 of the budget: the time budget when one is set, else the step budget."""
        if self.cfg.seconds is not None:
            return min(1.0, self.state.elapsed / self.cfg.seconds) if self.cfg.seconds > 0 else 1.0
        return min(1.0, self.state.step / self.cfg.steps) if self.cfg.steps > 0 else 1.0

    def _lr_factor(self) -> float:
        return cosine_factor(self.progress(), self.cfg.lr_final_factor) * self.safety.lr_scale

    def _finished(self) -> bool:
        return self.progress() >= 1.0

    # -- the loop ------------------------------------------------------------------------------------
    def run(
        self,
        report_every: int = 10,
        preview: Callable[[], dict] | None = None,
        preview_interval: float = 1.0,
        max_steps: int | None = None,
    ):
        """Train until the budget is spent or stop() is called, yielding a Snapshot every
        `report_every` steps (and always a last one with done=True).

        preview: called (on the thread driving this generator) at most every `preview_interval` seconds
        of training; its result rides on the snapshot. max_steps: stop after this many steps of this
        call (for stepping in small slices)."""
        self._stop = False
        self.model.train()
        losses = {}
        if self._notices:
            yield self._snapshot(losses, message="; ".join(self._notices))
            self._notices.clear()
        graphed = self._graphed_step()
        try:
            yield from self._loop(report_every, preview, preview_interval, max_steps, graphed, losses)
        finally:
            if graphed is not None:
                graphed.release()

    def _graphed_step(self) -> GraphedStep | None:
        """A GraphedStep when this run can replay one: CUDA, a task whose loss is graph_safe, fp32/tf32
        arithmetic, and not turned off by INRVIEW_CUDA_GRAPH=0."""
        if (
            self.device.type != "cuda"
            or not getattr(self.task, "graph_safe", False)
            or self.cfg.precision == "bf16"
            or os.environ.get(GRAPH_ENV, "1") == "0"
        ):
            return None
        return GraphedStep(self)

    def _loop(self, report_every, preview, preview_interval, max_steps, graphed, losses):
        t_last_preview = -math.inf
        steps_this_call = 0
        while not self._stop and not self._finished() and (max_steps is None or steps_this_call < max_steps):
            t0 = time.perf_counter()
            factor = self._lr_factor()
            if graphed is not None:
                terms = self._replayed_step(graphed, factor)
                if terms is None:  # no graph after all: this run goes on eagerly, saying why
                    graphed = None
                    if self._notices:
                        yield self._snapshot(losses, message="; ".join(self._notices))
                        self._notices.clear()
                    continue
            else:
                terms, interrupt = self._eager_step(factor, losses)
                if interrupt is not None:  # out of memory or a non-finite loss: report, maybe go on
                    snap, go_on = interrupt
                    yield snap
                    if not go_on:
                        return
                    continue
            # one whole step done, replayed or eager
            self.state.step += 1
            steps_this_call += 1
            report = self.state.step % report_every == 0
            values = None
            if graphed is not None and (report or self.state.step % 100 == 0):
                # a replayed step's loss stays on the device until now (this read waits for the device, so
                # the clock below counts its work, not just the launches)
                values = {k: float(v.detach()) for k, v in terms.items()}
                if not math.isfinite(values["total"]):
                    graphed.release()
                    yield self._recover(non_finite(values))
                    return
            self.state.elapsed += time.perf_counter() - t0
            self.safety.keep(self.state.step)
            if report:
                losses = values or {k: float(v.detach()) for k, v in terms.items()}
                self.state.history.append((self.state.step, self.state.elapsed, losses["total"]))
                pv = None
                if preview is not None and self.state.elapsed - t_last_preview >= preview_interval:
                    pv = self._preview(preview)
                    t_last_preview = self.state.elapsed
                yield self._snapshot(losses, pv)
        if self._finished() and hasattr(self.task, "settle"):
            self.task.settle(self.model)  # a last adjustment once the budget is spent (see the task)
        pv = self._preview(preview) if preview is not None else None
        yield self._snapshot(losses, pv, done=True, message="stopped" if self._stop else None)

    def _eager_step(self, factor: float, losses: dict) -> tuple[dict | None, tuple[Snapshot, bool] | None]:
        """One step run op by op, inside the safety net. Returns (loss terms, None), or (None, (snapshot, go
        on)) when the step ran out of memory (the batch is halved or training moves, see _out_of_memory) or
        its loss was not finite (the last good weights are restored and training ends)."""
        for g in self.optimizer.param_groups:
            g["lr"] = g["initial_lr"] * factor
        self.optimizer.zero_grad(set_to_none=True)
        terms, fault = self.safety.step(self._step_terms, self.device)
        if fault is None:
            return terms, None
        if fault.kind == "nan":
            return None, (self._recover(fault), False)
        message, go_on = self._out_of_memory(fault.what)
        return None, (self._snapshot(losses, done=not go_on, message=message), go_on)

    def _step_terms(self) -> dict:
        """Loss terms of one batch; the weights are updated only when the loss is finite."""
        with matmul_precision(self.cfg.precision, self.device):
            with autocast(self.cfg.precision, self.device):
                terms = self.task.loss(self.model, self.generator)
            if bool(torch.isfinite(terms["total"])):
                terms["total"].backward()
                self.optimizer.step()
        return terms

    def _replayed_step(self, graphed: GraphedStep, factor: float) -> dict | None:
        """_graph_step, with running out of memory while replaying turned into eager steps (None)."""
        try:
            return self._graph_step(graphed, factor)
        except Exception as err:  # noqa: BLE001 - only out-of-memory is handled, the rest re-raised
            if not is_out_of_memory(err):
                raise
            graphed.release()
            first = str(err).splitlines()[0][:80]
            self._notices.append(f"out of memory replaying the CUDA graph ({first}): steps run one by one")
            return None

    def _graph_step(self, graphed: GraphedStep, factor: float) -> dict | None:
        """One replayed step; the first call captures the graph after GRAPH_WARMUP eager steps (counted as
        steps). Returns the step's loss terms (device tensors), or None when capture failed, after which
        the optimizer is as before and the caller runs eagerly."""
        graphed.set_lr(factor)
        if graphed.graph is not None:
            self.replays += 1
            return graphed.replay()
        try:
            graphed.warm_up(GRAPH_WARMUP)
        except Exception as err:  # noqa: BLE001 - any capture failure falls back to eager steps
            graphed.release()
            self.optimizer.zero_grad(set_to_none=True)
            if not is_out_of_memory(err):  # out of memory: the eager steps meet it again and halve the batch
                self._notices.append(
                    f"CUDA graph capture failed ({type(err).__name__}: "
                    f"{str(err).splitlines()[0][:100] if str(err) else ''}): steps run one by one"
                )
            return None
        self.state.step += GRAPH_WARMUP  # the warm-up steps trained the network (at this step's rate)
        self.replays += 1
        return graphed.replay()

    def _preview(self, preview):
        self.model.eval()
        try:
            return preview()
        except Exception as err:  # noqa: BLE001
            if not is_out_of_memory(err):
                raise
            self.safety.free_memory(self.device)
            return None  # no preview this time; training goes on
        finally:
            self.model.train()

    # -- faults --------------------------------------------------------------------------------------
    def _out_of_memory(self, what: str) -> tuple[str, bool]:
        """Halve the batch, move to the CPU, or give up; returns (message, whether training goes on)."""
        batch = getattr(self.task, "batch_size", None)
        where, in_a_row = self.device.type, self.safety.oom_in_a_row
        on_fallback = self.device == self.fallback_device or self.device.type == self.fallback_device.type
        half = self.safety.halve(batch)
        if not on_fallback and (in_a_row > OOM_RETRIES or half is None):
            self._move_to(self.fallback_device)
            if batch is not None:
                self.task.batch_size = self.cfg.batch_size
            self.safety.oom_in_a_row = 0
            return (
                f"out of memory on {where} ({what}), {in_a_row} time(s) in a row: training moved to the "
                f"{self.fallback_device.type}"
                + (f" with a batch of {self.task.batch_size}" if batch is not None else ""),
                True,
            )
        if half is not None:
            self.task.batch_size = half
            return f"out of memory on {where} ({what}): batch halved to {half}", True
        msg = f"training stopped at step {self.state.step}: out of memory on {where} ({what})"
        restored = self._restore_good()
        return msg + ("" if restored is None else f"; kept the weights from step {restored}"), False

    def _move_to(self, device: torch.device) -> None:
        """Model, task data, optimizer moments and the last good copy, all onto `device`."""
        self.model.to(device)
        self.task = self.task.to(device)
        for st in self.optimizer.state.values():
            for k, v in list(st.items()):
                if torch.is_tensor(v):
                    st[k] = v.to(device)
        self.safety.move_copy(device)
        self.device = device
        self.safety.free_memory(device)

    def _restore_good(self) -> int | None:
        step = self.safety.restore()
        if step is not None:
            self.state.step = step
        return step

    def _snapshot(self, losses, preview=None, done=False, message=None) -> Snapshot:
        return Snapshot(
            self.state.step,
            None if self.cfg.seconds else self.cfg.steps,
            dict(losses),
            self.state.elapsed,
            float(self.optimizer.param_groups[0]["lr"]),
            self.progress(),
            preview,
            done,
            message,
        )

    def _recover(self, fault: Fault) -> Snapshot:
        """The last snapshot after a non-finite loss: the last good weights back, training ended."""
        at = self.state.step + 1
        message, _ = self.safety.recover(at, fault)
        if self.safety.good_step is not None:
            self.state.step = self.safety.good_step
        return self._snapshot(fault.losses or {}, done=True, message=message)

    def train(self, **kw) -> Snapshot:
        """Run to the end and return the last snapshot."""
        last = None
        for snap in self.run(**kw):
            last = snap
        return last
