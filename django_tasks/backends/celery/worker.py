"""What a Celery worker does with a ``django_tasks.run`` message: run one of our tasks.

The message is the task's record (status NEW). The worker looks the task path up in the task
registry, never imports it blindly: a message naming anything but a registered task is refused
and its result recorded FAILED with the reason. Then:

1. It reads the stored record, if the broker says it delivers the message again (RabbitMQ and
   Redis say so; the record is read for every message on other brokers). A finished task is
   not run again (its worker was lost after recording it, before acknowledging the message).
   A RUNNING one was started by a worker that was lost (killed, its machine gone) before it
   finished: this is another attempt, unless MAX_ATTEMPTS attempts have been made, in which
   case the task is recorded FAILED with WorkerLostError.
2. It records the task RUNNING (started_at, attempts, worker_ids), then sends ``task_started``.
3. It runs the task and records how it ended, then sends ``task_finished`` (execution.run_task).
   A return value larger than MAX_JSON_BYTES is not stored: the task is recorded FAILED with
   StorageError instead.

The message is acknowledged once this returns (the task is ``acks_late``), so a worker lost on
the way leaves it with the broker, which delivers it again. If the result backend cannot be
written, the message goes back to the broker (Reject with requeue) to be tried again.
"""

import logging
from functools import partial
from typing import Any

from celery import Task as CeleryTask
from celery.backends.base import BaseKeyValueStoreBackend
from celery.exceptions import Reject
from django.utils import timezone

from django_tasks import tasks, tracing
from django_tasks.backends.celery.backend import TRACE_HEADER, CeleryBackend
from django_tasks.backends.celery.engine import AMQP, REDIS
from django_tasks.backends.celery.exceptions import WorkerLostError
from django_tasks.backends.celery.records import (
    MalformedRecordError,
    Record,
    ResultStore,
    parse_record,
)
from django_tasks.exceptions import InvalidTaskBackendError, InvalidTaskError, StorageError
from django_tasks.execution import Outcome, run_task
from django_tasks.registry import stored_task
from django_tasks.results import AnyResult, ResultStatus, new_result
from django_tasks.serialization import JSONLimit, JSONTooLarge, too_large_return_value
from django_tasks.signals import task_started
from django_tasks.utils import class_path, default_worker_id, format_exception

logger = logging.getLogger("django_tasks.worker")


def run_message(celery_task: CeleryTask[Any, Any], args: tuple[Any, ...], kwargs: Any) -> None:
    """Run the task a ``django_tasks.run`` message carries (see the module docstring)."""
    request = celery_task.request
    message = _message(request.id, args, kwargs)
    if message is None:
        return
    worker_id = request.hostname or default_worker_id()
    try:
        backend = tasks[message.backend]
        if not isinstance(backend, CeleryBackend):
            raise InvalidTaskBackendError(
                f"Backend {message.backend!r} is a {type(backend).__qualname__}, not a "
                f"CeleryBackend, in this worker's TASKS setting."
            )
    except InvalidTaskBackendError as e:
        _refuse_without_backend(celery_task, message, e, worker_id)
        return
    redelivered = bool((request.delivery_info or {}).get("redelivered", True))
    trace_context = request.get(TRACE_HEADER)
    run(backend, message, worker_id, redelivered, trace_context)


def run(
    backend: CeleryBackend,
    message: Record,
    worker_id: str,
    redelivered: bool,
    trace_context: Any = None,
) -> None:
    """Run one task of ``backend``, recording each step in its result backend.

    A message the broker delivers for the first time (RabbitMQ and Redis say so) has not run
    before: its record is the NEW one enqueue wrote, and is not read again.
    """
    store = backend.store
    first = not redelivered and backend.broker_kind in (AMQP, REDIS)
    previous = None if first else _stored(store, message.id)
    if previous is not None and previous.is_finished:
        logger.info(
            "Task skipped id=%s path=%s state=%s: it has already finished",
            message.id,
            message.task,
            previous.status,
        )
        return
    history = previous if previous is not None and previous.status == ResultStatus.RUNNING else None
    attempts = 0 if history is None else history.attempts
    worker_ids = [] if history is None else history.worker_ids
    if history is not None and attempts >= backend.options.MAX_ATTEMPTS:
        lost = WorkerLostError(
            f"The task's worker was lost on every attempt, {attempts} of MAX_ATTEMPTS "
            f"{backend.options.MAX_ATTEMPTS} ({', '.join(worker_ids)}); it is not run again."
        )
        _refuse(store, history, lost, "lost its worker too often")
        return
    try:
        task = stored_task(
            message.task, message.priority, message.queue, message.backend, message.run_after
        )
    except InvalidTaskError as e:
        _refuse(store, message, e, "is not a task this worker runs")
        return
    now = timezone.now()
    result = new_result(
        task,
        id=message.id,
        status=ResultStatus.RUNNING,
        enqueued_at=message.enqueued_at,
        started_at=now,
        last_attempted_at=now,
        args=message.args,
        kwargs=message.kwargs,
        backend=message.backend,
        attempts=attempts + 1,
        worker_ids=[*worker_ids, worker_id],
    )
    _write(store, Record.of(result))
    sender = type(backend)
    task_started.send(sender, task_result=result)
    fields = trace_context if isinstance(trace_context, dict) else None  # The header's.
    record = partial(_record_outcome, store, backend.json_limit)
    tracing.consuming(result, fields, partial(run_task, result, sender, record))


