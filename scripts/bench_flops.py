#!/usr/bin/env python
"""MLP throughput: achieved FLOP/s of training steps against a large matrix product, in the same run.

The reference is the best of several n x n x n products (2 n^3 FLOPs each) in the same precision. A
training step of a ReLU MLP on a batch of B points costs 2 B sum(in*out) FLOPs forward, as much again
for the weight gradients and as much again for the input gradients of every layer that needs them
(all but the first, unless the input itself needs a gradient, as grid features do); bias, ReLU and Adam
are not counted, so they only lower the achieved figure. Rows:

* the DeepSDF baseline decoder (8 x 512, input re-injected at layer 4), batch 16384;
* inrview's default MLP alone (on the grid features), batch 16384;
* the whole default model (grid encoding + MLP): MLP FLOPs over the full step time; the grid lookups
  are memory-bound gathers with almost no FLOPs, so this row says how much of a step is matrix work.

Measurements are interleaved (reference, row, reference, ...) and the median of each is kept, so that a
machine shared with other jobs slows both alike. Runtime: about 30 s on a 2-core CPU.

    .venv/bin/python -m scripts.bench_flops [--device cuda] [--amp bf16]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

import torch  # noqa: E402

from inrview.config import FitConfig, ModelConfig  # noqa: E402
from inrview.models import build_model  # noqa: E402


def linear_flops(mlp: torch.nn.Module, batch: int, input_grad: bool) -> float:
    layers = [m for m in mlp.modules() if isinstance(m, torch.nn.Linear)]
    per = [2.0 * batch * layer.in_features * layer.out_features for layer in layers]
    fwd = sum(per)
    return fwd + fwd + (fwd if input_grad else fwd - per[0])


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()


def time_call(fn, dev, reps: int) -> float:
    fn()
    sync(dev)
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        sync(dev)
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--batch", type=int, default=16384)
    p.add_argument("--n", type=int, default=None, help="matrix size of the reference (default 2048 CPU, 8192 GPU)")
    p.add_argument(
        "--amp",
        choices=["off", "bf16", "fp16"],
        default="off",
        help="autocast the MLP steps and run the reference in that precision",
    )
    p.add_argument("--rounds", type=int, default=5)
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False  # fp32 means fp32 on both sides
    amp_dtype = {"off": None, "bf16": torch.bfloat16, "fp16": torch.float16}[a.amp]
    ref_dtype = amp_dtype or torch.float32
    n = a.n or (8192 if dev.type == "cuda" else 2048)
    A = torch.randn(n, n, device=dev, dtype=ref_dtype)
    Bm = torch.randn(n, n, device=dev, dtype=ref_dtype)
    ref = lambda: A @ Bm  # noqa: E731
    ref_flops = 2.0 * n**3
    name = torch.cuda.get_device_name() if dev.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"# bench_flops on {name}; torch {torch.__version__}; precision {a.amp if amp_dtype else 'fp32'}")

    rows = []
    deepsdf = build_model(ModelConfig(kind="relu", width=512, depth=8, skip=True, weight_norm=False), 3, 1)
    rows.append(("DeepSDF 8x512 MLP", deepsdf, torch.rand(a.batch, 3) * 2 - 1, deepsdf.net, False))
    default = build_model(FitConfig().model, 3, 1)
    if default.encoding is not None:
        feats = torch.rand(a.batch, default.encoding.out_dim)
        rows.append(
            (
                f"default MLP alone ({default.net.layers[0].in_features}->"
                f"{default.net.layers[0].out_features}x{len(default.net.layers) - 1})",
                default.net,
                feats,
                default.net,
                True,
            )
        )
        rows.append(("default model, whole step", default, torch.rand(a.batch, 3) * 2 - 1, default.net, True))
    print("\n| training step | batch | GFLOP per step | ms per step | achieved GFLOP/s | matmul GFLOP/s | ratio |")
    print("|---|---|---|---|---|---|---|")
    for label, model, x, mlp, input_grad in rows:
        model = model.to(dev)
        x = x.to(dev)
        if input_grad and model is mlp:
            x.requires_grad_(True)
        y = torch.rand(a.batch, device=dev)
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)

        def step():
            opt.zero_grad(set_to_none=True)
            with torch.autocast(dev.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                out = model(x).squeeze(-1)
            (out.float() - y).abs().mean().backward()
            opt.step()

        flops = linear_flops(mlp, a.batch, input_grad)
        t_ref, t_step = [], []
        for _ in range(a.rounds):
            t_ref.append(time_call(ref, dev, 3))
            t_step.append(time_call(step, dev, 5))
        ref_rate = ref_flops / statistics.median(t_ref) / 1e9
        rate = flops / statistics.median(t_step) / 1e9
        rows_out = (label, a.batch, flops / 1e9, 1e3 * statistics.median(t_step), rate, ref_rate, rate / ref_rate)
        name, batch, gflop, ms, rate, ref_rate, share = rows_out
        print(
            f"| {name} | {batch:d} | {gflop:.2f} | {ms:.1f} | {rate:.1f} | {ref_rate:.1f} | {100 * share:.0f}% |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
