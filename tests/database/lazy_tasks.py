"""A task module that nothing imports: a worker finds its task by importing it on demand."""

from django_tasks import task


@task
def lazy() -> str:
    return "found"


def plain() -> None:
    """Not a task."""
