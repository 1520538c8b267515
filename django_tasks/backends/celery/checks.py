"""The system checks of the Celery backend: django_tasks.E050-E059 and W050-W059.

Each message says what would stop tasks from running or results from being read, in which
setting, and how to fix it. They read the Celery app's configuration and never connect to the
broker or the result backend.
"""

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from celery import Celery
from django.apps import apps
from django.core import checks
from kombu.transport import TRANSPORT_ALIASES

from django_tasks.backends.celery.engine import (
    AMQP,
    REDIS,
    CeleryAppNotFoundError,
    broker_kind,
    celery_queue,
    find_app,
    priority_scale,
    redis_priority_steps,
    redis_steps_problem,
    result_backend_problem,
)
from django_tasks.registry import task_registry
from django_tasks.task import DEFAULT_PRIORITY, DEFAULT_QUEUE_NAME

if TYPE_CHECKING:
    from django_tasks.backends.celery.backend import CeleryBackend

APP_NAME = "django_tasks.backends.celery"
URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
RABBITMQ_MAX_MESSAGE_SIZE = 16 * 2**20
"""RabbitMQ's max_message_size by default since RabbitMQ 4.0 (128 MiB before). RabbitMQ closes
the channel of a larger message: the message is lost without an error to the sender."""
MESSAGE_GROWTH = 3
"""How many bytes of a message one byte of arguments (as MAX_JSON_BYTES counts it) takes at
most: Celery's JSON escapes every character beyond ASCII ("é", 2 bytes of UTF-8, becomes
\\u00e9)."""
MESSAGE_ROOM = 65_536
"""Bytes of a message besides the arguments: the record's other fields, Celery's headers."""


def check_backend(backend: "CeleryBackend") -> Iterable[checks.CheckMessage]:
    """The messages of CeleryBackend.check()."""
    where = f"TASKS[{backend.alias!r}]"
    if not apps.is_installed(APP_NAME):
        yield checks.Error(
            f"{where} uses the Celery backend, but {APP_NAME!r} is not in INSTALLED_APPS, so "
            f"Celery workers do not know the task that runs ours (django_tasks.run) and "
            f"discard its messages.",
            hint=f"Add {APP_NAME!r} to INSTALLED_APPS.",
            id="django_tasks.E050",
        )
    try:
        app = find_app(backend.options.APP, backend.alias)
    except CeleryAppNotFoundError as e:
        yield checks.Error(
            str(e),
            hint="Set OPTIONS['APP'] to the dotted path of your Celery app, such as "
            "'proj.celery.app'.",
            id="django_tasks.E051",
        )
        return
    broker_problems = list(_check_broker_urls(where, app))
    yield from broker_problems
    yield from _check_result_backend(where, app)
    yield from _check_serializer(where, app)
    if broker_problems:  # What follows depends on the broker's transport.
        return
    try:
        kind = broker_kind(app)
    except Exception as e:  # The transport's library is not installed, for one.
        yield checks.Error(
            f"{where} uses the Celery app {app.main!r}, whose broker transport cannot be "
            f"loaded: {type(e).__name__}: {e}.",
            hint="Install the library of the broker's transport (pip install 'celery[redis]').",
            id="django_tasks.E052",
        )
        return
    yield from _check_priorities(backend, where, app, kind)
    if kind == AMQP:
        yield from _check_message_size(backend, where, app)


def _check_broker_urls(where: str, app: Celery) -> Iterable[checks.CheckMessage]:
    conf = app.conf
    for setting in ("broker_url", "broker_write_url", "broker_read_url"):
        value = conf.get(setting)
        if value is None:
            continue  # Celery's default (or broker_url's) applies.
        for url in str(value).split(";") if isinstance(value, str) else [value]:
            problem = _url_problem(url)
            if problem:
                yield checks.Error(
                    f"{where} uses the Celery app {app.main!r}, whose {setting} {url!r} {problem}.",
                    hint="Write it as TRANSPORT://[USER:PASSWORD@]HOST[:PORT][/VHOST], such as "
                    "'amqp://guest:guest@localhost:5672//' or 'redis://localhost:6379/0'.",
                    id="django_tasks.E052",
                )


def _url_problem(url: Any) -> str | None:
    if not isinstance(url, str):
        return f"is a {type(url).__name__}, not a URL"
    match = URL_SCHEME.match(url.strip())
    if match is None:
        return "is not a URL (it has no TRANSPORT:// scheme)"
    transport = match.group(1).split("+", 1)[0]
    if transport not in TRANSPORT_ALIASES:
        return f"names transport {transport!r}, which kombu does not know"
    return None


