"""Training faults, injected: NaN/Inf losses, poisoned weights, out-of-memory errors (CUDA's own exception
type, raised by a task on cue, so no GPU is needed), an unavailable device, and stop/close at any moment.
Each must leave a consistent trainer and say what happened."""

from __future__ import annotations

import contextlib
import threading
import time

import numpy as np
import pytest
import torch

from inrview.config import TrainConfig, model_config
from inrview.errors import TrainingError
from inrview.models import build_model
from inrview.sampling import SampleSet
from inrview.training import trainer as T
from inrview.training.device import is_out_of_memory
from inrview.training.tasks import SDFTask, Task
from inrview.training.trainer import Trainer


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These models are tiny: a second thread only adds synchronisation (25x slower on a busy 2-core box)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def sphere_samples(n=4096, seed=0) -> SampleSet:
    p = np.random.default_rng(seed).uniform(-1, 1, (n, 3)).astype(np.float32)
    return SampleSet(p, (np.linalg.norm(p, axis=1) - 0.5).astype(np.float32))


class Faulty(Task):
    """An SDF task that misbehaves on cue: a non-finite loss at given calls, out of memory while the
    batch is above a size (optionally only while it believes it is on an accelerator)."""

    def __init__(self, batch_size=1024, nan_at=(), inf_at=(), oom_above=None, oom_only_on=None, oom_always=False):
        self.inner = SDFTask(sphere_samples(), "sdf", batch_size)
        self.batch_size = batch_size
        self.nan_at, self.inf_at = set(nan_at), set(inf_at)
        self.oom_above, self.oom_only_on, self.oom_always = oom_above, oom_only_on, oom_always
        self.on = "cpu"
        self.calls = 0
        self.batches = []

    def to(self, device):
        self.inner = self.inner.to(device)
        self.on = torch.device(device).type
        return self

    def loss(self, model, generator):
        self.calls += 1
        busy = self.oom_only_on is None or self.on == self.oom_only_on
        if busy and (self.oom_always or (self.oom_above is not None and self.batch_size > self.oom_above)):
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (injected)")
        self.inner.batch_size = self.batch_size
        self.batches.append(self.batch_size)
        out = self.inner.loss(model, generator)
        if self.calls in self.nan_at:
            out["total"] = out["total"] * float("nan")
        if self.calls in self.inf_at:
            out["total"] = out["total"] + float("inf")
        return out


def make(task, steps=200, **cfg):
    torch.manual_seed(0)
    model = build_model(model_config("relu", width=32, depth=2), 3, 1, seed=0)
    return Trainer(model, task, TrainConfig(steps=steps, batch_size=task.batch_size, device="cpu", seed=0, **cfg))


def weights(trainer) -> dict:
    return {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}


def test_nan_loss_stops_and_restores_last_good_weights():
    ref = make(Faulty())
    list(ref.run(max_steps=100))  # the same run, stopped by hand at step 100
    good = weights(ref)
    tr = make(Faulty(nan_at={151}))
    snaps = list(tr.run(report_every=10))
    last = snaps[-1]
    assert last.done and "non-finite loss" in last.message and "restored the weights from step 100" in last.message
    assert tr.state.step == 100
    for k, v in weights(tr).items():
        assert torch.equal(v, good[k]), k
    assert all(torch.isfinite(p).all() for p in tr.model.parameters())


def test_inf_loss_at_the_first_step_keeps_the_initial_weights():
    tr = make(Faulty(inf_at={1}))
    init = weights(tr)
    last = list(tr.run())[-1]
    assert last.done and "non-finite loss" in last.message and "restored" not in last.message
    assert tr.state.step == 0
    assert all(torch.equal(v, init[k]) for k, v in weights(tr).items())


def test_poisoned_weights_are_never_kept_as_good():
    """A gradient that turns the weights to NaN with a finite loss: the next loss is NaN, the copy kept is
    the last finite one."""
    task = Faulty()
    tr = make(task, steps=300)
    ref = make(Faulty(), steps=300)
    list(ref.run(max_steps=100))
    good = weights(ref)
    handles = []

    def poison(grad):
        return grad * float("nan") if task.calls == 130 else grad

    handles.append(next(tr.model.parameters()).register_hook(poison))
    last = list(tr.run())[-1]
    for h in handles:
        h.remove()
    assert "restored the weights from step 100" in last.message
    assert all(torch.equal(v, good[k]) for k, v in weights(tr).items())


