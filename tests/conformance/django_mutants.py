"""Broken ``django.tasks`` backends (Django 6 only): each is Django's ImmediateBackend with exactly
one bug a backend author could make, of the kind the suite found in published backends.

``HookedImmediateBackend`` runs tasks as Django's ImmediateBackend does, in small steps a mutant
overrides one of; the project's tests check that it passes the suite as it is, so that each
mutant's failure is its own bug's. Never use them.
"""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from inspect import iscoroutinefunction
from traceback import format_exception, format_exception_only
from typing import TYPE_CHECKING, Any, ClassVar

from django.tasks import TaskContext
from django.tasks.backends.dummy import DummyBackend
from django.tasks.backends.immediate import ImmediateBackend
from django.tasks.base import TaskError, TaskResult, TaskResultStatus
from django.tasks.signals import task_enqueued, task_finished, task_started
from django.utils import timezone
from django.utils.json import normalize_json

if TYPE_CHECKING:  # django-stubs makes Django's TaskResult generic; at run time it is not.
    Result = TaskResult[Any, Any]
else:
    Result = TaskResult


class DjangoMutant:
    """Mixed into each mutant: the requirement its one violation breaks."""

    violates: ClassVar[str]


def _set(result: object, name: str, value: Any) -> None:
    object.__setattr__(result, name, value)


class HookedImmediateBackend(ImmediateBackend):
    """Django's ImmediateBackend, its run cut into steps (the same behaviour)."""

    def _execute_task(self, task_result: Result) -> None:
        self.announce(task_result)
        self.start(task_result)
        try:
            value = self.call(task_result)
        except KeyboardInterrupt:
            raise
        except BaseException as e:
            _set(task_result, "finished_at", timezone.now())
            self.record_error(task_result, e)
            self.finish(task_result, TaskResultStatus.FAILED)
        else:
            _set(task_result, "_return_value", self.stored_value(value))
            _set(task_result, "finished_at", timezone.now())
            self.finish(task_result, TaskResultStatus.SUCCESSFUL)

    def announce(self, result: Result) -> None:
        _set(result, "enqueued_at", timezone.now())
        task_enqueued.send(type(self), task_result=result)

    def start(self, result: Result) -> None:
        now = timezone.now()
        _set(result, "status", TaskResultStatus.RUNNING)
        _set(result, "started_at", now)
        _set(result, "last_attempted_at", now)
        result.worker_ids.append(self.worker_id)
        task_started.send(sender=type(self), task_result=result)

    def call(self, result: Result) -> Any:
        task = result.task
        if task.takes_context:
            return task.call(TaskContext(task_result=result), *result.args, **result.kwargs)
        return task.call(*result.args, **result.kwargs)

    def stored_value(self, value: Any) -> Any:
        return normalize_json(value)

    def record_error(self, result: Result, error: BaseException) -> None:
        exception_type = type(error)
        result.errors.append(
            TaskError(
                exception_class_path=f"{exception_type.__module__}.{exception_type.__qualname__}",
                traceback="".join(format_exception(error)),
            )
        )

    def finish(self, result: Result, status: TaskResultStatus) -> None:
        _set(result, "status", status)
        task_finished.send(type(self), task_result=result)


class NeverSendsTaskEnqueued(DjangoMutant, HookedImmediateBackend):
    """Sets enqueued_at but never sends task_enqueued."""

    violates = "TASK-SIGNAL-001"

    def announce(self, result: Result) -> None:
        _set(result, "enqueued_at", timezone.now())


class NeverSendsTaskStarted(DjangoMutant, HookedImmediateBackend):
    """Marks the result RUNNING without sending task_started."""

    violates = "TASK-SIGNAL-004"

    def start(self, result: Result) -> None:
        now = timezone.now()
        _set(result, "status", TaskResultStatus.RUNNING)
        _set(result, "started_at", now)
        _set(result, "last_attempted_at", now)
        result.worker_ids.append(self.worker_id)


class LeavesWorkerIdsEmpty(DjangoMutant, HookedImmediateBackend):
    """Runs the task without recording which worker started it (attempts stays 0)."""

    violates = "TASK-RESULT-007"

    def start(self, result: Result) -> None:
        super().start(result)
        result.worker_ids.clear()


