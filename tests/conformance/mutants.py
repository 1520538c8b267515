"""Deliberately broken backends: each is a correct backend with exactly one violation.

They prove that the suite catches real bugs: the project's tests run the suite against each
mutant and assert that it fails, blaming the requirement in ``violates``. Never use them.
"""

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any, ClassVar, TypeVar, cast

from django.core import checks
from django.db import transaction
from django.utils import timezone

from django_tasks.backends.dummy import DummyBackend
from django_tasks.backends.immediate import ImmediateBackend
from django_tasks.exceptions import InvalidTaskArgumentsError
from django_tasks.execution import Outcome, run_task
from django_tasks.registry import task_registry
from django_tasks.serialization import normalize_arguments
from django_tasks.signals import task_finished
from django_tasks.task import ResultStatus, Task, TaskResult
from django_tasks.utils import get_random_id
from django_tasks_spec.protocols import TaskProtocol
from tests.conformance.memory import STORE, MemoryBackend, Row

T = TypeVar("T")


class Mutant:
    """Mixed into each mutant: the requirement its one violation breaks."""

    violates: ClassVar[str]


# --- Worker-style (MemoryBackend) mutants ---------------------------------------------------------


class IgnoresPriority(Mutant, MemoryBackend):
    """Claims waiting tasks oldest first, whatever their priority."""

    violates = "TASK-PRIORITY-001"

    def claim_order(self, row: Row) -> tuple[int, int]:
        return (0, row.sequence)


class RunsDeferredEarly(Mutant, MemoryBackend):
    """Its worker claims deferred tasks without waiting for run_after."""

    violates = "TASK-DEFER-001"

    def is_due(self, row: Row, now: datetime) -> bool:
        return True


class LeavesStartedAtUnset(Mutant, MemoryBackend):
    """Marks a task RUNNING without recording when it started."""

    violates = "TASK-TIME-002"

    def mark_running(self, row: Row, worker_id: str) -> None:
        super().mark_running(row, worker_id)
        row.started_at = None


class ConfusesSameNamedTasks(Mutant, MemoryBackend):
    """Rebuilds a stored result's task from the function name alone, so tasks of the same name in
    different modules are confused, and Task.get_result returns another task's result."""

    violates = "TASK-GET-003"

    def task_for(self, row: Row) -> Task[Any, Any]:
        name = row.task_path.rpartition(".")[2]
        first = next(task for task in task_registry if task.name == name)
        return dataclasses.replace(
            first,
            priority=row.priority,
            queue_name=row.queue_name,
            run_after=row.run_after,
            backend=row.backend,
        )


class EnqueuesBeforeCommit(Mutant, MemoryBackend):
    """Stores the task at once, even inside a transaction that may roll back."""

    violates = "TASK-COMMIT-002"

    def waits_for_commit(self, task: TaskProtocol[Any, Any]) -> bool:
        return False


class AlwaysWaitsForCommit(Mutant, MemoryBackend):
    """Waits for the commit even with enqueue_on_commit=False, so a task meant to be enqueued at
    once is lost when the transaction rolls back."""

    violates = "TASK-COMMIT-004"

    def waits_for_commit(self, task: TaskProtocol[Any, Any]) -> bool:
        return True


class AnnouncesAtCommitWhatRollbackKeeps(Mutant, MemoryBackend):
    """With enqueue_on_commit=False, stores the task at once but announces it at the commit, as
    if it were part of the transaction; a rollback keeps it, never announced."""

    violates = "TASK-COMMIT-004"

    def _enqueue(self, result: TaskResult[Any]) -> None:
        row = self._row_for(result)
        with STORE.lock:
            STORE.rows[row.id] = row

        transaction.on_commit(partial(self._mark_enqueued, result, row.enqueued_at))


