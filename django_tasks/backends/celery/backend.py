"""CeleryBackend: tasks travel through the project's Celery broker; its workers run them.

Enqueueing writes the task's record (status NEW) to Celery's result backend, then publishes it
as the one argument of ``django_tasks.run``, the Celery task that runs any of our tasks (see
tasks.py and worker.py): no task of ours is registered with Celery. The record is written
first so that a worker, which updates it, can never be overtaken by it; if the message cannot
be sent, the record is removed again. ``task_enqueued`` is sent once the broker has the
message.

Waiting for the transaction to commit is the base class's policy: nothing is written or sent
before the commit. Whatever can be wrong with a task is raised by enqueue() itself, before
anything waits for the commit: its arguments' size (MAX_JSON_BYTES) and its Celery queue are
checked first. What fails after the commit (the broker is unreachable) is logged, at ERROR,
and the on-commit callbacks after it, other tasks' among them, still run.
"""

from collections.abc import Iterable
from functools import cached_property, partial
from typing import Any, ClassVar, TypeAlias, cast

from celery import Celery
from celery.backends.base import BaseKeyValueStoreBackend
from celery.utils.saferepr import saferepr
from django.core import checks
from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone

from django_tasks import tracing
from django_tasks.backends.base import BaseTaskBackend, on_commit_logged
from django_tasks.backends.celery.checks import check_backend
from django_tasks.backends.celery.engine import (
    AMQP,
    PriorityScale,
    broker_kind,
    celery_queue,
    find_app,
    priority_scale,
    result_backend_problem,
)
from django_tasks.backends.celery.options import CeleryOptions
from django_tasks.backends.celery.records import MalformedRecordError, Record, ResultStore
from django_tasks.exceptions import InvalidTaskBackendError, InvalidTaskError, ResultDoesNotExist
from django_tasks.results import AnyResult
from django_tasks.serialization import JSONLimit
from django_tasks.signals import task_enqueued
from django_tasks.task import MAX_RESULT_ID_LENGTH, TaskResult

RUN_TASK = "django_tasks.run"
TRACE_HEADER = "django_tasks_trace_context"
"""The message header that carries the enqueueing span's trace context (django_tasks.tracing):
its text fields (``traceparent``...), apart from Celery's own instrumentation's headers."""
"""The name of the Celery task that runs our tasks in Celery's workers."""

ARGUMENTS_REPR_LENGTH = 1024
"""How much of a task's arguments Celery's logs and monitoring show (Celery's default)."""

MAX_QUEUE_NAME_LENGTH = 255
"""The longest queue name RabbitMQ accepts (an AMQP short string, of bytes: a queue name is
ASCII)."""

RESERVED_PREFIX = "amq."
"""RabbitMQ refuses to declare a queue whose name starts with this."""

Route: TypeAlias = tuple[str, PriorityScale | None]
"""The Celery queue a task is sent to, and the priority levels the broker has there."""


