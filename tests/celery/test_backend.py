"""The Celery backend without a worker: finding the app, routing, results, and what happens
when the broker or the result backend cannot take a task."""

import json
import os
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings
from kombu.exceptions import OperationalError

from django_tasks import tasks
from django_tasks.backends.celery import CeleryBackend
from django_tasks.backends.celery.engine import CeleryAppNotFoundError, PriorityScale
from django_tasks.exceptions import (
    InvalidTaskArgumentsError,
    InvalidTaskBackendError,
    InvalidTaskError,
    ResultDoesNotExist,
)
from django_tasks.signals import task_enqueued
from django_tasks.task import ResultStatus
from tests import tasks as fixture_tasks
from tests.celery import apps
from tests.celery.conftest import BACKEND_PATH, ROOT, tasks_setting
from tests.helpers import captured


def test_a_new_task_is_readable_before_a_worker_takes_it(backend: CeleryBackend) -> None:
    result = fixture_tasks.echo.using(queue_name=f"{apps.NAMESPACE}.nobody").enqueue(1, a=2)

    fetched = backend.get_result(result.id)

    assert fetched.status == ResultStatus.NEW
    assert (fetched.args, fetched.kwargs) == ([1], {"a": 2})
    assert fetched.enqueued_at == result.enqueued_at
    assert fetched.task.queue_name == f"{apps.NAMESPACE}.nobody"
    assert (fetched.attempts, fetched.worker_ids, fetched.started_at) == (0, [], None)


def test_the_default_queue_is_celerys_default_queue(backend: CeleryBackend) -> None:
    assert backend._route("default")[0] == f"{apps.NAMESPACE}.default"
    assert backend._route("emails")[0] == "emails"


def test_results_of_other_backends_and_other_celery_tasks_do_not_exist(
    broker: str, backend: CeleryBackend
) -> None:
    plain = backend.store.backend
    meta = {"status": "SUCCESS", "result": 42, "task_id": "plain-celery-task"}
    client(backend).set(plain.get_key_for_task("plain-celery-task"), plain.encode(meta))
    for result_id in ("plain-celery-task", "unknown", "x" * 65, ""):
        with pytest.raises(ResultDoesNotExist):
            backend.get_result(result_id)
    result = fixture_tasks.noop.using(queue_name=f"{apps.NAMESPACE}.nobody").enqueue()
    with (
        override_settings(
            TASKS={**tasks_setting(broker), "other": tasks_setting(broker)["default"]}
        ),
        pytest.raises(
            ResultDoesNotExist,
            match=f"^No task result with id '{result.id}' in backend 'other'.$",
        ),
    ):
        tasks["other"].get_result(result.id)


def test_a_deferred_task_keeps_its_record_until_it_has_run(backend: CeleryBackend) -> None:
    in_two_days = fixture_tasks.noop.using(
        run_after=timedelta(days=2), queue_name=f"{apps.NAMESPACE}.nobody"
    ).enqueue()

    ttl = client(backend).ttl(backend.store.key(in_two_days.id))

    assert ttl >= timedelta(days=3).total_seconds()  # Two days to wait, one to be read after.


def test_nothing_is_left_when_the_broker_cannot_take_the_task(broker: str) -> None:
    setting = tasks_setting(broker, app="tests.celery.check_apps.unreachable_broker")
    with override_settings(TASKS=setting), captured(task_enqueued) as sent:
        backend = tasks["default"]
        assert isinstance(backend, CeleryBackend)
        before = stored_keys(backend)
        with pytest.raises(OperationalError):
            fixture_tasks.noop.enqueue()
        assert stored_keys(backend) == before
    assert sent == []


def stored_keys(backend: CeleryBackend) -> set[bytes]:
    """The keys of this run's results (a prefix of their own)."""
    return set(client(backend).scan_iter(match=f"{apps.NAMESPACE}:*"))


def client(backend: CeleryBackend) -> Any:
    """The Redis client of the backend's result backend."""
    return getattr(backend.store.backend, "client")  # noqa: B009  # RedisBackend's, untyped.


def test_a_result_backend_that_cannot_keep_results_refuses_the_task(broker: str) -> None:
    with (
        override_settings(TASKS=tasks_setting(broker, app="tests.celery.check_apps.rpc_results")),
        pytest.raises(
            InvalidTaskBackendError,
            match=r"^TASKS\['default'\] uses the Celery app 'rpc-results', whose result_backend "
            r"is 'rpc://', which sends each result",
        ),
    ):
        fixture_tasks.noop.enqueue()


def test_a_queue_celery_does_not_declare_is_refused_when_it_creates_none(broker: str) -> None:
    app = "tests.celery.check_apps.declared_queues_only"
    with (
        override_settings(TASKS=tasks_setting(broker, app=app)),
        pytest.raises(
            InvalidTaskError,
            match=r"^Queue 'emails' is the Celery queue 'emails', which the Celery app does not "
            r"declare \(task_queues\), and task_create_missing_queues is False; add it to "
            r"task_queues\.$",
        ),
    ):
        fixture_tasks.noop.using(queue_name="emails").enqueue()


def test_priorities_map_onto_the_brokers_levels() -> None:
    exact = PriorityScale(tuple(range(200, -1, -1)))  # RabbitMQ, x-max-priority 200.
    assert [exact.broker_priority(p) for p in (100, 1, 0, -1, -100)] == [200, 101, 100, 99, 0]
    redis = PriorityScale(tuple(range(10)))  # Redis: 0 first.
    assert [redis.broker_priority(p) for p in (100, 80, 79, 19, 0, -1, -100)] == [
        0,
        0,
        1,
        4,
        4,
        5,
        9,
    ]
    default_redis = PriorityScale((0, 3, 6, 9))
    assert [default_redis.broker_priority(p) for p in (100, 50, 49, 0, -1, -51)] == [
        0,
        0,
        3,
        3,
        6,
        9,
    ]


