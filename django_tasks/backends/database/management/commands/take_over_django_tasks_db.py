"""``manage.py take_over_django_tasks_db``: move django-tasks-db's queued tasks to a
DatabaseBackend. The work is in takeover.py."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_tasks.backends.database.management.arguments import (
    add_backend_argument,
    database_backend,
)
from django_tasks.backends.database.takeover import BATCH_SIZE, TakeOverError, take_over


class Command(BaseCommand):
    help = (
        "Move the tasks django-tasks-db still has queued (READY) to a DatabaseBackend, keeping "
        "their ids; its running and finished rows stay where they are. Both apps must be "
        "installed, on the same database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_backend_argument(parser, dest="backend")
        parser.add_argument(
            "--from-backend",
            metavar="ALIAS",
            help="The alias django-tasks-db's rows name (its backend_name). Default: --backend.",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_SIZE,
            metavar="N",
            help=f"Tasks moved per transaction. Default: {BATCH_SIZE}.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        backend = database_backend(
            options["backend"], "take_over_django_tasks_db moves tasks to a DatabaseBackend"
        )
        if options["batch_size"] < 1:
            raise CommandError(f"--batch-size {options['batch_size']} must be 1 or more.")
        source = options["from_backend"] or backend.alias
        try:
            taken = take_over(backend, source, batch_size=options["batch_size"])
        except TakeOverError as e:
            raise CommandError(str(e)) from None
        self.stdout.write(
            f"Moved {taken.moved} queued task{'' if taken.moved == 1 else 's'} of "
            f"django-tasks-db's backend {source!r} to backend {backend.alias!r}; "
            f"{taken.left} running or finished row{'' if taken.left == 1 else 's'} left in "
            f"its table."
        )
