"""The Celery backend's system checks (django_tasks.E050-E055, W050-W052), on real Celery apps
configured the way each check refuses; none connects to a broker."""

import re
from typing import Any

import pytest
from django.core import checks
from django.test import override_settings

from django_tasks import tasks
from django_tasks.exceptions import InvalidTaskSettingError
from tests.celery.conftest import BACKEND_PATH


def messages(app: str, **setting: Any) -> list[tuple[str, str]]:
    """The (id, message) of what the backend's check() reports with the Celery app ``app``."""
    configuration = {"BACKEND": BACKEND_PATH, "OPTIONS": {"APP": app}, **setting}
    with override_settings(TASKS={"default": configuration}):
        return [(message.id or "", message.msg) for message in tasks["default"].check()]


def only(app: str, **setting: Any) -> tuple[str, str]:
    found = messages(app, **setting)
    assert len(found) == 1, found
    return found[0]


def test_a_well_configured_app_passes() -> None:
    assert messages("tests.celery.apps.rabbitmq") == []
    assert messages("tests.celery.apps.redis") == []


def test_the_app_must_be_installed() -> None:
    with override_settings(INSTALLED_APPS=["django_tasks", "tests"]):
        found = messages("tests.celery.apps.redis")
    assert found == [
        (
            "django_tasks.E050",
            "TASKS['default'] uses the Celery backend, but 'django_tasks.backends.celery' is not "
            "in INSTALLED_APPS, so Celery workers do not know the task that runs ours "
            "(django_tasks.run) and discard its messages.",
        )
    ]


@pytest.mark.parametrize(
    ("app", "message"),
    [
        (
            "tests.celery.check_apps.missing",
            "TASKS['default']['OPTIONS']['APP'] is 'tests.celery.check_apps.missing', which "
            'cannot be imported: Module "tests.celery.check_apps" does not define a '
            '"missing" attribute/class.',
        ),
        (
            "tests.celery.check_apps.not_a_celery_app",
            "TASKS['default']['OPTIONS']['APP'] is 'tests.celery.check_apps.not_a_celery_app', "
            "which is a 'object' object, not a Celery app; name the Celery() instance of the "
            "project (usually 'proj.celery.app').",
        ),
    ],
)
def test_the_app_must_be_found(app: str, message: str) -> None:
    assert only(app) == ("django_tasks.E051", message)


@pytest.mark.parametrize(
    ("app", "problem"),
    [
        ("bad_broker_url", "broker_url 'localhost:5672' is not a URL (it has no TRANSPORT:// "),
        ("unknown_transport", "broker_url 'rabbit://x//' names transport 'rabbit', which kombu"),
    ],
)
def test_the_broker_url_must_be_a_url_of_a_known_transport(app: str, problem: str) -> None:
    check_id, message = only(f"tests.celery.check_apps.{app}")
    assert check_id == "django_tasks.E052"
    assert problem in message


@pytest.mark.parametrize(
    ("app", "problem"),
    [
        (
            "no_results",
            "whose result_backend is not set, so Celery keeps no results and get_result() has "
            "nothing to read",
        ),
        (
            "rpc_results",
            "whose result_backend is 'rpc://', which sends each result to the process that sent "
            "the task, so get_result() cannot read it from another process",
        ),
        (
            "mongodb_results",
            "whose result_backend is 'mongodb://x/r' (MongoBackend), which does not keep "
            "results as one value per key, as the backend needs for get_result()",
        ),
        (
            "unloadable_results",
            "whose result_backend 'db+sqlite:///results.sqlite3' cannot be loaded "
            "(ModuleNotFoundError: No module named 'sqlalchemy')",
        ),
    ],
)
def test_the_result_backend_must_keep_results_by_key(app: str, problem: str) -> None:
    found = messages(f"tests.celery.check_apps.{app}")
    assert [check_id for check_id, _ in found] == ["django_tasks.E053"]
    assert problem in found[0][1]


def test_redis_priority_steps_must_be_usable() -> None:
    assert only("tests.celery.check_apps.bad_priority_steps") == (
        "django_tasks.E054",
        "TASKS['default'] uses the Celery app 'bad-priority-steps', whose Redis priority_steps "
        "[3, 6, 12] kombu cannot use: each step must be a whole number from 0 to 9.",
    )


