"""When enqueueing waits for the commit: one policy for enqueue, aenqueue and bulk_enqueue.

Django never runs on-commit callbacks on a database that does not autocommit, so a task that
waits for such a commit would never be enqueued: every way of enqueueing refuses it instead.
"""

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections, transaction
from django.test import override_settings

from django_tasks import tasks
from django_tasks.backends.database import DatabaseBackend
from django_tasks.backends.database.models import DBTaskResult
from django_tasks.exceptions import InvalidTaskBackendError
from tests.database.conftest import tasks_setting
from tests.tasks import add, never_waits

MANUAL_COMMIT = (
    "ENQUEUE_ON_COMMIT of backend 'default' is True, but DATABASES['default'] has AUTOCOMMIT "
    "False, so on-commit hooks never run and tasks enqueued in a transaction would never be "
    "enqueued."
)

Enqueue = Callable[[DatabaseBackend], Any]

WAYS: list[Any] = [
    pytest.param(lambda backend: add.enqueue(1, 2), id="enqueue"),
    pytest.param(lambda backend: backend.bulk_enqueue(add, [((1, 2), {})]), id="bulk_enqueue"),
]


@pytest.fixture
def manual_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    """DATABASES['default'] with AUTOCOMMIT False (a copy: open connections keep theirs)."""
    default = {**connections.settings["default"], "AUTOCOMMIT": False}
    monkeypatch.setitem(connections.settings, "default", default)


@pytest.mark.django_db(databases=["default", "postgres"], transaction=True)
@pytest.mark.usefixtures("manual_commit")
@pytest.mark.parametrize("queue", ["default", "postgres"])
@pytest.mark.parametrize("enqueue", WAYS)
def test_a_task_that_would_wait_for_a_commit_that_never_runs_its_hooks_is_refused(
    queue: str, enqueue: Enqueue
) -> None:
    with override_settings(TASKS=tasks_setting(queue)):
        backend = tasks["default"]
        assert isinstance(backend, DatabaseBackend)
        refused = pytest.raises(InvalidTaskBackendError, match=f"^{re.escape(MANUAL_COMMIT)}$")
        with transaction.atomic(), refused:
            enqueue(backend)
        assert not DBTaskResult.objects.using(queue).exists()


@pytest.mark.django_db(databases=["default", "postgres"], transaction=True)
@pytest.mark.usefixtures("manual_commit")
def test_a_task_that_does_not_wait_is_enqueued_at_once_in_any_way() -> None:
    with override_settings(TASKS=tasks_setting("postgres")):
        backend = tasks["default"]
        assert isinstance(backend, DatabaseBackend)
        with transaction.atomic():
            one = never_waits.enqueue()
            many = backend.bulk_enqueue(never_waits, [((), {}), ((), {})])
        rows = DBTaskResult.objects.using("postgres")
        assert {str(pk) for pk in rows.values_list("pk", flat=True)} == {
            one.id,
            *(result.id for result in many),
        }
