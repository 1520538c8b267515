"""The task results in the Django admin: read-only, with actions to re-enqueue failures, run
waiting tasks now, cancel tasks and delete finished results, and the queue dashboard
(dashboard.py).

Nothing can be added or edited here: a row that could be edited into another task path or
other arguments would let anyone with admin access run any registered task with anything.
Re-enqueueing creates a new result from a FAILED one, through the task registry and the
backend's validation, for users with the "Can re-enqueue failed task results" permission, who
may also make NEW tasks run now (their run_after brought forward). Deleting finished results
needs the delete permission; unfinished rows are never deleted here. Actions are admin
actions: POST, with Django's CSRF check. The dashboard needs the view permission.
Cancelling goes through the backend's cancel(), for users with "Can cancel task results".

A row that holds what cannot be read still shows: the list does not read ``run_after`` and
``available_at`` (a time PostgreSQL holds but Python's datetime does not, which older versions
stored), the detail reads them as text first and says what it cannot show, and an unknown
status is shown as it is.
"""

import json
import uuid
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.db import DEFAULT_DB_ALIAS
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from django_tasks import tasks
from django_tasks.backends.database.backend import DatabaseBackend
from django_tasks.backends.database.dashboard import Dashboard
from django_tasks.backends.database.models import DatabaseNow, DBScheduleTick, DBTaskResult
from django_tasks.backends.database.rows import decode_arguments, unreadable_times
from django_tasks.backends.database.scheduler import schedule_statuses
from django_tasks.backends.database.schema import CANCELLED
from django_tasks.exceptions import (
    InvalidTaskBackendError,
    InvalidTaskError,
    ResultDoesNotExist,
    TaskFinishedError,
)
from django_tasks.registry import stored_task
from django_tasks.schedules import InvalidScheduleError
from django_tasks.task import ResultStatus

USER_TIMES = ("run_after", "available_at")
"""The times that come from a user's run_after, which older versions stored even beyond the
years Python's datetime holds."""

if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[DBTaskResult]
else:  # ModelAdmin is generic only in django-stubs.
    _ModelAdmin = admin.ModelAdmin