def test_remember_good_skips_non_finite_weights():
    tr = make(Faulty())
    list(tr.run(max_steps=5))
    kept = tr.safety.good_step
    with torch.no_grad():
        next(tr.model.parameters()).fill_(float("nan"))
    tr.safety.remember(100)
    assert tr.safety.good_step == kept


def test_out_of_memory_on_the_cpu_halves_the_batch_and_continues():
    task = Faulty(batch_size=8192, oom_above=1024)
    tr = make(task, steps=60)
    snaps = list(tr.run(report_every=20))
    messages = [s.message for s in snaps if s.message]
    assert messages == [
        f"out of memory on cpu (OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB "
        f"(injected)): batch halved to {b}"
        for b in (4096, 2048, 1024)
    ]
    assert snaps[-1].done and tr.state.step == 60 and task.batches == [1024] * 60
    assert all(torch.isfinite(p).all() for p in tr.model.parameters())


def test_repeated_out_of_memory_on_an_accelerator_falls_back_to_the_cpu():
    """The trainer believes it is on 'cuda' (the task too); every step fails there. After OOM_RETRIES
    halvings in a row it moves to the CPU with the configured batch, and training completes there."""
    task = Faulty(batch_size=8192, oom_only_on="cuda", oom_always=True)
    tr = make(task, steps=30)
    tr.device, task.on = torch.device("cuda"), "cuda"  # pretend; nothing is really moved
    snaps = list(tr.run(report_every=10))
    messages = [s.message for s in snaps if s.message]
    assert [m.rsplit(": ", 1)[-1] for m in messages[:3]] == [
        "batch halved to 4096",
        "batch halved to 2048",
        "batch halved to 1024",
    ]
    assert messages[3].endswith(f"{T.OOM_RETRIES + 1} time(s) in a row: training moved to the cpu with a batch of 8192")
    assert len(messages) == 4
    assert tr.device.type == "cpu" and task.on == "cpu" and task.batch_size == 8192
    assert snaps[-1].done and tr.state.step == 30
    # the optimizer moments moved with the weights and kept working
    assert all(st["exp_avg"].device.type == "cpu" for st in tr.optimizer.state.values())


def test_batch_too_small_to_halve_falls_back_at_once():
    task = Faulty(batch_size=300, oom_only_on="cuda", oom_always=True)
    tr = make(task, steps=5)
    tr.device, task.on = torch.device("cuda"), "cuda"
    snaps = list(tr.run(report_every=1))
    assert "1 time(s) in a row: training moved to the cpu with a batch of 300" in snaps[0].message
    assert snaps[-1].done and tr.state.step == 5


def test_out_of_memory_everywhere_stops_with_the_last_good_weights():
    task = Faulty(batch_size=1024)
    tr = make(task, steps=200)
    list(tr.run(max_steps=120))  # good copy at step 100
    good = {k: v.clone() for k, v in tr.safety.good[1][0].items()}
    task.oom_always = True
    snaps = list(tr.run(report_every=10))
    assert [s.message.rsplit(": ", 1)[-1] for s in snaps[:2]] == ["batch halved to 512", "batch halved to 256"]
    last = snaps[-1]
    assert last.done and "training stopped at step 120: out of memory on cpu" in last.message
    assert "kept the weights from step 100" in last.message
    assert tr.state.step == 100 and all(torch.equal(v, good[k]) for k, v in weights(tr).items())


def test_only_memory_errors_are_handled():
    for err in (
        torch.cuda.OutOfMemoryError("CUDA out of memory."),
        RuntimeError("CUDA out of memory. Tried to"),
        RuntimeError("MPS backend out of memory (MPS allocated: 1 GB)"),
        MemoryError(),
        RuntimeError("DefaultCPUAllocator: not enough memory: you tried to allocate 8 GB"),
    ):
        assert is_out_of_memory(err), err
    for err in (RuntimeError("mat1 and mat2 shapes cannot be multiplied"), ValueError("out of memory"), KeyError("x")):
        assert not is_out_of_memory(err), err

    class Broken(Faulty):
        def loss(self, model, generator):
            raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    with pytest.raises(RuntimeError, match="shapes"):
        list(make(Broken()).run())


