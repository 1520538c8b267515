"""Periodic tasks on the database backend: every worker enqueues the ticks of its backend's
schedules, and a unique constraint makes each tick enqueued once.

Each worker, in its main thread (``Worker._step``), asks its Scheduler to deal with the ticks
that have come: for each schedule, the latest tick at or before the database's time. Dealing
with a tick is one transaction: insert its row in the tick table, unique per (backend,
schedule, tick time), then enqueue the task (``run_after`` set to the tick time, which is how
the task knows its tick: ``result.task.run_after``). The worker that inserts the row first
enqueues the task; the others' inserts fail on the constraint (waiting for the first one's
commit), so nothing depends on which worker is alive, and a worker that dies mid-tick rolls
its transaction back and leaves the tick to the others.

Only the latest tick is ever dealt with: after downtime, the ticks missed in between are not
run one by one (no burst). The latest one runs once (``missed="run_once"``), or, with
``missed="skip"``, is recorded as skipped if found more than ON_TIME after its time. A schedule
a worker has never seen recorded begins at its latest tick, which is recorded but not run, so
that deploying a daily task at noon does not run it at once.

Times are the database's clock (as for leases), or an injected clock in tests; ticks are UTC
instants, so a tick in a zone's daylight-saving change is one row like any other: cronsim
decides which instants are ticks (see django_tasks.schedules).
"""

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.module_loading import autodiscover_modules

from django_tasks.backends.database.backend import DatabaseBackend
from django_tasks.backends.database.queries import queries_for
from django_tasks.registry import task_registry
from django_tasks.schedules import ON_TIME, Schedule

logger = logging.getLogger("django_tasks.scheduler")

Clock = Callable[[], datetime]

MAX_SLEEP = 30.0
"""The longest a worker waits before looking at its schedules again (it wakes at the next
tick; this bounds the wait if the database's clock and the worker's drift apart)."""
MIN_SLEEP = 0.05


def discover_schedules(backend: DatabaseBackend) -> list[Schedule]:
    """The schedules of the backend: those declared in code (the ``tasks`` module of each
    installed app is imported first, as a worker imports nothing else before it claims
    tasks), then those of OPTIONS["SCHEDULES"]."""
    autodiscover_modules("tasks")
    return backend.schedules()


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleStatus:
    """A schedule as ``manage.py task_schedules`` and the admin show it."""

    schedule: Schedule
    last_tick: datetime | None
    """The latest tick a worker has dealt with (recorded), if any."""
    last_outcome: str
    next_run: datetime | None
    """The next tick after now: when a worker enqueues the task next."""


def schedule_statuses(backend: DatabaseBackend, now: datetime) -> list[ScheduleStatus]:
    """Each schedule of the backend with its latest recorded tick and its next run."""
    # Imported here: the tests' worker settings install a clock on Scheduler, before Django
    # loads the apps, when models cannot be imported.
    from django_tasks.backends.database.models import DBScheduleTick

    schedules = discover_schedules(backend)
    latest: dict[str, tuple[datetime, str]] = {}
    rows = DBScheduleTick.objects.using(backend.database).filter(
        backend=backend.alias, schedule__in=[schedule.name for schedule in schedules]
    )
    for name, tick, outcome in rows.order_by("tick_at").values_list(
        "schedule", "tick_at", "outcome"
    ):
        latest[name] = (tick, outcome)
    return [
        ScheduleStatus(
            schedule=schedule,
            last_tick=latest.get(schedule.name, (None, ""))[0],
            last_outcome=latest.get(schedule.name, (None, ""))[1],
            next_run=schedule.next_tick(now),
        )
        for schedule in schedules
    ]


