"""Enqueueing on commit: ENQUEUE_ON_COMMIT and a task's enqueue_on_commit.

The contract (waiting for the commit, a rollback, the settings that change it; the result's
fields, get_result, call) is checked for every shipped backend by the conformance suite; what is
here is what it does not check: this project's messages, nesting, and cases the suite cannot
reach for these backends.
"""

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from pytest_django import DjangoCaptureOnCommitCallbacks

from django_tasks import ResultStatus
from django_tasks.backends.dummy import DummyBackend
from django_tasks.signals import task_enqueued
from tests import tasks as test_tasks

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parent.parent


def test_a_receiver_that_raises_after_the_commit_stops_no_other_callback(
    dummy: DummyBackend, caplog: pytest.LogCaptureFixture
) -> None:
    """Raised from an on-commit callback, the error would come out of the end of atomic(),
    after the commit, and Django would skip the callbacks after it: the next task's among them."""

    def receiver(sender: type, *, task_result: Any, **kwargs: Any) -> None:
        if task_result.args == [1, 2]:
            raise RuntimeError("A receiver's bug.")

    ran: list[str] = []
    task_enqueued.connect(receiver)
    try:
        with transaction.atomic():
            first = test_tasks.add.enqueue(1, 2)
            second = test_tasks.add.enqueue(3, 4)
            transaction.on_commit(lambda: ran.append("project"))
    finally:
        task_enqueued.disconnect(receiver)
    assert dummy.results == [first, second]
    assert ran == ["project"]
    assert (
        f"Enqueueing task id={first.id} path={test_tasks.add.module_path} failed after the "
        f"commit of database 'default'; the on-commit callbacks after it still run."
    ) in caplog.text
    assert "RuntimeError: A receiver's bug." in caplog.text


def test_immediate_backend_runs_after_the_commit() -> None:
    with transaction.atomic():
        result = test_tasks.add.enqueue(1, 2)
        statuses = [result.status]
    statuses.append(result.status)
    assert statuses == [ResultStatus.NEW, ResultStatus.SUCCEEDED]
    assert result.return_value == 3


def test_nested_atomic_waits_for_the_outermost_commit(dummy: DummyBackend) -> None:
    with transaction.atomic():
        with transaction.atomic():
            test_tasks.noop.enqueue()
        assert dummy.results == []
    assert len(dummy.results) == 1


def test_rolled_back_savepoint_drops_its_tasks(dummy: DummyBackend) -> None:
    with transaction.atomic():
        kept = test_tasks.noop.enqueue()
        try:
            with transaction.atomic():
                test_tasks.noop.enqueue()
                raise RuntimeError("Roll back the savepoint.")
        except RuntimeError:
            pass
    assert dummy.results == [kept]


def test_no_database_configured_never_defers() -> None:
    # A project without DATABASES: run in a process of its own, configured from scratch.
    script = """
import django
from django.conf import settings

settings.configure(
    INSTALLED_APPS=["django_tasks"],
    TASKS={"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}},
)
django.setup()
from django_tasks import default_task_backend
from tests import tasks

assert not default_task_backend.waits_for_commit(tasks.always_waits)
tasks.always_waits.enqueue()
print(len(default_task_backend.results))
"""
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert output.stdout == "1\n"


@pytest.mark.django_db(transaction=False)
def test_captured_on_commit_callbacks(
    dummy: DummyBackend, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        test_tasks.noop.enqueue()
        assert dummy.results == []
    assert len(callbacks) == 1
    assert len(dummy.results) == 1
