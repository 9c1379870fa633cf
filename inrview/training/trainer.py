"""The trainer: `run()` is a generator of small frozen snapshots, stoppable between steps.

The caller (command line, app worker thread, test) drives the generator; pausing is simply not asking for
the next snapshot. Nothing here touches a GUI.

Faults: a NaN or infinite loss stops training and restores the last good weights (kept every 100 steps),
saying so in the last snapshot's message. Running out of memory on a GPU halves the batch and carries on;
after OOM_RETRIES failures in a row (or when the batch cannot shrink further) training moves to the CPU
with the configured batch; out of memory on the CPU halves the batch down to MIN_BATCH and then stops with
the last good weights. Every such event rides on a snapshot's message.
"""
from __future__ import annotations

import contextlib
import copy
import gc
import math
import os
import time
from dataclasses import dataclass, field
from typing import Callable

import torch

from ..config import TrainConfig, default_lr
from ..errors import TrainingError
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


#: Set INRVIEW_CUDA_GRAPH=0 to run CUDA steps one by one instead of replaying a captured graph.
GRAPH_ENV = "INRVIEW_CUDA_GRAPH"
#: Eager steps before a graph is captured (they initialise Adam's moments and the allocator's pools).
GRAPH_WARMUP = 3


class GraphedStep:
    """One whole training step (batch draw, forward, backward, Adam) captured once as a CUDA graph and
    replayed: a step of the default model is some 40 small kernels, so on a GPU it is bound by their launch
    cost (3-4 ms a step eagerly); a replay launches them all at once.

    What makes a step capturable: the batch is drawn on the device (the task's `graph_safe` loss with
    generator None draws from CUDA's default generator, which graphs support); Adam is fused and
    capturable, with its learning rates held in device tensors that are refilled before each replay; loss
    terms stay on the device and are read only at reports, so a non-finite loss is noticed there rather
    than at its step (the last good weights are restored the same way)."""

    def __init__(self, trainer: "Trainer"):
        self.trainer = trainer
        opt = trainer.optimizer
        dev = trainer.device
        for g in opt.param_groups:
            g["capturable"] = True
            g["lr"] = torch.tensor(float(g["lr"]), dtype=torch.float32, device=dev)
        for st in opt.state.values():
            if "step" in st and torch.is_tensor(st["step"]):
                st["step"] = st["step"].to(device=dev, dtype=torch.float32)
        self.graph = None
        self.terms = None
        if dev.type == "cuda":
            torch.cuda.manual_seed(trainer.cfg.seed + trainer.state.step)  # reproducible device-side batches

    def set_lr(self, factor: float) -> None:
        """Refill the learning-rate tensors the captured graph reads."""
        for g in self.trainer.optimizer.param_groups:
            g["lr"].fill_(g["initial_lr"] * factor)

    def _eager(self) -> dict:
        tr = self.trainer
        tr.optimizer.zero_grad(set_to_none=True)
        terms = tr.task.loss(tr.model, None)
        terms["total"].backward()
        tr.optimizer.step()
        return terms

    def warm_up(self, steps: int) -> dict:
        """`steps` eager steps on a side stream (as capture requires), then the capture itself."""
        quiet = getattr(torch.autograd.graph, "set_warn_on_accumulate_grad_stream_mismatch", None)
        if quiet is not None:  # earlier eager steps ran on the default stream: expected, and harmless here
            quiet(False)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(steps):
                terms = self._eager()
        torch.cuda.current_stream().wait_stream(side)
        self.trainer.optimizer.zero_grad(set_to_none=True)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self.terms = self._eager()
        self.graph = graph
        return terms

    def replay(self) -> dict:
        self.graph.replay()
        return self.terms

    def release(self) -> None:
        """Back to an ordinary optimizer (float learning rates) for checkpoints and eager steps."""
        plain_learning_rates(self.trainer.optimizer)
        self.graph = self.terms = None


def plain_learning_rates(optimizer: torch.optim.Optimizer) -> None:
    """Learning rates held in tensors (a graphed step's) back to floats."""
    for g in optimizer.param_groups:
        if torch.is_tensor(g["lr"]):
            g["lr"] = float(g["lr"])


def default_threads(model: torch.nn.Module) -> int | None:
    """Torch CPU threads when the configuration names none: 1 for grid-encoded models on up to 4 cores.

    The 3D grid_sample kernel parallelises over its batch dimension only, which is 1 here, so more threads
    speed up just the small MLP; meanwhile OpenMP's spinning workers made a default-model step 5x slower
    (85 -> 500-1000 ms) on a 2-core machine shared with other work. None leaves torch's choice."""
    enc = getattr(model, "encoding", None)
    if enc is not None and hasattr(enc, "resolutions") and (os.cpu_count() or 1) <= 4:
        return 1
    return None


