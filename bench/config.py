"""What one benchmark run measures: sizes, repetitions, systems, stores and workloads."""

from dataclasses import dataclass
from pathlib import Path

WORKLOADS = (
    "drain",
    "io",
    "bulk",
    "unique",
    "latency",
    "load",
    "idle",
    "memory",
    "retry",
    "history",
    "ceiling",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    n: int
    """Tasks per enqueue and drain run."""

    workers: tuple[int, ...]
    """The worker-process counts W the drain runs with."""

    reps: int
    """Repetitions of every workload."""

    systems: tuple[str, ...]
    """The systems to measure (ours, dtdb, celery)."""

    stores: tuple[str, ...]
    """The stores the database systems run on."""

    brokers: tuple[str, ...]
    """The brokers the Celery-based systems run on (their results are in Redis)."""

    io_n: int
    """Tasks per drain of the I/O workload (each waits 20 ms)."""

    io_concurrency: int
    """Tasks each worker of the I/O workload runs at once (Celery: the pool's size)."""

    load_seconds: float
    """How long tasks arrive at each load level."""

    load_capacity_seconds: float
    """How long the load workload's capacity is measured."""

    load_levels: tuple[int, ...]
    """The arrival rates of the load workload, in percent of the measured capacity."""

    idle_workers: int
    """Idle workers started by the idle workload."""

    idle_seconds: float
    """How long the idle workload measures them."""

    memory_tasks: tuple[int, int]
    """The task counts the memory workload reads the worker's RSS at."""

    memory_systems: tuple[str, ...]
    """The systems the memory workload runs for (on PostgreSQL)."""

    retry_n: int
    """Tasks per drain of the retry workload."""

    workloads: tuple[str, ...]
    """The workloads to run."""

    latency_count: int
    """Probes per latency run."""

    latency_gap_ms: float
    """Milliseconds between two probes."""

    history_rows: int
    """Finished rows in the table for the history workload."""

    history_n: int
    """Tasks per drain in the history workload."""

    history_systems: tuple[str, ...]
    """The systems the history workload runs for (on PostgreSQL)."""

    ceiling_batch: int
    """Rows per statement in the raw-SQL ceiling's batched variants."""

    ours: Path
    """The checkout whose django_tasks is measured."""

    quick: bool
    """Whether these are the quick mode's sizes."""

    @property
    def timeout(self) -> float:
        """Seconds a drain may take before its workers are stopped and the shortfall reported."""
        return 30 + max(self.n, self.history_n, self.retry_n) / 20

    @property
    def io_ideal(self) -> float:
        """Tasks per second of the I/O workload if every slot waited its 20 ms and nothing else:
        two workers (the largest W) of ``io_concurrency`` slots."""
        return max(self.workers) * self.io_concurrency / 0.02


QUICK = {
    "n": 1000,
    "reps": 1,
    "latency_count": 50,
    "history_rows": 100_000,
    "history_n": 1000,
    "history_systems": ("ours",),  # The target's system only: it keeps quick under 2 minutes.
    "stores": ("sqlite", "postgresql"),
    "brokers": ("redis",),  # RabbitMQ with --brokers: each Celery boot takes seconds.
    "io_n": 2000,
    "load_seconds": 4.0,
    "load_capacity_seconds": 2.0,
    "idle_workers": 16,
    "idle_seconds": 6.0,
    "memory_tasks": (2_000, 20_000),
    "memory_systems": ("ours",),
    "retry_n": 1000,
}
FULL = {
    "n": 5000,
    "reps": 2,
    "latency_count": 200,
    "history_rows": 10_000_000,
    "history_n": 2000,
    # django-tasks-db drains about 150 tasks/s: its three states would take minutes of the run.
    "history_systems": ("ours",),
    # MariaDB with --stores: its drains take minutes and no target is judged on it.
    "stores": ("sqlite", "postgresql"),
    "brokers": ("redis", "rabbitmq"),
    "io_n": 8000,
    "load_seconds": 30.0,
    "load_capacity_seconds": 10.0,
    "idle_workers": 64,
    "idle_seconds": 30.0,
    "memory_tasks": (10_000, 200_000),
    "memory_systems": ("ours",),
    "retry_n": 5000,
}
