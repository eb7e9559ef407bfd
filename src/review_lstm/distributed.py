"""Multi-process training with DistributedDataParallel (DDP), launched by torchrun.

Every process builds the same batch list from the same seed and trains on its share
of each batch, so `train.batch_size` is the global batch size and the number of
optimizer steps does not depend on the number of processes. Every process scores the
whole validation split itself, so all of them agree on the best epoch and on early
stopping. Outside torchrun, every helper here behaves as a single process (rank 0 of 1).
"""

import contextlib
import ctypes
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Iterable, Iterator

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from review_lstm.batches import Batch
from review_lstm.errors import UserInputError
from review_lstm.params import TrainParams

logger = logging.getLogger(__name__)

# Set by torchrun in every process it starts.
TORCHRUN_VARIABLES = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE")
# Set by exec_torchrun: the process ID of torchrun, which is the parent of every training process.
TORCHRUN_PID_VARIABLE = "REVIEW_LSTM_TORCHRUN_PID"
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def launched_by_torchrun() -> bool:
    return all(name in os.environ for name in TORCHRUN_VARIABLES)


def rank() -> int:
    """Return this process's global rank, 0 outside a process group."""
    return dist.get_rank() if dist.is_initialized() else 0


def world_size() -> int:
    """Return the number of training processes on all machines, 1 outside a process group."""
    return dist.get_world_size() if dist.is_initialized() else 1


def spans_several_machines() -> bool:
    """Return True when torchrun's processes run on more than one machine (WORLD_SIZE > LOCAL_WORLD_SIZE)."""
    return launched_by_torchrun() and int(os.environ["WORLD_SIZE"]) > int(os.environ["LOCAL_WORLD_SIZE"])


def is_main_process() -> bool:
    """Return True in rank 0, the only process that logs progress and writes outputs."""
    return rank() == 0


def cpu_cores_per_process(processes: int | None = None) -> int:
    """Split this machine's usable CPU cores evenly between its training processes.

    `processes` defaults to torchrun's LOCAL_WORLD_SIZE, or 1 outside torchrun.
    """
    if processes is None:
        processes = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, cores // processes)


def exec_torchrun(script: Path, processes: int) -> None:
    """Replace this process with torchrun, which runs `script` in `processes` processes. Never returns.

    `--standalone` makes torchrun pick a free port on localhost for the rendezvous.
    Replacing the process, rather than starting a child, lets signals such as Ctrl-C
    and the exit status pass straight between the caller (for example DVC) and torchrun.
    """
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}",
               str(script)]
    environment = dict(os.environ)
    # Without it, torchrun sets OMP_NUM_THREADS=1 and prints a warning.
    environment.setdefault("OMP_NUM_THREADS", str(cpu_cores_per_process(processes)))
    # execve keeps the process ID, so this is torchrun's.
    environment[TORCHRUN_PID_VARIABLE] = str(os.getpid())
    logger.info("starting %d training processes with torchrun: %s", processes, " ".join(command))
    os.execve(sys.executable, command, environment)


def check_launch(params: TrainParams) -> None:
    """Raise UserInputError when torchrun's process count and params.yaml disagree."""
    local_processes = int(os.environ["LOCAL_WORLD_SIZE"])
    if local_processes != params.processes:
        raise UserInputError(
            f"params.yaml: 'train.processes' is {params.processes} but torchrun started {local_processes} "
            f"processes on this machine. Set 'train.processes' to {local_processes}, or start torchrun with "
            f"--nproc-per-node={params.processes}.")
    processes = int(os.environ["WORLD_SIZE"])
    if params.batch_size < processes:
        raise UserInputError(
            f"params.yaml: invalid value for 'train.batch_size': {params.batch_size}; expected at least the "
            f"number of training processes ({processes}), since every process trains on a share of each batch.")


