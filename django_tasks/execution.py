"""Running a task function and recording how it ended, shared by every backend that executes.

``run_task`` calls the function (awaiting a coroutine function), turns the return value into
JSON data, asks the backend to record the outcome, updates the result and sends
``task_finished`` (``task_retried`` for a failed attempt that its backend runs again). Any
exception but KeyboardInterrupt is captured as a FAILED outcome, so a task's failure never
escapes into the caller or the worker loop.
"""

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from asgiref.sync import async_to_sync
from django.utils import timezone

from django_tasks.cancellation import TaskContext, stop_requested
from django_tasks.exceptions import InvalidReturnValueError, TaskCancelled
from django_tasks.results import AnyResult, ResultStatus, TaskError
from django_tasks.serialization import JSONValue, NotJSONSafeError, normalize_json
from django_tasks.signals import task_finished, task_retried


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """How one run of a task ended."""

    status: ResultStatus
    """SUCCEEDED or FAILED."""

    return_value: JSONValue = None
    """What the function returned, as JSON data (None when it failed)."""

    exception: BaseException | None = None
    """What the function raised."""

    error: TaskError | None = None
    """``exception`` as the result's ``errors`` keep it: its class and formatted traceback."""

    finished_at: datetime = field(default_factory=timezone.now)
    """When the run ended."""

    retry_in: float | None = None
    """For a failed attempt that runs again (its backend's retry policy decided so, see
    ``django_tasks.retries``): seconds until the next attempt. The result is then waiting
    (NEW) again, and ``task_retried`` is sent instead of ``task_finished``."""

    @classmethod
    def failed(cls, exception: BaseException) -> "Outcome":
        return cls(status=ResultStatus.FAILED, exception=exception, error=TaskError.of(exception))

    @property
    def traceback(self) -> str | None:
        """The formatted traceback of ``exception``."""
        return None if self.error is None else self.error.traceback


Recorder = Callable[[AnyResult, Outcome], bool]
"""Stores an outcome; returns False when the result is no longer this runner's to finish."""


def run_task(result: AnyResult, sender: type, record: Recorder) -> Outcome:
    """Run a RUNNING result's task, record the outcome and send task_finished.

    ``record`` persists the outcome. If it returns False (another worker has taken the task
    over), the result is left as it is and no signal is sent.
    """
    try:
        value = _call(result)
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # A task's failure is data, not a crash.
        return finish_task(result, sender, record, Outcome.failed(e))
    try:
        return_value = normalize_json(value, "Return value", of=f"task {result.task.module_path}")
    except NotJSONSafeError as e:
        try:
            raise InvalidReturnValueError(str(e)) from None  # Traceback: where it was refused.
        except InvalidReturnValueError as error:
            return finish_task(result, sender, record, Outcome.failed(error))
    except Exception as e:  # The return value's own methods raised (a dict's items(), ...).
        return finish_task(result, sender, record, Outcome.failed(e))
    outcome = Outcome(status=ResultStatus.SUCCEEDED, return_value=return_value)
    return finish_task(result, sender, record, outcome)


def _call(result: AnyResult) -> Any:
    """Call the task's function with the result's arguments, after its context (a
    ``TaskContext`` of the result, with the attempt number and whether it is asked to stop) if
    it takes it."""
    if stop_requested(str(result.id)):  # Asked to stop after its claim, before it started.
        raise TaskCancelled(f"Task result {result.id!r} was cancelled before it started.")
    func: Callable[..., Any] = result.task.func
    args: list[Any] = list(result.args)
    if getattr(result.task, "takes_context", False):
        args.insert(0, TaskContext(task_result=result))  # type: ignore[arg-type]  # Either dialect's result.
    if inspect.iscoroutinefunction(func):
        return async_to_sync(func)(*args, **result.kwargs)
    return func(*args, **result.kwargs)


def finish_task(result: AnyResult, sender: type, record: Recorder, outcome: Outcome) -> Outcome:
    """Record an outcome and, if it was stored, update the result and send task_finished.

    Call it inside the except block for failures, so receivers (the logger) see exc_info.
    """
    if record(result, outcome):
        _finished(result, sender, outcome)
    return outcome


def send_finished(result: AnyResult, sender: type, outcome: Outcome) -> None:
    """finish_task's last step, for a runner whose ``record`` stores outcomes later (and
    returns False): once the outcome is stored, update the result and send task_finished.

    For a failure, the task's exception is raised again and handled here, with its own
    traceback, so that receivers see it in ``sys.exc_info()`` as finish_task's do.
    """
    exception = outcome.exception
    if exception is None:
        _finished(result, sender, outcome)
        return
    traceback = exception.__traceback__
    try:
        raise exception
    except BaseException:
        exception.__traceback__ = traceback  # sys.exc_info() reads it from the exception.
        _finished(result, sender, outcome)


def _finished(result: AnyResult, sender: type, outcome: Outcome) -> None:
    errors = result.errors if outcome.error is None else [*result.errors, outcome.error]
    if outcome.retry_in is not None:
        result._update(status=ResultStatus.NEW, errors=errors)
        task_retried.send(sender, task_result=result, retry_in=outcome.retry_in)
        return
    result._update(
        status=outcome.status,
        finished_at=outcome.finished_at,
        _return_value=outcome.return_value,
        errors=errors,
    )
    task_finished.send(sender, task_result=result)
