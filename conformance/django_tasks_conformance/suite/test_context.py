"""Django's dialect: @task builds the backend's task_class; the task context of takes_context."""

import pytest

from django_tasks_conformance import clause, needs, requirement
from django_tasks_conformance.dialect import words
from django_tasks_conformance.observe import latest
from django_tasks_conformance.plugin import Suite
from django_tasks_conformance.tasks import plain_function

w = words()
"""The words of the dialect the backend under test speaks."""


@requirement("TASK-DECL-010")
def test_task_builds_the_backends_task_class(suite: Suite) -> None:
    declared = w.task(queue_name="conformance-other")(plain_function)
    with clause("TASK-DECL-010"):
        assert type(declared) is suite.backend.task_class
        assert declared.queue_name == "conformance-other"


@requirement("TASK-CONTEXT-002")
def test_takes_context_needs_a_first_parameter_named_context(suite: Suite) -> None:
    # Imported here: the module exists in Django's dialect only.
    from django_tasks_conformance.context_tasks import without_context

    with clause("TASK-CONTEXT-002"), pytest.raises(w.InvalidTask):
        w.task(takes_context=True)(without_context)


@requirement("TASK-CONTEXT-001")
@needs("execution")
def test_a_task_that_takes_context_gets_it_first(suite: Suite) -> None:
    # Imported here: the module exists in Django's dialect only.
    from django_tasks_conformance.context_tasks import attempt

    with clause("TASK-CONTEXT-001"):
        assert attempt.takes_context is True
    result = attempt.enqueue("first")
    suite.run()
    current = latest(suite, result)
    with clause("TASK-CONTEXT-001"):
        assert current.status == w.SUCCEEDED, (
            f"The task ended {current.status}: {w.traceback(current)}"
        )
        assert current.return_value == {
            "context": "TaskContext",
            "attempt": 1,
            "result_id": result.id,
            "label": "first",
        }