def test_the_app_must_accept_json() -> None:
    assert only("tests.celery.check_apps.pickle_only") == (
        "django_tasks.E055",
        "TASKS['default'] sends JSON messages, but the Celery app 'pickle-only' accepts only "
        "['pickle'] (accept_content), so its workers refuse them.",
    )


def test_tasks_with_priorities_need_queue_priorities() -> None:
    """tests.tasks.prioritised has priority 10; RabbitMQ ignores it without x-max-priority."""
    check_id, message = only("tests.celery.check_apps.no_queue_priorities")
    assert check_id == "django_tasks.W050"
    assert message.startswith("TASKS['default'] has tasks with priorities (")
    assert "tests.tasks.prioritised" in message
    assert message.endswith(
        "but the amqp broker of the Celery app 'no-queue-priorities' ignores message "
        "priorities on queues ['default'], so they start in the order they were enqueued."
    )


def test_tasks_with_priorities_need_one_task_reserved_at_a_time() -> None:
    check_id, message = only("tests.celery.check_apps.prefetching")
    assert check_id == "django_tasks.W051"
    assert re.search(r"has worker_prefetch_multiplier 4: each worker process reserves", message)


def test_max_json_bytes_must_keep_messages_within_rabbitmqs_default_size() -> None:
    """At 5,570,560 bytes of arguments (all "é"), a message takes 3 times as many, plus the
    record's other fields: 16 MiB, RabbitMQ 4's max_message_size."""
    rabbitmq = "tests.celery.apps.rabbitmq"
    assert messages(rabbitmq, OPTIONS={"APP": rabbitmq, "MAX_JSON_BYTES": 5_570_560}) == []
    assert only(rabbitmq, OPTIONS={"APP": rabbitmq, "MAX_JSON_BYTES": 6_000_000}) == (
        "django_tasks.W052",
        "TASKS['default']['OPTIONS']['MAX_JSON_BYTES'] is 6,000,000, but then a message to the "
        "RabbitMQ broker of the Celery app 'rabbitmq' takes up to 18,065,536 bytes (Celery's "
        "JSON escapes characters beyond ASCII), more than RabbitMQ's default max_message_size "
        "(16,777,216 bytes since RabbitMQ 4.0), and RabbitMQ drops a larger message without "
        "telling the sender.",
    )
    redis = "tests.celery.apps.redis"  # Redis takes values of up to 512 MiB.
    assert messages(redis, OPTIONS={"APP": redis, "MAX_JSON_BYTES": 6_000_000}) == []


def test_queue_names_follow_the_rule_of_every_backend() -> None:
    """django_tasks.E040: a worker could not select such a queue (celery worker --queues
    splits its value at commas too)."""
    configuration = {
        "BACKEND": BACKEND_PATH,
        "QUEUES": ["default", "a,b"],
        "OPTIONS": {"APP": "tests.celery.apps.redis"},
    }
    with override_settings(TASKS={"default": configuration}):
        found = [(message.id, message.obj) for message in checks.run_checks()]
    assert ("django_tasks.E040", "TASKS['default']['QUEUES'][1]") in found


def test_the_checks_run_with_manage_py_check() -> None:
    """They are the backend's own check(), which `manage.py check` runs for each backend."""
    configuration = {
        "BACKEND": BACKEND_PATH,
        "OPTIONS": {"APP": "tests.celery.check_apps.pickle_only"},
    }
    with override_settings(TASKS={"default": configuration}):
        found = checks.run_checks()
    assert "django_tasks.E055" in [message.id for message in found]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"APP": "proj/celery.py"},
            "TASKS['default']['OPTIONS']['APP']: String should match pattern",
        ),
        (
            {"MAX_ATTEMPTS": 0},
            "TASKS['default']['OPTIONS']['MAX_ATTEMPTS']: Input should be greater than or equal "
            "to 1",
        ),
        (
            {"MAX_JSON_BYTES": 0},
            "TASKS['default']['OPTIONS']['MAX_JSON_BYTES']: Input should be greater than or "
            "equal to 1",
        ),
        ({"QUEUE_PREFIX": "x"}, "TASKS['default']['OPTIONS']['QUEUE_PREFIX']: Unknown option"),
    ],
)
def test_options_are_validated(options: dict[str, Any], message: str) -> None:
    with (
        override_settings(TASKS={"default": {"BACKEND": BACKEND_PATH, "OPTIONS": options}}),
        pytest.raises(InvalidTaskSettingError, match=re.escape(message)),
    ):
        tasks["default"]
