"""The resumable state of a space being trained, and when to write it.

A training checkpoint of a space is an ordinary space checkpoint (the decoder and every shape's code, so it
opens anywhere a space does) plus what resuming needs: Adam's moments of the decoder and of every code, the
step, the elapsed training time, each shape's running training error and torch's random state. Batches and
sample draws are pure functions of (seed, step), so the step is the position of both the batch order and
the learning-rate schedule.

Under torchrun the codes and their Adam moments are sharded (shape i lives on rank i % world; the other
ranks' rows never receive a gradient, so their moments stay zero): `gather_state` sums each rank's own rows,
so the file holds the whole collection whatever the number of processes, and `restore_state` gives each
rank back its rows. Both are collective.

`Cadence` decides when to write (every N minutes by rank 0's clock, every N steps, or on SIGINT/SIGTERM)
and shares the decision with every rank in one small all-reduce per step, so all ranks write together.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass

import numpy as np
import torch

#: Minutes between two checkpoints unless told otherwise.
DEFAULT_MINUTES = 10.0
#: Test hook: "STEP:SIGNAL[:RANK]" makes that rank send itself SIGNAL (KILL, INT, TERM) after STEP steps, on
#: the first attempt only (TORCHELASTIC_RESTART_COUNT unset or 0): a deterministic fault for the tests.
FAULT_ENV = "INRVIEW_FAULT_AT_STEP"


def gather_state(trainer) -> tuple[dict, dict]:
    """(tensors, header) of the trainer's whole state, on every rank (collective under torchrun).

    tensors: model/decoder.*, model/codes.embedding.weight, optim/PID/{step,exp_avg,exp_avg_sq}, rng/batch;
    header: optimizer (parameter groups as JSON) and trainer (step, elapsed, shape_error)."""
    from .checkpoint import _plain_group

    codes, error = trainer.gathered()
    tensors = {f"model/decoder.{k}": v.detach().cpu().contiguous() for k, v in trainer.decoder.state_dict().items()}
    tensors["model/codes.embedding.weight"] = codes.contiguous()
    opt = trainer.opt.state_dict()
    code_pid = len(opt["param_groups"][0]["params"]) + len(opt["param_groups"][1]["params"]) - 1
    mask = _row_mask(trainer)
    for pid, st in opt["state"].items():
        for k, v in st.items():
            t = v.detach() if torch.is_tensor(v) else torch.tensor(v)
            if pid == code_pid and t.ndim == 2:
                t = _sum_ranks(t * mask, trainer.ctx)
            tensors[f"optim/{pid}/{k}"] = t.cpu().contiguous()
    tensors["rng/batch"] = torch.get_rng_state()
    header = {
        "optimizer": {"param_groups": [_plain_group(g) for g in opt["param_groups"]]},
        "trainer": {"step": int(trainer.step), "elapsed": float(trainer.elapsed)},
        "shape_error": [float(e) for e in error],
    }
    return tensors, header


def restore_state(trainer, tensors: dict, header: dict) -> None:
    """Put a gathered state back into a freshly built trainer (same collection and network): weights,
    codes, Adam moments (each rank keeps its own rows of the codes' moments), step, elapsed time, running
    errors and torch's random state."""
    dev = trainer.ctx.device
    dec = {k[len("model/decoder.") :]: v for k, v in tensors.items() if k.startswith("model/decoder.")}
    trainer.decoder.load_state_dict(dec)
    with torch.no_grad():
        trainer.codes.weight.copy_(tensors["model/codes.embedding.weight"].to(dev))
    state = trainer.opt.state_dict()
    code_pid = len(state["param_groups"][0]["params"]) + len(state["param_groups"][1]["params"]) - 1
    mask = _row_mask(trainer)
    moments: dict[int, dict] = {}
    for k, v in tensors.items():
        if k.startswith("optim/"):
            _, pid, name = k.split("/")
            t = v.to(dev)
            if int(pid) == code_pid and t.ndim == 2:
                t = t * mask
            moments.setdefault(int(pid), {})[name] = t
    saved = header["optimizer"]["param_groups"]
    groups = [dict(s, lr=g["lr"]) for g, s in zip(saved, state["param_groups"])]
    trainer.opt.load_state_dict({"state": moments, "param_groups": groups})
    trainer.step = int(header["trainer"]["step"])
    trainer.elapsed = float(header["trainer"]["elapsed"])
    err = np.asarray(header.get("shape_error", []), dtype=np.float64)
    if err.shape == trainer.error.shape:
        trainer.error[:] = err
    if "rng/batch" in tensors:
        torch.set_rng_state(tensors["rng/batch"])
    if getattr(trainer, "safety", None) is not None:  # a non-finite loss rolls back to these, not to the start
        trainer.safety.remember(trainer.step)


def _row_mask(trainer) -> torch.Tensor:
    """(n_shapes, 1) ones on the rows of the shapes this rank owns."""
    mask = torch.zeros(trainer.n, 1, device=trainer.ctx.device)
    mask[trainer.mine] = 1.0
    return mask


def _sum_ranks(t: torch.Tensor, ctx) -> torch.Tensor:
    if ctx.active:
        import torch.distributed as dist

        dist.all_reduce(t)
    return t


@dataclass
class Cadence:
    """When the trainer writes a checkpoint: every `minutes` of training (rank 0's clock), every `steps`
    steps (None: never by count), and at once when a stop was asked for (a signal or the app)."""

    minutes: float | None = DEFAULT_MINUTES
    steps: int | None = None

    def __post_init__(self):
        self.stop_signal: int | None = None
        self._last = time.perf_counter()

    def ask_stop(self, signum: int = signal.SIGINT) -> None:
        """Ask the run to write a checkpoint and stop after the current step (safe from a signal handler)."""
        self.stop_signal = signum

    def due(self, step: int, ctx) -> tuple[bool, bool]:
        """(write now, stop now) after `step`, the same on every rank (one all-reduce under torchrun)."""
        now = time.perf_counter()
        timed = self.minutes is not None and self.minutes > 0 and now - self._last >= 60 * self.minutes
        counted = bool(self.steps) and step % self.steps == 0
        flags = torch.tensor([float(timed and ctx.rank == 0), float(self.stop_signal is not None)], device=ctx.device)
        if ctx.active:
            import torch.distributed as dist

            dist.all_reduce(flags, op=dist.ReduceOp.MAX)
        stop = bool(flags[1] > 0)
        if stop and self.stop_signal is None:
            self.stop_signal = signal.SIGTERM  # another rank was asked to stop
        write = bool(flags[0] > 0) or counted or stop
        if write:
            self._last = now
        return write, stop


class StopOnSignals:
    """While active, SIGINT and SIGTERM ask the cadence to checkpoint and stop instead of killing the
    process (main thread only; the previous handlers come back on exit). A second signal exits at once."""

    def __init__(self, cadence: Cadence):
        self.cadence, self._old = cadence, {}

    def _handle(self, signum, frame):
        if self.cadence.stop_signal is not None:
            raise KeyboardInterrupt
        self.cadence.ask_stop(signum)

    def __enter__(self):
        for s in (signal.SIGINT, signal.SIGTERM):
            self._old[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc):
        for s, h in self._old.items():
            signal.signal(s, h)
        return False


def fault_hook(step: int, rank: int) -> None:
    """The FAULT_ENV test hook: send this process the configured signal at the configured step."""
    spec = os.environ.get(FAULT_ENV)
    if not spec or int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")) > 0:
        return
    parts = spec.split(":")
    at, name = int(parts[0]), parts[1] if len(parts) > 1 else "KILL"
    if step == at and rank == (int(parts[2]) if len(parts) > 2 else 0):
        os.kill(os.getpid(), getattr(signal, f"SIG{name}"))