class Scheduler:
    """Deals with the ticks of one backend's schedules for one worker (see the module
    docstring). ``clock`` replaces the database's clock (tests)."""

    clock: Clock | None = None
    """The clock of every Scheduler without one of its own: the database's when None. A test
    seam: tests/worker_settings.py sets a fast clock for the workers it starts."""
    clock_rate = 1.0
    """How many seconds of ``clock`` pass in a second (a fast clock's is above 1)."""

    def __init__(
        self,
        backend: DatabaseBackend,
        schedules: Sequence[Schedule],
        clock: Clock | None = None,
    ) -> None:
        self.backend = backend
        self.schedules = list(schedules)
        self._clock = clock or type(self).clock or self._database_time
        self._latest: dict[str, datetime] | None = None
        """The latest tick dealt with, by schedule name, as far as this worker knows."""
        self.next_check = 0.0 if self.schedules else math.inf
        """When (time.monotonic()) the next tick is due; never, without schedules."""

    def step(self) -> int:
        """Deal with the ticks that have come, if any is due; return how many tasks this
        worker enqueued."""
        if not self.schedules or time.monotonic() < self.next_check:
            return 0
        now = self._clock()
        if self._latest is None:
            self._latest = self._recorded()
        enqueued = sum(self._deal_with(schedule, now) for schedule in self.schedules)
        self.next_check = time.monotonic() + self._seconds_to_next_tick(now)
        return enqueued

    def _seconds_to_next_tick(self, now: datetime) -> float:
        ticks = [tick for s in self.schedules if (tick := s.next_tick(now)) is not None]
        if not ticks:
            return MAX_SLEEP
        seconds = (min(ticks) - now).total_seconds() / self.clock_rate
        return min(MAX_SLEEP, max(MIN_SLEEP, seconds))

    def _deal_with(self, schedule: Schedule, now: datetime) -> bool:
        assert self._latest is not None
        # Imported here: the tests' worker settings install a clock on Scheduler, before
        # Django loads the apps, when models cannot be imported.
        from django_tasks.backends.database.models import TickOutcome

        due = schedule.latest_tick(now)
        if due is None:
            return False
        latest = self._latest.get(schedule.name)
        if latest is not None and due <= latest:
            return False
        if latest is None:
            outcome = TickOutcome.BEGAN
        elif schedule.missed == "skip" and now - due > ON_TIME:
            outcome = TickOutcome.SKIPPED
        else:
            outcome = TickOutcome.ENQUEUED
        if latest is not None and schedule.next_tick(latest) != due:
            logger.warning(
                "Schedule missed ticks schedule=%s after=%s until=%s action=%s",
                schedule.name,
                latest.isoformat(),
                due.isoformat(),
                "run the latest once" if outcome == TickOutcome.ENQUEUED else "skip",
            )
        won = self._record(schedule, due, outcome)
        self._latest[schedule.name] = due
        return won and outcome == TickOutcome.ENQUEUED

    def _record(self, schedule: Schedule, tick: datetime, outcome: str) -> bool:
        """Insert the tick's row and, if it runs, enqueue its task, in one transaction;
        False if another worker has dealt with the tick."""
        # Imported here: the tests' worker settings install a clock on Scheduler, before
        # Django loads the apps, when models cannot be imported.
        from django_tasks.backends.database.models import DBScheduleTick, TickOutcome

        database = self.backend.database
        try:
            with transaction.atomic(using=database):
                row = DBScheduleTick.objects.using(database).create(
                    backend=self.backend.alias,
                    schedule=schedule.name,
                    tick_at=tick,
                    outcome=outcome,
                )
                if outcome == TickOutcome.ENQUEUED:
                    task = task_registry.resolve(schedule.task_path).using(
                        run_after=tick, backend=self.backend.alias
                    )
                    result = self.backend.enqueue(task, schedule.args, schedule.kwargs)
                    row.result_id = result.id
                    row.save(using=database, update_fields=["result_id"])
        except IntegrityError:
            return False
        logger.info(
            "Schedule tick schedule=%s tick=%s outcome=%s result=%s",
            schedule.name,
            tick.isoformat(),
            outcome,
            row.result_id or "-",
        )
        return True

    def _recorded(self) -> dict[str, datetime]:
        # Imported here: the tests' worker settings install a clock on Scheduler, before
        # Django loads the apps, when models cannot be imported.
        from django_tasks.backends.database.models import DBScheduleTick

        rows = (
            DBScheduleTick.objects.using(self.backend.database)
            .filter(backend=self.backend.alias, schedule__in=[s.name for s in self.schedules])
            .values("schedule")
            .annotate(latest=Max("tick_at"))
        )
        return {row["schedule"]: row["latest"] for row in rows}

    def _database_time(self) -> datetime:
        queries = queries_for(self.backend.database)
        with queries.cursor() as cursor:
            return queries.current_time(cursor)
