"""Drop-in fidelity with the reference package (django-tasks 0.6.1): its users' assertions hold.

Our messages are longer and say more; each contains the reference's phrase for the same error, so
``assertRaisesMessage(X, "<the reference's phrase>")`` in a project's tests still passes.
"""

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core import checks
from django.db import connections
from django.db.utils import ConnectionHandler
from django.test import SimpleTestCase, override_settings
from django.utils import timezone

from django_tasks import default_task_backend, task, tasks
from django_tasks.backends.dummy import DummyBackend
from django_tasks.exceptions import InvalidTaskArgumentsError, InvalidTaskError
from tests import tasks as test_tasks

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DUMMY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


def nested_task() -> Any:
    def nested() -> None: ...

    return task(nested)


class ReferencePhrases(SimpleTestCase):
    """The phrases of the reference's own tests and README, asserted as its users do."""

    @override_settings(TASKS=DUMMY)
    def test_an_outcome_read_too_early(self) -> None:
        result = test_tasks.noop.enqueue()
        for attribute in ("return_value", "exception_class", "traceback"):
            with (
                self.subTest(attribute),
                self.assertRaisesMessage(ValueError, "Task has not finished yet"),
            ):
                getattr(result, attribute)

    @override_settings(TASKS=IMMEDIATE)
    def test_run_after_on_a_backend_that_cannot_defer(self) -> None:
        with self.assertRaisesMessage(InvalidTaskError, "Backend does not support run_after"):
            test_tasks.add.using(run_after=timezone.now() + timedelta(hours=1))

    def test_a_function_that_is_not_at_module_level(self) -> None:
        with self.assertRaisesMessage(
            InvalidTaskError, "Task function must be defined at a module level"
        ):
            nested_task()

    def test_a_priority_out_of_range(self) -> None:
        with self.assertRaisesMessage(
            InvalidTaskError, "priority must be a whole number between -100 and 100"
        ):
            test_tasks.add.using(priority=101)

    @override_settings(TASKS=DUMMY)
    def test_a_naive_run_after(self) -> None:
        with self.assertRaisesMessage(InvalidTaskError, "run_after must be an aware datetime"):
            test_tasks.add.using(run_after=datetime(2030, 1, 1))  # Naive on purpose.

    @override_settings(TASKS=IMMEDIATE)
    def test_results_of_a_backend_that_keeps_none(self) -> None:
        result = test_tasks.add.enqueue(1, 2)
        message = "This backend does not support retrieving or refreshing results."
        with self.assertRaisesMessage(NotImplementedError, message):
            default_task_backend.get_result(result.id)
        with self.assertRaisesMessage(NotImplementedError, message):
            result.refresh()

    @override_settings(TASKS={"default": {**IMMEDIATE["default"], "QUEUES": ["default"]}})
    def test_a_queue_the_backend_does_not_allow(self) -> None:
        with self.assertRaisesMessage(InvalidTaskError, "Queue 'mail' is not valid for backend"):
            test_tasks.add.using(queue_name="mail")


@override_settings(TASKS=DUMMY)
def test_an_argument_json_cannot_hold_is_also_a_type_error() -> None:
    """The reference lets json.dumps raise TypeError; code written for it catches that."""
    with pytest.raises(TypeError) as caught:
        test_tasks.echo.enqueue(object())
    assert isinstance(caught.value, InvalidTaskArgumentsError)


def test_enqueue_on_commit_without_a_database_is_an_error_of_the_backends_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As the reference's own test asks: one error, from the backend's check(), whose hint
    says to set ENQUEUE_ON_COMMIT to False."""
    monkeypatch.setattr("django_tasks.backends.base.connections", ConnectionHandler({}))
    setting = {"default": {**DUMMY["default"], "ENQUEUE_ON_COMMIT": True}}
    with override_settings(TASKS=setting):
        errors = list(tasks["default"].check())
    assert [(type(error), error.id) for error in errors] == [(checks.Error, "django_tasks.E060")]
    assert "Set `ENQUEUE_ON_COMMIT` to False" in str(errors[0].hint)
    assert "`ENQUEUE_ON_COMMIT` cannot be used when no databases are configured" in errors[0].msg
    assert "default" in connections.settings  # The real handler is untouched.


def test_the_dummy_backend_stores_what_enqueue_returned_a_copy_of(dummy: DummyBackend) -> None:
    """The reference's refresh() test: change the stored result, and refresh() shows it."""
    result = test_tasks.add.enqueue(1, 2)
    stored = dummy.results[0]
    object.__setattr__(stored, "status", "SUCCEEDED")  # As the reference's test does.
    assert result.status == "NEW"
    result.refresh()
    assert result.status == "SUCCEEDED"