@contextlib.contextmanager
def process_group(params: TrainParams, device: torch.device) -> Iterator[torch.device]:
    """Join torchrun's process group for the block and yield this process's device.

    The backend is NCCL on CUDA, one GPU per process by local rank, and gloo on the CPU.
    Processes other than rank 0 log warnings and errors only. Without torchrun, the
    block runs as a single process on `device`.
    """
    if not launched_by_torchrun():
        yield device
        return

    stop_with_parent()
    check_launch(params)
    if device.type == "cuda" and params.processes > torch.cuda.device_count():
        raise UserInputError(f"params.yaml: 'train.processes' is {params.processes} but PyTorch sees "
                             f"{torch.cuda.device_count()} CUDA devices, and NCCL needs one GPU per process. "
                             f"Lower 'train.processes' or set 'train.device' to 'cpu'.")
    # NOTE: the NCCL path (CUDA) has not been run on a GPU yet. Only gloo on the CPU is tested.
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend=backend)
    try:
        if not is_main_process():
            logging.getLogger().setLevel(logging.WARNING)
        logger.info("training in %d processes (backend %s, %d threads each); rank 0 writes the outputs",
                    world_size(), backend, torch.get_num_threads())
        yield device
    finally:
        dist.destroy_process_group()


def stop_with_parent() -> None:
    """Make Linux send SIGTERM to this training process when torchrun, its parent, exits.

    torchrun starts each training process in a session of its own, so a SIGKILL of
    torchrun or of the stage's process group does not reach them, and they would go on
    and write the outputs. The kernel sends the signal when the thread that started this
    process exits, and torchrun (torch 2.13) starts them from its main thread. torchrun
    may have exited before this call, so the parent's process ID is checked right after.
    """
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    # prctl takes unsigned long arguments after the option.
    arguments = [ctypes.c_ulong(value) for value in (signal.SIGTERM, 0, 0, 0)]
    if libc.prctl(_PR_SET_PDEATHSIG, *arguments) != 0:
        logger.warning("prctl(PR_SET_PDEATHSIG) failed (%s); this training process will not stop if torchrun is "
                       "killed", os.strerror(ctypes.get_errno()))
        return
    # NOTE: only exec_torchrun records torchrun's process ID. Under a torchrun started by hand,
    # a process whose torchrun died before the prctl call is not stopped here.
    torchrun_pid = os.environ.get(TORCHRUN_PID_VARIABLE)
    if torchrun_pid is not None and os.getppid() != int(torchrun_pid):
        logger.error("torchrun (process %s) has exited; stopping this training process", torchrun_pid)
        signal.raise_signal(signal.SIGTERM)


def wrap_model(model: nn.Module, device: torch.device, seed: int) -> nn.Module:
    """Wrap `model` in DistributedDataParallel inside a process group; return it unchanged otherwise.

    DDP copies rank 0's initial weights to every process and averages the gradients in
    `backward()`. Each process then reseeds PyTorch with `seed + rank`, so that dropout
    masks differ between processes.
    """
    if not dist.is_initialized():
        return model
    wrapped = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    torch.manual_seed(seed + rank())
    return wrapped


def shard_batch(batch: Batch, shard: int, shards: int) -> Batch:
    """Return rows shard, shard + shards, ... of a batch, padded to their own longest review.

    A length-bucketed batch contains reviews of similar length, so taking every
    `shards`-th row gives each process about the same number of tokens.
    """
    rows = torch.arange(shard, len(batch.labels), shards)
    lengths = batch.lengths[rows]
    return Batch(token_ids=batch.token_ids[rows, :int(lengths.max())], lengths=lengths,
                 labels=batch.labels[rows], indices=batch.indices[rows.numpy()])


def shard_batches(batches: Iterable[Batch]) -> Iterator[Batch]:
    """Yield this process's share of every batch, or every batch whole in a single process.

    All processes go through the same batches, so they take the same number of steps.

    NOTE: DDP averages the gradients of the processes' mean losses with equal weight.
    That equals the gradient of one process's mean over the whole batch only when the
    batch splits evenly and the loss is an unweighted mean (imbalance 'none' or
    'oversample'). Otherwise reviews weigh slightly differently than in one process.
    """
    processes = world_size()
    for batch in batches:
        if processes == 1:
            yield batch
        elif len(batch.labels) >= processes:
            yield shard_batch(batch, rank(), processes)
        # NOTE: a batch with fewer reviews than processes (at most one per epoch: the leftover
        # after the full batches) is skipped by every process, so those reviews sit out that epoch.


def sum_over_processes(*values: float) -> tuple[float, ...]:
    """Return each value summed over all processes, or the values unchanged in a single process."""
    if not dist.is_initialized():
        return values
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else None
    totals = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(totals)
    return tuple(totals.tolist())