def _record_outcome(
    store: ResultStore, limit: JSONLimit, result: AnyResult, outcome: Outcome
) -> bool:
    """run_task's recorder: store the finished record.

    A return value larger than MAX_JSON_BYTES is not stored: the task is recorded FAILED with
    StorageError saying so, as the database backend records it, and (as there) no
    task_finished is sent for the outcome that was not stored.
    """
    if outcome.status == ResultStatus.SUCCEEDED:
        try:
            limit.dumps(outcome.return_value)
        except JSONTooLarge as e:
            _record_unstored(store, result, outcome, too_large_return_value(e))
            return False
    record = Record.of(result).model_copy(
        update={
            "status": outcome.status,
            "finished_at": outcome.finished_at,
            "return_value": outcome.return_value,
            "exception_class": (
                None if outcome.exception is None else class_path(type(outcome.exception))
            ),
            "traceback": outcome.traceback,
        }
    )
    _write(store, record, outcome.exception)
    return True


def _record_unstored(store: ResultStore, result: AnyResult, outcome: Outcome, reason: str) -> None:
    """Record a task FAILED with StorageError: its outcome could not be stored, for ``reason``."""
    error = StorageError.of_outcome(outcome.status, reason)
    logger.error(
        "Task outcome not stored id=%s path=%s: %s; stored as FAILED instead.",
        result.id,
        result.task.module_path,
        reason,
    )
    record = Record.of(result).model_copy(
        update={
            "status": ResultStatus.FAILED,
            "finished_at": outcome.finished_at,
            "exception_class": class_path(StorageError),
            "traceback": format_exception(error),
        }
    )
    _write(store, record, error)


class _StoreFailed(Reject):
    """The result backend could not be written: the message goes back to the broker."""


def _write(store: ResultStore, record: Record, exception: BaseException | None = None) -> None:
    try:
        store.write(record, exception=exception)
    except Exception as e:
        logger.error(
            "Task id=%s path=%s state=%s could not be recorded, so its message goes back to "
            "the broker: %s: %s",
            record.id,
            record.task,
            record.status,
            type(e).__name__,
            e,
            exc_info=True,
        )
        raise _StoreFailed(e, requeue=True) from e


def _stored(store: ResultStore, result_id: str) -> Record | None:
    try:
        return store.read(result_id)
    except MalformedRecordError as e:
        logger.warning("Task id=%s: the stored result is replaced: %s", result_id, e)
        return None
    except Exception as e:
        logger.error(
            "Task id=%s: its stored result cannot be read, so its message goes back to the "
            "broker: %s: %s",
            result_id,
            type(e).__name__,
            e,
            exc_info=True,
        )
        raise _StoreFailed(e, requeue=True) from e


def _refuse(store: ResultStore, record: Record, error: Exception, why: str) -> None:
    """Record a task FAILED with ``error`` without running it."""
    now = timezone.now()
    failed = record.model_copy(
        update={
            "status": ResultStatus.FAILED,
            "started_at": record.started_at or now,
            "finished_at": now,
            "exception_class": class_path(type(error)),
            "traceback": format_exception(error),
        }
    )
    logger.error(
        "Task refused id=%s path=%s queue=%s: it %s: %s",
        record.id,
        record.task,
        record.queue,
        why,
        error,
    )
    _write(store, failed, error)


def _refuse_without_backend(
    celery_task: CeleryTask[Any, Any], message: Record, error: Exception, worker_id: str
) -> None:
    """Record FAILED a task whose backend this worker does not have, in the result backend of
    the worker's own Celery app (if it keeps results)."""
    result_backend = celery_task.app.backend
    if isinstance(result_backend, BaseKeyValueStoreBackend):
        _refuse(ResultStore(result_backend), message, error, "names a backend it cannot use")
    else:
        logger.error(
            "Task refused id=%s path=%s on worker %s: %s; the Celery app keeps no results, so "
            "it is not recorded",
            message.id,
            message.task,
            worker_id,
            error,
        )


def _message(request_id: str | None, args: tuple[Any, ...], kwargs: Any) -> Record | None:
    """The record a message carries, or None (logged) if it carries none."""
    if kwargs or len(args) != 1 or not isinstance(args[0], str | bytes):
        logger.error(
            "Message refused id=%s: django_tasks.run takes one argument, a task's record; it "
            "was sent %s positional and %s keyword arguments",
            request_id,
            len(args),
            len(kwargs or {}),
        )
        return None
    try:
        message = parse_record(args[0], f"The message of Celery task {request_id!r}")
    except MalformedRecordError as e:
        logger.error("Message refused id=%s: %s", request_id, e)
        return None
    if message.id != request_id or message.status != ResultStatus.NEW:
        logger.error(
            "Message refused id=%s: it carries the record of result %r in status %s, not a "
            "new task of its own",
            request_id,
            message.id,
            message.status,
        )
        return None
    return message
