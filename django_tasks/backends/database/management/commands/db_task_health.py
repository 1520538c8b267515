"""``manage.py db_task_health``: exit 1 when a database backend's queue is unhealthy (see
health.py), for Kubernetes probes and monitors."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_tasks.backends.database.health import DEFAULT_MAX_WAIT, check_health
from django_tasks.backends.database.management.arguments import database_backend, zero_or_more
from django_tasks.backends.database.stats import database_backends


class Command(BaseCommand):
    help = (
        "Check the queues of the database backends: exit 1 if a queue has waiting tasks and "
        "no live worker serves it, or if its oldest waiting task has waited too long."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--backend",
            action="append",
            metavar="ALIAS",
            help="The alias in TASKS of a database backend to check (the option repeated for "
            "several). Default: every database backend.",
        )
        parser.add_argument(
            "--max-wait",
            type=zero_or_more("a number of seconds"),
            default=DEFAULT_MAX_WAIT,
            metavar="SECONDS",
            help="How long the oldest waiting task of a queue may have waited. "
            f"Default: {DEFAULT_MAX_WAIT:g}.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["backend"]:
            purpose = "db_task_health checks only the queues of a DatabaseBackend"
            backends = [database_backend(alias, purpose) for alias in options["backend"]]
        else:
            backends = database_backends()
            if not backends:
                raise CommandError("TASKS has no DatabaseBackend to check.")
        health = check_health(backends, max_wait=options["max_wait"])
        for queue in health.queues:
            self.stdout.write(
                f"{'FAIL' if queue.problems else 'OK'} backend={queue.backend} "
                f"queue={queue.queue_name} waiting={queue.waiting} "
                f"oldest_waiting={queue.oldest_waiting_seconds:.1f}s "
                f"live_workers={queue.live_workers}"
            )
        if not health.healthy:
            raise CommandError("\n".join(health.problems), returncode=1)
        self.stdout.write(f"Healthy: {len(health.queues)} queue(s) with unfinished tasks.")
