"""Wall time and peak memory of commands, and timing helpers for in-process work.

Peak memory is the largest sum of resident set sizes (RSS) of a process and all its
descendants, sampled every `POLL_SECONDS` by a thread. A peak shorter than one
interval can be missed. Pages that forked workers share with their parent count
once per process, so the sum is an upper bound.
"""

import multiprocessing
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import psutil

POLL_SECONDS = 0.05
CPU_CHECK_ITERATIONS = 5_000_000


@dataclass
class CommandRun:
    """One finished command: its wall time, its peak RSS (total and per stage) and its output.

    A stage's seconds run from the first to the last sample that saw its script, so they
    are accurate to about `POLL_SECONDS`.
    """

    seconds: float
    peak_rss_bytes: int
    stage_peak_rss_bytes: dict[str, int] = field(default_factory=dict)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    stdout: str = ""
    stderr: str = ""


class _RssPoller(threading.Thread):
    """Sample the RSS of a process tree until stopped; also per stage script found in command lines."""

    def __init__(self, root_pid: int, stage_names: tuple[str, ...]):
        super().__init__(daemon=True)
        self._root = psutil.Process(root_pid)
        self._stage_markers = {name: f"stages/{name}.py" for name in stage_names}
        self._stop_event = threading.Event()
        self.peak = 0
        self.stage_peaks: dict[str, int] = {}
        self.stage_first_seen: dict[str, float] = {}
        self.stage_last_seen: dict[str, float] = {}

    def run(self) -> None:
        while not self._stop_event.is_set():
            self._sample()
            self._stop_event.wait(POLL_SECONDS)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()

    def _sample(self) -> None:
        try:
            processes = [self._root, *self._root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        rss_of = {}
        for process in processes:
            try:
                rss_of[process.pid] = process.memory_info().rss
            except psutil.Error:
                continue
        self.peak = max(self.peak, sum(rss_of.values()))

        now = time.perf_counter()
        for stage, pids in self._stage_processes(processes).items():
            total = sum(rss_of.get(pid, 0) for pid in pids)
            self.stage_peaks[stage] = max(self.stage_peaks.get(stage, 0), total)
            self.stage_first_seen.setdefault(stage, now)
            self.stage_last_seen[stage] = now

    def _stage_processes(self, processes: list[psutil.Process]) -> dict[str, set[int]]:
        """Map each stage seen to its script's processes and their children (a shell, worker processes)."""
        stage_pids: dict[str, set[int]] = {}
        for process in processes:
            try:
                command_line = " ".join(process.cmdline())
                stage = next((name for name, marker in self._stage_markers.items() if marker in command_line), None)
                if stage is None:
                    continue
                children = process.children(recursive=True)
            except psutil.Error:
                continue
            stage_pids.setdefault(stage, set()).update([process.pid, *(child.pid for child in children)])
        return stage_pids

    def stage_seconds(self) -> dict[str, float]:
        return {stage: self.stage_last_seen[stage] - first for stage, first in self.stage_first_seen.items()}


def run_command(command: list[str], cwd: Path, env: dict[str, str] | None = None,
                stage_names: tuple[str, ...] = ()) -> CommandRun:
    """Run `command`, raising RuntimeError with its output if it fails."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    poller = _RssPoller(process.pid, stage_names)
    poller.start()
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - start
    poller.stop()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed with exit status {process.returncode} in {cwd}:\n"
                           f"{stdout[-2000:]}\n{stderr[-4000:]}")
    return CommandRun(seconds, poller.peak, poller.stage_peaks, poller.stage_seconds(), stdout, stderr)


@dataclass(frozen=True)
class Timing:
    """Wall time, and CPU time of this process plus the child processes it waited for."""

    wall_seconds: float
    cpu_seconds: float


def timed(work: Callable[[], object]) -> Timing:
    """Run `work` once; child processes count only if they ended (and were waited for) within it."""
    before, cpu_before, start = os.times(), time.process_time(), time.perf_counter()
    work()
    wall, cpu, after = time.perf_counter() - start, time.process_time() - cpu_before, os.times()
    # os.times() counts children in clock ticks (usually 10 ms); process_time() is finer.
    children = after.children_user - before.children_user + after.children_system - before.children_system
    return Timing(wall, cpu + children)


def best_timing(work: Callable[[], object], repeats: int) -> Timing:
    """Return the timing of the fastest of `repeats` calls, the usual estimate on a busy machine."""
    return min((timed(work) for _ in range(repeats)), key=lambda timing: timing.wall_seconds)


def best_seconds(work: Callable[[], object], repeats: int) -> float:
    return best_timing(work, repeats).wall_seconds


def _spin(iterations: int) -> int:
    total = 0
    for number in range(iterations):
        total += number
    return total


def parallel_speedup(processes: int = 2) -> float:
    """Return how much faster `processes` processes finish a pure-CPU loop than one process does alone.

    On an idle machine with that many cores this is about `processes`. Where other
    programs keep cores busy it is lower, and so is every multi-process speed-up.
    """
    one = timed(lambda: [_spin(CPU_CHECK_ITERATIONS) for _ in range(processes)]).wall_seconds
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        pool.map(_spin, [1] * processes)  # start the workers before timing
        several = timed(lambda: pool.map(_spin, [CPU_CHECK_ITERATIONS] * processes)).wall_seconds
    return one / several


def environment_with_path(extra_python_path: Path) -> dict[str, str]:
    """Return this process's environment with `extra_python_path` first on PYTHONPATH."""
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(extra_python_path),
                                                              environment.get("PYTHONPATH", "")]))
    return environment
