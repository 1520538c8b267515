"""Rows of the queue table <-> tasks and results: what enqueue writes, and what a row a worker
claims (or get_result reads) stands for.

Reading a row never imports anything the row names unless it is a registered task (or, for an
exception class, a module of an installed app): a tampered row cannot make a worker import or
run what it likes.
"""

import json
import os
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db.models import TextField
from django.db.models.functions import Cast, Coalesce
from django.utils.dateparse import parse_datetime

from django_tasks import tracing
from django_tasks.backends.database.exceptions import UnreadableResultError
from django_tasks.backends.database.queries import ClaimedRow, NewRow
from django_tasks.backends.database.schema import CANCELLED
from django_tasks.exceptions import InvalidTaskArgumentsError, InvalidTaskError
from django_tasks.registry import stored_task
from django_tasks.results import CANCELLED_PATH, AnyResult, ResultStatus, TaskError, new_result
from django_tasks.serialization import JSONLimit

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from django_tasks.backends.database.models import DBTaskResult

STATUSES = (*ResultStatus.values, CANCELLED)
"""Every status a row may have."""
CANCELLED_BEFORE_START = (
    f"{CANCELLED_PATH}: The task was cancelled before it started; it never ran.\n"
)
"""The traceback stored for a task cancelled while it waited."""


def new_row(result: AnyResult, columns: JSONLimit) -> NewRow:
    """The row of a new result; InvalidTaskArgumentsError if its arguments are too large.
    Made inside the enqueueing span (tracing.producing), whose context the row carries."""
    task = result.task
    arguments = columns.arguments(task.module_path, result.args, result.kwargs)
    trace_context = tracing.carrier()
    return NewRow(
        id=result.id,
        backend=result.backend,
        queue_name=task.queue_name,
        task_path=task.module_path,
        priority=task.priority,
        arguments=arguments,
        run_after=task.run_after,
        trace_context=None if trace_context is None else json.dumps(trace_context),
    )


def result_from_model(row: "DBTaskResult") -> AnyResult:
    """The result a row of the table stands for, of its task's dialect; UnreadableResultError
    for an unknown status. The start of the last attempt is ``started_at`` (a row keeps the
    start of the attempt under way, or of the last one). ``errors`` are those of the retried
    attempts (the ``errors`` column), then, for a FAILED or CANCELLED row, the final one (the
    exception columns). A CANCELLED row is FAILED in both dialects, its last error a
    TaskCancelled (see ``models.CANCELLED``)."""
    result_id = str(row.id)
    if row.status not in STATUSES:
        raise UnreadableResultError(
            f"Task result {result_id!r} cannot be read: its status {row.status!r} is none of "
            f"{', '.join(STATUSES)}; it was changed behind the backend's back."
        )
    args, kwargs = decode_arguments(result_id, row.arguments)
    status = ResultStatus.FAILED if row.status == CANCELLED else ResultStatus(row.status)
    errors = errors_from_column(result_id, row.errors)
    if status == ResultStatus.FAILED and row.exception_class_path:
        errors.append(
            TaskError(exception_class_path=row.exception_class_path, traceback=row.traceback)
        )
    return new_result(
        stored_task(row.task_path, row.priority, row.queue_name, row.backend, row.run_after),
        id=result_id,
        status=status,
        enqueued_at=row.enqueued_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        last_attempted_at=row.started_at,
        args=args,
        kwargs=kwargs,
        backend=row.backend,
        attempts=row.attempts,
        worker_ids=list(row.worker_ids),
        errors=errors,
        return_value=row.return_value,
    )


def errors_from_column(result_id: str, value: Any) -> list[TaskError]:
    """The errors of the retried attempts, from the ``errors`` column (None: none);
    UnreadableResultError if it holds anything but what the worker writes there."""
    if value is None:
        return []
    if isinstance(value, list) and all(
        isinstance(entry, dict)
        and isinstance(entry.get("exception_class_path"), str)
        and isinstance(entry.get("traceback"), str)
        for entry in value
    ):
        return [
            TaskError(
                exception_class_path=entry["exception_class_path"], traceback=entry["traceback"]
            )
            for entry in value
        ]
    raise UnreadableResultError(
        f"Task result {result_id!r} cannot be read: its errors column holds "
        f"{_shorten(value)}, not a list of errors; it was changed behind the backend's back."
    )


def error_entry(
    exception_class_path: str, traceback: str, retry_in: float, failed_at: datetime | None
) -> str:
    """The JSON text of one entry of the ``errors`` column: a failed attempt that ended at
    ``failed_at`` (None: unknown, a lost lease) and runs again ``retry_in`` seconds later."""
    return json.dumps(
        {
            "exception_class_path": exception_class_path,
            "traceback": traceback,
            "retry_in": retry_in,
            "failed_at": None if failed_at is None else failed_at.isoformat(),
        }
    )


