"""Training a shape space: one latent-conditioned decoder and one code per shape (DeepSDF's auto-decoder),
with clamped L1 on signed distances (DeepSDF Eq. 4) or BCE on occupancy (Occupancy Networks Eq. 3), plus
the code regulariser (DeepSDF Eq. 9).

One process or many: launched by torchrun (WORLD_SIZE > 1), the decoder is wrapped in
DistributedDataParallel (gloo on CPUs, NCCL on GPUs) and shape i belongs to rank i % world: only that rank
samples it, holds its samples and trains its code. Every rank draws the same global batch of shapes per
step (a permutation per epoch from the seed) and handles the ones it owns; each rank's loss is scaled so
that DDP's average of decoder gradients, and each code's local gradient, equal those of one process
training the whole batch. So N processes follow one process's run up to floating-point summation order.

`SpaceTrainer.run()` is a generator of SpaceSnapshot like Trainer.run(): the app's worker can drive it,
stop between yields and show per-shape errors. Each step runs inside the safety net all training loops share
(training/safety.py): out of memory halves the points per shape, a non-finite loss restores the last good
decoder and codes and lowers the learning rates (NAN_RETRIES times, then training stops).
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from ..config.space import LatentConfig, SpaceTrainConfig
from ..models.latent import LatentDecoder, ShapeCodes, code_regulariser
from ..sampling import SampleSet
from .device import pick_device
from .elastic import init_group
from .losses import clamped_l1, occupancy_bce
from .safety import Fault, SafetyNet
from .schedule import cosine_factor
from .space_checkpoint import Cadence, fault_hook
from .trainer import Snapshot, make_adam

#: Non-finite losses recovered from (last good weights, half the learning rate) before training stops.
NAN_RETRIES = 3


@dataclass(frozen=True)
class SpaceSnapshot(Snapshot):
    """A trainer Snapshot plus epoch (passes done) and shape_error ((n_shapes,) mean training loss of each
    shape over its recent steps; 0 for shapes another process holds)."""

    epoch: float = 0.0
    shape_error: tuple = ()


@dataclass
class DistContext:
    """rank, world size and device of this process (world 1 without torchrun)."""

    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def active(self) -> bool:
        """True under torchrun with more than one process."""
        return self.world > 1


def dist_context(device: str = "auto") -> DistContext:
    """Join the process group torchrun describes (env WORLD_SIZE > 1), else a one-process context. On CUDA
    each process uses cuda:LOCAL_RANK with NCCL; on CPU gloo."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    dev = pick_device(device)
    if world <= 1:
        return DistContext(0, 1, dev)
    if dev.type == "cuda":
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(dev)
    if not dist.is_initialized():
        init_group("nccl" if dev.type == "cuda" else "gloo")
    return DistContext(dist.get_rank(), dist.get_world_size(), dev)


