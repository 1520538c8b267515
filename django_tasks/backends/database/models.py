"""The queue table: one row per enqueued task, kept after it finishes as its result.

The indexes the worker's queries need differ per database (partial indexes where they exist),
so they are created by the migration, not declared here: see ``schema.py``.
"""

from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.sql.compiler import SQLCompiler
from django.utils.translation import gettext_lazy as _

from django_tasks.backends.database.schema import CANCELLED, MAX_NAME_LENGTH
from django_tasks.schedules import MAX_NAME_LENGTH as MAX_SCHEDULE_NAME_LENGTH
from django_tasks.task import DEFAULT_PRIORITY, MAX_UNIQUE_KEY_LENGTH, ResultStatus

WORKER_ID_MAX_LENGTH = 255

STATUS_CHOICES = [*ResultStatus.choices, (CANCELLED, _("Cancelled"))]

if TYPE_CHECKING:
    from django.db.models.sql.compiler import _AsSqlType


class DatabaseNow(models.Func):
    """The database server's current time, in UTC: the clock every lease and run_after is
    compared with, so that workers on hosts with skewed clocks agree."""

    template = "STATEMENT_TIMESTAMP()"
    output_field = models.DateTimeField()

    def as_mysql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> "_AsSqlType":
        # CURRENT_TIMESTAMP is in the session time zone; the columns hold UTC.
        return self.as_sql(compiler, connection, template="UTC_TIMESTAMP(6)", **extra)

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> "_AsSqlType":
        template = "STRFTIME('%%%%Y-%%%%m-%%%%d %%%%H:%%%%M:%%%%f', 'now')"
        return self.as_sql(compiler, connection, template=template, **extra)


class TickOutcome(models.TextChoices):
    """What a worker did with a schedule's tick."""

    ENQUEUED = "ENQUEUED", _("Enqueued")
    SKIPPED = "SKIPPED", _("Skipped (missed)")
    BEGAN = "BEGAN", _("Schedule began")


