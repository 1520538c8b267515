"""Arguments and return values through the Celery backend: the same JSON types come back
through the broker (Celery's json serializer) and the result backend, and what is larger than
MAX_JSON_BYTES is refused at enqueue, naming the limit, with nothing stored or sent."""

import re
from typing import Any

import pytest
from celery import Celery
from django.test import override_settings

from django_tasks import tasks
from django_tasks.backends.celery import CeleryBackend
from django_tasks.exceptions import InvalidTaskArgumentsError, StorageError
from django_tasks.serialization import MAX_INT_DIGITS
from django_tasks.signals import task_enqueued
from django_tasks.task import ResultStatus
from django_tasks_conformance.harnesses.celery import purge
from tests.celery import apps
from tests.celery.conftest import CeleryWorker, finished, tasks_setting
from tests.database.tasks import text_of_bytes
from tests.helpers import FLOATS, KWARGS, captured, refused_arguments, same_json
from tests.tasks import add, echo

WAITING = f"{apps.NAMESPACE}.json-waiting"
"""A queue no worker takes tasks from: its tasks stay NEW."""

ENVELOPE = len('{"args":[""],"kwargs":{}}')
"""The bytes of the JSON of one string argument, besides the string."""


def test_floats_come_back_as_floats_through_the_broker_and_the_result_backend(
    backend: CeleryBackend, worker: CeleryWorker
) -> None:
    """The task gets its arguments from the message, and returns them: floats Python writes
    with an exponent (1e20) stay floats on the way there and back."""
    done = finished(echo.enqueue(*FLOATS, **KWARGS))

    assert done.status == ResultStatus.SUCCEEDED, done.traceback
    assert same_json(done.args, FLOATS), done.args
    assert same_json(done.kwargs, KWARGS), done.kwargs
    assert same_json(done.return_value, {"args": FLOATS, "kwargs": KWARGS}), done.return_value


def test_a_waiting_tasks_floats_are_floats(backend: CeleryBackend) -> None:
    waiting = echo.using(queue_name=WAITING).enqueue(*FLOATS, **KWARGS)

    found = backend.get_result(waiting.id)

    assert found.status == ResultStatus.NEW
    assert same_json(found.args, FLOATS), found.args
    assert same_json(found.kwargs, KWARGS), found.kwargs


def test_ints_of_up_to_4300_digits_cross_both_ways(
    backend: CeleryBackend, worker: CeleryWorker
) -> None:
    largest = 10**MAX_INT_DIGITS - 1

    done = finished(echo.enqueue(largest, -largest))

    assert done.status == ResultStatus.SUCCEEDED, done.traceback
    assert done.return_value == {"args": [largest, -largest], "kwargs": {}}


def test_arguments_larger_than_max_json_bytes_are_refused_before_anything_is_sent(
    backend: CeleryBackend,
) -> None:
    """10 MB of text beyond ASCII would be a 30 MB message (Celery's JSON escapes each "é"
    as \\u00e9), which RabbitMQ 4 drops without telling the sender."""
    purge(backend.app, [WAITING])
    size = ENVELOPE + 10_000_000
    with (
        captured(task_enqueued) as sent,
        pytest.raises(InvalidTaskArgumentsError, match=f"^{re.escape(refused_arguments(size))}$"),
    ):
        echo.using(queue_name=WAITING).enqueue("é" * 5_000_000)

    assert sent == []
    echo.using(queue_name=WAITING).enqueue("small")
    assert removed_messages(backend.app, WAITING) == 1  # The small task's message, alone.


def test_the_default_limit_takes_the_largest_arguments_and_return_value(
    backend: CeleryBackend, worker: CeleryWorker
) -> None:
    """1 MiB of the text that grows most in Celery's JSON ("é": 2 bytes of UTF-8, 6 once
    escaped) runs, and its return value (the same, as JSON) is stored."""
    assert backend.options.MAX_JSON_BYTES == 2**20
    largest = text_of_bytes.call(2**20 - ENVELOPE)

    done = finished(echo.enqueue(largest))

    assert done.status == ResultStatus.SUCCEEDED, done.traceback
    assert done.args == [largest]
    assert done.return_value == {"args": [largest], "kwargs": {}}
    with pytest.raises(InvalidTaskArgumentsError, match=re.escape(refused_arguments(2**20 + 1))):
        echo.enqueue(largest + "x")


def test_max_json_bytes_is_an_option(broker: str) -> None:
    with override_settings(TASKS=tasks_setting(broker, MAX_JSON_BYTES=100)):
        backend = tasks["default"]
        assert isinstance(backend, CeleryBackend)
        echo.using(queue_name=WAITING).enqueue("x" * (100 - ENVELOPE))
        echo.using(queue_name=WAITING).enqueue("é" * ((100 - ENVELOPE) // 2))  # UTF-8 bytes.
        for too_large in ("x" * (101 - ENVELOPE), "é" * ((100 - ENVELOPE) // 2 + 1)):
            with pytest.raises(
                InvalidTaskArgumentsError, match=re.escape(refused_arguments(101, limit=100))
            ):
                echo.using(queue_name=WAITING).enqueue(too_large)


def test_a_return_value_larger_than_max_json_bytes_fails_its_task_alone(
    backend: CeleryBackend, worker: CeleryWorker
) -> None:
    too_large = text_of_bytes.enqueue(10_000_000)
    after = add.enqueue(1, 2)

    failed = finished(too_large)

    assert (failed.status, failed.exception_class) == (ResultStatus.FAILED, StorageError)
    assert failed.traceback == (
        "django_tasks.exceptions.StorageError: The task finished (SUCCEEDED), but its outcome "
        "could not be stored: its return value takes 10,000,002 bytes as JSON, more than "
        "backend 'default' stores (OPTIONS['MAX_JSON_BYTES'] is 1,048,576); return a "
        "reference to the data instead\n"
    )
    assert (failed.attempts, failed.worker_ids) == (1, [worker.node])
    assert failed.started_at is not None
    assert failed.finished_at is not None
    assert backend.app.AsyncResult(failed.id).state == "FAILURE"
    assert f"Task outcome not stored id={failed.id} path=tests.database.tasks.text_of_bytes: " in (
        worker.output()
    )
    assert finished(after).return_value == 3


def removed_messages(app: Celery, queue: str) -> int:
    """Remove the messages waiting in a Celery queue, and say how many there were."""
    with app.connection_for_write() as connection:
        channel: Any = connection.channel()  # kombu's stub lacks queue_purge().
        try:
            return int(channel.queue_purge(queue) or 0)
        finally:
            channel.close()
