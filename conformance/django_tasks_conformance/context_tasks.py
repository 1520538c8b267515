"""Tasks that take the task context (Django's dialect only): imported only when it is spoken."""

from typing import Any

from django_tasks_conformance.dialect import words

task = words().task
"""Django's @task (the suite imports this module only when it speaks Django's dialect)."""


@task(takes_context=True)  # type: ignore[untyped-decorator]  # Any dialect's @task.
def attempt(context: Any, label: str) -> dict[str, Any]:
    """Return what the context says about the run, and the argument after it."""
    return {
        "context": type(context).__name__,
        "attempt": context.attempt,
        "result_id": context.task_result.id,
        "label": label,
    }


def without_context(label: str) -> str:
    """Not a task: declared with takes_context=True at run time, where InvalidTask is expected."""
    return label
