"""A task with the same name as one in django_tasks_conformance.tasks, in another module."""

from typing import Any

from django_tasks import task


@task
def echo(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return {"args": list(args), "kwargs": kwargs, "module": __name__}
