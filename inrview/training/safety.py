"""The safety net every training loop shares (shape fits, shape spaces, shape completion): a copy of the last
good weights, and what to do when a step runs out of memory or its loss is not finite.

A loop wraps each step in `SafetyNet.step(run, step)`: out of memory frees what the failed step held and
reports it (the loop then halves its batch with `halve`, or moves, or stops); a non-finite loss restores the
last good weights and optimizer state and, while `retries` allow, lowers the learning rate (`lr_scale`, which
the loop multiplies into its schedule) and goes on; past them the loop stops with the last good weights.
The copy is refreshed every `every` steps, never from weights that are already not finite.
"""

from __future__ import annotations

import copy
import gc
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .cuda_graph import plain_learning_rates
from .device import is_out_of_memory

#: The batch is never halved below this.
MIN_BATCH = 256


def brief(err: BaseException, length: int = 120) -> str:
    """'TypeName: first line of the message', cut to length, for a log line."""
    return f"{type(err).__name__}: {str(err).splitlines()[0][:length] if str(err) else ''}"


@dataclass(frozen=True)
class Fault:
    """What went wrong in a step: kind 'oom' or 'nan', and what to tell the user."""

    kind: str
    what: str
    losses: dict | None = None
    """The step's loss terms as floats (a non-finite loss)."""


def _value(v) -> float:
    """A loss term (a tensor, maybe part of a graph, or a number) as a float."""
    return float(v.detach()) if torch.is_tensor(v) else float(v)


def non_finite(terms: dict) -> Fault:
    """The fault of a step whose loss terms (tensors or floats) are not finite."""
    values = {k: _value(v) for k, v in terms.items()}
    bad = ", ".join(f"{k}={v:.3g}" for k, v in values.items())
    return Fault("nan", f"non-finite loss ({bad})", values)


class SafetyNet:
    """The last good copy of `trained` (modules and plain tensors) and `optimizer`, and the handling of faulty
    steps; see the module docstring. retries: non-finite losses recovered from by lowering the rate (by
    `lr_cut` each time) before the loop is told to stop."""

    def __init__(
        self,
        trained: list[nn.Module | torch.Tensor],
        optimizer: torch.optim.Optimizer,
        every: int = 100,
        retries: int = 0,
        lr_cut: float = 0.5,
    ):
        self.trained, self.optimizer = list(trained), optimizer
        self.every, self.retries, self.lr_cut = every, retries, lr_cut
        self.good: tuple[int, list, dict] | None = None
        self.lr_scale = 1.0
        self.recoveries = 0
        self.oom_in_a_row = 0

    # -- the good copy ----------------------------------------------------------------------------------
    def _tensors(self):
        for t in self.trained:
            yield from (t.parameters() if isinstance(t, nn.Module) else (t,))

    def finite(self) -> bool:
        """Whether every trained tensor is finite."""
        return all(bool(torch.isfinite(p).all()) for p in self._tensors())

    def keep(self, step: int) -> None:
        """Remember the weights at this step when a copy is due (every `every` steps, or none yet)."""
        if step % self.every == 0 or self.good is None:
            self.remember(step)

    def remember(self, step: int) -> None:
        """Keep a copy of the weights and optimizer state, unless a weight is already not finite."""
        if not self.finite():
            return
        states = [
            copy.deepcopy(t.state_dict()) if isinstance(t, nn.Module) else t.detach().clone() for t in self.trained
        ]
        self.good = (step, states, copy.deepcopy(self.optimizer.state_dict()))

    @property
    def good_step(self) -> int | None:
        """The step of the good copy (None before the first)."""
        return None if self.good is None else self.good[0]

    def restore(self) -> int | None:
        """Put the good copy back (weights and optimizer state); returns its step, or None without one."""
        if self.good is None:
            return None
        step, states, opt_state = self.good
        with torch.no_grad():
            for t, s in zip(self.trained, states):
                if isinstance(t, nn.Module):
                    t.load_state_dict(s)
                else:
                    t.copy_(s)
        self.optimizer.load_state_dict(opt_state)
        plain_learning_rates(self.optimizer)
        return step

    def move_copy(self, device: torch.device) -> None:
        """Move the good copy's weights to device (after the trained tensors moved there)."""
        if self.good is not None:
            step, states, opt_state = self.good
            moved = [{k: v.to(device) for k, v in s.items()} if isinstance(s, dict) else s.to(device) for s in states]
            self.good = (step, moved, opt_state)

    # -- faults -------------------------------------------------------------------------------------------
    def free_memory(self, device: torch.device | None = None) -> None:
        """Drop the gradients and let the allocator give back what a failed step held."""
        self.optimizer.zero_grad(set_to_none=True)
        gc.collect()
        if (device is None or device.type == "cuda") and torch.cuda.is_available():
            torch.cuda.empty_cache()

    def step(self, run: Callable[[], dict], device: torch.device | None = None) -> tuple[dict | None, Fault | None]:
        """run() one step; it returns its loss terms, with 'total' or summing to it (tensors or floats).
        Returns (terms, None), or (None, Fault) when it ran out of memory (memory freed) or its total was not
        finite. Other errors propagate."""
        try:
            terms = run()
        except Exception as err:  # noqa: BLE001 - only out-of-memory is handled, the rest re-raised
            if not is_out_of_memory(err):
                raise
            what = brief(err)
            del err  # drop every reference into the failed step before freeing memory
            self.free_memory(device)
            self.oom_in_a_row += 1
            return None, Fault("oom", what)
        self.oom_in_a_row = 0
        if not math.isfinite(_value(terms["total"] if "total" in terms else sum(terms.values()))):
            return None, non_finite(terms)
        return terms, None

    def halve(self, batch: int | None, floor: int = MIN_BATCH) -> int | None:
        """Half the batch, or None when it cannot shrink below floor."""
        return batch // 2 if batch is not None and batch // 2 >= floor else None

    def recover(self, at_step: int, fault: Fault) -> tuple[str, bool]:
        """After a non-finite loss at step at_step: restore the good copy and, while retries are left, lower
        the learning rate and go on. Returns (message, whether the loop goes on)."""
        restored = self.restore()
        kept = "" if restored is None else f"; restored the weights from step {restored}"
        if self.recoveries < self.retries:
            self.recoveries += 1
            self.lr_scale *= self.lr_cut
            return f"{fault.what} at step {at_step}{kept}; learning rate lowered to x{self.lr_scale:g}", True
        return f"training stopped at step {at_step}: {fault.what}{kept}", False
