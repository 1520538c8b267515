"""Unique tasks in Django's dialect: keys declared through ``django.tasks.task`` (Django 6.1
passes its keyword arguments to our ``task_class``) or given with ``using()``, and the
waiting task's result read back as Django's."""

import pytest
from django.tasks import TaskResultStatus, task
from django.tasks.base import TaskResult as DjangoTaskResult

from django_tasks.backends.database import DatabaseBackend
from django_tasks.backends.database.models import DBTaskResult
from tests.django6.tasks import multiply, rollup


def test_a_key_declared_with_django_s_task_decorator_keeps_the_task_unique(
    backend: DatabaseBackend,
) -> None:
    unique = task(unique_key="nightly-rollup", unique_while_running=True)(rollup)  # type: ignore[call-overload]  # django-stubs types @task without task_class's keywords.
    assert (unique.unique_key, unique.unique_while_running) == ("nightly-rollup", True)
    first = unique.enqueue("2026-12-05")
    second = unique.enqueue("2026-12-06")

    assert isinstance(second, DjangoTaskResult)
    assert second.id == first.id
    assert second.status == TaskResultStatus.READY
    assert second.args == ["2026-12-05"]
    rows = DBTaskResult.objects.using(backend.database)
    assert list(rows.values_list("unique_key", "unique_while_running")) == [
        ("nightly-rollup", True)
    ]


@pytest.mark.parametrize("key", ["a", "b"])
def test_using_gives_a_django_task_a_key(backend: DatabaseBackend, key: str) -> None:
    keyed = multiply.using(unique_key=key)  # type: ignore[call-arg]  # django-stubs types Django's using(); ours takes the key.
    assert keyed.enqueue(1, 2).id == keyed.enqueue(3, 4).id
    assert multiply.enqueue(1, 2).id != keyed.enqueue(1, 2).id
