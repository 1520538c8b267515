"""Results in Celery's result backend: one record per task, under the task's id.

A record is our result as JSON: the task path and options, status, timestamps, arguments,
attempts, worker ids, and the outcome. The same JSON, in status NEW, is the message the broker
carries to the worker (``django_tasks.run``'s only argument), so it is encoded once per
enqueue. It is a string inside Celery's own meta, so no serializer reinterprets the user's
values (kombu's JSON decoder would turn ``{"__type__": ..., "__value__": ...}`` into objects).

Around it, the meta says what Celery's own tools expect (``AsyncResult``, Flower, ``celery
result``): the Celery state (PENDING, STARTED, SUCCESS, FAILURE), the date done, and for a
failure the exception as Celery serializes one. Records are written and read through the
key-value interface of Celery's result backends (Redis, Valkey, memcached, the file system,
...), where each result is one key.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Self

from celery import states
from celery.backends.base import BaseKeyValueStoreBackend
from celery.backends.redis import RedisBackend
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, ValidationError

from django_tasks.registry import stored_task
from django_tasks.results import AnyResult, ResultStatus, TaskError, new_result, status_of

logger = logging.getLogger("django_tasks")

RECORD_KEY = "django_tasks"
"""The key of our record in Celery's meta."""

CELERY_STATES = {
    ResultStatus.NEW: states.PENDING,
    ResultStatus.RUNNING: states.STARTED,
    ResultStatus.SUCCEEDED: states.SUCCESS,
    ResultStatus.FAILED: states.FAILURE,
}


class Record(BaseModel):
    """One task's result, as the result backend stores it (and the broker carries it)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    id: str
    task: str
    """The task's module path; a worker runs it only if it is a registered task."""
    backend: str
    queue: str
    priority: int
    run_after: datetime | None
    status: ResultStatus
    args: list[Any]
    kwargs: dict[str, Any]
    enqueued_at: datetime | None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    attempts: int = 0
    worker_ids: list[str] = []
    return_value: Any = None
    exception_class: str | None = None
    """The dotted path of the exception class of a FAILED task."""
    traceback: str | None = None

    @classmethod
    def of(cls, result: AnyResult) -> Self:
        """The record of a result (of either dialect), as it is now."""
        task = result.task
        status = status_of(result)
        error = result.errors[-1] if status == ResultStatus.FAILED and result.errors else None
        return cls(
            id=result.id,
            task=task.module_path,
            backend=result.backend,
            queue=task.queue_name,
            priority=task.priority,
            run_after=task.run_after,
            status=status,
            args=result.args,
            kwargs=result.kwargs,
            enqueued_at=result.enqueued_at,
            started_at=result.started_at,
            finished_at=result.finished_at,
            attempts=result.attempts,
            worker_ids=result.worker_ids,
            return_value=result._return_value if status == ResultStatus.SUCCEEDED else None,
            exception_class=None if error is None else error.exception_class_path,
            traceback=None if error is None else error.traceback,
        )

    @property
    def is_finished(self) -> bool:
        return self.status in (ResultStatus.SUCCEEDED, ResultStatus.FAILED)

    def result(self) -> AnyResult:
        """The result this record stands for, of its task's dialect.

        Raises InvalidTaskError if the task path is not a registered task here.
        """
        failed = self.status == ResultStatus.FAILED and self.exception_class is not None
        return new_result(
            stored_task(self.task, self.priority, self.queue, self.backend, self.run_after),
            id=self.id,
            status=self.status,
            enqueued_at=self.enqueued_at,
            started_at=self.started_at,
            finished_at=self.finished_at,
            last_attempted_at=self.started_at,
            args=self.args,
            kwargs=self.kwargs,
            backend=self.backend,
            attempts=self.attempts,
            worker_ids=list(self.worker_ids),
            errors=[
                TaskError(
                    exception_class_path=self.exception_class or "",
                    traceback=self.traceback or "",
                )
            ]
            if failed
            else [],
            return_value=self.return_value,
        )


class MalformedRecordError(ValueError):
    """What a result backend holds under a task's key is not one of our records."""


def parse_record(text: str | bytes, where: str) -> Record:
    """The record in a message or a stored meta; MalformedRecordError saying what is wrong."""
    try:
        return Record.model_validate_json(text)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(map(str, error['loc'])) or 'the record'}: {error['msg']}"
            for error in e.errors(include_url=False)[:5]
        )
        raise MalformedRecordError(f"{where} is not a django_tasks record ({problems}).") from None


