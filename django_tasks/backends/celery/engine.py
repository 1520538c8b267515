"""What the Celery backend reads from the project's Celery app: which app it is, the Celery
queue a task goes to, and how our priorities map onto the broker's.

Nothing here connects to the broker or the result backend: the app's configuration says it all.
"""

import itertools
from dataclasses import dataclass
from typing import Any

import celery._state
from celery import Celery
from celery.app.backends import by_url
from celery.backends.base import BaseKeyValueStoreBackend
from django.utils.module_loading import import_string
from kombu import Connection

from django_tasks.exceptions import InvalidTaskBackendError
from django_tasks.task import DEFAULT_QUEUE_NAME, MAX_PRIORITY, MIN_PRIORITY

AMQP, REDIS = "amqp", "redis"
"""The kinds of broker (kombu's ``driver_type``) whose message priorities the backend uses."""

REDIS_PRIORITY_STEPS = (0, 3, 6, 9)
"""kombu's default ``priority_steps`` for the Redis transport."""

REDIS_MAX_PRIORITY = 9
"""The largest priority kombu's Redis transport keeps (0 is the highest)."""

PRIORITY_RANGE = MAX_PRIORITY - MIN_PRIORITY + 1


class CeleryAppNotFoundError(InvalidTaskBackendError):
    """No Celery app can be found for the backend."""


def find_app(path: str | None, alias: str) -> Celery:
    """The Celery app at ``path``, or the project's only one; CeleryAppNotFoundError if none."""
    where = f"TASKS[{alias!r}]['OPTIONS']['APP']"
    if path is not None:
        try:
            app = import_string(path)
        except ImportError as e:
            raise CeleryAppNotFoundError(
                f"{where} is {path!r}, which cannot be imported: {e}."
            ) from e
        if not isinstance(app, Celery):
            raise CeleryAppNotFoundError(
                f"{where} is {path!r}, which is a {type(app).__name__!r} object, not a Celery "
                f"app; name the Celery() instance of the project (usually 'proj.celery.app')."
            )
        return app
    apps = project_apps()
    if len(apps) == 1:
        return apps[0]
    if not apps:
        raise CeleryAppNotFoundError(
            f"Backend {alias!r} found no Celery app: none has been created in this process. "
            f"Create it as Celery's Django guide does (proj/celery.py, imported from "
            f"proj/__init__.py), or set {where} to its dotted path."
        )
    names = sorted(app.main or "?" for app in apps)
    raise CeleryAppNotFoundError(
        f"Backend {alias!r} found {len(apps)} Celery apps ({', '.join(names)}) and cannot tell "
        f"which one runs its tasks; set {where} to the dotted path of one."
    )


def project_apps() -> list[Celery]:
    """The Celery apps created in this process, less the fallback Celery makes for itself.

    Celery's own notion of the current app is per thread (an app made in the main thread is
    not current in a request thread, which gets a fallback app with default settings), so the
    backend looks at every app created instead. The registry of apps is private to Celery
    (``shared_task`` relies on it the same way).
    """
    fallback = celery._state.default_app  # type: ignore[attr-defined]  # private Celery API
    return [
        app
        for app in list(celery._state._get_active_apps())  # type: ignore[attr-defined]  # private
        if not (app is fallback and app.main == "default" and not app.set_as_current)
    ]


def result_backend_problem(app: Celery) -> str | None:
    """Why the app's result backend cannot keep the backend's results, as the end of a
    sentence about ``result_backend``; None if it can.

    The backend keeps one record per task under the task's key, which any process can read
    back: it needs one of Celery's key-value result backends (Redis, Valkey, memcached, the
    file system...). The backend is found from its URL, without connecting to it.
    """
    url = app.conf.result_backend
    try:
        found: Any = by_url(url or "disabled", app.loader)  # (class, url); the stub says class.
        backend_class = found[0]
    except Exception as e:  # An unknown name, a backend whose library is missing...
        return f"{url!r} cannot be loaded ({type(e).__name__}: {e})"
    if isinstance(backend_class, type) and issubclass(backend_class, BaseKeyValueStoreBackend):
        return None
    if not url or url == "disabled":
        return "is not set, so Celery keeps no results and get_result() has nothing to read"
    if str(url).startswith("rpc"):
        return (
            f"is {url!r}, which sends each result to the process that sent the task, so "
            f"get_result() cannot read it from another process"
        )
    name = getattr(backend_class, "__name__", str(backend_class))
    return (
        f"is {url!r} ({name}), which does not keep results as one value per key, as the "
        f"backend needs for get_result()"
    )


