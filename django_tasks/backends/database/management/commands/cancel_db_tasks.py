"""``manage.py cancel_db_tasks ID [ID ...]``: cancel tasks of a database backend. The work is
the backend's cancel()."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_tasks.backends.database.management.arguments import (
    add_backend_argument,
    database_backend,
)
from django_tasks.exceptions import ResultDoesNotExist, TaskFinishedError


class Command(BaseCommand):
    help = (
        "Cancel tasks by result id: a task that has not started never runs and ends cancelled; "
        "a running one is asked to stop (it stops where it checks its context). A finished "
        "task cannot be cancelled."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ids", nargs="+", metavar="ID", help="A task result id.")
        add_backend_argument(parser, dest="backend")

    def handle(self, *args: Any, **options: Any) -> None:
        backend = database_backend(
            options["backend"], "cancel_db_tasks cancels only the tasks of a DatabaseBackend"
        )
        problems = []
        for result_id in options["ids"]:
            try:
                result = backend.cancel(result_id)
            except (TaskFinishedError, ResultDoesNotExist) as e:
                problems.append(str(e))
                continue
            what = "cancelled" if result.is_finished else "asked to stop (it is running)"
            self.stdout.write(f"{result_id}: {what}")
        if problems:
            raise CommandError("\n".join(problems))