class CeleryBackend(BaseTaskBackend):
    """Sends tasks through the project's Celery app; ``celery worker`` processes run them."""

    # Can tasks be enqueued with run_after?
    supports_defer: bool = True

    # Can coroutine functions be enqueued?
    supports_async_task: bool = True

    # Can a result be retrieved by id, from any thread or process?
    supports_get_result: bool = True

    # Is a task with a higher priority started before one with a lower priority?
    supports_priority: bool = True

    options_schema: ClassVar[type[CeleryOptions]] = CeleryOptions
    options: CeleryOptions

    def __init__(self, alias: str, params: Any) -> None:
        super().__init__(alias, params)
        self._app: Celery | None = None
        self._store: ResultStore | None = None
        self._broker_kind: str | None = None
        self._routes: dict[str, Route] = {}

    @property
    def app(self) -> Celery:
        """The project's Celery app (OPTIONS["APP"], or the only one there is), found at first
        use: the app may be created after the backend."""
        if self._app is None:
            self._app = find_app(self.options.APP, self.alias)
        return self._app

    @property
    def broker_kind(self) -> str:
        """The kind of the Celery app's broker, as kombu names it (``amqp``, ``redis``...)."""
        if self._broker_kind is None:
            self._broker_kind = broker_kind(self.app)
        return self._broker_kind

    @property
    def store(self) -> ResultStore:
        """Where results are kept: the Celery app's result backend."""
        if self._store is None:
            app = self.app
            problem = result_backend_problem(app)
            if problem is not None:
                raise InvalidTaskBackendError(
                    f"TASKS[{self.alias!r}] uses the Celery app {app.main!r}, whose "
                    f"result_backend {problem}."
                )
            self._store = ResultStore(cast(BaseKeyValueStoreBackend, app.backend))
        return self._store

    @cached_property
    def json_limit(self) -> JSONLimit:
        """How much JSON data a task's arguments, or its return value, may take."""
        return JSONLimit(backend=self.alias, max_bytes=self.options.MAX_JSON_BYTES)

    # Enqueueing.

    def _enqueue(self, result: AnyResult) -> None:
        self._send(result, self._checked_route(result))

    def _enqueue_on_commit(self, result: AnyResult) -> None:
        # Checked now, so that enqueue() raises whatever is wrong with the task.
        route = self._checked_route(result)
        on_commit_logged(
            tracing.carried(partial(self._send, result, route)),
            DEFAULT_DB_ALIAS,
            f"Enqueueing task id={result.id} path={result.task.module_path}",
        )

    def _checked_route(self, result: AnyResult) -> Route:
        """The route of a new result's task; InvalidTaskArgumentsError if its arguments take
        more than MAX_JSON_BYTES, InvalidTaskError if its queue cannot be used, and
        InvalidTaskBackendError if the result backend cannot keep its record."""
        task = result.task
        self.json_limit.arguments(task.module_path, result.args, result.kwargs)
        self.store  # noqa: B018  # The property checks the result backend, without connecting.
        return self._route(task.queue_name)

    def _send(self, result: AnyResult, route: Route) -> None:
        """Store the NEW record, publish the message, then send task_enqueued."""
        task = result.task
        queue, scale = route
        enqueued_at = timezone.now()
        record = Record.of(result).model_copy(update={"enqueued_at": enqueued_at})
        text = record.model_dump_json()
        trace_context = tracing.carrier()  # The enqueueing span's (tracing.producing).
        with self.store.creating(record, text):
            self.app.send_task(
                RUN_TASK,
                args=[text],
                task_id=result.id,
                queue=queue,
                priority=None if scale is None else scale.broker_priority(task.priority),
                eta=task.run_after,
                shadow=task.module_path,  # The name Celery's logs and tools show.
                argsrepr=saferepr(result.args, ARGUMENTS_REPR_LENGTH),
                kwargsrepr=saferepr(result.kwargs, ARGUMENTS_REPR_LENGTH),
                ignore_result=True,  # The worker stores the record; no Celery result to wait on.
                serializer="json",
                headers=None if trace_context is None else {TRACE_HEADER: trace_context},
            )
        result._update(enqueued_at=enqueued_at)
        task_enqueued.send(type(self), task_result=result)

    def _route(self, queue_name: str) -> Route:
        """The Celery queue of one of our queues, and its priority levels."""
        route = self._routes.get(queue_name)
        if route is None:
            app = self.app
            queue = celery_queue(app, queue_name)
            if len(queue) > MAX_QUEUE_NAME_LENGTH:
                raise InvalidTaskError(
                    f"Queue {queue_name!r} is {len(queue)} characters long; a Celery queue "
                    f"name is at most {MAX_QUEUE_NAME_LENGTH} characters."
                )
            if queue.startswith(RESERVED_PREFIX) and self.broker_kind == AMQP:
                raise InvalidTaskError(
                    f"Queue {queue_name!r} is the Celery queue {queue!r}, which RabbitMQ "
                    f"refuses: names that start with {RESERVED_PREFIX!r} are its own; rename "
                    f"the queue."
                )
            if not app.conf.task_create_missing_queues and queue not in app.amqp.queues:
                raise InvalidTaskError(
                    f"Queue {queue_name!r} is the Celery queue {queue!r}, which the Celery app "
                    f"does not declare (task_queues), and task_create_missing_queues is False; "
                    f"add it to task_queues."
                )
            route = (queue, priority_scale(app, self.broker_kind, queue))
            self._routes[queue_name] = route
        return route

    # Results.

    def get_result(self, result_id: str) -> TaskResult[Any]:
        if not _possible_id(result_id):
            raise self._no_result(result_id)
        try:
            record = self.store.read(result_id)
        except MalformedRecordError as e:
            raise ResultDoesNotExist(str(e)) from None
        if record is None or record.id != result_id or record.backend != self.alias:
            raise self._no_result(result_id)
        return record.result()  # Of its task's dialect.

    def _no_result(self, result_id: object) -> ResultDoesNotExist:
        return ResultDoesNotExist(
            f"No task result with id {result_id!r} in backend {self.alias!r}."
        )

    def check(self, **kwargs: Any) -> Iterable[checks.CheckMessage]:
        """Report what would stop tasks from running (IDs E050-E059, W050-W059)."""
        yield from super().check(**kwargs)
        yield from check_backend(self)


def _possible_id(result_id: object) -> bool:
    """Whether ``result_id`` could be the id of a result: a string of 1-64 characters."""
    return isinstance(result_id, str) and 0 < len(result_id) <= MAX_RESULT_ID_LENGTH
