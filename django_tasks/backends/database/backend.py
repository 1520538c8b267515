"""DatabaseBackend: tasks are rows of a table; ``db_worker`` processes claim and run them.

This module is the backend: enqueueing, results, checks. rows.py turns tasks into rows and
rows back into results. Models are imported lazily, inside methods, so that ``django_tasks``
imports before the app registry is ready.

Enqueueing and transactions: the INSERT goes through Django's connection to the queue's
database (OPTIONS["DATABASE"]), so inside a transaction on that database it is part of that
transaction: a worker cannot see the task before the commit, and a rollback leaves nothing.
``task_enqueued`` is sent once the row is committed. When the queue lives on another database
than ``default`` and the task waits for commits (ENQUEUE_ON_COMMIT), the INSERT itself waits
for the commit of the ``default`` database's transaction.

Whatever can be wrong with a task and its arguments is raised by enqueue() itself: the row is
made (its JSON written, its size checked) before anything waits for a commit. An on-commit
callback of this backend never raises, so the callbacks after it, other tasks' among them,
still run: an INSERT that fails once ``default`` has committed is logged, at ERROR.
"""

import logging
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from functools import cached_property, partial
from typing import Any, ClassVar, TypeVar

from asgiref.sync import sync_to_async
from django.apps import apps
from django.core import checks
from django.db import DEFAULT_DB_ALIAS, DataError, IntegrityError, connections, models, transaction

from django_tasks import tracing
from django_tasks.backends.base import BaseTaskBackend, on_commit_logged
from django_tasks.backends.database.checks import (
    check_backend,
    check_schedules,
    exception_class_at,
    retry_on_message,
)
from django_tasks.backends.database.options import DatabaseOptions, ScheduleOptions
from django_tasks.backends.database.queries import NewRow, queries_for
from django_tasks.backends.database.rows import (
    cancel_row,
    new_row,
    result_from_model,
    unreadable_result,
    unreadable_times,
    uuid7,
)
from django_tasks.backends.database.schema import MAX_NAME_LENGTH
from django_tasks.dialects import unique_key, unique_while_running
from django_tasks.exceptions import (
    InvalidTaskArgumentsError,
    InvalidTaskBackendError,
    InvalidTaskError,
    ResultDoesNotExist,
    TaskFinishedError,
)
from django_tasks.registry import (
    TASK_MODULES_SETTING,
    not_imported_message,
    task_modules,
    workers_import,
)
from django_tasks.results import AnyResult
from django_tasks.retries import ExponentialBackoff, RetryPolicy
from django_tasks.schedules import InvalidScheduleError, Schedule, schedule_registry
from django_tasks.serialization import JSONLimit
from django_tasks.task import MAX_RESULT_ID_LENGTH, Task, TaskResult
from django_tasks_spec.protocols import TaskProtocol

logger = logging.getLogger("django_tasks")

T = TypeVar("T")

UNIQUE_ATTEMPTS = 10
"""How many times enqueueing a unique task tries to take its key, when the task that holds it
keeps finishing between the refusal and the lookup (see _enqueue_unique)."""


