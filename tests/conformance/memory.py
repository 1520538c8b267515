"""MemoryBackend: a worker-style backend in memory, with MemoryHarness to run its worker.

It behaves like an out-of-process backend would: ``enqueue`` stores a row (arguments as JSON
text) in a process-wide store, a worker thread claims due rows (highest priority first, then
oldest) and records the outcome in the row, and ``get_result`` rebuilds a fresh ``TaskResult``
from the row. It exists to exercise the suite's worker harness and as the correct base that the
mutants (``tests.conformance.mutants``) each break in one way. Not for production: the
store lives and dies with the process.
"""

import itertools
import json
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, cast

from django.utils import timezone
from django.utils.module_loading import import_string

from django_tasks import tasks
from django_tasks.backends.base import BaseTaskBackend
from django_tasks.exceptions import ResultDoesNotExist
from django_tasks.execution import Outcome, run_task
from django_tasks.registry import task_registry
from django_tasks.results import TaskError
from django_tasks.signals import task_started
from django_tasks.task import ResultStatus, Task, TaskResult
from django_tasks.utils import class_path, default_worker_id
from django_tasks_conformance import StoredTask, WorkerHarness


@dataclass(slots=True, kw_only=True)
class Row:
    """One stored result, as a database row would hold it."""

    id: str
    backend: str
    task_path: str
    priority: int
    queue_name: str
    run_after: datetime | None
    args_json: str
    kwargs_json: str
    sequence: int
    status: ResultStatus = ResultStatus.NEW
    enqueued_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    return_json: str = "null"
    exception_path: str | None = None
    traceback: str | None = None
    attempts: int = 0
    worker_ids: list[str] = field(default_factory=list)


