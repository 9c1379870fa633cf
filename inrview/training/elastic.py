"""Joining a torchrun process group that survives restarts.

torchrun (torchelastic) restarts every process of the group when one dies (`--max-restarts N`). Since torch
2.4 the workers of every attempt meet in the agent's one TCPStore, and the keys gloo left there in the
attempt before (each rank's address) are still present: a restarted rank can read its dead predecessor's
address and fail with 'connection refused' or wait for it (here two of the first three restarts failed: one
refused, one hung in init_process_group). So each
attempt meets under a fresh key prefix: rank 0 draws a new generation id, and every other rank waits for an
id it has not joined before (each rank marks the ids it joined), which is the one of this attempt.
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import timedelta

#: How long a rank waits for the others to join the group (the attempt fails and torchrun restarts it).
JOIN_TIMEOUT = timedelta(minutes=10)


def init_group(backend: str) -> None:
    """init_process_group for this torchrun attempt (a fresh store prefix when the agent's store is shared)."""
    import torch.distributed as dist

    if os.environ.get("TORCHELASTIC_USE_AGENT_STORE") != "True":
        dist.init_process_group(backend, timeout=JOIN_TIMEOUT)
        return
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    store = dist.TCPStore(
        os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), world, is_master=False, timeout=JOIN_TIMEOUT
    )
    gen = attempt_id(store, rank)
    dist.init_process_group(
        backend, store=dist.PrefixStore(f"inrview/{gen}/", store), rank=rank, world_size=world, timeout=JOIN_TIMEOUT
    )


def leave_group() -> None:
    """Wait for every rank, then take the process group down, before the process exits. A rank that exited
    with the group alive sometimes died in the interpreter's teardown ('terminate called without an active
    exception', SIGABRT: a store or gloo thread destroyed while running), which torchrun reports as a failed
    run after the checkpoint was written (4 of 16 two-process fits on a loaded machine)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return
    try:
        dist.barrier()
    finally:
        dist.destroy_process_group()


def attempt_id(store, rank: int) -> str:
    """The generation id of this attempt, the same on every rank: drawn by rank 0, awaited by the others."""
    if rank == 0:
        gen = uuid.uuid4().hex
        store.set("inrview/generation", gen)
    else:
        while True:
            gen = store.get("inrview/generation").decode()
            if not store.check([f"inrview/joined/{gen}/{rank}"]):
                break
            time.sleep(0.1)  # the id of the attempt before: rank 0 of this one has not drawn its own yet
    store.set(f"inrview/joined/{gen}/{rank}", "1")
    return gen