def test_several_celery_apps_need_the_app_option() -> None:
    with override_settings(TASKS={"default": {"BACKEND": BACKEND_PATH}}):
        backend = tasks["default"]
        assert isinstance(backend, CeleryBackend)
        with pytest.raises(CeleryAppNotFoundError, match=r"found \d+ Celery apps \("):
            backend.app  # noqa: B018  # The property finds the app.


@pytest.mark.parametrize(
    ("create", "found"),
    [
        ("app = Celery('proj')", "proj"),
        ("", "Backend 'default' found no Celery app: none has been created in this process."),
    ],
)
def test_without_the_app_option_the_projects_only_app_is_used(create: str, found: str) -> None:
    """In a process of its own: Celery's app registry is per process."""
    script = (
        "import django\n"
        "from celery import Celery\n"
        f"{create}\n"
        "django.setup()\n"
        "from django_tasks import tasks\n"
        "try:\n"
        "    print(tasks['default'].app.main)\n"
        "except Exception as e:\n"
        "    print(e)\n"
    )
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.worker_settings",
        "DJANGO_TASKS_TEST_TASKS": json.dumps({"default": {"BACKEND": BACKEND_PATH}}),
        "PYTHONPATH": str(ROOT),
    }
    completed = subprocess.run(
        [sys.executable, "-c", script],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert completed.stdout.startswith(found), completed.stdout + completed.stderr


def test_a_queue_rabbitmq_reserves_is_refused_there(broker: str, backend: CeleryBackend) -> None:
    """RabbitMQ refuses to declare a queue whose name starts with "amq."; Redis has no such rule."""
    if broker == "redis":
        assert backend._route("amq.reports")[0] == "amq.reports"
        return
    with pytest.raises(
        InvalidTaskError,
        match=r"^Queue 'amq\.reports' is the Celery queue 'amq\.reports', which RabbitMQ "
        r"refuses: names that start with 'amq\.' are its own; rename the queue\.$",
    ):
        fixture_tasks.noop.using(queue_name="amq.reports").enqueue()


def test_a_queue_name_of_other_characters_is_refused_before_the_backend_sees_it(
    backend: CeleryBackend,
) -> None:
    """Celery's worker --queues splits its value at commas, as db_worker --queue-name does."""
    with pytest.raises(InvalidTaskError, match=r"^Queue name 'a,b' has characters a queue name "):
        fixture_tasks.noop.using(queue_name="a,b")


@pytest.mark.django_db(transaction=True)
def test_what_is_wrong_with_a_task_is_raised_by_enqueue_not_after_the_commit(
    broker: str, backend: CeleryBackend
) -> None:
    """Enqueueing waits for the commit, but the task's arguments, queue and result backend are
    checked at once: after the commit, an error could only be logged."""
    waiting = f"{apps.NAMESPACE}.nobody"
    with captured(task_enqueued) as sent, transaction.atomic():
        with pytest.raises(InvalidTaskArgumentsError, match=r"^The arguments of task "):
            fixture_tasks.echo.using(queue_name=waiting).enqueue("é" * 600_000)
        with pytest.raises(InvalidTaskError, match=r"^Queue '.{256}' is 256 characters long; "):
            fixture_tasks.noop.using(queue_name="q" * 256).enqueue()
        with (
            override_settings(
                TASKS=tasks_setting(broker, app="tests.celery.check_apps.rpc_results")
            ),
            pytest.raises(InvalidTaskBackendError, match=r"whose result_backend is 'rpc://'"),
        ):
            fixture_tasks.noop.enqueue()
        kept = fixture_tasks.noop.using(queue_name=waiting).enqueue()
    assert [result.id for _, result in sent] == [kept.id]
    assert backend.get_result(kept.id).status == ResultStatus.NEW


@pytest.mark.django_db(transaction=True)
def test_a_broker_that_cannot_take_a_task_after_the_commit_stops_no_other_callback(
    broker: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Raised from its on-commit callback, the broker's error would come out of the end of
    atomic(), after the commit, and Django would skip the callbacks after it."""
    setting = {
        **tasks_setting(broker),
        "unreachable": tasks_setting(broker, app="tests.celery.check_apps.unreachable_broker")[
            "default"
        ],
    }
    ran: list[str] = []
    with override_settings(TASKS=setting), captured(task_enqueued) as sent:
        with transaction.atomic():
            lost = fixture_tasks.noop.using(backend="unreachable").enqueue()
            kept = fixture_tasks.noop.using(queue_name=f"{apps.NAMESPACE}.nobody").enqueue()
            transaction.on_commit(lambda: ran.append("project"))
        assert tasks["default"].get_result(kept.id).status == ResultStatus.NEW
        with pytest.raises(ResultDoesNotExist):
            tasks["unreachable"].get_result(lost.id)  # Its record was removed again.
    assert [result.id for _, result in sent] == [kept.id]
    assert ran == ["project"]
    assert (
        f"Enqueueing task id={lost.id} path={fixture_tasks.noop.module_path} failed after the "
        f"commit of "
        f"database 'default'; the on-commit callbacks after it still run."
    ) in caplog.text
    assert "kombu.exceptions.OperationalError" in caplog.text
