"""The OPTIONS schema of the database backend, which the backend owns (``options_schema``).

Every key is optional::

    TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.database.DatabaseBackend",
            "OPTIONS": {"DATABASE": "queue", "LEASE_SECONDS": 60},
        }
    }
"""

from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

DatabaseAlias = Annotated[str, StringConstraints(min_length=1)]
DottedPath = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+$")]


class ScheduleOptions(BaseModel):
    """One entry of OPTIONS["SCHEDULES"]: what ``@periodic`` declares in code. The cron
    expression, time zone and arguments are checked by ``manage.py check`` (E070-E075)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    task: Annotated[str, StringConstraints(min_length=1)]
    """The module path of the task (``myapp.tasks.nightly_report``)."""
    cron: str | None = None
    every: Annotated[float, Field(ge=1)] | None = None
    """Seconds between ticks."""
    time_zone: str | None = None
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    missed: Literal["run_once", "skip"] = "run_once"


class DatabaseOptions(BaseModel):
    """OPTIONS of DatabaseBackend."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    DATABASE: DatabaseAlias = "default"
    """The alias in DATABASES of the database that holds the queue table."""

    LEASE_SECONDS: Annotated[float, Field(gt=0)] = 30.0
    """How long a claimed task stays reserved for its worker without a heartbeat. A task whose
    worker stops renewing its lease (killed, machine gone, database unreachable) is retaken once
    the lease has expired."""

    HEARTBEAT_SECONDS: Annotated[float, Field(gt=0)] = 10.0
    """How often a worker renews the leases of the tasks it holds, and looks for expired leases
    of other workers' tasks. At most half of LEASE_SECONDS."""

    MAX_ATTEMPTS: Annotated[int, Field(ge=1)] = 3
    """How many times a task may be started, unless it sets its own ``max_attempts``. A failed
    attempt runs again while attempts remain if its exception is one of RETRY_ON (or the
    task's ``retry_on``), if the task raised RetryTask, or if its worker stopped renewing its
    lease (killed, frozen, cut off): a task whose lease expires on its last attempt is marked
    FAILED instead of being retaken."""

    RETRY_ON: list[DottedPath] = Field(default_factory=list)
    """The dotted paths of the exception classes after which a failed attempt runs again,
    unless the task sets its own ``retry_on``. Empty by default: an exception fails the task
    (``manage.py check`` reports a path that is not an exception class, django_tasks.E027)."""

    BACKOFF_SECONDS: Annotated[float, Field(ge=0)] = 1.0
    """The delay before the second attempt, unless the task sets its own ``backoff``; each
    next delay is twice the one before, at most BACKOFF_MAX_SECONDS."""

    BACKOFF_MAX_SECONDS: Annotated[float, Field(ge=0)] = 600.0
    """The longest delay between two attempts."""

    BACKOFF_JITTER: Annotated[float, Field(ge=0, le=1)] = 0.25
    """The largest part of each delay taken off at random (0 to 1), so that tasks that failed
    together do not run again together."""

    NOTIFY: bool = True
    """PostgreSQL only: idle workers LISTEN for new tasks and start them within milliseconds of
    the commit. Turn it off behind a pooler in transaction mode (PgBouncer), where LISTEN does
    not work; workers then poll."""

    MAX_JSON_BYTES: Annotated[int, Field(ge=1)] = 1_048_576
    """The most a task's arguments, and its return value, may take as JSON text (compact, in
    UTF-8 bytes). Larger arguments are refused at enqueue with InvalidTaskArgumentsError; a
    larger return value fails its task with StorageError. The default, 1 MiB, is what every
    supported database stores with its default settings: on MariaDB and MySQL, where the text
    is stored with characters beyond ASCII escaped, the statement stays within 3.5 times as
    many bytes, under the 16 MiB of MariaDB's max_allowed_packet."""

    SCHEDULES: dict[
        Annotated[str, StringConstraints(min_length=1, max_length=200)], ScheduleOptions
    ] = {}
    """Periodic tasks, by schedule name, besides those declared in code with ``@periodic``::

        "SCHEDULES": {"nightly": {"task": "reports.tasks.nightly", "cron": "0 3 * * *",
                                  "time_zone": "Europe/Paris"}}
    """

    TIMEOUT: Annotated[float, Field(allow_inf_nan=False)] | None = None
    """The timeout of the tasks that set none (``@task(timeout=...)``), in seconds; None for
    no limit. Above zero (checked as django_tasks.E029). A task that runs longer is recorded
    FAILED with TaskTimeoutError: killed under ``db_worker --pool process``, left to run on in
    its thread under the thread pool (see the README, "Timeouts")."""

    @model_validator(mode="after")
    def _heartbeat_within_lease(self) -> Self:
        if self.HEARTBEAT_SECONDS * 2 > self.LEASE_SECONDS:
            raise ValueError(
                f"HEARTBEAT_SECONDS ({self.HEARTBEAT_SECONDS!r}) must be at most half of "
                f"LEASE_SECONDS ({self.LEASE_SECONDS!r}), so that a lease is renewed at least "
                f"twice before it expires"
            )
        return self
