"""A task with the same name as one in django_tasks_conformance.tasks, in another module."""

from typing import TYPE_CHECKING, Any

from django_tasks_conformance.dialect import words

if TYPE_CHECKING:  # The type checker reads them as tasks of our dialect...
    from django_tasks import task
else:  # ...and they are declared in the dialect the backend under test speaks.
    task = words().task


@task
def echo(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return {"args": list(args), "kwargs": kwargs, "module": __name__}
