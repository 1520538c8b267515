"""The figures of a database backend's queue, for the dashboard, the metrics and the health
check: a ``Snapshot`` read in a handful of grouped queries, however many tasks the table holds.

- Queues: the NEW and RUNNING rows grouped by queue and task (the claim and lease indexes
  hold them; finished rows are not read), with the oldest waiting task's ``available_at``.
- Throughput: the rows finished in the last WINDOW, counted per minute and status (the
  finished index).
- Wait and run times: the percentiles of the last SAMPLE_SIZE finished tasks of the WINDOW.
- Failures: the last RECENT_FAILURES failed tasks (the failed index, see schema.py).
- Workers: the workers table (presence.py), and what each runs.

Times are the database's clock (``Queries.current_time``), as the worker's leases are.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import Count, Min, Q, QuerySet
from django.db.models.functions import TruncMinute

from django_tasks import tasks
from django_tasks.backends.database.backend import DatabaseBackend
from django_tasks.backends.database.models import DBTaskResult, DBWorker, serves
from django_tasks.backends.database.queries import queries_for
from django_tasks.task import ResultStatus

WINDOW = timedelta(hours=1)
"""How far back throughput, failure rates and time percentiles look."""
SAMPLE_SIZE = 2000
"""The most finished tasks the wait and run time percentiles are taken over."""
RECENT_FAILURES = 10
PERCENTILES = (50, 95, 99)

NEW, RUNNING = ResultStatus.NEW, ResultStatus.RUNNING
SUCCEEDED, FAILED = ResultStatus.SUCCEEDED, ResultStatus.FAILED


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskCounts:
    """The unfinished tasks of one task path in one queue."""

    task_path: str
    waiting: int
    """NEW and due: ready to be claimed."""
    deferred: int
    """NEW with a run_after still to come."""
    running: int


@dataclass(slots=True, kw_only=True)
class QueueFigures:
    """One queue of one backend."""

    backend: str
    queue_name: str
    tasks: list[TaskCounts] = field(default_factory=list)
    oldest_waiting_since: datetime | None = None
    """The earliest ``available_at`` of the waiting tasks: since when the oldest has waited."""
    oldest_waiting_seconds: float = 0.0
    succeeded: int = 0
    """Finished in the last WINDOW."""
    failed: int = 0
    wait_percentiles: dict[int, float] = field(default_factory=dict)
    """Seconds from ``available_at`` to ``started_at``, by percentile."""
    run_percentiles: dict[int, float] = field(default_factory=dict)
    """Seconds from ``started_at`` to ``finished_at``, by percentile."""

    @property
    def waiting(self) -> int:
        return sum(counts.waiting for counts in self.tasks)

    @property
    def deferred(self) -> int:
        return sum(counts.deferred for counts in self.tasks)

    @property
    def running(self) -> int:
        return sum(counts.running for counts in self.tasks)

    @property
    def failure_rate(self) -> float | None:
        """The share of the tasks finished in the last WINDOW that failed; None if none did."""
        finished = self.succeeded + self.failed
        return self.failed / finished if finished else None


QueueOf = Callable[[str, str], QueueFigures]
"""The figures of a (backend, queue name), created on first use."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerFigures:
    worker_id: str
    backend: str
    queues: list[str] | None
    """None: every queue."""
    excluded_queues: list[str] | None = None
    """Queues it does not serve (db_worker --exclude-queues)."""
    concurrency: int
    started_at: datetime
    heartbeat_at: datetime
    heartbeat_seconds: float
    """How long ago its last heartbeat was."""
    live: bool
    """Its heartbeat is within its backend's LEASE_SECONDS."""
    running: dict[str, int]
    """The task paths it runs, and how many of each."""

    def serves(self, queue_name: str) -> bool:
        return serves(self.queues, self.excluded_queues, queue_name)


@dataclass(frozen=True, slots=True, kw_only=True)
class Failure:
    id: str
    backend: str
    queue_name: str
    task_path: str
    exception_class_path: str
    finished_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Minute:
    """The tasks that finished in one minute."""

    start: datetime
    succeeded: int
    failed: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """The figures of the database backends, at ``now`` (the queue database's clock)."""

    now: datetime
    queues: list[QueueFigures]
    workers: list[WorkerFigures]
    failures: list[Failure]
    minutes: list[Minute]
    """The last WINDOW, oldest first, one entry per minute (empty minutes too)."""


