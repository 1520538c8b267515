"""Periodic tasks on the database backend: each tick enqueued once, whatever the workers do.

The clock is injected: in-process Schedulers read a clock the test moves, and the worker
processes read a fast clock (tests/database/fast_clock.py), so minutes of ticks take seconds.
"""

import collections
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings

from django_tasks import tasks
from django_tasks.backends.database import DatabaseBackend
from django_tasks.backends.database.models import DBScheduleTick, DBTaskResult
from django_tasks.backends.database.scheduler import Scheduler
from django_tasks.schedules import Schedule
from tests.database.conftest import StartWorker, tasks_setting
from tests.helpers import wait_until

TASK = "tests.database.tasks.record"
START = datetime(2026, 6, 1, 12, 0, 0, 500_000, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def schedule(**options: Any) -> Schedule:
    return Schedule(
        name=options.pop("name", "every-10s"),
        task_path=TASK,
        backend="default",
        kwargs={"ledger": "/dev/null"},
        **options,
    )


def scheduler(backend: DatabaseBackend, clock: Clock, *schedules: Schedule) -> Scheduler:
    return Scheduler(backend, schedules or [schedule(every=timedelta(seconds=10))], clock)


def step(*schedulers: Scheduler) -> None:
    for each in schedulers:
        each.next_check = 0.0  # The clock is the test's: look now.
        each.step()


def ticks(backend: DatabaseBackend, outcome: str | None = None) -> list[datetime]:
    rows = DBScheduleTick.objects.using(backend.database).order_by("tick_at")
    if outcome is not None:
        rows = rows.filter(outcome=outcome)
    return list(rows.values_list("tick_at", flat=True))


def enqueued(backend: DatabaseBackend) -> list[datetime | None]:
    """The run_after (tick time) of each enqueued task, in order."""
    rows = DBTaskResult.objects.using(backend.database).order_by("run_after")
    return list(rows.values_list("run_after", flat=True))


def test_four_schedulers_enqueue_each_tick_once(backend: DatabaseBackend) -> None:
    clock = Clock(START)
    schedulers = [scheduler(backend, clock) for _ in range(4)]
    step(*schedulers)
    for _ in range(180):  # Three minutes, a second at a time, the workers in turn.
        clock.now += timedelta(seconds=1)
        step(*schedulers)

    began = START.replace(microsecond=0)
    assert ticks(backend, "BEGAN") == [began]
    expected = [began + timedelta(seconds=10 * n) for n in range(1, 19)]
    assert ticks(backend, "ENQUEUED") == expected
    assert enqueued(backend) == expected
    rows = DBScheduleTick.objects.using(backend.database).filter(outcome="ENQUEUED")
    task_ids = set(DBTaskResult.objects.using(backend.database).values_list("id", flat=True))
    assert set(rows.values_list("result_id", flat=True)) == task_ids


def test_a_restart_across_a_tick_neither_loses_nor_doubles_it(backend: DatabaseBackend) -> None:
    clock = Clock(START)
    first = scheduler(backend, clock)
    step(first)
    clock.now += timedelta(seconds=10)
    step(first)
    clock.now += timedelta(seconds=9)  # The worker stops just before the next tick...
    step(first)
    clock.now += timedelta(seconds=3)  # ... and a new one starts just after it.
    restarted = scheduler(backend, clock)
    step(restarted, first)  # The old one, still alive after all, finds it done.

    began = START.replace(microsecond=0)
    assert enqueued(backend) == [began + timedelta(seconds=10), began + timedelta(seconds=20)]


@pytest.mark.parametrize(
    ("missed", "outcome", "runs"), [("run_once", "ENQUEUED", 1), ("skip", "SKIPPED", 0)]
)
def test_downtime_runs_the_latest_missed_tick_once_or_skips_it(
    backend: DatabaseBackend, missed: str, outcome: str, runs: int
) -> None:
    hourly = schedule(name="hourly", cron="0 * * * *", time_zone="UTC", missed=missed)
    clock = Clock(START)
    step(scheduler(backend, clock, hourly))
    clock.now += timedelta(hours=5, minutes=30)  # Five ticks pass while no worker runs.
    step(scheduler(backend, clock, hourly))

    latest = datetime(2026, 6, 1, 17, 0, tzinfo=UTC)
    assert ticks(backend, outcome) == [latest]
    assert enqueued(backend) == [latest] * runs


def test_a_tick_found_on_time_runs_even_when_missed_ticks_are_skipped(
    backend: DatabaseBackend,
) -> None:
    hourly = schedule(name="hourly", cron="0 * * * *", time_zone="UTC", missed="skip")
    clock = Clock(START)
    step(scheduler(backend, clock, hourly))
    clock.now = datetime(2026, 6, 1, 13, 0, 20, tzinfo=UTC)
    step(scheduler(backend, clock, hourly))

    assert enqueued(backend) == [datetime(2026, 6, 1, 13, 0, tzinfo=UTC)]


def walk(backend: DatabaseBackend, cron: str, start: datetime, hours: int) -> list[datetime]:
    """Step four schedulers of ``cron`` in Europe/Paris through ``hours`` from ``start``, a
    minute at a time; return the ticks enqueued, in Paris time."""
    paris = schedule(name="paris", cron=cron, time_zone="Europe/Paris")
    clock = Clock(start)
    schedulers = [scheduler(backend, clock, paris) for _ in range(4)]
    for _ in range(hours * 60):
        step(*schedulers)
        clock.now += timedelta(minutes=1)
    zone = paris.zone
    return [tick.astimezone(zone) for tick in enqueued(backend) if tick is not None]


def paris(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo("Europe/Paris"))


def test_a_time_the_autumn_change_repeats_runs_once(backend: DatabaseBackend) -> None:
    # 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:30 happens twice.
    found = walk(backend, "30 2 * * *", datetime(2026, 10, 24, 20, 0, tzinfo=UTC), 20)
    assert found == [paris(2026, 10, 25, 2, 30)]
    assert found[0].utcoffset() == timedelta(hours=2)


def test_a_time_the_spring_change_skips_runs_once_after_it(backend: DatabaseBackend) -> None:
    # 2026-03-29: 02:00 CET becomes 03:00 CEST; 02:30 does not happen.
    found = walk(backend, "30 2 * * *", datetime(2026, 3, 28, 20, 0, tzinfo=UTC), 30)
    assert found == [paris(2026, 3, 29, 3, 0), paris(2026, 3, 30, 2, 30)]


def test_an_hourly_schedule_runs_every_real_hour_across_the_autumn_change(
    backend: DatabaseBackend,
) -> None:
    found = walk(backend, "0 * * * *", datetime(2026, 10, 24, 22, 30, tzinfo=UTC), 5)
    hours = [tick.astimezone(UTC) for tick in found]
    assert hours == [datetime(2026, 10, 24, 23, tzinfo=UTC) + timedelta(hours=n) for n in range(5)]


@pytest.fixture
def setting_schedules(alias: str) -> Iterator[dict[str, Any]]:
    every = {"task": TASK, "every": 10, "kwargs": {"ledger": "/dev/null"}}
    options = {"SCHEDULES": {"every-10s": every}}
    with override_settings(TASKS=tasks_setting(alias, **options)):
        yield options


@pytest.mark.transactional
def test_four_workers_enqueue_each_tick_of_three_minutes_once(
    alias: str, start_worker: StartWorker, setting_schedules: dict[str, Any]
) -> None:
    backend = tasks["default"]
    assert isinstance(backend, DatabaseBackend)
    rate = 20  # Three minutes of ticks in nine seconds.
    fast = {"DJANGO_TASKS_TEST_FAST_CLOCK": f"{time.time()} {rate}"}
    workers = [
        start_worker("--worker-id", f"w{n}", options=setting_schedules, env=fast) for n in range(4)
    ]
    wait_until(lambda: len(ticks(backend)) >= 20, 60, lambda: "20 ticks")
    # A restart across a tick: one worker stops, and another starts in its place.
    workers[0].signal(signal.SIGTERM)
    assert workers[0].wait() == 0, workers[0].output()
    workers.append(start_worker("--worker-id", "w4", options=setting_schedules, env=fast))
    wait_until(lambda: len(ticks(backend)) >= 40, 60, lambda: "40 ticks")
    for worker in workers[1:]:
        worker.signal(signal.SIGTERM)
        assert worker.wait() == 0, worker.output()

    recorded = ticks(backend)
    assert len(recorded) == len(set(recorded))
    runs = ticks(backend, "ENQUEUED")
    assert runs == [recorded[1] + timedelta(seconds=10 * n) for n in range(len(runs))]
    assert enqueued(backend) == runs
    by_worker = collections.Counter(
        line.split("outcome=")[1].split()[0]
        for worker in workers
        for line in worker.output().splitlines()
        if "Schedule tick " in line
    )
    assert by_worker["ENQUEUED"] == len(runs)


@pytest.mark.databases("default")
@pytest.mark.transactional
def test_a_worker_refuses_to_start_with_an_invalid_schedule(
    alias: str, start_worker: StartWorker
) -> None:
    schedules = {"bad": {"task": TASK, "cron": "0 25 * * *", "kwargs": {"ledger": "x"}}}
    worker = start_worker("--batch", options={"SCHEDULES": schedules})

    assert worker.wait() == 1
    assert (
        "CommandError: Schedule 'bad' has an invalid cron expression '0 25 * * *': Bad hour."
        in (worker.output())
    )