def cancel_row(rows: "QuerySet[DBTaskResult]") -> bool:
    """Cancel the row ``rows`` selects: True if it was waiting (NEW) and is now CANCELLED;
    False if it was RUNNING (it is now asked to stop) or has finished. Each step is one
    UPDATE that a worker's claim of the row precedes or follows, never interleaves with."""
    # Imported here: models cannot be imported while Django loads the apps.
    from django_tasks.backends.database.models import DatabaseNow

    for _ in range(3):  # A RUNNING row may go back to NEW (a retry) between the two steps.
        if rows.filter(status=ResultStatus.NEW).update(
            status=CANCELLED,
            finished_at=DatabaseNow(),
            lease_expires_at=None,
            exception_class_path=CANCELLED_PATH,
            traceback=CANCELLED_BEFORE_START,
        ):
            return True
        if rows.filter(status=ResultStatus.RUNNING).update(
            cancel_requested_at=Coalesce("cancel_requested_at", DatabaseNow())
        ):
            return False
        if not rows.filter(status=ResultStatus.NEW).exists():
            return False
    return False


def result_from_claim(row: ClaimedRow, backend: str) -> AnyResult:
    """The RUNNING result of a row a worker has just claimed.

    Raises InvalidTaskError if the row's task path is not a registered task or its run_after
    cannot be read, and InvalidTaskArgumentsError if its arguments cannot be decoded.
    """
    if row.unreadable_run_after:
        raise InvalidTaskError(
            f"The stored run_after of result {row.id!r}, {row.unreadable_run_after!r}, is "
            f"outside the years 1 to 9999 (UTC) that Python's datetime holds, so the task "
            f"cannot run; enqueue it again with a run_after in that range."
        )
    task = stored_task(row.task_path, row.priority, row.queue_name, backend, row.run_after)
    try:
        arguments = json.loads(row.arguments)
    except (TypeError, ValueError) as e:
        raise InvalidTaskArgumentsError(
            f"The stored arguments of result {row.id!r} are not valid JSON: {e}."
        ) from None
    args, kwargs = decode_arguments(row.id, arguments)
    errors = errors_from_column(row.id, row.errors)
    return new_result(
        task,
        id=row.id,
        status=ResultStatus.RUNNING,
        enqueued_at=row.enqueued_at,
        started_at=row.started_at,
        last_attempted_at=row.started_at,
        args=args,
        kwargs=kwargs,
        backend=backend,
        attempts=row.attempts,
        worker_ids=row.worker_ids,
        errors=errors,
    )


def unreadable_times(
    rows: "QuerySet[DBTaskResult]", pk: Any, names: Iterable[str]
) -> dict[str, str]:
    """The stored text of each of the time columns ``names`` of the row ``pk`` whose value
    Python's datetime cannot hold (a time before year 1 or after 9999 in UTC, which
    PostgreSQL stores; text that is no time, on SQLite), by column name. The columns are read
    as text, which never fails."""
    names = list(names)
    texts = rows.filter(pk=pk).values_list(*(Cast(name, TextField()) for name in names)).first()
    if texts is None:
        return {}
    return {
        name: text
        for name, text in zip(names, texts, strict=True)
        if text is not None and not _is_time(text)
    }


def unreadable_result(result_id: str, unreadable: Mapping[str, str]) -> UnreadableResultError:
    """The error of a result whose times ``unreadable`` (see unreadable_times) cannot be read."""
    held = " and ".join(f"{name} {text!r}" for name, text in unreadable.items())
    return UnreadableResultError(
        f"Task result {result_id!r} cannot be read: it holds {held}, outside the years 1 to "
        f"9999 (UTC) that Python's datetime holds; delete the row, or correct it in the "
        f"database."
    )


def _is_time(text: str) -> bool:
    try:
        return parse_datetime(text) is not None
    except ValueError:
        return False


def decode_arguments(result_id: str, arguments: Any) -> tuple[list[Any], dict[str, Any]]:
    """Split stored arguments into args and kwargs, refusing anything else."""
    if isinstance(arguments, dict) and arguments.keys() == {"args", "kwargs"}:
        args, kwargs = arguments["args"], arguments["kwargs"]
        if isinstance(args, list) and isinstance(kwargs, dict):
            return args, kwargs
    raise InvalidTaskArgumentsError(
        f"The stored arguments of result {result_id!r} are malformed: expected "
        f'{{"args": [...], "kwargs": {{...}}}}, found {_shorten(arguments)}.'
    )


def uuid7() -> str:
    """A UUID version 7 (RFC 9562) as a string: unique, and ordered by creation time, so the
    table's primary key grows at one end and sorting by id sorts by enqueue time."""
    now = time.time_ns()
    milliseconds, rest = divmod(now, 1_000_000)
    fraction = rest * 4096 // 1_000_000  # 12 more bits of time, for order within a millisecond.
    random = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (milliseconds << 80) | (0x7 << 76) | (fraction << 64) | (0b10 << 62) | random
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _shorten(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else f"{text[:200]}..."