def snapshot(backends: Sequence[DatabaseBackend], *, history: bool = True) -> Snapshot:
    """The figures of ``backends`` (which may share a database, or not). Without ``history``,
    only the unfinished tasks and the workers are read (what the health check needs)."""
    by_database: dict[str, list[DatabaseBackend]] = defaultdict(list)
    for backend in backends:
        by_database[backend.database].append(backend)
    parts = [
        _database_snapshot(database, group, history=history)
        for database, group in by_database.items()
    ]
    if not parts:
        return Snapshot(
            now=datetime.now(UTC), queues=[], workers=[], failures=[], minutes=_minutes({}, None)
        )
    counts: dict[datetime, list[int]] = defaultdict(lambda: [0, 0])
    for part in parts:
        for minute in part.minutes:
            counts[minute.start][0] += minute.succeeded
            counts[minute.start][1] += minute.failed
    return Snapshot(
        now=parts[0].now,
        queues=sorted(
            (queue for part in parts for queue in part.queues),
            key=lambda queue: (queue.backend, queue.queue_name),
        ),
        workers=[worker for part in parts for worker in part.workers],
        failures=sorted(
            (failure for part in parts for failure in part.failures),
            key=lambda failure: failure.finished_at or parts[0].now,
            reverse=True,
        )[:RECENT_FAILURES],
        minutes=[
            Minute(start=start, succeeded=succeeded, failed=failed)
            for start, (succeeded, failed) in sorted(counts.items())
        ],
    )


def database_backends(aliases: Iterable[str] | None = None) -> list[DatabaseBackend]:
    """The database backends of TASKS named by ``aliases`` (default: every one of them)."""
    names = list(tasks.settings) if aliases is None else list(aliases)
    return [backend for name in names if isinstance(backend := tasks[name], DatabaseBackend)]


def _database_snapshot(
    database: str, backends: list[DatabaseBackend], *, history: bool
) -> Snapshot:
    with queries_for(database).cursor() as cursor:
        now = queries_for(database).current_time(cursor)
    aliases = [backend.alias for backend in backends]
    table = DBTaskResult.objects.using(database).filter(backend__in=aliases)
    queues: dict[tuple[str, str], QueueFigures] = {}

    def queue(backend: str, name: str) -> QueueFigures:
        key = (backend, name)
        if key not in queues:
            queues[key] = QueueFigures(backend=backend, queue_name=name)
        return queues[key]

    _read_unfinished(table, now, queue)
    minutes = _read_finished(table, now, queue) if history else []
    if history:
        _read_times(table, now, queue)
    lease = {backend.alias: backend.options.LEASE_SECONDS for backend in backends}
    return Snapshot(
        now=now,
        queues=list(queues.values()),
        workers=_read_workers(database, table, aliases, now, lease),
        failures=_read_failures(table) if history else [],
        minutes=minutes,
    )


def _read_unfinished(table: QuerySet[DBTaskResult], now: datetime, queue: QueueOf) -> None:
    # Two statements, not one with status IN (...): each walks its own partial index (the
    # claim index holds only NEW rows, the lease index only RUNNING ones), where one statement
    # over both statuses reads the whole table (1.1 s on 10 million rows; see
    # bench/dashboard_queries.py).
    counts: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    due = Q(available_at__lte=now)
    waiting = (
        table.filter(status=NEW)
        .values("backend", "queue_name", "task_path")
        .annotate(
            waiting=Count("pk", filter=due),
            deferred=Count("pk", filter=Q(available_at__gt=now)),
            oldest=Min("available_at", filter=due),
        )
        .order_by()
    )
    for row in waiting:
        key = (row["backend"], row["queue_name"], row["task_path"])
        counts[key][0], counts[key][1] = row["waiting"], row["deferred"]
        figures = queue(row["backend"], row["queue_name"])
        oldest = row["oldest"]
        if oldest is not None and (
            figures.oldest_waiting_since is None or oldest < figures.oldest_waiting_since
        ):
            figures.oldest_waiting_since = oldest
            figures.oldest_waiting_seconds = max(0.0, (now - oldest).total_seconds())
    running = (
        table.filter(status=RUNNING)
        .values("backend", "queue_name", "task_path")
        .annotate(running=Count("pk"))
        .order_by()
    )
    for busy in running:
        counts[busy["backend"], busy["queue_name"], busy["task_path"]][2] = busy["running"]
    for (backend, name, path), (waits, deferred, runs) in sorted(counts.items()):
        queue(backend, name).tasks.append(
            TaskCounts(task_path=path, waiting=waits, deferred=deferred, running=runs)
        )


