"""Deliberately broken backends: each is a correct backend with exactly one violation.

They prove that the suite catches real bugs: the project's tests run the suite against each
mutant and assert that it fails, blaming the requirement in ``violates``. Never use them.
"""

import builtins
import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any, ClassVar, TypeVar, cast

from asgiref.sync import sync_to_async
from django.core import checks
from django.db import transaction
from django.utils import timezone

from django_tasks.backends.dummy import DummyBackend
from django_tasks.backends.immediate import ImmediateBackend
from django_tasks.exceptions import InvalidTaskArgumentsError, ResultDoesNotExist
from django_tasks.execution import Outcome, run_task
from django_tasks.registry import task_registry
from django_tasks.results import TaskError
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


# --- Second paths: async, failure, other threads, time zones, combined features, exact content ----


def _row(result_id: str) -> Row:
    with STORE.lock:
        return STORE.rows[result_id]


class PriorityIgnoredWhenDeferred(Mutant, MemoryBackend):
    """Claims deferred tasks in run_after order, as a due-time index gives them, and only the
    others by priority."""

    violates = "TASK-PRIORITY-001"

    def claim_order(self, row: Row) -> tuple[int, int]:
        if row.run_after is not None:
            return (0, int(row.run_after.timestamp() * 1_000_000))
        return super().claim_order(row)


class PriorityOnlyInTheDefaultQueue(Mutant, MemoryBackend):
    """Orders the default queue by priority, and every other queue oldest first."""

    violates = "TASK-PRIORITY-001"

    def claim_order(self, row: Row) -> tuple[int, int]:
        if row.queue_name != "default":
            return (0, row.sequence)
        return super().claim_order(row)


class RunAfterRelabelledAsUtc(Mutant, MemoryBackend):
    """Stores run_after's wall-clock time as if it were UTC, whatever zone it was given in."""

    violates = "TASK-DEFER-006"

    def _row_for(self, result: TaskResult[Any]) -> Row:
        row = super()._row_for(result)
        if row.run_after is not None:
            row.run_after = row.run_after.replace(tzinfo=UTC)
        return row


class RunAfterComparedAsLocalWallClock(Mutant, MemoryBackend):
    """Decides a task is due by comparing run_after's wall-clock time with the server's."""

    violates = "TASK-DEFER-006"

    def is_due(self, row: Row, now: datetime) -> bool:
        return row.run_after is None or row.run_after.replace(tzinfo=None) <= datetime.now()


class DeferredTasksSkipTheCommit(Mutant, MemoryBackend):
    """Stores a deferred task at once inside a transaction ("it does not run now anyway"), so a
    rollback keeps it."""

    violates = "TASK-COMMIT-002"

    def waits_for_commit(self, task: TaskProtocol[Any, Any]) -> bool:
        return task.run_after is None and super().waits_for_commit(task)


