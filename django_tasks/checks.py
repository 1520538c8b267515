"""System checks of the TASKS setting and of the declared tasks."""

from collections.abc import Iterable, Sequence
from typing import Any

from django.apps import AppConfig
from django.core import checks

from django_tasks.signatures import check_task_signatures


@checks.register("tasks")
def check_tasks(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> Iterable[checks.CheckMessage]:
    """Yield the messages of every configured backend's own check()."""
    from django_tasks import tasks

    for backend in tasks.all():
        yield from backend.check()


# Task signature checks (django_tasks.E030-E039, W030-W039): the annotations of every registered
# task, which @task could not all check at import time. The logic lives in signatures.py.
checks.register(check_task_signatures, "tasks")