def test_out_of_memory_in_the_preview_skips_that_preview():
    tr = make(Faulty(), steps=40)
    calls = []

    def preview():
        calls.append(1)
        if len(calls) == 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (injected in the preview)")
        return {"ok": 1.0}

    snaps = list(tr.run(report_every=10, preview=preview, preview_interval=0.0))
    assert snaps[0].preview is None and snaps[1].preview == {"ok": 1.0}
    assert snaps[-1].done and tr.state.step == 40


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_unavailable_device_named_by_config_falls_back_with_a_notice():
    model = build_model(model_config("relu", width=16, depth=1), 3, 1)
    tr = Trainer(model, Faulty(), TrainConfig(steps=3, device="cuda"))  # e.g. a checkpoint made on a GPU
    snaps = list(tr.run(report_every=1))
    assert tr.device.type in ("cpu", "mps")
    assert "no CUDA GPU is available: training on" in snaps[0].message
    assert snaps[-1].done and tr.state.step == 3
    with pytest.raises(TrainingError, match="no CUDA GPU"):
        Trainer(model, Faulty(), TrainConfig(steps=3), device="cuda")  # asked for explicitly: an error


def test_stop_from_another_thread_at_random_moments_leaves_consistent_state():
    rng = np.random.default_rng(0)
    for _ in range(5):
        tr = make(Faulty(), steps=100_000)
        timer = threading.Timer(float(rng.uniform(0.01, 0.3)), tr.stop)
        timer.start()
        last = list(tr.run(report_every=7))[-1]
        timer.join()
        assert last.done and last.message == "stopped" and last.step == tr.state.step
        # every counted step is one optimizer step, whole
        adam_steps = {int(st["step"]) for st in tr.optimizer.state.values()}
        assert adam_steps <= {tr.state.step}
        assert all(torch.isfinite(p).all() for p in tr.model.parameters())
        before = tr.state.step
        list(tr.run(max_steps=3))  # and it can go on from there
        assert tr.state.step == before + 3


def test_closing_the_generator_mid_run_leaves_consistent_state():
    tr = make(Faulty(), steps=1000)
    gen = tr.run(report_every=5)
    for snap in gen:
        if snap.step >= 25:
            break
    gen.close()
    assert tr.state.step == 25
    assert {int(st["step"]) for st in tr.optimizer.state.values()} == {25}
    list(tr.run(max_steps=5))
    assert tr.state.step == 30


def test_a_step_takes_no_noticeable_extra_time_for_the_fault_checks():
    """The OOM guard is a try block; the good-weights copy happens every 100 steps only."""
    tr = make(Faulty(), steps=300)
    t0 = time.perf_counter()
    list(tr.run(report_every=50))
    per_step = (time.perf_counter() - t0) / 300
    assert per_step < 0.05


# -- on a real GPU (skipped without CUDA): the allocator's own out-of-memory errors ----------------------
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@contextlib.contextmanager
def _limit_cuda_memory(nbytes: int):
    """Within the block, cap this process's CUDA allocations at what is held now plus nbytes."""
    import gc

    gc.collect()
    torch.cuda.empty_cache()
    cap = torch.cuda.memory_reserved() + nbytes
    torch.cuda.set_per_process_memory_fraction(cap / torch.cuda.get_device_properties(0).total_memory)
    try:
        yield
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
        torch.cuda.empty_cache()


@cuda
def test_real_cuda_out_of_memory_halves_the_batch_and_stays_on_the_gpu():
    """Under a 1.5 GiB cap a 1M-sample batch of a 256-wide MLP does not fit; halving finds one that does."""
    with _limit_cuda_memory(int(1.5 * 2**30)):
        task = SDFTask(sphere_samples(2**20), "sdf", batch_size=2**20)
        model = build_model(model_config("relu", width=256, depth=3), 3, 1)
        tr = Trainer(model, task, TrainConfig(steps=20, batch_size=2**20, device="cuda"))
        snaps = list(tr.run(report_every=5))
        messages = [s.message for s in snaps if s.message]
        print("\nreal CUDA OOM, 1.5 GiB cap:", *messages, sep="\n  ")
        assert messages and all("batch halved" in m and "out of memory on cuda" in m for m in messages)
        assert tr.device.type == "cuda" and snaps[-1].done and tr.state.step == 20
        assert task.batch_size < 2**20 and all(torch.isfinite(p).all() for p in tr.model.parameters())


