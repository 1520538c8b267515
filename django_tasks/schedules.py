"""Periodic tasks: a schedule says when a task is enqueued, by a cron expression in a time zone
or at a fixed interval. A backend that can run schedules (``supports_schedules``) enqueues each
tick once; the database backend's workers do it together (backends/database/scheduler.py).

Declared in code, next to the task::

    @periodic(cron="0 3 * * *", time_zone="Europe/Paris")
    @task
    def nightly_report() -> None: ...

or in the backend's OPTIONS["SCHEDULES"]. Cron expressions are read by cronsim, which follows
Debian's cron, daylight-saving changes included: a time that a change skips runs once, right
after the change, and a time that a change repeats runs once, the first time (an expression
with a wildcard hour, ``*/30 * * * *``, runs in both repeated hours, as real time passes). A
sixth field in front counts seconds (``*/10 * * * * *``).

This module is the value and its registry; nothing here touches the database.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from django.conf import settings
from django.core import checks

from django_tasks.exceptions import InvalidTaskError
from django_tasks.serialization import normalize_arguments

T = TypeVar("T")

Missed = Literal["run_once", "skip"]
MISSED_POLICIES: tuple[Missed, ...] = ("run_once", "skip")
ON_TIME = timedelta(seconds=60)
"""How late a tick may be found and still count as on time, for ``missed="skip"``."""
MAX_NAME_LENGTH = 200
"""The longest schedule name (the database backend stores it)."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


SCHEDULE_INVALID = "django_tasks.E070"
TIME_ZONE_UNKNOWN = "django_tasks.E071"
SCHEDULE_NOT_RUN = "django_tasks.E072"
ARGUMENTS_MISSING = "django_tasks.E073"
SCHEDULED_TASK_UNKNOWN = "django_tasks.E074"
SCHEDULE_NAME_TAKEN = "django_tasks.E075"