@contextlib.contextmanager
def matmul_precision(precision: str, device: torch.device):
    """TensorFloat-32 matrix products on CUDA for the duration of a step when precision is 'tf32'."""
    if precision != "tf32" or device.type != "cuda":
        yield
        return
    before = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = True
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before


def autocast(precision: str, device: torch.device):
    """bfloat16 autocast of the forward pass when precision is 'bf16' (the loss is reduced in fp32)."""
    if precision == "bf16" and device.type in ("cuda", "cpu"):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


#: Consecutive out-of-memory failures on an accelerator before training moves to the CPU.
OOM_RETRIES = 3
#: The batch is never halved below this.
MIN_BATCH = 256


def is_out_of_memory(err: BaseException) -> bool:
    """CUDA's OutOfMemoryError, the same as a RuntimeError (MPS, older torch), or the CPU allocator's."""
    if isinstance(err, (MemoryError, getattr(torch.cuda, "OutOfMemoryError", MemoryError))):
        return True
    text = str(err).lower()
    return isinstance(err, RuntimeError) and ("out of memory" in text or "not enough memory" in text
                                               or "can't allocate memory" in text)


class Trainer:
    def __init__(self, model: torch.nn.Module, task: Task, cfg: TrainConfig = TrainConfig(),
                 device: torch.device | str | None = None):
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
            self._notices.append(f"the network and its samples do not fit in {self.device.type} memory "
                                 f"({str(err).splitlines()[0][:80]}): training on the cpu")
            self.device = torch.device("cpu")
            gc.collect()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            self.model = model.to(self.device)
            self.task = task.to(self.device)
        lr = cfg.lr if cfg.lr is not None else default_lr(getattr(model, "kind", "relu"), getattr(model, "in_dim", 3),
                                                                 getattr(task, "target", None))
        groups = model.parameter_groups(lr) if hasattr(model, "parameter_groups") else \
            [{"params": list(model.parameters()), "lr": lr}]
        for g in groups:
            g["initial_lr"] = g["lr"]
        self.optimizer = make_adam(groups, lr, self.device)
        self.generator = torch.Generator().manual_seed(cfg.seed)
        self.state = TrainState()
        self._stop = False
        self._good = None
        self._oom_in_a_row = 0
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
        if (self.device.type != "cuda" or not getattr(self.task, "graph_safe", False)
                or self.cfg.precision == "bf16" or os.environ.get(GRAPH_ENV, "1") == "0"):
            return None
        return GraphedStep(self)

    def _loop(self, report_every, preview, preview_interval, max_steps, graphed, losses):
        t_last_preview = -math.inf
        steps_this_call = 0
        while not self._stop and not self._finished() and (max_steps is None or steps_this_call < max_steps):
            t0 = time.perf_counter()
            factor = self._lr_factor()
            if graphed is not None:
                try:
                    terms = self._graph_step(graphed, factor)
                except Exception as err:  # noqa: BLE001 - only out-of-memory is handled, the rest re-raised
                    if not is_out_of_memory(err):
                        raise
                    graphed.release()
                    terms = None
                    self._notices.append(f"out of memory replaying the CUDA graph ({str(err).splitlines()[0][:80]}): "
                                         f"steps run one by one")
                if terms is None:  # no graph after all: this run goes on eagerly, saying why
                    graphed = None
                    if self._notices:
                        yield self._snapshot(losses, message="; ".join(self._notices))
                        self._notices.clear()
                    continue
            else:
                for g in self.optimizer.param_groups:
                    g["lr"] = g["initial_lr"] * factor
                self.optimizer.zero_grad(set_to_none=True)
                try:
                    with matmul_precision(self.cfg.precision, self.device):
                        with autocast(self.cfg.precision, self.device):
                            terms = self.task.loss(self.model, self.generator)
                        total = terms["total"]
                        finite = bool(torch.isfinite(total))
                        if finite:
                            total.backward()
                            self.optimizer.step()
                except Exception as err:  # noqa: BLE001 - only out-of-memory is handled, the rest re-raised
                    if not is_out_of_memory(err):
                        raise
                    oom = f"{type(err).__name__}: {str(err).splitlines()[0][:120]}"
                else:
                    oom = None
                if oom is not None:
                    terms = total = None  # drop every reference into the failed step before freeing memory
                    message, go_on = self._out_of_memory(oom)
                    yield self._snapshot(losses, done=not go_on, message=message)
                    if not go_on:
                        return
                    continue
                if not finite:
                    yield self._recover(terms)
                    return
                self._oom_in_a_row = 0
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
                    yield self._recover(terms)
                    return
            self.state.elapsed += time.perf_counter() - t0
            if self.state.step % 100 == 0 or self._good is None:
                self._remember_good()
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
        yield self._snapshot(losses, pv, done=True,
                             message="stopped" if self._stop else None)

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
                self._notices.append(f"CUDA graph capture failed ({type(err).__name__}: "
                                     f"{str(err).splitlines()[0][:100] if str(err) else ''}): steps run one by one")
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
            self._free_memory()
            return None  # no preview this time; training goes on
        finally:
            self.model.train()

    # -- faults --------------------------------------------------------------------------------------
    def _free_memory(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        gc.collect()
        if self.device.type == "cuda" and torch.cuda.is_available():
            torch.cuda.empty_cache()

    def _out_of_memory(self, what: str) -> tuple[str, bool]:
        """Halve the batch, move to the CPU, or give up; returns (message, whether training goes on)."""
        self._free_memory()
        self._oom_in_a_row += 1
        batch = getattr(self.task, "batch_size", None)
        where = self.device.type
        on_fallback = self.device == self.fallback_device or self.device.type == self.fallback_device.type
        can_halve = batch is not None and batch // 2 >= MIN_BATCH
        if not on_fallback and (self._oom_in_a_row > OOM_RETRIES or not can_halve):
            times = self._oom_in_a_row
            self._move_to(self.fallback_device)
            if batch is not None:
                self.task.batch_size = self.cfg.batch_size
            self._oom_in_a_row = 0
            return (f"out of memory on {where} ({what}), {times} time(s) in a row: training moved to the "
                    f"{self.fallback_device.type}" + (f" with a batch of {self.task.batch_size}" if batch is not None
                                                      else ""), True)
        if can_halve:
            self.task.batch_size = batch // 2
            return f"out of memory on {where} ({what}): batch halved to {batch // 2}", True
        msg = f"training stopped at step {self.state.step}: out of memory on {where} ({what})"
        if self._good is not None:
            msg += f"; kept the weights from step {self._restore_good()}"
        return msg, False

    def _move_to(self, device: torch.device) -> None:
        """Model, task data, optimizer moments and the last good copy, all onto `device`."""
        self.model.to(device)
        self.task = self.task.to(device)
        for st in self.optimizer.state.values():
            for k, v in list(st.items()):
                if torch.is_tensor(v):
                    st[k] = v.to(device)
        if self._good is not None:
            step, model_state, opt_state = self._good
            self._good = (step, {k: v.to(device) for k, v in model_state.items()}, opt_state)
        self.device = device
        self._free_memory()

    def _restore_good(self) -> int:
        step, model_state, opt_state = self._good
        self.model.load_state_dict(model_state)
        self.optimizer.load_state_dict(opt_state)
        plain_learning_rates(self.optimizer)
        self.state.step = step
        return step

    def _snapshot(self, losses, preview=None, done=False, message=None) -> Snapshot:
        return Snapshot(self.state.step, None if self.cfg.seconds else self.cfg.steps, dict(losses),
                        self.state.elapsed, float(self.optimizer.param_groups[0]["lr"]), self.progress(), preview,
                        done, message)

    def _remember_good(self):
        """Keep a copy of weights and optimizer state, unless a weight is already not finite."""
        if not all(bool(torch.isfinite(p).all()) for p in self.model.parameters()):
            return
        self._good = (self.state.step, copy.deepcopy(self.model.state_dict()),
                      copy.deepcopy(self.optimizer.state_dict()))

    def _recover(self, terms) -> Snapshot:
        bad = ", ".join(f"{k}={float(v.detach()):.3g}" for k, v in terms.items())
        msg = f"training stopped at step {self.state.step + 1}: non-finite loss ({bad})"
        if self._good is not None:
            msg += f"; restored the weights from step {self._restore_good()}"
        return self._snapshot({k: float(v.detach()) for k, v in terms.items()}, done=True, message=msg)

    def train(self, **kw) -> Snapshot:
        """Run to the end and return the last snapshot."""
        last = None
        for last in self.run(**kw):
            pass
        return last