class LeavesLastAttemptedAtUnset(DjangoMutant, HookedImmediateBackend):
    """Records started_at but never last_attempted_at."""

    violates = "TASK-RESULT-008"

    def start(self, result: Result) -> None:
        super().start(result)
        _set(result, "last_attempted_at", None)


class IgnoresTakesContext(DjangoMutant, HookedImmediateBackend):
    """Calls every task with its arguments only: a takes_context task fails with TypeError."""

    violates = "TASK-CONTEXT-001"

    def call(self, result: Result) -> Any:
        return result.task.call(*result.args, **result.kwargs)


class ContextOfAnotherResult(DjangoMutant, HookedImmediateBackend):
    """Hands a takes_context task a context built on a copy of the result, with no attempt."""

    violates = "TASK-CONTEXT-001"

    def call(self, result: Result) -> Any:
        if not result.task.takes_context:
            return super().call(result)
        copy: Result = TaskResult(
            task=result.task,
            id=result.id,
            status=result.status,
            enqueued_at=result.enqueued_at,
            started_at=result.started_at,
            finished_at=None,
            last_attempted_at=result.last_attempted_at,
            args=result.args,
            kwargs=result.kwargs,
            backend=result.backend,
            errors=[],
            worker_ids=[],
        )
        return result.task.call(TaskContext(task_result=copy), *result.args, **result.kwargs)


class RecordsNoErrors(DjangoMutant, HookedImmediateBackend):
    """Marks a failed task FAILED without an errors entry."""

    violates = "TASK-ERROR-006"

    def record_error(self, result: Result, error: BaseException) -> None:
        pass


class RecordsTheBaseExceptionClass(DjangoMutant, HookedImmediateBackend):
    """Records every failure as an Exception, whatever the task raised."""

    violates = "TASK-ERROR-006"

    def record_error(self, result: Result, error: BaseException) -> None:
        super().record_error(result, error)
        entry = result.errors[-1]
        _set(entry, "exception_class_path", "builtins.Exception")


class TracebackWithoutTheMessage(DjangoMutant, HookedImmediateBackend):
    """Stores only the stack of the traceback, without the exception's line."""

    violates = "TASK-ERROR-007"

    def record_error(self, result: Result, error: BaseException) -> None:
        super().record_error(result, error)
        entry = result.errors[-1]
        _set(entry, "traceback", "".join(format_exception(error)[:-1]))


class RecordsAnErrorForASuccess(DjangoMutant, HookedImmediateBackend):
    """Appends an errors entry for every run, successful or not."""

    violates = "TASK-ERROR-008"

    def finish(self, result: Result, status: TaskResultStatus) -> None:
        if status == TaskResultStatus.SUCCESSFUL:
            self.record_error(result, RuntimeError("Finished."))
        super().finish(result, status)


class SystemExitCountsAsSuccess(DjangoMutant, HookedImmediateBackend):
    """Takes a task that calls sys.exit() for one that finished: SUCCESSFUL, no error."""

    violates = "TASK-ERROR-005"

    def call(self, result: Result) -> Any:
        try:
            return super().call(result)
        except SystemExit:
            return None


class ReturnsTheRawValue(DjangoMutant, HookedImmediateBackend):
    """Keeps the value the function returned as it is (a tuple stays a tuple)."""

    violates = "TASK-RETURN-001"

    def stored_value(self, value: Any) -> Any:
        return value


class FinishedSentBeforeTheStatus(DjangoMutant, HookedImmediateBackend):
    """Sends task_finished while the result is still RUNNING."""

    violates = "TASK-SIGNAL-003"

    def finish(self, result: Result, status: TaskResultStatus) -> None:
        task_finished.send(type(self), task_result=result)
        _set(result, "status", status)


class AlwaysTheDefaultAlias(DjangoMutant, HookedImmediateBackend):
    """Gives every result the alias "default", whichever alias holds it."""

    violates = "TASK-ENQ-004"

    def announce(self, result: Result) -> None:
        _set(result, "backend", "default")
        super().announce(result)


class StartedBeforeEnqueued(DjangoMutant, HookedImmediateBackend):
    """Backdates started_at to a second before the task was enqueued."""

    violates = "TASK-TIME-002"

    def start(self, result: Result) -> None:
        super().start(result)
        assert result.enqueued_at is not None
        _set(result, "started_at", result.enqueued_at - timedelta(seconds=1))


