"""``manage.py prune_db_task_results``: delete old finished results. The work is in
pruning.py."""

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from django_tasks.backends.database.management.arguments import (
    add_backend_argument,
    database_backend,
    non_negative,
    queue_names,
)
from django_tasks.backends.database.pruning import prune_results


class Command(BaseCommand):
    help = (
        "Delete the finished (SUCCEEDED or FAILED) results of a database backend that are "
        "older than a minimum age. Tasks still queued or running are never deleted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_backend_argument(parser)
        parser.add_argument(
            "--queue-name",
            action="append",
            metavar="NAME",
            help="Only prune this queue (several separated by commas, or the option "
            "repeated). Default: every queue.",
        )
        parser.add_argument(
            "--min-age-days",
            type=non_negative("days"),
            default=14.0,
            metavar="DAYS",
            help="Delete results that finished more than DAYS days ago (fractions allowed). "
            "Default: 14.",
        )
        parser.add_argument(
            "--failed-min-age-days",
            type=non_negative("days"),
            metavar="DAYS",
            help="The same for FAILED results, if they should be kept for another time. "
            "Default: --min-age-days.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Count the results that would be deleted; delete nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        backend = database_backend(
            options["backend"], "prune_db_task_results prunes only the results of a DatabaseBackend"
        )
        min_age = options["min_age_days"]
        failed_min_age = options["failed_min_age_days"]
        queues = queue_names(options["queue_name"]) if options["queue_name"] else None
        pruned = prune_results(
            backend,
            min_age=timedelta(days=min_age),
            failed_min_age=timedelta(days=min_age if failed_min_age is None else failed_min_age),
            queues=queues,
            dry_run=options["dry_run"],
        )
        verb = "Would delete" if options["dry_run"] else "Deleted"
        self.stdout.write(
            f"{verb} {pruned.total} task result{'' if pruned.total == 1 else 's'} "
            f"({pruned.succeeded} succeeded, {pruned.failed} failed)."
        )
