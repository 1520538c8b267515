"""The child side of ``db_worker --pool process``: a process that runs one task at a time.

The worker (processes.py) starts each child with a pipe, sends it a ``Job`` (a row it has
claimed), and waits for a ``Report`` of how the task ended. A report crosses as JSON, never
pickled: the worker unpickles nothing a child sends (a task's exception could run any code as
it is unpickled, or fail to be), and it rebuilds a failed attempt's exception as a stand-in
(``Report.exception``) from the class path, arguments, traceback and RetryTask delay the child
sent. The child builds the task's result
from the row as the worker does, sends ``task_started``, runs the task, and reports the outcome,
which the worker writes and then signals (``task_finished`` is sent by the worker, once the
outcome is stored, as with threads). The child never writes the task's row: its own database
connections are the task's, opened in the child and closed after each task.

A running task asked to stop (``cancel()``) hears it through its context as in a thread: the
worker passes the request on over a second pipe, which a thread of the child reads.

The child ignores the signals that stop the worker (the terminal's Ctrl-C reaches the whole
process group; a supervisor may signal every process): the worker decides when its children
stop. It exits when told to (None), when its pipe closes, or soon after its worker has gone.
"""

import json
import os
import signal
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import partial
from multiprocessing.connection import Connection
from typing import Any

import django
from django.db import close_old_connections, connections

from django_tasks import tracing
from django_tasks.backends.database.queries import ClaimedRow
from django_tasks.backends.database.worker.reporting import configure_logging
from django_tasks.cancellation import forget as forget_stop
from django_tasks.cancellation import request_stop
from django_tasks.exceptions import RetryTask
from django_tasks.execution import Outcome, run_task
from django_tasks.handler import tasks
from django_tasks.results import AnyResult, ResultStatus, TaskError, exception_class
from django_tasks.serialization import JSONValue
from django_tasks.signals import task_started

PARENT_CHECK_SECONDS = 0.5
"""How often a child checks that its worker is still there."""


@dataclass(frozen=True, slots=True)
class Job:
    """A task for a child to run: the row its worker claimed."""

    row: ClaimedRow
    backend: str
    """The alias in TASKS of the backend whose row it is."""
    started_at: datetime
    """When the worker handed it over: the start of the attempt, as the result records it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """How a child's task ended: an Outcome without the exception object, which stays in the
    child. It crosses the pipe as JSON (``to_bytes``, ``from_bytes``); the worker rebuilds the
    exception as a stand-in (``exception``)."""

    status: str
    return_value: JSONValue = None
    exception_class_path: str = ""
    exception_args: list[JSONValue] | None = None
    """The exception's ``args``, each as it is if JSON holds it, else its ``repr()``."""
    traceback: str = ""
    retry_delay: float | None = None
    """A RetryTask's own ``delay`` (None: the task's backoff decides)."""
    finished_at: str
    """ISO 8601."""

    @classmethod
    def of(cls, outcome: Outcome) -> "Report":
        exception, error = outcome.exception, outcome.error
        return cls(
            status=outcome.status.value,
            return_value=outcome.return_value,
            exception_class_path="" if error is None else error.exception_class_path,
            exception_args=None if exception is None else [_plain(a) for a in exception.args],
            traceback=outcome.traceback or "",
            retry_delay=exception.delay if isinstance(exception, RetryTask) else None,
            finished_at=outcome.finished_at.isoformat(),
        )

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> "Report":
        fields: dict[str, Any] = json.loads(data)
        return cls(**fields)

    def outcome(self) -> Outcome:
        """The outcome the worker records, its exception a stand-in (see ``exception``)."""
        if not self.exception_class_path:
            error = exception = None
        else:
            error = TaskError(
                exception_class_path=self.exception_class_path, traceback=self.traceback
            )
            exception = self.exception()
        return Outcome(
            status=ResultStatus(self.status),
            return_value=self.return_value,
            exception=exception,
            error=error,
            finished_at=datetime.fromisoformat(self.finished_at),
        )

    def exception(self) -> BaseException:
        """A stand-in for the exception that failed the attempt: an instance of its class
        (found as ``TaskError.exception_class`` finds it, importing nothing outside the
        installed apps), made without calling its ``__init__``, with its ``args``, a
        RetryTask's ``delay``, and the child's traceback as a note. Enough for ``retry_on``,
        RetryTask and TaskCancelled to be told apart by class, and for the task signals'
        receivers to log it."""
        args = tuple(self.exception_args or ())
        found = exception_class(self.exception_class_path)
        try:
            exception = found.__new__(found, *args)
            exception.args = args
            if isinstance(exception, RetryTask):
                exception.delay = self.retry_delay
        except Exception:  # A class whose __new__ wants other arguments.
            exception = RuntimeError(f"The attempt failed ({self.exception_class_path}).", *args)
        exception.add_note(f"Raised in a child process of the worker:\n{self.traceback}")
        return exception


