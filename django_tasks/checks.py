"""System checks of the TASKS setting and of the declared tasks."""

from collections.abc import Iterable, Sequence
from typing import Any

from django.apps import AppConfig
from django.core import checks


@checks.register("tasks")
def check_tasks(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> Iterable[checks.CheckMessage]:
    """Yield the messages of every configured backend's own check()."""
    from django_tasks import tasks

    for backend in tasks.all():
        yield from backend.check()
