"""What the tests of the system checks share: the settings they use, the functions they
declare as tasks, and how they run the checks."""

import re
from collections.abc import Sequence
from pathlib import Path

from django.core import checks

IMMEDIATE = "django_tasks.backends.immediate.ImmediateBackend"
DUMMY = "django_tasks.backends.dummy.DummyBackend"
KEYS = "a backend configuration takes 'BACKEND', 'QUEUES', 'ENQUEUE_ON_COMMIT' and 'OPTIONS'"
E007_HINT = f"Write the full import path of the backend class, such as {IMMEDIATE!r}."
E012_HINT = "Write the queue name as a string, or remove it."
E015_HINT = "See the documentation of backend 'tests.backends.OptionsBackend' for its options."
ROOT = Path(__file__).resolve().parents[2]


def send_report() -> None:
    """A module-level function that the tests declare as tasks."""


def send_report_async() -> None:
    """Another one."""


def run_checks(*, deploy: bool = False) -> list[checks.CheckMessage]:
    return checks.run_checks(tags=["tasks"], include_deployment_checks=deploy)


def as_raised(messages: Sequence[checks.CheckMessage]) -> str:
    """What the task API raises for these setting problems: ``location: message hint``."""
    return "\n".join(f"{message.obj}: {message.msg} {message.hint}" for message in messages)


def exactly(text: str) -> str:
    return f"^{re.escape(text)}$"


MANUAL_COMMIT_MESSAGE = (
    "{subject}, but DATABASES['default'] has AUTOCOMMIT False, so on-commit hooks never run "
    "and tasks enqueued in a transaction would never be enqueued."
)


DEPLOY_HINT = (
    "In production, use a backend that runs tasks in worker processes, such as "
    "'django_tasks.backends.database.DatabaseBackend'."
)