@admin.register(DBTaskResult)
class DBTaskResultAdmin(_ModelAdmin):
    list_display = (
        "id",
        "task_path",
        "status_text",
        "queue_name",
        "priority",
        "enqueued_at",
        "started_at",
        "finished_at",
        "worker_id",
        "attempts",
    )
    list_filter = ("status", "queue_name", "backend", "priority")
    # And by id: see get_search_results().
    search_fields = ("task_path", "=worker_id")
    # Ids are UUIDv7, ordered by enqueue time: the primary key sorts newest first, no index
    # on enqueued_at needed.
    ordering = ("-id",)
    show_full_result_count = False  # COUNT(*) of a large table is slow.
    list_per_page = 50
    actions = ("reenqueue", "run_now", "cancel", "delete_finished")
    change_list_template = "admin/django_tasks_spec_database/dbtaskresult/change_list.html"
    fieldsets = (
        (
            None,
            {"fields": ("id", "task_path", "status_text", "backend", "queue_name", "priority")},
        ),
        (_("Arguments and outcome"), {"fields": ("arguments_json", "return_value_json")}),
        (_("Failure"), {"fields": ("exception_class_path", "traceback_text")}),
        (
            _("Timing"),
            {"fields": ("run_after", "enqueued_at", "available_at", "started_at", "finished_at")},
        ),
        (_("Workers"), {"fields": ("attempts", "worker_id", "worker_ids", "lease_expires_at")}),
    )

    def get_urls(self) -> list[URLPattern]:
        dashboard = Dashboard(self)
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "dashboard/",
                self.admin_site.admin_view(dashboard.page),
                name="{}_{}_dashboard".format(*info),
            ),
            path(
                "dashboard/panel/",
                self.admin_site.admin_view(dashboard.panel),
                name="{}_{}_dashboard_panel".format(*info),
            ),
            *super().get_urls(),
        ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[DBTaskResult]:
        return super().get_queryset(request).using(queue_database()).defer(*USER_TIMES)

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> DBTaskResult | None:
        """The row, with the times the list does not read loaded if they can be, and a
        warning for each that cannot."""
        row = super().get_object(request, object_id, from_field)
        if row is None:
            return None
        unreadable = unreadable_times(self.get_queryset(request), row.pk, USER_TIMES)
        for name in unreadable:
            setattr(row, name, None)
        row.refresh_from_db(fields=[name for name in USER_TIMES if name not in unreadable])
        for name, text in unreadable.items():
            self.message_user(
                request,
                f"The stored {name} is {text!r}, outside the years 1 to 9999 (UTC) that "
                f"Python's datetime holds, so it is shown empty; this task cannot run.",
                messages.WARNING,
            )
        return row

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[DBTaskResult], search_term: str
    ) -> tuple[QuerySet[DBTaskResult], bool]:
        """Also find the results whose id is one of the words searched for, through the
        primary key's index (a text search of a uuid column would read the whole table)."""
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        ids = [value for word in search_term.split() if (value := _as_uuid(word))]
        if ids:
            found = found | queryset.filter(pk__in=ids)
        return found, may_have_duplicates

    def get_readonly_fields(self, request: HttpRequest, obj: DBTaskResult | None = None) -> Any:
        return [field for _, options in self.fieldsets for field in options["fields"]]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: DBTaskResult | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: DBTaskResult | None = None) -> bool:
        return False

    def has_reenqueue_permission(self, request: HttpRequest) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.reenqueue_{opts.model_name}")

    def has_delete_finished_permission(self, request: HttpRequest) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.delete_{opts.model_name}")

    @admin.display(description=_("status"), ordering="status")
    def status_text(self, obj: DBTaskResult) -> str:
        """The status, or what the row holds if it is none (shown as "-" otherwise)."""
        return str(obj.get_status_display())

    @admin.display(description=_("arguments"))
    def arguments_json(self, obj: DBTaskResult) -> SafeString:
        return _pre(obj.arguments)

    @admin.display(description=_("return value"))
    def return_value_json(self, obj: DBTaskResult) -> SafeString | str:
        return _pre(obj.return_value) if obj.status == ResultStatus.SUCCEEDED else "-"

    @admin.display(description=_("traceback"))
    def traceback_text(self, obj: DBTaskResult) -> SafeString | str:
        return format_html("<pre>{}</pre>", obj.traceback) if obj.traceback else "-"

    @admin.action(
        description=_("Re-enqueue the selected FAILED tasks as new results"),
        permissions=["reenqueue"],
    )
    def reenqueue(self, request: HttpRequest, queryset: QuerySet[DBTaskResult]) -> None:
        enqueued = skipped = 0
        for row in queryset:
            if row.status != ResultStatus.FAILED:
                skipped += 1
                continue
            try:
                task = stored_task(row.task_path, row.priority, row.queue_name, row.backend, None)
                args, kwargs = decode_arguments(str(row.id), row.arguments)
                result = task.get_backend().enqueue(task, args, kwargs)  # Either dialect's.
            except (InvalidTaskError, InvalidTaskBackendError) as e:
                self.message_user(
                    request,
                    f"Task result {str(row.id)!r} was not re-enqueued: {e}",
                    messages.ERROR,
                )
                continue
            enqueued += 1
            self.log_change(request, row, f"Re-enqueued as {result.id}.")
        if enqueued:
            message = ngettext(
                "Re-enqueued %(count)d failed task as a new result.",
                "Re-enqueued %(count)d failed tasks as new results.",
                enqueued,
            )
            self.message_user(request, message % {"count": enqueued}, messages.SUCCESS)
        if skipped:
            message = ngettext(
                "Skipped %(count)d task result that has not FAILED.",
                "Skipped %(count)d task results that have not FAILED.",
                skipped,
            )
            self.message_user(request, message % {"count": skipped}, messages.WARNING)

    @admin.action(
        description=_("Run the selected waiting tasks now (ignore their run_after)"),
        permissions=["reenqueue"],
    )
    def run_now(self, request: HttpRequest, queryset: QuerySet[DBTaskResult]) -> None:
        # The status condition in the UPDATE itself: a task claimed meanwhile is left alone.
        count = queryset.filter(status=ResultStatus.NEW).update(available_at=DatabaseNow())
        message = ngettext(
            "%(count)d waiting task will run as soon as a worker is free.",
            "%(count)d waiting tasks will run as soon as a worker is free.",
            count,
        )
        self.message_user(request, message % {"count": count}, messages.SUCCESS)

    @admin.action(
        description=_("Delete the selected finished results"),
        permissions=["delete_finished"],
    )
    def delete_finished(self, request: HttpRequest, queryset: QuerySet[DBTaskResult]) -> None:
        finished = [ResultStatus.SUCCEEDED, ResultStatus.FAILED, CANCELLED]
        count, _ = queryset.filter(status__in=finished).delete()
        message = ngettext(
            "Deleted %(count)d finished result; unfinished ones were kept.",
            "Deleted %(count)d finished results; unfinished ones were kept.",
            count,
        )
        self.message_user(request, message % {"count": count}, messages.SUCCESS)

    @admin.action(
        description=_("Cancel the selected tasks (waiting: never run; running: asked to stop)"),
        permissions=["cancel"],
    )
    def cancel(self, request: HttpRequest, queryset: QuerySet[DBTaskResult]) -> None:
        done = finished = 0
        for row in queryset:
            try:
                backend = tasks[row.backend]
                if not isinstance(backend, DatabaseBackend):
                    raise InvalidTaskBackendError(
                        f"Backend {row.backend!r} is not a database backend."
                    )
                backend.cancel(str(row.id))
            except TaskFinishedError:
                finished += 1
                continue
            except (InvalidTaskBackendError, ResultDoesNotExist) as e:
                self.message_user(
                    request, f"Task result {str(row.id)!r} was not cancelled: {e}", messages.ERROR
                )
                continue
            done += 1
            self.log_change(request, row, "Cancelled.")
        if done:
            message = ngettext(
                "Cancelled %(count)d task (a running one is asked to stop).",
                "Cancelled %(count)d tasks (running ones are asked to stop).",
                done,
            )
            self.message_user(request, message % {"count": done}, messages.SUCCESS)
        if finished:
            message = ngettext(
                "Skipped %(count)d task that has finished.",
                "Skipped %(count)d tasks that have finished.",
                finished,
            )
            self.message_user(request, message % {"count": finished}, messages.WARNING)

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.cancel_{opts.model_name}")