class StaleResults(Mutant, MemoryBackend):
    """get_result returns the state a result had when it was enqueued, never the current one."""

    violates = "TASK-RESULT-004"

    def __init__(self, alias: str, params: Any) -> None:
        super().__init__(alias, params)
        self.snapshots: dict[str, TaskResult[Any]] = {}

    def _enqueue(self, result: TaskResult[Any]) -> None:
        super()._enqueue(result)
        self.snapshots[result.id] = self.result_from_row(STORE.rows[result.id])

    def get_result(self, result_id: str) -> TaskResult[Any]:
        fresh = super().get_result(result_id)
        return self.snapshots.get(result_id, fresh)


class StartedWhileNew(Mutant, MemoryBackend):
    """Sends task_started while the result still says NEW."""

    violates = "TASK-STATUS-003"

    def mark_running(self, row: Row, worker_id: str) -> None:
        super().mark_running(row, worker_id)
        row.status = ResultStatus.NEW


class LosesTheTraceback(Mutant, MemoryBackend):
    """Records a failure without its traceback."""

    violates = "TASK-ERROR-002"

    def record(self, result: TaskResult[Any], outcome: Outcome) -> bool:
        error = outcome.error
        lost = None if error is None else dataclasses.replace(error, traceback=cast(str, None))
        return super().record(result, dataclasses.replace(outcome, error=lost))


# --- In-memory (DummyBackend) mutants -------------------------------------------------------------


class AcceptsUnknownQueue(Mutant, DummyBackend):
    """Ignores QUEUES: any queue name is accepted."""

    violates = "TASK-QUEUE-002"

    def validate_task(self, task: TaskProtocol[Any, Any]) -> None:
        queues, self.queues = self.queues, frozenset()
        try:
            super().validate_task(task)
        finally:
            self.queues = queues