class ReadyWhileRunning(DjangoMutant, HookedImmediateBackend):
    """Leaves the status READY while the task runs (and says so in task_started)."""

    violates = "TASK-STATUS-003"

    def start(self, result: Result) -> None:
        now = timezone.now()
        _set(result, "started_at", now)
        _set(result, "last_attempted_at", now)
        result.worker_ids.append(self.worker_id)
        task_started.send(sender=type(self), task_result=result)


class SkipsValidationOnEnqueue(DjangoMutant, HookedImmediateBackend):
    """Trusts every task handed to enqueue(), validated or not."""

    violates = "TASK-ENQ-007"

    def validate_task(self, task: Any) -> None:
        if task.queue_name != "no-such-queue":
            super().validate_task(task)


class KeyErrorForUnknownResult(DjangoMutant, DummyBackend):
    """Looks results up in a dict: an unknown id raises KeyError."""

    violates = "TASK-GET-007"

    def get_result(self, result_id: str) -> Result:
        return {result.id: result for result in self.results}[result_id]


# --- Second paths: async, failure, time zones, exact content --------------------------------------


class AsyncFailuresWrapped(DjangoMutant, HookedImmediateBackend):
    """Runs a coroutine function task in a helper that re-raises its exception as a
    RuntimeError, so the task's own class and traceback are lost."""

    violates = "TASK-ASYNC-001"

    def call(self, result: Result) -> Any:
        if not iscoroutinefunction(result.task.func):
            return super().call(result)
        try:
            return super().call(result)
        except Exception:
            raise RuntimeError("The coroutine failed.") from None


class CallsCoroutineFunctionsUnawaited(DjangoMutant, HookedImmediateBackend):
    """Calls a coroutine function task's function as a plain one, never awaiting it."""

    violates = "TASK-ASYNC-001"

    def call(self, result: Result) -> Any:
        if not iscoroutinefunction(result.task.func):
            return super().call(result)
        coroutine = result.task.func(*result.args, **result.kwargs)
        coroutine.close()
        return None


class AenqueueDropsKeywordArguments(DjangoMutant, HookedImmediateBackend):
    """aenqueue() passes the positional arguments only."""

    violates = "TASK-ENQ-005"

    async def aenqueue(self, task: Any, args: Any, kwargs: Any) -> Result:
        return await super().aenqueue(task, args, {})


class AenqueueDropsPriority(DjangoMutant, HookedImmediateBackend):
    """aenqueue() enqueues the task with the default priority."""

    violates = "TASK-PRIORITY-003"

    async def aenqueue(self, task: Any, args: Any, kwargs: Any) -> Result:
        return await super().aenqueue(replace(task, priority=0), args, kwargs)


class TracebackOfTheExceptionLineOnly(DjangoMutant, HookedImmediateBackend):
    """Stores format_exception_only(): the exception's line, without the stack."""

    violates = "TASK-ERROR-007"

    def record_error(self, result: Result, error: BaseException) -> None:
        super().record_error(result, error)
        _set(result.errors[-1], "traceback", "".join(format_exception_only(error)))


class TracebackStoredAsAscii(DjangoMutant, HookedImmediateBackend):
    """Stores the traceback as ASCII, replacing every other character."""

    violates = "TASK-ERROR-007"

    def record_error(self, result: Result, error: BaseException) -> None:
        super().record_error(result, error)
        entry = result.errors[-1]
        _set(entry, "traceback", entry.traceback.encode("ascii", "replace").decode("ascii"))


class ClassPathWithoutTheModule(DjangoMutant, HookedImmediateBackend):
    """Records the exception class by its qualified name, without its module."""

    violates = "TASK-ERROR-006"

    def record_error(self, result: Result, error: BaseException) -> None:
        super().record_error(result, error)
        _set(result.errors[-1], "exception_class_path", type(error).__qualname__)


class ClassPathOfTheNearestBuiltin(DjangoMutant, HookedImmediateBackend):
    """Records the nearest builtin base of the exception's class (it can always be imported)."""

    violates = "TASK-ERROR-006"

    def record_error(self, result: Result, error: BaseException) -> None:
        super().record_error(result, error)
        builtin = next(cls for cls in type(error).__mro__ if cls.__module__ == "builtins")
        _set(result.errors[-1], "exception_class_path", f"builtins.{builtin.__qualname__}")