class ResultStore:
    """Our records in a Celery key-value result backend."""

    def __init__(self, backend: BaseKeyValueStoreBackend) -> None:
        self.backend = backend

    def key(self, result_id: str) -> str:
        """The key of a task's result, as Celery's own tools look it up."""
        # bytes, in fact (celery-types calls it str): never format it with str().
        return self.backend.get_key_for_task(result_id)

    @contextmanager
    def creating(self, record: Record, text: str) -> Iterator[None]:
        """Store a new task's record (NEW) while the block sends its message; if the block
        raises, remove the record again.

        On Redis the record's SET is sent first and its reply read after the block, so the two
        round trips overlap. The SET only creates the key (NX): a worker that took the message
        and recorded the task RUNNING before the SET arrived is not overwritten. If the reply is
        an error, the message has been sent all the same: the task runs, and the error is
        logged rather than raised (get_result raises ResultDoesNotExist until a worker records
        the task RUNNING). Elsewhere the record is written, then the block runs.
        """
        if not isinstance(self.backend, RedisBackend):
            self.write(record, text)
            try:
                yield
            except BaseException:
                self.delete(record.id)
                raise
            return
        key = self.key(record.id)
        value = self.backend.encode(self.meta(record, text))
        client = self.backend.client
        connection = client.connection_pool.get_connection()
        try:
            connection.send_command("SET", key, value, *_expiry(self.backend), "NX")
            try:
                yield
            except BaseException:
                if _reply(client, connection, record) is None:
                    self.delete(record.id)  # Nothing was sent: leave no trace of the task.
                raise
            _reply(client, connection, record)
        finally:
            client.connection_pool.release(connection)
        if record.run_after is not None:
            self._keep_until_run(key, record.run_after)

    def write(
        self,
        record: Record,
        text: str | None = None,
        exception: BaseException | None = None,
    ) -> None:
        """Store a record (``text``: its JSON, if already encoded) as the task's result.

        ``exception`` is a failed task's exception, which Celery's meta describes its own way.
        A deferred task's record is kept until its result would expire after it has run.
        """
        key = self.key(record.id)
        value = self.backend.encode(self.meta(record, text, exception))
        if isinstance(self.backend, RedisBackend):
            # One SET, where Celery's RedisBackend.set() sends MULTI, SET, PUBLISH, EXEC: the
            # PUBLISH wakes an AsyncResult.get() waiting on the task, which is not how these
            # results are read (get_result reads the key; AsyncResult reads it too).
            self.backend.ensure(self._set_in_redis, (self.backend, key, value))
        else:
            self.backend.set(key, value)
        if record.status == ResultStatus.NEW and record.run_after is not None:
            self._keep_until_run(key, record.run_after)

    @staticmethod
    def _set_in_redis(backend: RedisBackend, key: str, value: Any) -> None:
        backend.client.execute_command("SET", key, value, *_expiry(backend))

    def meta(
        self, record: Record, text: str | None = None, exception: BaseException | None = None
    ) -> dict[str, Any]:
        """Celery's meta of a task's result, with our record in it."""
        state = CELERY_STATES[record.status]
        result = None
        if exception is not None:
            # Celery serializes any exception (SystemExit too); its stub asks for Exception.
            result = self.backend.prepare_exception(exception)  # type: ignore[arg-type]
        finished = record.finished_at
        return {
            "status": state,
            "result": result,
            "traceback": record.traceback,
            "children": [],
            "date_done": None if finished is None else finished.isoformat(),
            "task_id": record.id,
            RECORD_KEY: record.model_dump_json() if text is None else text,
        }

    def read(self, result_id: str) -> Record | None:
        """The record of a task; None if the result backend holds nothing under its key.

        Raises MalformedRecordError if what it holds is not one of our records (another Celery
        task's result, or a record changed by hand).
        """
        raw = self.backend.get(self.key(result_id))
        if raw is None:
            return None
        try:
            meta = self.backend.decode(raw)
            text = meta[RECORD_KEY]
        except Exception:  # Whatever the serializer or the data raise: it is not ours.
            raise MalformedRecordError(
                f"Result {result_id!r} in Celery's result backend is not a django_tasks result."
            ) from None
        if not isinstance(text, str):
            raise MalformedRecordError(
                f"Result {result_id!r} in Celery's result backend is not a django_tasks result."
            )
        return parse_record(text, f"Result {result_id!r} in Celery's result backend")

    def delete(self, result_id: str) -> None:
        self.backend.delete(self.key(result_id))

    def _keep_until_run(self, key: str, run_after: datetime) -> None:
        expires = _seconds(getattr(self.backend, "expires", None))
        if not expires:
            return  # Results never expire.
        wait = (run_after - timezone.now()).total_seconds()
        if wait > 0:
            self.backend.expire(key, int(wait + expires) + 1)


def _reply(client: Any, connection: Any, record: Record) -> Exception | None:
    """Read the reply to a record's SET; log (and return) the error if it failed."""
    try:
        client.parse_response(connection, "SET")
    except Exception as e:  # Redis refused or went away: the connection is not reused.
        connection.disconnect()
        logger.error(
            "Task id=%s path=%s: its record could not be stored in the result backend: %s: %s",
            record.id,
            record.task,
            type(e).__name__,
            e,
        )
        return e
    return None


def _expiry(backend: RedisBackend) -> tuple[str, int] | tuple[()]:
    """The SET arguments that make a Redis key expire as Celery's results do."""
    expires = _seconds(getattr(backend, "expires", None))
    return ("PX", int(expires * 1000)) if expires else ()


def _seconds(expires: float | timedelta | None) -> float | None:
    """A result backend's ``expires`` in seconds (None or 0: never)."""
    return expires.total_seconds() if isinstance(expires, timedelta) else expires