class StoresArgumentsUnnormalised(Mutant, DummyBackend):
    """Keeps the arguments as they were passed (tuples stay tuples) once they are checked."""

    violates = "TASK-ARGS-002"

    def _new_result(
        self, task: TaskProtocol[Any, T], args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> TaskResult[T]:
        result = super()._new_result(task, args, kwargs)
        return dataclasses.replace(result, args=list(args), kwargs=dict(kwargs))


class KeyErrorForUnknownId(Mutant, DummyBackend):
    """Looks results up in a dict and lets its KeyError escape."""

    violates = "TASK-GET-002"

    def get_result(self, result_id: str) -> TaskResult[Any]:
        return {result.id: result for result in self.results}[result_id]


class EnqueuesRefusedArguments(Mutant, DummyBackend):
    """When an argument is refused, it has already recorded the task and sent task_enqueued."""

    violates = "TASK-ARGS-003"

    def enqueue(
        self, task: TaskProtocol[Any, T], args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> TaskResult[T]:
        try:
            normalize_arguments(args, kwargs)
        except InvalidTaskArgumentsError:
            self._enqueue(
                TaskResult(
                    task=task, id=get_random_id(), status=ResultStatus.NEW, enqueued_at=None,
                    started_at=None, finished_at=None, args=list(args), kwargs=dict(kwargs),
                    backend=self.alias,
                )
            )  # fmt: skip
            raise
        return super().enqueue(task, args, kwargs)


class NaiveTimestamps(Mutant, DummyBackend):
    """Records enqueued_at as a naive local datetime."""

    violates = "TASK-TIME-005"

    def _enqueue(self, result: TaskResult[Any]) -> None:
        super()._enqueue(result)
        result._update(enqueued_at=datetime.now())  # The violation.


class ThreadLocalResultsClaimGetResult(Mutant, DummyBackend):
    """Claims supports_get_result, but its results live in one thread's backend instance."""

    violates = "TASK-GET-005"

    supports_get_result: bool = True


class CheckWithoutId(Mutant, DummyBackend):
    """Reports a configuration problem in a check message that has no id."""

    violates = "TASK-CHECK-001"

    def check(self, **kwargs: Any) -> Iterable[checks.CheckMessage]:
        yield checks.Warning("This backend is only for tests.")


class RepeatsIds(Mutant, DummyBackend):
    """Gives every result of a task the same id (its name)."""

    violates = "TASK-ENQ-003"

    def _new_result(
        self, task: TaskProtocol[Any, T], args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> TaskResult[T]:
        return dataclasses.replace(super()._new_result(task, args, kwargs), id=task.name)


# --- Immediate mutants ----------------------------------------------------------------------------


class ClaimsDeferButIgnoresIt(Mutant, ImmediateBackend):
    """Declares supports_defer, then runs deferred tasks at once."""

    violates = "TASK-DEFER-001"

    supports_defer: bool = True


class FinishedBeforeFinalStatus(Mutant, ImmediateBackend):
    """Sends task_finished while the result still says RUNNING, then records the outcome."""

    violates = "TASK-SIGNAL-003"

    def _enqueue(self, result: TaskResult[Any]) -> None:
        sender = type(self)
        self._start(result)

        def announce_early(result: TaskResult[Any], outcome: Outcome) -> bool:
            task_finished.send(sender, task_result=result)  # The violation: still RUNNING.
            return False  # run_task leaves the result alone; it is recorded below.

        outcome = run_task(result, sender, announce_early)
        result._update(
            status=outcome.status, finished_at=outcome.finished_at,
            _return_value=outcome.return_value,
            errors=[] if outcome.error is None else [outcome.error],
        )  # fmt: skip


class LeaksTaskExceptions(Mutant, ImmediateBackend):
    """Lets a task's exception propagate out of enqueue()."""

    violates = "TASK-ERROR-004"

    def _enqueue(self, result: TaskResult[Any]) -> None:
        super()._enqueue(result)
        if result.status == ResultStatus.FAILED:
            raise RuntimeError(f"Task {result.task.module_path} failed.")


class UnawaitedCoroutines(Mutant, ImmediateBackend):
    """Claims supports_async_task but calls coroutine functions without awaiting them, so the
    task "succeeds" with no return value."""

    violates = "TASK-ASYNC-001"

    def _enqueue(self, result: TaskResult[Any]) -> None:
        if not result.task.is_async:
            return super()._enqueue(result)
        sender = type(self)
        self._start(result)
        result.task.func(*result.args, **result.kwargs).close()  # The violation: never awaited.
        result._update(status=ResultStatus.SUCCEEDED, finished_at=timezone.now())
        task_finished.send(sender, task_result=result)
        return None


class IgnoresTaskBackend(Mutant, ImmediateBackend):
    """Enqueues tasks declared for any backend alias, as if they were its own."""

    violates = "TASK-ENQ-008"

    def validate_task(self, task: TaskProtocol[Any, Any]) -> None:
        assert isinstance(task, Task)  # The suite enqueues Tasks.
        super().validate_task(dataclasses.replace(task, backend=self.alias))


MUTANTS: tuple[type[Mutant], ...] = (
    IgnoresPriority,
    RunsDeferredEarly,
    LeavesStartedAtUnset,
    ConfusesSameNamedTasks,
    EnqueuesBeforeCommit,
    AlwaysWaitsForCommit,
    AnnouncesAtCommitWhatRollbackKeeps,
    StaleResults,
    StartedWhileNew,
    LosesTheTraceback,
    AcceptsUnknownQueue,
    StoresArgumentsUnnormalised,
    KeyErrorForUnknownId,
    EnqueuesRefusedArguments,
    NaiveTimestamps,
    ThreadLocalResultsClaimGetResult,
    CheckWithoutId,
    RepeatsIds,
    ClaimsDeferButIgnoresIt,
    FinishedBeforeFinalStatus,
    LeaksTaskExceptions,
    UnawaitedCoroutines,
    IgnoresTaskBackend,
)
"""Every mutant, in the order the tests run them."""