@cuda
def test_samples_that_do_not_fit_on_the_gpu_train_on_the_cpu():
    """Under a 4 MiB cap the 16M-sample pool cannot even be moved to the GPU: the trainer starts on the CPU."""
    with _limit_cuda_memory(4 * 2**20):
        task = SDFTask(sphere_samples(2**24), "sdf", batch_size=4096)
        model = build_model(model_config("relu", width=64, depth=2), 3, 1)
        tr = Trainer(model, task, TrainConfig(steps=3, batch_size=4096, device="cuda"))
        snaps = list(tr.run(report_every=1))
        print("\nsamples too big for a 4 MiB cap:", snaps[0].message)
        assert "do not fit in cuda memory" in snaps[0].message and tr.device.type == "cpu"
        assert snaps[-1].done and tr.state.step == 3


@cuda
def test_real_cuda_out_of_memory_everywhere_falls_back_to_the_cpu():
    """Under a 40 MiB cap even an 8k batch fails; after the retries training continues on the CPU."""
    with _limit_cuda_memory(40 * 2**20):
        task = SDFTask(sphere_samples(2**18), "sdf", batch_size=2**16)
        model = build_model(model_config("relu", width=256, depth=3), 3, 1)
        tr = Trainer(model, task, TrainConfig(steps=10, batch_size=2**16, device="cuda"))
        snaps = list(tr.run(report_every=5))
        messages = [s.message for s in snaps if s.message]
        print("\nreal CUDA OOM, 40 MiB cap:", *messages, sep="\n  ")
        assert messages[-1].endswith("training moved to the cpu with a batch of 65536")
        assert tr.device.type == "cpu" and next(tr.model.parameters()).device.type == "cpu"
        assert task.points.device.type == "cpu" and snaps[-1].done and tr.state.step == 10


class _ReplayOnCpu:
    """Stands in for GraphedStep where there is no GPU: the same interface, each 'replay' an ordinary step,
    so the trainer's replayed-step bookkeeping (warm-up steps counted, losses read only at reports, a
    non-finite loss caught there) runs on every machine. The capture itself is tested on CUDA."""

    def __init__(self, trainer):
        self.trainer, self.graph = trainer, None

    def set_lr(self, factor):
        for g in self.trainer.optimizer.param_groups:
            g["lr"] = g["initial_lr"] * factor

    def _step(self):
        tr = self.trainer
        tr.optimizer.zero_grad(set_to_none=True)
        terms = tr.task.loss(tr.model, tr.generator)
        terms["total"].backward()
        tr.optimizer.step()
        return terms

    def warm_up(self, steps):
        for _ in range(steps):
            self._step()
        self.graph = True

    def replay(self):
        return self._step()

    def release(self):
        self.graph = None


def test_replayed_steps_count_report_and_recover_like_eager_ones(monkeypatch):
    from inrview.training import trainer as T

    monkeypatch.setattr(T.Trainer, "_graphed_step", lambda self: _ReplayOnCpu(self))
    tr = make(Faulty(), steps=120)
    snaps = list(tr.run(report_every=10))
    assert tr.state.step == 120 and tr.replays == 120 - T.GRAPH_WARMUP
    assert [s.step for s in snaps[:-1]] == list(range(10, 121, 10)) and snaps[-1].done
    assert all(np.isfinite(s.losses["total"]) for s in snaps)
    assert {int(st["step"]) for st in tr.optimizer.state.values()} == {120}  # one Adam step per counted step

    bad = make(Faulty(nan_at={150}), steps=400)
    last = list(bad.run(report_every=10))[-1]
    # the NaN at call 150 (step 150) is seen at the next read, the report at step 150; step 100's weights return
    assert last.done and "non-finite" in last.message and "from step 100" in last.message
    assert all(bool(torch.isfinite(p).all()) for p in bad.model.parameters())