def _check_result_backend(where: str, app: Celery) -> Iterable[checks.CheckMessage]:
    problem = result_backend_problem(app)
    if problem:
        yield checks.Error(
            f"{where} uses the Celery app {app.main!r}, whose result_backend {problem}.",
            hint="Use a key-value result backend such as Redis (result_backend = "
            "'redis://localhost:6379/1'), Valkey, memcached or the file system.",
            id="django_tasks.E053",
        )


def _check_serializer(where: str, app: Celery) -> Iterable[checks.CheckMessage]:
    accepted = {str(name) for name in app.conf.accept_content or ()}
    if not accepted & {"json", "application/json"}:
        yield checks.Error(
            f"{where} sends JSON messages, but the Celery app {app.main!r} accepts only "
            f"{sorted(accepted)} (accept_content), so its workers refuse them.",
            hint="Add 'json' to accept_content.",
            id="django_tasks.E055",
        )


def _check_priorities(
    backend: "CeleryBackend", where: str, app: Celery, kind: str
) -> Iterable[checks.CheckMessage]:
    if kind == REDIS:
        steps = redis_priority_steps(app)
        problem = redis_steps_problem(steps)
        if problem:
            yield checks.Error(
                f"{where} uses the Celery app {app.main!r}, whose Redis priority_steps "
                f"{steps!r} kombu cannot use: {problem}.",
                hint="Set broker_transport_options['priority_steps'] to list(range(10)) (or "
                "remove it for kombu's [0, 3, 6, 9]).",
                id="django_tasks.E054",
            )
            return
    prioritised = sorted(
        task.module_path
        for task in task_registry
        if task.backend == backend.alias and task.priority != DEFAULT_PRIORITY
    )
    if not prioritised:
        return  # Priorities are used with using() only, if at all: nothing to warn about yet.
    queues = sorted(backend.queues) or [DEFAULT_QUEUE_NAME]
    ignored = [
        queue for queue in queues if priority_scale(app, kind, celery_queue(app, queue)) is None
    ]
    if ignored:
        yield checks.Warning(
            f"{where} has tasks with priorities ({', '.join(prioritised[:3])}), but the "
            f"{kind} broker of the Celery app {app.main!r} ignores message priorities on "
            f"queues {ignored}, so they start in the order they were enqueued.",
            hint=_PRIORITY_HINTS.get(kind, "Use RabbitMQ or Redis as the broker."),
            id="django_tasks.W050",
        )
    multiplier = app.conf.worker_prefetch_multiplier
    if len(ignored) < len(queues) and multiplier != 1:
        yield checks.Warning(
            f"{where} has tasks with priorities ({', '.join(prioritised[:3])}), but the "
            f"Celery app {app.main!r} has worker_prefetch_multiplier {multiplier!r}: each "
            f"worker process reserves that many tasks in the order they arrive, and "
            f"priorities only order the tasks still in the broker.",
            hint="Set worker_prefetch_multiplier = 1.",
            id="django_tasks.W051",
        )


def _check_message_size(
    backend: "CeleryBackend", where: str, app: Celery
) -> Iterable[checks.CheckMessage]:
    largest = backend.options.MAX_JSON_BYTES
    needed = MESSAGE_GROWTH * largest + MESSAGE_ROOM
    if needed > RABBITMQ_MAX_MESSAGE_SIZE:
        lower = (RABBITMQ_MAX_MESSAGE_SIZE - MESSAGE_ROOM) // MESSAGE_GROWTH
        yield checks.Warning(
            f"{where}['OPTIONS']['MAX_JSON_BYTES'] is {largest:,}, but then a message to the "
            f"RabbitMQ broker of the Celery app {app.main!r} takes up to {needed:,} bytes "
            f"(Celery's JSON escapes characters beyond ASCII), more than RabbitMQ's default "
            f"max_message_size ({RABBITMQ_MAX_MESSAGE_SIZE:,} bytes since RabbitMQ 4.0), and "
            f"RabbitMQ drops a larger message without telling the sender.",
            hint=f"Lower MAX_JSON_BYTES to {lower:,} or less, or set max_message_size to "
            f"{needed:,} or more in rabbitmq.conf and silence django_tasks.W052.",
            id="django_tasks.W052",
        )


_PRIORITY_HINTS = {
    AMQP: "Declare the queues with x-max-priority: set task_queue_max_priority (10, or up to "
    "255 for more levels).",
    REDIS: "Set broker_transport_options['priority_steps'] = list(range(10)).",
}