def _plain(value: Any) -> JSONValue:
    """An exception argument as JSON holds it: itself if a string, number, boolean or None,
    else its ``repr()``."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    try:
        return repr(value)
    except Exception:  # A __repr__ that raises.
        return f"<{type(value).__qualname__} object>"


def serve(connection: Connection, verbosity: int | None, stops: Connection) -> None:
    """A child's life: set Django up, then run the jobs that come until told to stop.
    ``verbosity`` is db_worker's, for the log lines of the tasks' signals (None: the project
    configures logging). ``stops`` brings the ids of running tasks asked to stop."""
    for number in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if number is not None:
            signal.signal(number, signal.SIG_IGN)
    threading.Thread(target=_exit_when_orphaned, daemon=True).start()
    threading.Thread(target=_hear_stops, args=(stops,), daemon=True).start()
    django.setup()  # Nothing to do if the forkserver set Django up (pool_preload.py).
    if verbosity is not None:
        configure_logging(verbosity)
    try:
        while True:
            job = connection.recv()
            if job is None:
                return
            connection.send_bytes(run(job).to_bytes())
    except (EOFError, OSError):  # The worker closed the pipe, or is gone.
        return
    finally:
        connections.close_all()


def run(job: Job) -> Report:
    """Run one job's task and report how it ended (it never raises)."""
    # Imported here: reading rows needs the models, which need Django set up (serve() does).
    from django_tasks.backends.database.rows import result_from_claim

    outcomes: list[Outcome] = []

    def record(result: AnyResult, outcome: Outcome) -> bool:
        outcomes.append(outcome)
        return False  # The worker stores the outcome and sends task_finished.

    close_old_connections()
    try:
        sender = type(tasks[job.backend])
        result = result_from_claim(job.row, job.backend)
        result._update(started_at=job.started_at, last_attempted_at=job.started_at)
        task_started.send(sender, task_result=result)
        tracing.consuming(result, job.row.trace_context, partial(run_task, result, sender, record))
    except BaseException as e:  # A task raising KeyboardInterrupt, or a failing receiver.
        if not outcomes:
            outcomes.append(Outcome.failed(e))
    finally:
        close_old_connections()
        forget_stop(job.row.id)
    return Report.of(outcomes[0])


def _hear_stops(stops: Connection) -> None:
    """Pass on the worker's requests that the running task stop (see processes.py): its
    context then says so, as in a thread of the worker."""
    try:
        while True:
            request_stop(stops.recv_bytes().decode())
    except (EOFError, OSError):  # The worker closed the pipe, or is gone.
        return


def _exit_when_orphaned() -> None:
    """Exit the child soon after its worker has gone (killed with SIGKILL, say), so that a task
    whose lease will expire is not left running: it is retaken elsewhere. The child's parent is
    the worker, or the worker's forkserver, which exits with the worker: either way the child
    is handed to another parent when the worker goes."""
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(1)
