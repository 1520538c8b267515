"""``manage.py task_schedules``: list a database backend's periodic tasks, when each last ran
and when it runs next. The work is in scheduler.py."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from django_tasks.backends.database.management.arguments import (
    add_backend_argument,
    database_backend,
)
from django_tasks.backends.database.scheduler import schedule_statuses
from django_tasks.schedules import InvalidScheduleError


class Command(BaseCommand):
    help = (
        "List the periodic tasks of a database backend (declared with @periodic or in "
        "OPTIONS['SCHEDULES']): their schedule, their latest tick and their next run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_backend_argument(parser, dest="backend")

    def handle(self, *args: Any, **options: Any) -> None:
        backend = database_backend(options["backend"], "only its workers run schedules")
        try:
            statuses = schedule_statuses(backend, timezone.now())
        except InvalidScheduleError as e:
            raise CommandError(str(e)) from None
        if not statuses:
            self.stdout.write(f"Backend {backend.alias!r} has no schedules.")
            return
        for status in statuses:
            schedule = status.schedule
            last = (
                f"{status.last_tick.isoformat()} ({status.last_outcome})"
                if status.last_tick is not None
                else "never"
            )
            next_run = status.next_run.isoformat() if status.next_run is not None else "never"
            self.stdout.write(
                f"{schedule.name}: {schedule.task_path}, {schedule.description}, "
                f"missed={schedule.missed}; last tick {last}; next run {next_run}"
            )