def queue_database() -> str:
    """The database whose queue the admin shows: that of the "default" task backend if it is
    a database backend, else of the first database backend in TASKS."""
    aliases = sorted(tasks.settings, key=lambda alias: alias != "default")
    for alias in aliases:
        backend = tasks[alias]
        if isinstance(backend, DatabaseBackend):
            return backend.database
    return DEFAULT_DB_ALIAS


def _as_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _pre(value: Any) -> SafeString:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True))


if TYPE_CHECKING:
    _TickAdmin = admin.ModelAdmin[DBScheduleTick]
else:
    _TickAdmin = admin.ModelAdmin


@admin.register(DBScheduleTick)
class DBScheduleTickAdmin(_TickAdmin):
    """The schedules of the database backends (at the top of the list: their latest tick and
    next run), and the ticks the workers have dealt with. Read-only: the workers write them."""

    list_display = ("schedule", "tick_at", "outcome", "result_link", "backend", "recorded_at")
    list_filter = ("outcome", "backend", "schedule")
    ordering = ("-tick_at",)
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet[DBScheduleTick]:
        return super().get_queryset(request).using(queue_database())

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: DBScheduleTick | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: DBScheduleTick | None = None
    ) -> bool:
        return False

    @admin.display(description=_("task result"))
    def result_link(self, obj: DBScheduleTick) -> SafeString | str:
        if obj.result_id is None:
            return "-"
        url = reverse("admin:django_tasks_spec_database_dbtaskresult_change", args=[obj.result_id])
        return format_html('<a href="{}">{}</a>', url, obj.result_id)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        context: dict[str, Any] = {"schedules": [], **(extra_context or {})}
        now = timezone.now()
        for alias in tasks.settings:
            backend = tasks[alias]
            if not isinstance(backend, DatabaseBackend):
                continue
            try:
                context["schedules"] += schedule_statuses(backend, now)
            except InvalidScheduleError as e:
                context["schedule_error"] = str(e)
        return super().changelist_view(request, context)
