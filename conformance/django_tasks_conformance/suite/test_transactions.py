"""Enqueueing on commit: waiting for the default database's transaction, or not."""

from typing import Any

import pytest
from django.db import transaction

from django_tasks_conformance import clause, needs, requirement
from django_tasks_conformance.dialect import words
from django_tasks_conformance.harness import ALIASES
from django_tasks_conformance.observe import Sent, captured
from django_tasks_conformance.plugin import Suite
from django_tasks_conformance.tasks import noop, plain_function

w = words()
"""The words of the dialect the backend under test speaks."""


class RollbackError(Exception):
    """Raised to roll a transaction back."""


def _is_stored(suite: Suite, result: Any) -> bool | None:
    """Whether the backend holds the result; None if the suite cannot tell."""
    if suite.harness.has_back_door:
        return suite.harness.stored(result.id) is not None
    if suite.capabilities["supports_get_result"]:
        try:
            suite.backend.get_result(result.id)
        except w.ResultDoesNotExist:
            return False
        return True
    return None


@requirement("TASK-COMMIT-001", "TASK-TIME-001", "TASK-SIGNAL-001")
@needs("database")
def test_a_task_enqueued_in_a_transaction_waits_for_the_commit(suite: Suite) -> None:
    suite.require("TASK-COMMIT-001")  # TIME-001 and SIGNAL-001 say "after the commit" in ours.
    with captured(w.task_enqueued) as sent:
        with transaction.atomic():
            result = noop.enqueue()
            with clause("TASK-COMMIT-001"):
                assert result.enqueued_at is None
                assert sent == []
        with clause("TASK-SIGNAL-001"):
            assert [s.result_id for s in sent] == [result.id]
    with clause("TASK-TIME-001"):
        assert result.enqueued_at is not None
    with clause("TASK-COMMIT-001"):
        assert _is_stored(suite, result) in (True, None)


@requirement("TASK-COMMIT-002")
@needs("database")
def test_a_task_of_a_rolled_back_transaction_is_never_enqueued(suite: Suite) -> None:
    enqueued: list[Any] = []

    def enqueue_then_roll_back() -> None:
        with transaction.atomic():
            enqueued.append(noop.enqueue())
            raise RollbackError

    with captured(w.task_enqueued, w.task_started) as sent:
        with pytest.raises(RollbackError):
            enqueue_then_roll_back()
        suite.run()
    (result,) = enqueued
    with clause("TASK-COMMIT-002"):
        assert sent == []
        assert result.enqueued_at is None
        assert _is_stored(suite, result) in (False, None)


@requirement("TASK-COMMIT-003", "TASK-SIGNAL-001")
def test_outside_a_transaction_a_task_is_enqueued_at_once(suite: Suite) -> None:
    with captured(w.task_enqueued) as sent:
        result = noop.enqueue()
        with clause("TASK-COMMIT-003"):
            assert result.enqueued_at is not None
            assert _is_stored(suite, result) in (True, None)
        with clause("TASK-SIGNAL-001"):  # A backend that never sends it breaks only this clause.
            assert [s.result_id for s in sent] == [result.id]


@requirement("TASK-COMMIT-004")
@needs("database")
def test_enqueue_on_commit_false_enqueues_at_once_in_a_transaction(suite: Suite) -> None:
    eager = w.task(enqueue_on_commit=False)(plain_function)
    with captured(w.task_enqueued) as sent:
        with transaction.atomic():
            results: list[Any] = [
                noop.using(backend=ALIASES["no_commit"]).enqueue(),
                eager.enqueue(),
            ]
            announced = [s.result_id for s in sent]
            for result in results:
                with clause("TASK-COMMIT-004"):
                    if result.id in announced:  # Enqueued and announced at once.
                        assert result.enqueued_at is not None
                    else:  # Written into the transaction, announced when it commits.
                        assert result.enqueued_at is None
                        assert _is_stored(suite, result) is True, (
                            "Neither announced nor stored before the commit."
                        )
        with clause("TASK-COMMIT-004"):
            assert [s.result_id for s in sent] == [result.id for result in results]
            assert all(result.enqueued_at is not None for result in results)


@requirement("TASK-COMMIT-004")
@needs("database")
def test_a_task_announced_at_the_commit_rolls_back_with_the_transaction(suite: Suite) -> None:
    enqueued: list[tuple[Any, bool]] = []

    def enqueue_then_roll_back(sent: list[Sent]) -> None:
        with transaction.atomic():
            result = noop.using(backend=ALIASES["no_commit"]).enqueue()
            enqueued.append((result, bool(sent)))
            raise RollbackError

    with captured(w.task_enqueued) as sent, pytest.raises(RollbackError):
        enqueue_then_roll_back(sent)
    ((result, announced_at_once),) = enqueued
    with clause("TASK-COMMIT-004"):
        if announced_at_once:  # Enqueued at once: the rollback does not undo it.
            assert [s.result_id for s in sent] == [result.id]
            assert _is_stored(suite, result) in (True, None)
        else:  # Announced only at the commit, so it must have been part of the transaction.
            assert sent == []
            assert result.enqueued_at is None
            assert _is_stored(suite, result) in (False, None)


@requirement("TASK-COMMIT-005")
@needs("database")
def test_the_tasks_own_setting_wins_over_the_backends(suite: Suite) -> None:
    waits = w.task(enqueue_on_commit=True, backend=ALIASES["no_commit"])(plain_function)
    with captured(w.task_enqueued) as sent:
        with transaction.atomic():
            result = waits.enqueue()
            with clause("TASK-COMMIT-005"):
                assert sent == []
                assert result.enqueued_at is None
        with clause("TASK-COMMIT-005"):
            assert [s.result_id for s in sent] == [result.id]