class _OnCommitRebuilds(MemoryBackend):
    """Stores a task that waited for the commit as its declaration says, dropping ``dropped``."""

    dropped: ClassVar[dict[str, Any]]

    def enqueue(
        self, task: TaskProtocol[Any, T], args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> TaskResult[T]:
        if self.waits_for_commit(task) and transaction.get_connection().in_atomic_block:
            assert isinstance(task, Task)  # The suite enqueues Tasks.
            task = dataclasses.replace(task, **self.dropped)
        return super().enqueue(task, args, kwargs)


class OnCommitDropsRunAfter(Mutant, _OnCommitRebuilds):
    """Enqueues a deferred task that waited for the commit without its run_after."""

    violates = "TASK-DEFER-005"
    dropped: ClassVar[dict[str, Any]] = {"run_after": None}


class OnCommitDropsPriority(Mutant, _OnCommitRebuilds):
    """Enqueues a task that waited for the commit with the default priority."""

    violates = "TASK-PRIORITY-003"
    dropped: ClassVar[dict[str, Any]] = {"priority": 0}


class _AenqueueRebuilds(MemoryBackend):
    """aenqueue() written apart from enqueue(), forgetting one thing."""

    async def aenqueue(
        self, task: TaskProtocol[Any, T], args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> TaskResult[T]:
        assert isinstance(task, Task)  # The suite enqueues Tasks.
        task, args, kwargs = self.forget(task, args, kwargs)
        return await sync_to_async(self.enqueue)(task, args, kwargs)

    def forget(
        self, task: Task[Any, Any], args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> tuple[Any, Sequence[Any], Mapping[str, Any]]:
        raise NotImplementedError


class AenqueueDropsRunAfter(Mutant, _AenqueueRebuilds):
    """aenqueue() enqueues a deferred task to run at once."""

    violates = "TASK-DEFER-005"

    def forget(
        self, task: Task[Any, Any], args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> tuple[Any, Sequence[Any], Mapping[str, Any]]:
        return dataclasses.replace(task, run_after=None), args, kwargs


class AenqueueDropsPriority(Mutant, _AenqueueRebuilds):
    """aenqueue() enqueues with the default priority."""

    violates = "TASK-PRIORITY-003"

    def forget(
        self, task: Task[Any, Any], args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> tuple[Any, Sequence[Any], Mapping[str, Any]]:
        return dataclasses.replace(task, priority=0), args, kwargs


class AenqueueDropsKeywordArguments(Mutant, _AenqueueRebuilds):
    """aenqueue() passes the positional arguments only."""

    violates = "TASK-ENQ-005"

    def forget(
        self, task: Task[Any, Any], args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> tuple[Any, Sequence[Any], Mapping[str, Any]]:
        return task, args, {}


class AgetResultFromASnapshot(Mutant, MemoryBackend):
    """aget_result() reads a cache filled at enqueue, so async code never sees a task finish."""

    violates = "TASK-GET-004"

    def __init__(self, alias: str, params: Any) -> None:
        super().__init__(alias, params)
        self.snapshots: dict[str, TaskResult[Any]] = {}

    def _enqueue(self, result: TaskResult[Any]) -> None:
        super()._enqueue(result)
        self.snapshots[result.id] = self.result_from_row(_row(result.id))

    async def aget_result(self, result_id: str) -> TaskResult[Any]:
        if result_id in self.snapshots:
            return self.snapshots[result_id]
        return await super().aget_result(result_id)


class ResultsCachedPerThread(Mutant, MemoryBackend):
    """Caches each result the first time a thread reads it: that thread never sees it change."""

    violates = "TASK-GET-005"

    def __init__(self, alias: str, params: Any) -> None:
        super().__init__(alias, params)
        self.cache: dict[str, TaskResult[Any]] = {}  # The instance is this thread's own.

    def get_result(self, result_id: str) -> TaskResult[Any]:
        if result_id not in self.cache:
            self.cache[result_id] = super().get_result(result_id)
        return self.cache[result_id]


class FindsOnlyThisThreadsResults(Mutant, MemoryBackend):
    """Remembers the ids it enqueued on its instance (one per thread) and looks only there."""

    violates = "TASK-GET-005"

    def __init__(self, alias: str, params: Any) -> None:
        super().__init__(alias, params)
        self.mine: set[str] = set()

    def _enqueue(self, result: TaskResult[Any]) -> None:
        super()._enqueue(result)
        self.mine.add(result.id)

    def get_result(self, result_id: str) -> TaskResult[Any]:
        if result_id not in self.mine:
            raise ResultDoesNotExist(f"No task result with id {result_id!r}.")
        return super().get_result(result_id)


class TracebackOfTheLastLineOnly(Mutant, MemoryBackend):
    """Stores only the traceback's last line (the exception), to save space."""

    violates = "TASK-ERROR-002"

    def record(self, result: TaskResult[Any], outcome: Outcome) -> bool:
        recorded = super().record(result, outcome)
        row = _row(result.id)
        if row.traceback:
            row.traceback = row.traceback.rstrip("\n").splitlines()[-1]
        return recorded


class TracebackStoredAsAscii(Mutant, MemoryBackend):
    """Stores the traceback in an ASCII column, replacing every other character."""

    violates = "TASK-ERROR-002"

    def record(self, result: TaskResult[Any], outcome: Outcome) -> bool:
        recorded = super().record(result, outcome)
        row = _row(result.id)
        if row.traceback:
            row.traceback = row.traceback.encode("ascii", "replace").decode("ascii")
        return recorded


class StoresTheExceptionNameOnly(Mutant, MemoryBackend):
    """Stores the exception class's name without its module, found again among the builtins."""

    violates = "TASK-ERROR-001"

    def record(self, result: TaskResult[Any], outcome: Outcome) -> bool:
        recorded = super().record(result, outcome)
        row = _row(result.id)
        if row.exception_path:
            name = row.exception_path.rpartition(".")[2]
            row.exception_path = (
                f"builtins.{name}" if hasattr(builtins, name) else "builtins.Exception"
            )
        return recorded


class FailureLeavesFinishedAtUnset(Mutant, MemoryBackend):
    """Sets finished_at on success only."""

    violates = "TASK-TIME-003"

    def record(self, result: TaskResult[Any], outcome: Outcome) -> bool:
        recorded = super().record(result, outcome)
        if outcome.status == ResultStatus.FAILED:
            _row(result.id).finished_at = None
        return recorded


class FailedRunsNotCounted(Mutant, MemoryBackend):
    """Counts an attempt (and its worker) only when the run succeeds."""

    violates = "TASK-RESULT-005"

    def record(self, result: TaskResult[Any], outcome: Outcome) -> bool:
        recorded = super().record(result, outcome)
        if outcome.status == ResultStatus.FAILED:
            row = _row(result.id)
            row.attempts -= 1
            row.worker_ids = row.worker_ids[:-1]
        return recorded


class StartedAtInLocalTimeLabelledUtc(Mutant, MemoryBackend):
    """Records started_at as the server's local wall-clock time, labelled UTC."""

    violates = "TASK-TIME-002"

    def mark_running(self, row: Row, worker_id: str) -> None:
        super().mark_running(row, worker_id)
        row.started_at = datetime.now().replace(tzinfo=UTC)


class FailureFinishedAtNaive(Mutant, MemoryBackend):
    """Records a failure's finished_at as a naive local datetime."""

    violates = "TASK-TIME-005"

    def record(self, result: TaskResult[Any], outcome: Outcome) -> bool:
        recorded = super().record(result, outcome)
        if outcome.status == ResultStatus.FAILED:
            _row(result.id).finished_at = datetime.now()
        return recorded


class ArgumentFloatsAsDecimals(Mutant, MemoryBackend):
    """Reads the stored arguments with parse_float=Decimal, for precision: the function gets
    Decimals where it was given floats."""

    violates = "TASK-ARGS-004"

    def result_from_row(self, row: Row) -> TaskResult[Any]:
        result = super().result_from_row(row)
        args = json.loads(row.args_json, parse_float=Decimal)
        kwargs = json.loads(row.kwargs_json, parse_float=Decimal)
        return dataclasses.replace(result, args=args, kwargs=kwargs)


class ReturnFloatsAsDecimals(Mutant, MemoryBackend):
    """Reads the stored return value with parse_float=Decimal."""

    violates = "TASK-RETURN-001"

    def result_from_row(self, row: Row) -> TaskResult[Any]:
        result = super().result_from_row(row)
        result._update(_return_value=json.loads(row.return_json, parse_float=Decimal))
        return result


class PassesKeywordsPositionally(Mutant, ImmediateBackend):
    """Calls the function with the keyword arguments' values after the positional ones."""

    violates = "TASK-ARGS-004"

    def _enqueue(self, result: TaskResult[Any]) -> None:
        positional = [*result.args, *result.kwargs.values()]
        super()._enqueue(dataclasses.replace(result, args=positional, kwargs={}))


class EnqueuedAtInLocalTimeLabelledUtc(Mutant, ImmediateBackend):
    """Records enqueued_at as the server's local wall-clock time, labelled UTC."""

    violates = "TASK-TIME-001"

    def _enqueue(self, result: TaskResult[Any]) -> None:
        super()._enqueue(result)
        result._update(enqueued_at=datetime.now().replace(tzinfo=UTC))  # The violation.


class AsyncFailuresWrapped(Mutant, ImmediateBackend):
    """Runs a coroutine function task in a helper that re-raises its exception as a
    RuntimeError, so the task's own class and traceback are lost."""

    violates = "TASK-ASYNC-001"

    def _enqueue(self, result: TaskResult[Any]) -> None:
        super()._enqueue(result)
        if result.task.is_async and result.status == ResultStatus.FAILED:
            try:
                raise RuntimeError("The coroutine failed.") from None
            except RuntimeError as e:
                result._update(errors=[TaskError.of(e)])


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
    PriorityIgnoredWhenDeferred,
    PriorityOnlyInTheDefaultQueue,
    RunAfterRelabelledAsUtc,
    RunAfterComparedAsLocalWallClock,
    DeferredTasksSkipTheCommit,
    OnCommitDropsRunAfter,
    OnCommitDropsPriority,
    AenqueueDropsRunAfter,
    AenqueueDropsPriority,
    AenqueueDropsKeywordArguments,
    AgetResultFromASnapshot,
    ResultsCachedPerThread,
    FindsOnlyThisThreadsResults,
    TracebackOfTheLastLineOnly,
    TracebackStoredAsAscii,
    StoresTheExceptionNameOnly,
    FailureLeavesFinishedAtUnset,
    FailedRunsNotCounted,
    StartedAtInLocalTimeLabelledUtc,
    FailureFinishedAtNaive,
    ArgumentFloatsAsDecimals,
    ReturnFloatsAsDecimals,
    PassesKeywordsPositionally,
    EnqueuedAtInLocalTimeLabelledUtc,
    AsyncFailuresWrapped,
)
"""Every mutant, in the order the tests run them."""