class DatabaseBackend(BaseTaskBackend):
    """Stores tasks and results in a database table; ``manage.py db_worker`` runs them."""

    # Can tasks be enqueued with run_after?
    supports_defer: bool = True

    # Can coroutine functions be enqueued?
    supports_async_task: bool = True

    # Can a result be retrieved by id, from any thread or process?
    supports_get_result: bool = True

    # Is a task with a higher priority started before one with a lower priority?
    supports_priority: bool = True

    # Can tasks be made unique with a key (unique_key)?
    supports_unique: bool = True

    # Can periodic tasks be declared on this backend, and run by it (its workers)?
    supports_schedules: bool = True

    # Is a failed attempt run again, as the task's retry policy says?
    supports_retries: bool = True

    # Can a task be cancelled (cancel())?
    supports_cancel: bool = True

    # Is a task that runs past its timeout recorded FAILED with TaskTimeoutError?
    supports_timeout: bool = True

    options_schema: ClassVar[type[DatabaseOptions]] = DatabaseOptions
    options: DatabaseOptions

    def __init__(self, alias: str, params: Mapping[str, Any]) -> None:
        super().__init__(alias, params)
        if len(alias) > MAX_NAME_LENGTH:
            raise InvalidTaskBackendError(
                f"Backend alias {alias[:50]!r}... is {len(alias)} characters long; the database "
                f"backend stores aliases of at most {MAX_NAME_LENGTH} characters."
            )
        self._importable_modules: set[str] = set()

    @property
    def database(self) -> str:
        """The alias in DATABASES of the database that holds the queue."""
        return self.options.DATABASE

    def validate_task(self, task: TaskProtocol[Any, Any]) -> None:
        super().validate_task(task)
        module = task.func.__module__
        if module not in self._importable_modules:
            self._check_importable(task, module)
        if len(task.queue_name) > MAX_NAME_LENGTH:
            raise InvalidTaskError(
                f"Queue name {task.queue_name[:50]!r}... is {len(task.queue_name)} characters "
                f"long; the database backend stores queue names of at most "
                f"{MAX_NAME_LENGTH} characters."
            )

    def _check_importable(self, task: TaskProtocol[Any, Any], module: str) -> None:
        """Raise InvalidTaskError unless a worker can import ``module``: that of an installed
        app. Remembered once the app registry is ready, as enqueue validates every task."""
        if module == "__main__":
            raise InvalidTaskError(
                f"Task {task.module_path} is defined in __main__, which a worker cannot "
                f"import; move it into a module of an installed app, or one listed in "
                f"{TASK_MODULES_SETTING}."
            )
        if not apps.apps_ready:
            return
        if not workers_import(module):
            raise InvalidTaskError(not_imported_message(task.module_path, module))
        if module not in task_modules():  # The setting may change (tests): look again.
            self._importable_modules.add(module)

    # Enqueueing.

    def _new_result_id(self) -> str:
        return uuid7()

    @cached_property
    def json_columns(self) -> JSONLimit:
        """How this backend writes JSON data to its table."""
        return JSONLimit(
            backend=self.alias,
            max_bytes=self.options.MAX_JSON_BYTES,
            ascii_only=connections[self.database].vendor == "mysql",
        )

    # The enqueue policy is BaseTaskBackend.defers_to_commit: enqueue() asks it (and calls
    # _enqueue_on_commit when it says wait), bulk_enqueue() asks it the same way, aenqueue()
    # never waits (async code runs outside transactions). Waiting, for this backend, means
    # ``_joins_the_transaction`` or an INSERT after the commit of ``default``.

    def enqueue(
        self, task: TaskProtocol[Any, T], args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> TaskResult[T]:
        """See BaseTaskBackend.enqueue(). A unique task (``unique_key``) whose key a waiting
        task of the same function holds (or a running one, with ``unique_while_running``) is
        not enqueued again: that task's result is returned."""
        key = unique_key(task)
        if key is None:
            return super().enqueue(task, args, kwargs)
        self.validate_task(task)
        result = self._new_result(task, args, kwargs)
        if self.defers_to_commit(task) and not self._joins_the_transaction:
            raise InvalidTaskError(
                f"Task {task.module_path} is unique (unique_key {key!r}) and waits "
                f"for the commit of database {DEFAULT_DB_ALIAS!r}, but its queue is on "
                f"{self.database!r}, so whether the key is free is known only after the "
                f"commit; enqueue it with enqueue_on_commit=False, or after the transaction."
            )
        with tracing.producing([result]):
            return self._enqueue_unique(result, key)

    def _enqueue_unique(self, result: AnyResult, key: str) -> AnyResult:
        """Insert the row of a unique task and take its key, in one transaction (a savepoint
        inside the caller's): the unique index refuses the key while a live row holds it, and
        that row's result is returned. A row that finishes between the refusal and the lookup
        has freed the key, so the insert is tried again."""
        task = result.task
        row = new_row(result, self.json_columns)
        queries = queries_for(self.database)
        for _ in range(UNIQUE_ATTEMPTS):
            try:
                with transaction.atomic(using=self.database), queries.cursor() as cursor:
                    enqueued_at = queries.insert(cursor, row)
                    queries.take_unique_key(
                        cursor,
                        result_id=result.id,
                        key=key,
                        while_running=unique_while_running(task),
                    )
            except IntegrityError:
                with queries.cursor() as cursor:
                    existing = queries.live_with_key(
                        cursor, backend=self.alias, task_path=task.module_path, key=key
                    )
                if existing is not None:
                    return self.get_result(existing)
                continue
            self._enqueued_once_committed([result], enqueued_at)
            return result
        raise InvalidTaskError(  # pragma: no cover  # Needs a key freed and taken 10 times over.
            f"Task {task.module_path} with unique_key {key!r} could not be enqueued: "
            f"the key was taken and freed again {UNIQUE_ATTEMPTS} times while enqueueing."
        )

    @property
    def _joins_the_transaction(self) -> bool:
        """Whether the queue is on the default database, so that an INSERT made inside its
        transaction commits (or rolls back) with it: a task that waits for the commit needs
        no on-commit hook."""
        return self.database == DEFAULT_DB_ALIAS

    def _enqueue(self, result: AnyResult) -> None:
        self._enqueued_once_committed([result], self._insert(new_row(result, self.json_columns)))

    def _enqueue_on_commit(self, result: AnyResult) -> None:
        if self._joins_the_transaction:
            self._enqueue(result)
            return
        # The row is made now, so that enqueue() raises whatever is wrong with it.
        row = new_row(result, self.json_columns)
        on_commit_logged(
            partial(self._insert_after_commit, result, row),
            DEFAULT_DB_ALIAS,
            f"Sending task_enqueued for task id={result.id}",
        )

    def _insert_after_commit(self, result: AnyResult, row: NewRow) -> None:
        try:
            enqueued_at = self._insert(row)
        except Exception:
            logger.exception(
                "Task not enqueued id=%s path=%s database=%s: the transaction on %r "
                "committed, but the task could not be inserted.",
                result.id,
                result.task.module_path,
                self.database,
                DEFAULT_DB_ALIAS,
            )
            return
        self._enqueued_once_committed([result], enqueued_at)

    def _enqueued_once_committed(self, results: Sequence[AnyResult], enqueued_at: datetime) -> None:
        """Mark the results enqueued (``_mark_enqueued``: enqueued_at, task_enqueued) once their
        rows are committed: now, or when the transaction on the queue's database commits."""
        if not connections[self.database].in_atomic_block:
            self._enqueued(results, enqueued_at)
            return
        what = (
            f"Sending task_enqueued for task id={results[0].id}"
            if len(results) == 1
            else f"Sending task_enqueued for {len(results)} tasks"
        )
        on_commit_logged(partial(self._enqueued, results, enqueued_at), self.database, what)

    def _enqueued(self, results: Sequence[AnyResult], enqueued_at: datetime) -> None:
        for result in results:
            self._mark_enqueued(result, enqueued_at)

    async def aenqueue(
        self, task: TaskProtocol[Any, T], args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> TaskResult[T]:
        """See enqueue(). Django runs async code outside transactions (atomic() is sync-only),
        so the row is inserted, and committed, at once: by the statement enqueue() runs (it
        wakes idle PostgreSQL workers), in Django's thread for sync database code, as
        Django's own async ORM methods do."""
        if unique_key(task) is not None:
            return await sync_to_async(self.enqueue, thread_sensitive=True)(task, args, kwargs)
        self.validate_task(task)
        result = self._new_result(task, args, kwargs)
        # The enqueue policy (defers_to_commit, see _joins_the_transaction): async code runs
        # outside transactions, so nothing waits; asking it here would read the event loop's
        # connection.
        with tracing.producing([result]):
            row = new_row(result, self.json_columns)
            enqueued_at = await sync_to_async(self._insert, thread_sensitive=True)(row)
            await self._amark_enqueued(result, enqueued_at)
        return result

    def _insert(self, row: NewRow) -> datetime:
        queries = queries_for(self.database)
        with queries.cursor() as cursor:
            return queries.insert(cursor, row)

    def bulk_enqueue(
        self,
        task: Task[Any, T],
        calls: Iterable[tuple[Sequence[Any], Mapping[str, Any]]],
    ) -> list[TaskResult[T]]:
        """Enqueue one task many times, once per ``(args, kwargs)`` pair, in a few statements.

        All or nothing: if one call's arguments are invalid, nothing is enqueued; the rows are
        inserted in one transaction. Transactions are handled as by enqueue(), and
        ``task_enqueued`` is sent for each result once the rows are committed.
        """
        self.validate_task(task)
        if unique_key(task) is not None:
            raise InvalidTaskError(
                f"Task {task.module_path} is unique (unique_key {unique_key(task)!r}); a key "
                f"holds for one task, so enqueue it with enqueue(), not bulk_enqueue()."
            )
        results = []
        entry: Any
        for i, entry in enumerate(calls):
            if not (isinstance(entry, (tuple, list)) and len(entry) == 2):
                raise TypeError(
                    f"calls[{i}] is {entry!r}; each call must be a pair (args, kwargs)."
                )
            try:
                results.append(self._new_result(task, entry[0], entry[1]))
            except InvalidTaskArgumentsError as e:
                raise InvalidTaskArgumentsError(f"calls[{i}]: {e}") from None
        if not results:
            return results
        with tracing.producing(results):  # One span for the batch.
            self._bulk_insert(task, results)
        return results

    def _bulk_insert(self, task: Task[Any, Any], results: Sequence[AnyResult]) -> None:
        """bulk_enqueue()'s insert: now, or once ``default`` commits."""
        if self.defers_to_commit(task) and not self._joins_the_transaction:
            # The rows are made now, so that bulk_enqueue() raises whatever is wrong with them.
            rows = list(self._new_rows(results))
            on_commit_logged(
                partial(self._insert_many_after_commit, results, rows),
                DEFAULT_DB_ALIAS,
                f"Sending task_enqueued for {len(results)} tasks",
            )
        else:
            # Rows are made as the database takes them: on PostgreSQL, while it loads earlier
            # ones. A row that cannot be made stops the insert, and is raised.
            self._insert_many(results, self._new_rows(results))

    def _new_rows(self, results: Sequence[AnyResult]) -> Iterator[NewRow]:
        columns = self.json_columns
        for i, result in enumerate(results):
            try:
                yield new_row(result, columns)
            except InvalidTaskArgumentsError as e:
                raise InvalidTaskArgumentsError(f"calls[{i}]: {e}") from None

    def _insert_many(self, results: Sequence[AnyResult], rows: Iterable[NewRow]) -> None:
        with transaction.atomic(using=self.database):
            queries = queries_for(self.database)
            with queries.cursor() as cursor:
                now = queries.insert_many(cursor, rows)
            self._enqueued_once_committed(results, now)

    def _insert_many_after_commit(
        self, results: Sequence[AnyResult], rows: Sequence[NewRow]
    ) -> None:
        try:
            self._insert_many(results, rows)
        except Exception:
            logger.exception(
                "Tasks not enqueued count=%s path=%s database=%s: the transaction on %r "
                "committed, but the tasks could not be inserted.",
                len(results),
                results[0].task.module_path,
                self.database,
                DEFAULT_DB_ALIAS,
            )

    # Retries and cancellation.

    @cached_property
    def retry_defaults(self) -> RetryPolicy:
        """The retry policy of a task that sets none of its own options: OPTIONS MAX_ATTEMPTS,
        RETRY_ON and BACKOFF_*. Raises InvalidTaskBackendError if an entry of RETRY_ON is not
        an exception class (``manage.py check`` reports it, django_tasks.E027)."""
        options = self.options
        retry_on = []
        for path in options.RETRY_ON:
            found = exception_class_at(path)
            if isinstance(found, str):
                raise InvalidTaskBackendError(retry_on_message(self.alias, found))
            retry_on.append(found)
        return RetryPolicy(
            max_attempts=options.MAX_ATTEMPTS,
            retry_on=tuple(retry_on),
            backoff=ExponentialBackoff(
                base=options.BACKOFF_SECONDS,
                cap=options.BACKOFF_MAX_SECONDS,
                jitter=options.BACKOFF_JITTER,
            ),
        )

    def cancel(self, result_id: str) -> TaskResult[Any]:
        """See BaseTaskBackend.cancel(). Decided in one statement, which a worker's claim of
        the same row either precedes or follows (they lock the row): a waiting task (NEW)
        becomes CANCELLED and is never started; a RUNNING one is asked to stop, which its
        worker reads at its next heartbeat (``context.cancel_requested``)."""
        pk = self._checked_id(result_id)
        cancelled = cancel_row(self._rows().filter(pk=pk))
        result = self.get_result(result_id)
        if not cancelled and result.is_finished:
            what = "cancelled" if result.is_cancelled else result.status.value
            raise TaskFinishedError(
                f"Task result {result_id!r} has finished ({what}); a finished task cannot be "
                f"cancelled."
            )
        return result

    # Results.

    def get_result(self, result_id: str) -> TaskResult[Any]:
        """See BaseTaskBackend.get_result(); UnreadableResultError for a row that holds a
        value that cannot be read (a time Python's datetime cannot hold, an unknown status)."""
        pk = self._checked_id(result_id)
        rows = self._rows()
        try:
            row = rows.get(pk=pk)
        except rows.model.DoesNotExist:
            raise self._no_result(result_id) from None
        except (DataError, ValueError, OverflowError):  # The driver, or Django, read a time.
            times = rows.model._meta.concrete_fields
            names = [field.name for field in times if isinstance(field, models.DateTimeField)]
            unreadable = unreadable_times(rows, pk, names)
            if not unreadable:
                raise
            raise unreadable_result(str(pk), unreadable) from None
        return result_from_model(row)  # Of its task's dialect.

    def _rows(self) -> "Any":
        # Imported here: models cannot be imported while Django loads the apps, and this module
        # is imported then (INSTALLED_APPS names this package, whose __init__ imports it).
        from django_tasks.backends.database.models import DBTaskResult

        return DBTaskResult.objects.using(self.database).filter(backend=self.alias)

    def _checked_id(self, result_id: object) -> uuid.UUID:
        """The UUID a result id stands for; ResultDoesNotExist if it stands for none."""
        if isinstance(result_id, uuid.UUID):  # A row's primary key, read with the ORM.
            return result_id
        if isinstance(result_id, str) and len(result_id) <= MAX_RESULT_ID_LENGTH:
            try:
                return uuid.UUID(result_id)
            except ValueError:
                pass
        raise self._no_result(result_id)

    def _no_result(self, result_id: object) -> ResultDoesNotExist:
        return ResultDoesNotExist(
            f"No task result with id {result_id!r} in backend {self.alias!r}."
        )

    # Periodic tasks (run by the workers: scheduler.py).

    def schedules(self) -> list[Schedule]:
        """The schedules of this backend: declared in code (``@periodic``), then in
        OPTIONS["SCHEDULES"]. Raises InvalidScheduleError for an invalid one, or for a name
        used by both."""
        declared = schedule_registry.for_backend(self.alias)
        names = {schedule.name for schedule in declared}
        for name, options in self.options.SCHEDULES.items():
            if name in names:
                raise InvalidScheduleError(
                    f"Schedule {name!r} of OPTIONS['SCHEDULES'] of backend {self.alias!r} has "
                    f"the name of a schedule declared in code; rename one of them."
                )
            declared.append(self.schedule_from_options(name, options))
        return declared

    def schedule_from_options(self, name: str, options: ScheduleOptions) -> Schedule:
        """The Schedule of an entry of OPTIONS["SCHEDULES"]; InvalidScheduleError if invalid."""
        return Schedule(
            name=name,
            task_path=options.task,
            backend=self.alias,
            cron=options.cron,
            every=None if options.every is None else timedelta(seconds=options.every),
            time_zone=options.time_zone,
            args=tuple(options.args),
            kwargs=options.kwargs,
            missed=options.missed,
            origin=f"TASKS[{self.alias!r}]['OPTIONS']['SCHEDULES'][{name!r}]",
        )

    def check(self, **kwargs: Any) -> Iterable[checks.CheckMessage]:
        """Report what would stop the queue from working (IDs E020-E029, W020-W029), or one
        of its schedules from running (E070-E075)."""
        yield from super().check(**kwargs)
        yield from check_backend(self, kwargs.get("databases") or ())
        yield from check_schedules(self)
