"""What every system's adapter provides, and the worker processes the workloads start."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

PROJECT_DIR = Path(__file__).resolve().parent.parent
STOP_GRACE_SECONDS = 10.0


class BenchError(Exception):
    """A workload could not run as asked; the message says what to fix."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What the store says about the tasks of one run."""

    succeeded: int
    """Tasks that reached the system's success state."""

    total: int
    """Tasks the store knows about, in any state."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Window:
    """When the workers started the first task and finished the last, from the store."""

    first: float
    """Epoch seconds: the first task's start (Celery: the first task's finish)."""

    last: float
    """Epoch seconds: the last task's finish."""

    rate: float
    """Tasks per second between the two."""


class Adapter(ABC):
    """One system on one store, driven through its public API and its own worker command."""

    system: str
    store: str

    def __init__(self, system: str, store: str) -> None:
        self.system = system
        self.store = store

    @abstractmethod
    def setup(self) -> dict[str, Any]:
        """Create the store's schema; return the versions and settings to report."""

    @abstractmethod
    def reset(self) -> None:
        """Remove every task and result."""

    @abstractmethod
    def enqueue_noop(self) -> str:
        """Enqueue one no-op task through the public API; return its id."""

    has_concurrency: bool = True
    """Whether one worker process runs several tasks at once (``--concurrency``)."""

    def enqueue_io(self) -> str:
        """Enqueue one task that waits 20 ms (the I/O workload); return its id."""
        raise BenchError(f"System {self.system!r} has no I/O workload.")

    def enqueue_flaky(self, number: int) -> str | None:
        """Enqueue task ``number`` of the retry workload (every tenth fails once, then succeeds
        on its retry); None if the system has no retries."""
        return None

    def idle_counters(self) -> tuple[float, float] | None:
        """(statements or commands the store's server has run for this system, CPU seconds of
        the server processes that serve it), to take deltas of; None where not measured."""
        return None

    @abstractmethod
    def enqueue_stamp(self) -> str:
        """Enqueue one task that returns the time it started; return its id."""

    def bulk_enqueue_noops(self, count: int) -> bool:
        """Enqueue ``count`` no-op tasks at once; False if the system offers no bulk path."""
        return False

    def enqueue_unique_noop(self, key: str) -> str | None:
        """Enqueue one no-op task with unique key ``key``; return its id (that of the task
        waiting with the key, if one does), or None if the system has no unique tasks."""
        return None

    @abstractmethod
    def worker_commands(
        self,
        workers: int,
        *,
        batch: bool,
        concurrency: int = 1,
        pool: str = "prefork",
        defaults: bool = False,
    ) -> list[list[str]]:
        """The commands that start ``workers`` worker processes (``batch``: exit when done),
        each running ``concurrency`` tasks at once (Celery: in its ``pool``); ``defaults``: the
        worker's own polling defaults instead of the benchmark's short interval."""

    @abstractmethod
    def wait_drained(self, expected: int, workers: "Workers", deadline: float) -> None:
        """Return once ``expected`` tasks have finished, or at ``deadline`` (monotonic)."""

    @abstractmethod
    def finished(self) -> int:
        """How many tasks have finished, in any state (a cheap query, polled)."""

    @abstractmethod
    def outcome(self) -> Outcome:
        """How many tasks there are and how many succeeded."""

    @abstractmethod
    def window(self, since: float) -> Window:
        """The start and end of the tasks that started after ``since`` (epoch seconds), from the
        store's own timestamps."""

    @abstractmethod
    def stamps(self, ids: Sequence[str]) -> list[float]:
        """The return values of these ``stamp`` tasks, in order."""

    def analyze(self) -> None:
        """Refresh the store's planner statistics (PostgreSQL's ANALYZE); nothing elsewhere."""
        return None  # Only the database stores keep statistics; they override this.

    def add_history(self, rows: int) -> None:
        """Add ``rows`` finished tasks to the store with SQL, bypassing the API."""
        raise BenchError(f"System {self.system!r} keeps no task history in {self.store!r}.")


class Workers:
    """Worker processes, each logging to its own file; stopped (SIGTERM, then SIGKILL) on exit."""

    def __init__(self, commands: Sequence[Sequence[str]], log_stem: Path) -> None:
        self.commands = commands
        self.log_stem = log_stem
        self.processes: list[subprocess.Popen[bytes]] = []
        self.started_at = 0.0

    def __enter__(self) -> Self:
        self.log_stem.parent.mkdir(parents=True, exist_ok=True)
        self.started_at = time.time()
        for i, command in enumerate(self.commands):
            with open(f"{self.log_stem}-{i}.log", "wb") as log:
                self.processes.append(
                    subprocess.Popen(
                        list(command),
                        cwd=PROJECT_DIR,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        start_new_session=True,
                    )
                )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def wait(self, deadline: float) -> bool:
        """Wait for every process to exit by itself; False if one is still running at deadline."""
        for process in self.processes:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                return False
        return True

    def stop(self) -> None:
        """Ask every running process to stop; kill the ones still running after a grace period."""
        running = [p for p in self.processes if p.poll() is None]
        for process in running:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in running:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()

    def cpu_seconds(self) -> float:
        """CPU time (user + system) of every live process of these workers (children too)."""
        return sum(stat.cpu for stat in _session_stats(self._sessions()))

    def rss_mib(self) -> float:
        """Resident memory of every live process of these workers (children too), in MiB."""
        return sum(stat.rss for stat in _session_stats(self._sessions())) / 2**20

    def _sessions(self) -> set[int]:
        return {process.pid for process in self.processes}

    def failures(self) -> list[str]:
        """The workers that exited with an error, with the end of their log."""
        failed = []
        for i, process in enumerate(self.processes):
            code = process.poll()
            if code not in (None, 0, -signal.SIGTERM):
                tail = Path(f"{self.log_stem}-{i}.log").read_text(errors="replace")[-2000:]
                failed.append(f"worker {i} exited with {code}:\n{tail}")
        return failed


@dataclass(frozen=True, slots=True)
class ProcessStat:
    cpu: float
    """Seconds of CPU, user and system."""
    rss: int
    """Resident bytes."""


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def process_stat(pid: int) -> tuple[int, ProcessStat] | None:
    """(session id, CPU and memory) of a live process, from /proc; None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()  # After the command name, which may hold spaces.
    # fields[0] is field 3 of proc(5): session is 6, utime 14, stime 15, rss 24.
    return int(fields[3]), ProcessStat(
        cpu=(int(fields[11]) + int(fields[12])) / CLOCK_TICKS, rss=int(fields[21]) * PAGE_SIZE
    )


def _session_stats(sessions: set[int]) -> list[ProcessStat]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = process_stat(int(entry.name))
            if stat is not None and stat[0] in sessions:
                found.append(stat[1])
    return found


def _signal_group(process: "subprocess.Popen[bytes]", number: int) -> None:
    """Signal the process and its children (Celery's pool), unless they have all exited."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, number)


def python() -> str:
    """The interpreter of this virtualenv, for starting workers."""
    return sys.executable


def wait_until(predicate: Callable[[], bool], deadline: float, every: float = 0.05) -> bool:
    """Poll ``predicate`` until it is true; False if the deadline (monotonic) passes first."""
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(every)
    return True