class Store:
    """The rows of every MemoryBackend in the process, behind one lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.rows: dict[str, Row] = {}
        self._sequence = itertools.count()

    def next_sequence(self) -> int:
        return next(self._sequence)

    def clear(self) -> None:
        with self.lock:
            self.rows.clear()


STORE = Store()


class MemoryBackend(BaseTaskBackend):
    """Stores tasks in memory until a worker (MemoryHarness) runs them."""

    # Can tasks be enqueued with run_after?
    supports_defer: bool = True
    # Can coroutine functions be enqueued?
    supports_async_task: bool = True
    # Can a result be retrieved by id, from any thread or process?
    supports_get_result: bool = True
    # Is a task with a higher priority started before one with a lower priority?
    supports_priority: bool = True

    def _enqueue(self, result: TaskResult[Any]) -> None:
        row = self._row_for(result)
        with STORE.lock:
            STORE.rows[row.id] = row
        self._mark_enqueued(result, row.enqueued_at)

    def _row_for(self, result: TaskResult[Any]) -> Row:
        return Row(
            id=result.id,
            backend=self.alias,
            task_path=result.task.module_path,
            priority=result.task.priority,
            queue_name=result.task.queue_name,
            run_after=result.task.run_after,
            args_json=json.dumps(result.args),
            kwargs_json=json.dumps(result.kwargs),
            sequence=STORE.next_sequence(),
            enqueued_at=timezone.now(),
        )

    def get_result(self, result_id: str) -> TaskResult[Any]:
        with STORE.lock:
            row = STORE.rows.get(result_id)
            if row is None or row.backend != self.alias:
                raise ResultDoesNotExist(
                    f"No task result with id {result_id!r} in backend {self.alias!r}."
                )
            return self.result_from_row(replace(row, worker_ids=list(row.worker_ids)))

    def task_for(self, row: Row) -> Task[Any, Any]:
        """Rebuild the task a row was enqueued with, from the registry."""
        registered = task_registry.get(row.task_path)
        if registered is None:
            raise ResultDoesNotExist(f"Result {row.id!r} is of unknown task {row.task_path!r}.")
        return replace(
            registered,
            priority=row.priority,
            queue_name=row.queue_name,
            run_after=row.run_after,
            backend=row.backend,
        )

    def result_from_row(self, row: Row) -> TaskResult[Any]:
        result: TaskResult[Any] = TaskResult(
            task=self.task_for(row),
            id=row.id,
            status=row.status,
            enqueued_at=row.enqueued_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            args=json.loads(row.args_json),
            kwargs=json.loads(row.kwargs_json),
            backend=row.backend,
            attempts=row.attempts,
            worker_ids=row.worker_ids,
        )
        error = (
            TaskError(
                exception_class_path=row.exception_path,
                traceback=cast(str, row.traceback),  # None for the mutant that loses it.
                _class=import_string(row.exception_path),
            )
            if row.exception_path
            else None
        )
        result._update(
            _return_value=json.loads(row.return_json),
            errors=[] if error is None else [error],
        )
        return result

    # --- The worker's steps (MemoryWorker calls them) ------------------------------------------

    def is_due(self, row: Row, now: datetime) -> bool:
        return row.run_after is None or row.run_after <= now

    def claim_order(self, row: Row) -> tuple[int, int]:
        """Highest priority first, then the oldest."""
        return (-row.priority, row.sequence)

    def mark_running(self, row: Row, worker_id: str) -> None:
        row.status = ResultStatus.RUNNING
        row.started_at = timezone.now()
        row.attempts += 1
        row.worker_ids = [*row.worker_ids, worker_id]

    def record(self, result: TaskResult[Any], outcome: Outcome) -> bool:
        with STORE.lock:
            row = STORE.rows.get(result.id)
            if row is None:
                return False  # Cleared while it ran.
            row.status = outcome.status
            row.finished_at = outcome.finished_at
            row.return_json = json.dumps(outcome.return_value)
            row.exception_path = class_path(type(outcome.exception)) if outcome.exception else None
            row.traceback = outcome.traceback
        return True

    def run(self, result: TaskResult[Any]) -> None:
        """Run a claimed (RUNNING) result and record how it ended."""
        run_task(result, type(self), self.record)


class MemoryWorker:
    """Claims and runs due MemoryBackend rows, one at a time."""

    def __init__(self) -> None:
        self.worker_id = f"{default_worker_id()}:{threading.get_ident()}"

    def run_one(self) -> bool:
        """Run the next due task; return False if there was none."""
        with STORE.lock:
            now = timezone.now()
            due = [
                row
                for row in STORE.rows.values()
                if row.status == ResultStatus.NEW and backend_of(row).is_due(row, now)
            ]
            if not due:
                return False
            row = min(due, key=lambda row: backend_of(row).claim_order(row))
            backend = backend_of(row)
            backend.mark_running(row, self.worker_id)
            result = backend.result_from_row(replace(row, worker_ids=list(row.worker_ids)))
        sender = type(backend)
        task_started.send(sender, task_result=result)
        backend.run(result)
        return True


def backend_of(row: Row) -> MemoryBackend:
    """This thread's instance of the backend a row was enqueued on."""
    return cast(MemoryBackend, tasks[row.backend])


class MemoryHarness(WorkerHarness):
    """Runs MemoryBackend tasks in a worker thread."""

    def __init__(self, backend_path: str, options: dict[str, Any]) -> None:
        super().__init__(backend_path, options)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start_worker(self) -> None:
        if self.worker_running():
            return
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, args=(self._stop,), name="memory-worker", daemon=True
        )
        self._thread.start()

    def _loop(self, stop: threading.Event) -> None:
        worker = MemoryWorker()
        while not stop.is_set():
            if not worker.run_one():
                stop.wait(0.001)

    def stop_worker(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=10)
            self._thread = None

    def worker_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def is_idle(self) -> bool:
        with STORE.lock:
            now = timezone.now()
            return not any(
                row.status == ResultStatus.RUNNING
                or (row.status == ResultStatus.NEW and backend_of(row).is_due(row, now))
                for row in STORE.rows.values()
            )

    def clear(self) -> None:
        STORE.clear()

    def stored(self, result_id: str) -> StoredTask | None:
        with STORE.lock:
            row = STORE.rows.get(result_id)
            if row is None:
                return None
            return StoredTask(
                id=row.id,
                task_path=row.task_path,
                status=row.status,
                args=json.loads(row.args_json),
                kwargs=json.loads(row.kwargs_json),
                queue_name=row.queue_name,
                priority=row.priority,
                run_after=row.run_after,
            )
