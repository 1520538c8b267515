"""``manage.py prune_db_task_results``: delete old finished results. The work is in
pruning.py."""

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from django_tasks.backends.database.management.arguments import (
    add_backend_argument,
    database_backend,
    queue_names,
    zero_or_more,
)
from django_tasks.backends.database.pruning import prune_results

_DAYS = zero_or_more("a number of days")


class Command(BaseCommand):
    help = (
        "Delete the finished (SUCCEEDED or FAILED) results of a database backend that are "
        "older than a minimum age. Tasks still queued or running are never deleted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_backend_argument(parser, dest="backend")
        parser.add_argument(
            "--queue-name",
            action="append",
            metavar="NAME",
            help="The queue to prune: a name, several separated by commas (or the option "
            "repeated), or '*' for every queue. Default: 'default'.",
        )
        parser.add_argument(
            "--min-age-days",
            type=_DAYS,
            default=14.0,
            metavar="DAYS",
            help="Delete results that finished more than DAYS days ago (fractions allowed). "
            "Default: 14.",
        )
        parser.add_argument(
            "--failed-min-age-days",
            type=_DAYS,
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
        names = queue_names(options["queue_name"] or ["default"])
        min_age = options["min_age_days"]
        failed_min_age = options["failed_min_age_days"]
        queues = None if "*" in names else names
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
