"""Replaying a whole training step from a captured CUDA graph, and the fused Adam it needs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from .trainer import Trainer


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

    def __init__(self, trainer: Trainer):
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
        """Run the captured step once; returns its loss terms (device tensors, read at reports)."""
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