def broker_kind(app: Celery) -> str:
    """The broker's kind, as kombu names it (``amqp`` for RabbitMQ, ``redis``, ``sqs``...)."""
    connection: Connection = app.connection_for_write()
    try:
        return str(connection.transport.driver_type)
    finally:
        connection.release()


def celery_queue(app: Celery, queue_name: str) -> str:
    """The Celery queue of one of our queues: the queue ``default`` is Celery's default queue
    (``task_default_queue``, ``celery`` unless configured); any other name is the Celery queue
    of that name."""
    if queue_name == DEFAULT_QUEUE_NAME:
        return str(app.conf.task_default_queue)
    return queue_name


@dataclass(frozen=True, slots=True)
class PriorityScale:
    """The broker priorities a queue has, highest first: where our priorities go."""

    values: tuple[int, ...]
    """The broker's priority value of each level, from the highest priority to the lowest."""

    def broker_priority(self, priority: int) -> int:
        """The broker priority of one of ours: -100..100 split into as many equal bands as the
        broker has levels, the highest band on the highest level."""
        band = (MAX_PRIORITY - priority) * len(self.values) // PRIORITY_RANGE
        return self.values[band]

    @property
    def exact(self) -> bool:
        """Whether every one of our priorities has a level of its own."""
        return len(self.values) >= PRIORITY_RANGE


def priority_scale(app: Celery, kind: str, queue: str) -> PriorityScale | None:
    """The priority levels of a Celery queue, or None if the broker ignores priorities there.

    RabbitMQ: the queue's ``x-max-priority`` (``task_queue_max_priority``, or the queue's own
    arguments in ``task_queues``), levels 0 to that, higher first. Redis: kombu keeps one list
    per ``priority_steps`` entry (``broker_transport_options``), 0 first.
    """
    if kind == AMQP:
        maximum = max_priority(app, queue)
        if not maximum:
            return None
        return PriorityScale(tuple(range(maximum, -1, -1)))
    if kind == REDIS:
        steps = redis_priority_steps(app)
        if len(steps) < 2 or redis_steps_problem(steps) is not None:
            return None
        return PriorityScale(tuple(steps))
    return None


def max_priority(app: Celery, queue: str) -> int | None:
    """The ``x-max-priority`` a RabbitMQ queue is declared with by this app, if any."""
    try:
        declared = app.amqp.queues[queue]
    except KeyError:  # task_create_missing_queues is off and the queue is not in task_queues.
        return None
    arguments: dict[str, Any] = declared.queue_arguments or {}
    value = arguments.get("x-max-priority", getattr(declared, "max_priority", None))
    return value if isinstance(value, int) and value > 0 else None


def redis_priority_steps(app: Celery) -> list[Any]:
    """The ``priority_steps`` of the Redis transport, as configured (or kombu's default)."""
    options: dict[str, Any] = app.conf.broker_transport_options or {}
    return list(options.get("priority_steps", REDIS_PRIORITY_STEPS))


def redis_steps_problem(steps: list[Any]) -> str | None:
    """What is wrong with Redis ``priority_steps``, as kombu uses them; None if nothing.

    kombu files a message under the last step at or below its priority (0-9), so the steps must
    be distinct whole numbers from 0 to 9, in increasing order, starting with 0.
    """
    if not all(type(step) is int and 0 <= step <= REDIS_MAX_PRIORITY for step in steps):
        return "each step must be a whole number from 0 to 9"
    if not steps or steps[0] != 0:
        return "the first step must be 0"
    if any(later <= earlier for earlier, later in itertools.pairwise(steps)):
        return "the steps must increase"
    return None