class DBTaskResult(models.Model):
    """A task enqueued on the database backend, and its result once a worker has run it."""

    id = models.UUIDField(_("id"), primary_key=True, editable=False)
    """A UUIDv7 (see ``uuid7``): ordered by creation time, so the primary key grows at one end.
    Native ``uuid`` on PostgreSQL and MariaDB 10.7+, ``char(32)`` elsewhere."""
    status = models.CharField(
        _("status"), max_length=9, choices=STATUS_CHOICES, default=ResultStatus.NEW
    )
    backend = models.CharField(_("backend"), max_length=MAX_NAME_LENGTH)
    queue_name = models.CharField(_("queue name"), max_length=MAX_NAME_LENGTH)
    task_path = models.TextField(_("task path"))
    priority = models.SmallIntegerField(_("priority"), default=DEFAULT_PRIORITY)
    arguments = models.JSONField(_("arguments"), help_text=_('{"args": [...], "kwargs": {...}}'))
    run_after = models.DateTimeField(_("run after"), null=True, blank=True)
    enqueued_at = models.DateTimeField(_("enqueued at"), db_default=DatabaseNow())
    available_at = models.DateTimeField(
        _("available at"),
        db_default=DatabaseNow(),
        help_text=_("run_after, or the enqueue time: the task is not started before."),
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    worker_id = models.CharField(_("worker"), max_length=WORKER_ID_MAX_LENGTH, blank=True)
    worker_ids = models.JSONField(_("worker ids"), default=list)
    lease_expires_at = models.DateTimeField(_("lease expires at"), null=True, blank=True)
    return_value = models.JSONField(_("return value"), null=True, blank=True)
    exception_class_path = models.TextField(_("exception class"), blank=True)
    traceback = models.TextField(_("traceback"), blank=True)
    unique_key = models.CharField(  # noqa: DJ001  # NULL, not '': the unique index skips it.
        _("unique key"), max_length=MAX_UNIQUE_KEY_LENGTH, null=True, blank=True
    )
    """The key of a unique task (``task.using(unique_key=...)``): at most one live row of the
    backend and task holds it (see ``schema.py``). NULL for other tasks."""
    unique_while_running = models.BooleanField(
        _("unique while running"), default=False, db_default=False
    )
    """Whether the key stays taken while the task runs, not only while it waits."""
    errors = models.JSONField(
        _("errors of retried attempts"),
        null=True,
        blank=True,
        help_text=_(
            '[{"exception_class_path": ..., "traceback": ...}, ...]: one per failed attempt '
            "that was retried; the final one is in exception class and traceback. "
            "Null: none."
        ),
    )
    cancel_requested_at = models.DateTimeField(_("cancel requested at"), null=True, blank=True)
    trace_context = models.JSONField(
        _("trace context"),
        null=True,
        blank=True,
        help_text=_(
            "The enqueueing span's trace context (W3C traceparent...), when tracing was on. "
            "Null: none."
        ),
    )
    """What ``opentelemetry.propagate`` injected while the task was enqueued (see
    ``django_tasks.tracing``): the worker's span of each attempt is its child."""

    class Meta:
        verbose_name = _("task result")
        verbose_name_plural = _("task results")
        permissions = (
            ("reenqueue_dbtaskresult", _("Can re-enqueue failed task results")),
            ("cancel_dbtaskresult", _("Can cancel task results")),
        )

    def __str__(self) -> str:
        return f"{self.task_path} ({self.id})"


class DBWorker(models.Model):
    """A running ``db_worker``: written when it starts and at each heartbeat (with its leases,
    every HEARTBEAT_SECONDS, never once per task), deleted when it stops. A worker whose
    heartbeat is older than its backend's LEASE_SECONDS is dead (killed, frozen, cut off)."""

    worker_id = models.CharField(
        _("worker"), max_length=WORKER_ID_MAX_LENGTH, primary_key=True, editable=False
    )
    backend = models.CharField(_("backend"), max_length=MAX_NAME_LENGTH)
    queues = models.JSONField(
        _("queues"), null=True, blank=True, help_text=_("The queue names, or null for every queue.")
    )
    excluded_queues = models.JSONField(
        _("excluded queues"),
        null=True,
        blank=True,
        help_text=_("The queue names it does not serve (db_worker --exclude-queues). Null: none."),
    )
    concurrency = models.PositiveIntegerField(_("concurrency"), default=1)
    started_at = models.DateTimeField(_("started at"), db_default=DatabaseNow())
    heartbeat_at = models.DateTimeField(_("last heartbeat"), db_default=DatabaseNow())

    class Meta:
        verbose_name = _("worker")
        verbose_name_plural = _("workers")

    def __str__(self) -> str:
        return self.worker_id

    def serves(self, queue_name: str) -> bool:
        """Whether this worker takes tasks from ``queue_name``."""
        return serves(self.queues, self.excluded_queues, queue_name)


def serves(queues: list[str] | None, excluded: list[str] | None, queue_name: str) -> bool:
    """Whether a worker of ``queues`` (None: every queue) but none of ``excluded`` takes tasks
    from ``queue_name``."""
    return (queues is None or queue_name in queues) and queue_name not in (excluded or ())


def queues_text(queues: list[str] | None, excluded: list[str] | None) -> str:
    """A worker's queues as people read them: ``mail, reports``, ``*``, ``* except mail``."""
    text = "*" if queues is None else ", ".join(queues)
    return f"{text} except {', '.join(excluded)}" if excluded else text


class DBScheduleTick(models.Model):
    """A tick of a schedule that a worker has dealt with: the enqueued task, or none when the
    tick was skipped (or only marked where the schedule began). The unique constraint on
    (backend, schedule, tick_at) is what lets one worker, and only one, deal with each tick."""

    backend = models.CharField(_("backend"), max_length=MAX_NAME_LENGTH)
    schedule = models.CharField(_("schedule"), max_length=MAX_SCHEDULE_NAME_LENGTH)
    tick_at = models.DateTimeField(_("tick at"))
    result_id = models.UUIDField(_("result id"), null=True, blank=True)
    """The task enqueued for the tick; NULL if the tick did not run."""
    outcome = models.CharField(_("outcome"), max_length=9, choices=TickOutcome.choices)
    recorded_at = models.DateTimeField(_("recorded at"), db_default=DatabaseNow())

    class Meta:
        verbose_name = _("schedule tick")
        verbose_name_plural = _("schedule ticks")
        constraints = (
            models.UniqueConstraint(
                fields=("backend", "schedule", "tick_at"), name="django_tasks_spec_one_tick"
            ),
        )

    def __str__(self) -> str:
        return f"{self.schedule} at {self.tick_at.isoformat()}"