def _read_finished(table: QuerySet[DBTaskResult], now: datetime, queue: QueueOf) -> list[Minute]:
    rows = (
        table.filter(finished_at__gte=now - WINDOW, status__in=[SUCCEEDED, FAILED])
        .annotate(minute=TruncMinute("finished_at", tzinfo=UTC))
        .values("backend", "queue_name", "minute", "status")
        .annotate(count=Count("pk"))
        .order_by()
    )
    by_minute: dict[datetime, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        figures = queue(row["backend"], row["queue_name"])
        failed = row["status"] == FAILED
        if failed:
            figures.failed += row["count"]
        else:
            figures.succeeded += row["count"]
        by_minute[row["minute"]][int(failed)] += row["count"]
    return _minutes(by_minute, now)


def _minutes(by_minute: dict[datetime, list[int]], now: datetime | None) -> list[Minute]:
    """One Minute per minute of the WINDOW up to ``now``, oldest first."""
    end = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
    count = int(WINDOW / timedelta(minutes=1))
    starts = [end - timedelta(minutes=count - 1 - i) for i in range(count)]
    return [
        Minute(start=start, succeeded=by_minute[start][0], failed=by_minute[start][1])
        if start in by_minute
        else Minute(start=start, succeeded=0, failed=0)
        for start in starts
    ]


def _read_times(table: QuerySet[DBTaskResult], now: datetime, queue: QueueOf) -> None:
    rows = (
        table.filter(finished_at__gte=now - WINDOW, started_at__isnull=False)
        .order_by("-finished_at")
        .values_list("backend", "queue_name", "available_at", "started_at", "finished_at")[
            :SAMPLE_SIZE
        ]
    )
    waits: dict[tuple[str, str], list[float]] = defaultdict(list)
    runs: dict[tuple[str, str], list[float]] = defaultdict(list)
    for backend, name, available_at, started_at, finished_at in rows:
        if started_at is None or finished_at is None:  # Filtered out; for the type checker.
            continue
        waits[backend, name].append(max(0.0, (started_at - available_at).total_seconds()))
        runs[backend, name].append(max(0.0, (finished_at - started_at).total_seconds()))
    for key, values in waits.items():
        figures = queue(*key)
        figures.wait_percentiles = percentiles(values)
        figures.run_percentiles = percentiles(runs[key])


def percentiles(values: list[float]) -> dict[int, float]:
    """The nearest-rank PERCENTILES of ``values`` (not empty)."""
    ordered = sorted(values)
    return {p: ordered[max(0, -(-p * len(ordered) // 100) - 1)] for p in PERCENTILES}


def _read_workers(
    database: str,
    table: QuerySet[DBTaskResult],
    aliases: list[str],
    now: datetime,
    lease: dict[str, float],
) -> list[WorkerFigures]:
    running: dict[str, dict[str, int]] = defaultdict(dict)
    for row in (
        table.filter(status=RUNNING)
        .values("worker_id", "task_path")
        .annotate(count=Count("pk"))
        .order_by()
    ):
        running[row["worker_id"]][row["task_path"]] = row["count"]
    workers = DBWorker.objects.using(database).filter(backend__in=aliases).order_by("worker_id")
    figures = []
    for worker in workers:
        age = max(0.0, (now - worker.heartbeat_at).total_seconds())
        figures.append(
            WorkerFigures(
                worker_id=worker.worker_id,
                backend=worker.backend,
                queues=worker.queues,
                excluded_queues=worker.excluded_queues,
                concurrency=worker.concurrency,
                started_at=worker.started_at,
                heartbeat_at=worker.heartbeat_at,
                heartbeat_seconds=age,
                live=age <= lease[worker.backend],
                running=running.get(worker.worker_id, {}),
            )
        )
    return figures


def _read_failures(table: QuerySet[DBTaskResult]) -> list[Failure]:
    rows = (
        table.filter(status=FAILED, finished_at__isnull=False)
        .order_by("-finished_at")
        .values_list(
            "id", "backend", "queue_name", "task_path", "exception_class_path", "finished_at"
        )[:RECENT_FAILURES]
    )
    return [
        Failure(
            id=str(id_),
            backend=backend,
            queue_name=name,
            task_path=path,
            exception_class_path=exception,
            finished_at=finished_at,
        )
        for id_, backend, name, path, exception, finished_at in rows
    ]