class InvalidScheduleError(InvalidTaskError):
    """A schedule is invalid: its cron expression, time zone, interval or arguments."""

    def __init__(self, message: str | None = None, *, check_id: str = SCHEDULE_INVALID) -> None:
        super().__init__(message)
        self.check_id = check_id
        """The ID of the system check that reports it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Schedule:
    """When a task is enqueued, and with which arguments."""

    name: str
    """Unique among a backend's schedules; its ticks are recorded under it."""
    task_path: str
    """The module path of the task."""
    backend: str
    """The alias of the backend that runs it (the task's)."""
    cron: str | None = None
    """A cron expression (five fields, or six with seconds first), in ``time_zone``."""
    every: timedelta | None = None
    """A fixed interval instead: ticks at whole multiples of it since 1970-01-01 UTC."""
    time_zone: str | None = None
    """The IANA zone the cron expression is read in; None: settings.TIME_ZONE."""
    args: Sequence[Any] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    missed: Missed = "run_once"
    """After downtime: ``run_once`` runs the latest missed tick once; ``skip`` runs none and
    waits for the next tick (a tick found within ON_TIME of its time still runs)."""
    origin: str = "code"
    """Where it is declared: ``code``, or the place in TASKS."""

    def __post_init__(self) -> None:
        where = f"Schedule {self.name!r}"
        if not 0 < len(self.name) <= MAX_NAME_LENGTH:
            raise InvalidScheduleError(
                f"Schedule name {self.name!r} is invalid; it must be a string of 1 to "
                f"{MAX_NAME_LENGTH} characters."
            )
        if (self.cron is None) == (self.every is None):
            raise InvalidScheduleError(
                f"{where} must have either cron or every, not both or neither."
            )
        if self.every is not None and self.every < timedelta(seconds=1):
            raise InvalidScheduleError(
                f"{where} has every={self.every!r}; it must be a timedelta of one second or more."
            )
        if self.missed not in MISSED_POLICIES:
            raise InvalidScheduleError(
                f"{where} has missed={self.missed!r}; it must be one of "
                f"{', '.join(MISSED_POLICIES)}."
            )
        try:
            normalize_arguments(self.args, self.kwargs)
        except InvalidTaskError as e:
            raise InvalidScheduleError(f"{where}: {e}") from None
        self.zone  # noqa: B018  # Validates the time zone, and the cron expression with it.
        if self.cron is not None:
            try:
                CronSim(self.cron, datetime.now(self.zone))
            except CronSimError as e:
                raise InvalidScheduleError(
                    f"{where} has an invalid cron expression {self.cron!r}: {e}."
                ) from None

    @property
    def zone(self) -> ZoneInfo:
        name = self.time_zone if self.time_zone is not None else settings.TIME_ZONE
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise InvalidScheduleError(
                f"Schedule {self.name!r} has time zone {name!r}, which is not an IANA time zone "
                f"name (such as 'Europe/Paris' or 'UTC').",
                check_id=TIME_ZONE_UNKNOWN,
            ) from None

    @property
    def description(self) -> str:
        """The schedule in words: its cron expression and zone, or its interval."""
        if self.cron is not None:
            return f"cron {self.cron!r} in {self.zone.key}"
        return f"every {self.every}"

    def latest_tick(self, now: datetime) -> datetime | None:
        """The latest tick at or before ``now``, in UTC (None if there was none)."""
        if self.every is not None:
            count = (now - _EPOCH) // self.every
            return _EPOCH + count * self.every
        assert self.cron is not None
        local = (now + timedelta(microseconds=1)).astimezone(self.zone)
        return _utc(next(CronSim(self.cron, local, reverse=True), None))

    def next_tick(self, after: datetime) -> datetime | None:
        """The first tick after ``after``, in UTC (None if there is none)."""
        if self.every is not None:
            return _EPOCH + ((after - _EPOCH) // self.every + 1) * self.every
        assert self.cron is not None
        return _utc(next(CronSim(self.cron, after.astimezone(self.zone)), None))

    def ticks(self, after: datetime, until: datetime) -> Iterator[datetime]:
        """The ticks after ``after`` and at or before ``until``, in UTC."""
        tick = self.next_tick(after)
        while tick is not None and tick <= until:
            yield tick
            tick = self.next_tick(tick)

    def missing_arguments(self, function: Any, takes_context: bool) -> list[str]:
        """The required parameters of the task's function that the schedule does not give."""
        parameters = list(inspect.signature(function).parameters.values())
        if takes_context:
            parameters = parameters[1:]
        given = len(self.args)
        missing = []
        for index, parameter in enumerate(parameters):
            if parameter.default is not inspect.Parameter.empty:
                continue
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                continue
            positional = parameter.kind in (
                parameter.POSITIONAL_ONLY,
                parameter.POSITIONAL_OR_KEYWORD,
            )
            if positional and index < given:
                continue
            if parameter.kind != parameter.POSITIONAL_ONLY and parameter.name in self.kwargs:
                continue
            missing.append(parameter.name)
        return missing


def check_schedule(schedule: Schedule, backend: Any, task: Any) -> list[checks.CheckMessage]:
    """What stops a valid schedule from running: a backend that cannot run schedules
    (``supports_schedules``), a task that takes required arguments the schedule does not give.
    ``task`` is its task, if it can be resolved."""
    where = schedule.origin if schedule.origin != "code" else f"schedule {schedule.name!r}"
    messages: list[checks.CheckMessage] = []
    if not getattr(backend, "supports_schedules", False):
        messages.append(
            checks.Error(
                f"Schedule {schedule.name!r} of task {schedule.task_path} is on backend "
                f"{schedule.backend!r} ({type(backend).__module__}.{type(backend).__qualname__}),"
                f" which cannot run schedules (supports_schedules is False).",
                hint="Declare the task on a backend that runs schedules, such as the database "
                "backend, or remove the schedule.",
                obj=where,
                id=SCHEDULE_NOT_RUN,
            )
        )
    if task is not None:
        missing = schedule.missing_arguments(task.func, bool(getattr(task, "takes_context", 0)))
        if missing:
            messages.append(
                checks.Error(
                    f"Schedule {schedule.name!r} enqueues task {schedule.task_path} without its "
                    f"required arguments {', '.join(map(repr, missing))}.",
                    hint="Give them in the schedule's args or kwargs, or give the parameters "
                    "defaults.",
                    obj=where,
                    id=ARGUMENTS_MISSING,
                )
            )
    return messages


def _utc(tick: datetime | None) -> datetime | None:
    return None if tick is None else tick.astimezone(UTC)


class ScheduleRegistry:
    """The schedules declared in code, by backend alias and name."""

    def __init__(self) -> None:
        self._schedules: dict[tuple[str, str], Schedule] = {}

    def register(self, schedule: Schedule) -> None:
        key = (schedule.backend, schedule.name)
        existing = self._schedules.get(key)
        if existing is not None and existing != schedule:
            raise InvalidScheduleError(
                f"Schedule {schedule.name!r} of backend {schedule.backend!r} is declared twice "
                f"(for {existing.task_path} and {schedule.task_path}); give each a name of its "
                f"own with periodic(name=...)."
            )
        self._schedules[key] = schedule

    def unregister(self, schedule: Schedule) -> None:
        self._schedules.pop((schedule.backend, schedule.name), None)

    def for_backend(self, alias: str) -> list[Schedule]:
        return [schedule for (backend, _), schedule in self._schedules.items() if backend == alias]

    def __iter__(self) -> Iterator[Schedule]:
        return iter(list(self._schedules.values()))


schedule_registry = ScheduleRegistry()


def periodic(
    *,
    cron: str | None = None,
    every: timedelta | None = None,
    time_zone: str | None = None,
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    missed: Missed = "run_once",
    name: str | None = None,
) -> Any:
    """Enqueue the decorated task on a schedule: ``cron`` (in ``time_zone``, by default
    settings.TIME_ZONE) or ``every`` (a timedelta), with ``args`` and ``kwargs``. Put it above
    ``@task`` (either dialect's); it returns the task unchanged. ``name`` defaults to the task's
    module path; give one to schedule a task more than once. Raises InvalidScheduleError for an
    invalid expression, zone, interval or argument."""

    def decorate(task: T) -> T:
        module_path = getattr(task, "module_path", None)
        if not isinstance(module_path, str) or not hasattr(task, "backend"):
            raise InvalidScheduleError(
                f"periodic() decorates a task; {task!r} is not one. Put @periodic(...) above @task."
            )
        schedule = Schedule(
            name=name or module_path,
            task_path=module_path,
            backend=task.backend,
            cron=cron,
            every=every,
            time_zone=time_zone,
            args=tuple(args),
            kwargs=dict(kwargs or {}),
            missed=missed,
        )
        schedule_registry.register(schedule)
        return task

    return decorate
