"""What one benchmark run measures: sizes, repetitions, systems, stores and workloads."""

from dataclasses import dataclass
from pathlib import Path

WORKLOADS = ("drain", "io", "bulk", "unique", "latency", "history", "ceiling")


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
    """Tasks per drain of the I/O workload (each waits 10 ms)."""

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
        return 30 + max(self.n, self.history_n) / 20


QUICK = {
    "n": 1000,
    "reps": 1,
    "latency_count": 50,
    "history_rows": 100_000,
    "history_n": 1000,
    "history_systems": ("ours",),  # The target's system only: it keeps quick under 2 minutes.
    "stores": ("sqlite", "postgresql"),
    "brokers": ("redis", "rabbitmq"),
    "io_n": 200,
}
FULL = {
    "n": 5000,
    "reps": 2,
    "latency_count": 200,
    "history_rows": 1_000_000,
    "history_n": 2000,
    "history_systems": ("ours", "dtdb"),
    "stores": ("sqlite", "postgresql", "mysql"),
    "brokers": ("redis", "rabbitmq"),
    "io_n": 1000,
}
