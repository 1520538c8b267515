"""The child side of ``db_worker --pool process``: a process that runs one task at a time.

The worker (processes.py) starts each child with a pipe, sends it a ``Job`` (a row it has
claimed), and waits for a ``Report`` of how the task ended. The child builds the task's result
from the row as the worker does, sends ``task_started``, runs the task, and reports the outcome,
which the worker writes and then signals (``task_finished`` is sent by the worker, once the
outcome is stored, as with threads). The child never writes the task's row: its own database
connections are the task's, opened in the child and closed after each task.

The child ignores the signals that stop the worker (the terminal's Ctrl-C reaches the whole
process group; a supervisor may signal every process): the worker decides when its children
stop. It exits when told to (None), when its pipe closes, or soon after its worker has gone.
"""

import os
import signal
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from multiprocessing.connection import Connection

import django
from django.db import close_old_connections, connections

from django_tasks import tracing
from django_tasks.backends.database.queries import ClaimedRow
from django_tasks.backends.database.worker.reporting import configure_logging
from django_tasks.execution import Outcome, run_task
from django_tasks.handler import tasks
from django_tasks.results import AnyResult
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


@dataclass(frozen=True, slots=True)
class Report:
    """How a child's task ended: an Outcome without the exception object, which may not
    survive pickling (its class path and formatted traceback do)."""

    status: str
    return_value: JSONValue
    exception_class_path: str
    traceback: str
    finished_at: datetime


def serve(connection: Connection, verbosity: int | None) -> None:
    """A child's life: set Django up, then run the jobs that come until told to stop.
    ``verbosity`` is db_worker's, for the log lines of the tasks' signals (None: the project
    configures logging)."""
    for number in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if number is not None:
            signal.signal(number, signal.SIG_IGN)
    threading.Thread(target=_exit_when_orphaned, daemon=True).start()
    django.setup()  # Nothing to do if the forkserver set Django up (pool_preload.py).
    if verbosity is not None:
        configure_logging(verbosity)
    try:
        while True:
            job = connection.recv()
            if job is None:
                return
            connection.send(run(job))
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
    outcome = outcomes[0]
    return Report(
        status=outcome.status.value,
        return_value=outcome.return_value,
        exception_class_path="" if outcome.error is None else outcome.error.exception_class_path,
        traceback=outcome.traceback or "",
        finished_at=outcome.finished_at,
    )


def _exit_when_orphaned() -> None:
    """Exit the child soon after its worker has gone (killed with SIGKILL, say), so that a task
    whose lease will expire is not left running: it is retaken elsewhere. The child's parent is
    the worker, or the worker's forkserver, which exits with the worker: either way the child
    is handed to another parent when the worker goes."""
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(1)