def _all_sum(t: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    if ctx.active:
        dist.all_reduce(t)
    return t


def space_threads() -> int:
    """CPU threads for space training, completion and decoding: one on machines with up to 4 cores per
    process (idle OpenMP workers spinning beside other work made steps and the 64^3 decode 5-30x slower on
    a shared 2-core machine; see Trainer's default_threads), else the process's share of the cores."""
    cores = max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    return 1 if cores <= 4 else cores


def owned(n_shapes: int, ctx: DistContext) -> list[int]:
    """Indices of the shapes this process holds (i % world == rank)."""
    return [i for i in range(n_shapes) if i % ctx.world == ctx.rank]


class SpaceTrainer:
    """Trains a LatentDecoder and ShapeCodes on the samples of the shapes this process owns.

    samples: {shape index: SampleSet} for owned(n_shapes, ctx), all with the same number of samples."""

    def __init__(
        self,
        n_shapes: int,
        samples: dict[int, SampleSet],
        model: LatentConfig,
        cfg: SpaceTrainConfig = SpaceTrainConfig(),
        ctx: DistContext | None = None,
    ):
        self.ctx = ctx or DistContext(device=pick_device(cfg.device))
        self.n, self.cfg, self.model_cfg = n_shapes, cfg, model
        self._threads()
        dev = self.ctx.device
        self.decoder = LatentDecoder(model, seed=cfg.seed).to(dev)
        self.codes = ShapeCodes(n_shapes, model.latent_dim, model.init_std, seed=cfg.seed).to(dev)
        self.net = self.decoder
        if self.ctx.active:
            self.net = DistributedDataParallel(self.decoder, device_ids=[dev.index] if dev.type == "cuda" else None)
        self.opt = make_adam(
            [
                {"params": list(self.decoder.parameters()), "lr": cfg.lr, "name": "decoder"},
                {"params": list(self.codes.parameters()), "lr": cfg.code_lr, "name": "codes"},
            ],
            cfg.lr,
            dev,
        )
        for p in self.opt_params():  # zero gradients from the start: Adam steps every tensor every step on
            p.grad = torch.zeros_like(p)  # every rank (its step counts stay those of a one-process run)
        self.mine = sorted(samples)
        self.slot = {i: k for k, i in enumerate(self.mine)}
        self.points = (
            torch.stack([torch.from_numpy(samples[i].points) for i in self.mine]).to(dev) if self.mine else None
        )
        self.values = torch.stack([torch.from_numpy(samples[i].sdf) for i in self.mine]).to(dev) if self.mine else None
        self.error = np.zeros(n_shapes)
        self.step = 0
        self.elapsed = 0.0
        self.steps_per_epoch = math.ceil(n_shapes / max(1, min(cfg.shapes_per_step, n_shapes)))
        self.safety = SafetyNet([self.decoder, self.codes], self.opt, retries=NAN_RETRIES)
        self.safety.remember(0)
        self.cadence: Cadence | None = None  # when to call on_checkpoint (set by the caller)
        self.on_checkpoint = None  # called on every rank with stop (bool) when a checkpoint is due

    def opt_params(self) -> list[torch.Tensor]:
        """Every trained tensor: the decoder's and the codes'."""
        return list(self.decoder.parameters()) + list(self.codes.parameters())

    def _threads(self) -> None:
        if self.ctx.device.type == "cpu":
            torch.set_num_threads(self.cfg.threads or space_threads())

    @property
    def total_steps(self) -> int | None:
        """The step budget (epochs x steps per epoch), None with a time budget."""
        return None if self.cfg.seconds is not None else self.cfg.epochs * self.steps_per_epoch

    def batch(self, step: int) -> list[int]:
        """The global shapes of a step: a slice of this epoch's permutation (the same on every rank)."""
        epoch, k = divmod(step, self.steps_per_epoch)
        perm = torch.randperm(self.n, generator=torch.Generator().manual_seed(self.cfg.seed * 100_003 + epoch))
        s = min(self.cfg.shapes_per_step, self.n)
        return perm[k * s : (k + 1) * s].tolist()

    def _draw(self, mine: list[int], step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(s, P, 3) points and (s, P) targets of the owned shapes in a batch, each shape's draw seeded by
        (seed, step, shape) so it does not depend on the sharding."""
        idx = []
        for i in mine:
            g = torch.Generator().manual_seed((self.cfg.seed * 7_919 + step) * 1_000_003 + i)
            idx.append(torch.randint(self.points.shape[1], (self.cfg.points_per_shape,), generator=g))
        rows = torch.tensor([self.slot[i] for i in mine], device=self.ctx.device)[:, None]
        cols = torch.stack(idx).to(self.ctx.device)
        return self.points[rows, cols], self.values[rows, cols]

    def shape_loss(self, pred: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """(s, P) predictions and signed distances -> (s,) loss of each shape."""
        if self.cfg.target == "sdf":
            return torch.stack([clamped_l1(p, v, self.cfg.clamp) for p, v in zip(pred, values)])
        labels = torch.where(values < 0, 1.0, torch.where(values > 0, 0.0, 0.5))
        return torch.stack([occupancy_bce(p, y) for p, y in zip(pred, labels)])

    def train_step(self, progress: float) -> dict:
        """One optimisation step at progress 0..1 of the budget; returns the loss terms of this rank."""
        cfg, ctx = self.cfg, self.ctx
        factor = cosine_factor(progress, cfg.lr_final_factor) * self.safety.lr_scale
        for g, base in zip(self.opt.param_groups, (cfg.lr, cfg.code_lr)):
            g["lr"] = base * factor
        glob = self.batch(self.step)
        mine = [i for i in glob if i % ctx.world == ctx.rank]
        self.opt.zero_grad(set_to_none=False)
        scale = ctx.world / len(glob)
        if mine:
            pts, vals = self._draw(mine, self.step)
            idx = torch.tensor(mine, device=ctx.device)
            z = self.codes(idx)
            per_shape = self.shape_loss(self.net(z, pts), vals)
            data = per_shape.sum() * scale
            reg = cfg.code_reg * code_regulariser(z) * scale
            (data + reg).backward()
            self.error[mine] = (
                0.7 * self.error[mine] + 0.3 * per_shape.detach().cpu().numpy()
                if self.step >= self.steps_per_epoch
                else per_shape.detach().cpu().numpy()
            )
            terms = {"data": float(data.detach()) / ctx.world, "code_reg": float(reg.detach()) / ctx.world}
        else:  # no shape of this batch here: still take part in DDP's gradient average, with zeros
            dummy = self.net(
                torch.zeros(1, self.model_cfg.latent_dim, device=ctx.device), torch.zeros(1, 1, 3, device=ctx.device)
            )
            (dummy.sum() * 0.0).backward()
            terms = {"data": 0.0, "code_reg": 0.0}
        if ctx.active:
            self.codes.weight.grad /= ctx.world
        self.opt.step()
        self.step += 1
        return terms

    def _progress(self, t0: float) -> float:
        """Progress of the budget; under torchrun rank 0's clock is broadcast so all ranks stop together."""
        if self.cfg.seconds is None:
            return self.step / max(1, self.total_steps)
        p = torch.tensor(
            [(self.elapsed + time.perf_counter() - t0) / self.cfg.seconds], dtype=torch.float64, device=self.ctx.device
        )  # NCCL moves only GPU tensors
        if self.ctx.active:
            dist.broadcast(p, 0)
        return float(p)

    def run(self, report_every: int = 10):
        """Train to the budget, yielding a SpaceSnapshot every report_every steps and a last one with
        done=True (message 'stopped' when a signal or the app asked the run to stop: a checkpoint has been
        written). Stopping the generator early leaves the weights as they are."""
        t0 = time.perf_counter()
        terms, progress, stop = {}, 0.0, False
        try:
            while True:
                progress = self._progress(t0)
                if progress >= 1.0:
                    break
                done, fault = self.safety.step(partial(self.train_step, progress), self.ctx.device)
                if fault is not None:
                    message, go_on = self._fault(fault)
                    if not go_on:
                        self.elapsed, t0 = self.elapsed + time.perf_counter() - t0, time.perf_counter()
                        yield self._snapshot(terms, progress, t0, done=True, message=message)
                        return
                    yield self._snapshot(terms, progress, t0, message=message)
                    continue
                terms = done
                self.safety.keep(self.step)
                fault_hook(self.step, self.ctx.rank)
                write, stop = self.cadence.due(self.step, self.ctx) if self.cadence else (False, False)
                if write and self.on_checkpoint is not None:  # collective: every rank writes together
                    self.elapsed, t0 = self.elapsed + time.perf_counter() - t0, time.perf_counter()
                    self.on_checkpoint(stop)
                if stop:
                    break
                if self.step % report_every == 0:
                    yield self._snapshot(terms, progress, t0)
        finally:  # also when the caller closes the generator: the elapsed time stays right for a checkpoint
            self.elapsed, t0 = self.elapsed + time.perf_counter() - t0, time.perf_counter()
        yield self._snapshot(terms, progress if stop else 1.0, t0, done=True, message="stopped" if stop else None)

    def _fault(self, fault: Fault) -> tuple[str, bool]:
        """Out of memory: half the points per shape (down to 16); a non-finite loss: the last good weights
        and a lower rate. Returns (message, whether training goes on)."""
        if fault.kind == "nan":
            message, go_on = self.safety.recover(self.step, fault)
            self.step = self.safety.good_step
            self.error[~np.isfinite(self.error)] = 0.0
            return message, go_on
        half = self.safety.halve(self.cfg.points_per_shape, floor=16)
        if half is None:
            return f"training stopped at step {self.step}: out of memory ({fault.what})", False
        self.cfg = dataclasses.replace(self.cfg, points_per_shape=half)
        return f"out of memory ({fault.what}): {half} points per shape", True

    def _snapshot(self, terms: dict, progress: float, t0: float, done: bool = False, message=None) -> SpaceSnapshot:
        losses = dict(terms, total=sum(terms.values()))
        elapsed = self.elapsed + (0.0 if done else time.perf_counter() - t0)
        return SpaceSnapshot(
            self.step,
            self.total_steps,
            losses,
            elapsed,
            self.opt.param_groups[0]["lr"],
            progress,
            done=done,
            message=message,
            epoch=self.step / self.steps_per_epoch,
            shape_error=tuple(float(e) for e in self.error),
        )

    @torch.no_grad()
    def gathered(self) -> tuple[torch.Tensor, np.ndarray]:
        """Every shape's code (n_shapes, D) and training error (n_shapes,), gathered from all processes
        (each contributes the rows it owns). Collective: every rank must call it."""
        mask = torch.zeros(self.n, 1, device=self.ctx.device)
        mask[self.mine] = 1.0
        codes = _all_sum(self.codes.weight.detach() * mask, self.ctx).cpu()
        err = _all_sum(torch.as_tensor(self.error * mask[:, 0].cpu().numpy(), device=self.ctx.device), self.ctx)
        return codes, err.cpu().numpy()

    @torch.no_grad()
    def surface_residuals(self, samples: dict[int, SampleSet], max_points: int = 4000) -> np.ndarray:
        """(n_shapes,) mean |f(z_i, p)| over each shape's surface samples (normalised units for SDF, logit
        for occupancy), gathered from all processes. Collective."""
        res = torch.zeros(self.n, dtype=torch.float64, device=self.ctx.device)
        for i in self.mine:
            sp = samples[i].surface_points
            pts = torch.from_numpy(sp[:max_points]).to(self.ctx.device)[None]
            res[i] = self.decoder(self.codes(torch.tensor([i], device=self.ctx.device)), pts).abs().mean()
        return _all_sum(res, self.ctx).cpu().numpy()