class FailureLeavesFinishedAtUnset(DjangoMutant, HookedImmediateBackend):
    """Sets finished_at on success only."""

    violates = "TASK-TIME-003"

    def record_error(self, result: Result, error: BaseException) -> None:
        super().record_error(result, error)
        _set(result, "finished_at", None)


class FailedRunNotCounted(DjangoMutant, HookedImmediateBackend):
    """Appends the worker's id (the attempt) only once the run has succeeded."""

    violates = "TASK-RESULT-007"

    def finish(self, result: Result, status: TaskResultStatus) -> None:
        if status == TaskResultStatus.FAILED:
            result.worker_ids.clear()
        super().finish(result, status)


class EnqueuedAtInLocalTimeLabelledUtc(DjangoMutant, HookedImmediateBackend):
    """Records enqueued_at as the server's local wall-clock time, labelled UTC."""

    violates = "TASK-TIME-001"

    def announce(self, result: Result) -> None:
        super().announce(result)
        _set(result, "enqueued_at", datetime.now().replace(tzinfo=UTC))


class LastAttemptedAtInLocalTimeLabelledUtc(DjangoMutant, HookedImmediateBackend):
    """Records last_attempted_at as the server's local wall-clock time, labelled UTC."""

    violates = "TASK-RESULT-008"

    def start(self, result: Result) -> None:
        super().start(result)
        _set(result, "last_attempted_at", datetime.now().replace(tzinfo=UTC))


class FinishedAtInLocalTimeLabelledUtc(DjangoMutant, HookedImmediateBackend):
    """Records finished_at as the server's local wall-clock time, labelled UTC."""

    violates = "TASK-TIME-003"

    def finish(self, result: Result, status: TaskResultStatus) -> None:
        _set(result, "finished_at", datetime.now().replace(tzinfo=UTC))
        super().finish(result, status)


class ArgumentFloatsAsDecimals(DjangoMutant, HookedImmediateBackend):
    """Hands the function its arguments read back with parse_float=Decimal, for precision."""

    violates = "TASK-ARGS-004"

    def call(self, result: Result) -> Any:
        if result.task.takes_context:
            return super().call(result)
        args = json.loads(json.dumps(result.args), parse_float=Decimal)
        kwargs = json.loads(json.dumps(result.kwargs), parse_float=Decimal)
        return result.task.call(*args, **kwargs)


class ReturnFloatsAsDecimals(DjangoMutant, HookedImmediateBackend):
    """Stores the return value read back with parse_float=Decimal."""

    violates = "TASK-RETURN-001"

    def stored_value(self, value: Any) -> Any:
        return json.loads(json.dumps(normalize_json(value)), parse_float=Decimal)


DJANGO_MUTANTS: list[type[DjangoMutant]] = [
    NeverSendsTaskEnqueued,
    NeverSendsTaskStarted,
    LeavesWorkerIdsEmpty,
    LeavesLastAttemptedAtUnset,
    IgnoresTakesContext,
    ContextOfAnotherResult,
    RecordsNoErrors,
    RecordsTheBaseExceptionClass,
    TracebackWithoutTheMessage,
    RecordsAnErrorForASuccess,
    SystemExitCountsAsSuccess,
    ReturnsTheRawValue,
    FinishedSentBeforeTheStatus,
    AlwaysTheDefaultAlias,
    StartedBeforeEnqueued,
    ReadyWhileRunning,
    SkipsValidationOnEnqueue,
    KeyErrorForUnknownResult,
    AsyncFailuresWrapped,
    CallsCoroutineFunctionsUnawaited,
    AenqueueDropsKeywordArguments,
    AenqueueDropsPriority,
    TracebackOfTheExceptionLineOnly,
    TracebackStoredAsAscii,
    ClassPathWithoutTheModule,
    ClassPathOfTheNearestBuiltin,
    FailureLeavesFinishedAtUnset,
    FailedRunNotCounted,
    EnqueuedAtInLocalTimeLabelledUtc,
    LastAttemptedAtInLocalTimeLabelledUtc,
    FinishedAtInLocalTimeLabelledUtc,
    ArgumentFloatsAsDecimals,
    ReturnFloatsAsDecimals,
]
"""Every mutant of Django's dialect."""
