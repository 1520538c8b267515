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
from django_tasks.task import DEFAULT_PRIORITY, ResultStatus

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

    class Meta:
        verbose_name = _("task result")
        verbose_name_plural = _("task results")
        permissions = (
            ("reenqueue_dbtaskresult", _("Can re-enqueue failed task results")),
            ("cancel_dbtaskresult", _("Can cancel task results")),
        )

    def __str__(self) -> str:
        return f"{self.task_path} ({self.id})"
