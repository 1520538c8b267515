"""The queue table, and the indexes and trigger that differ per database (see schema.py)."""

from typing import ClassVar

from django.db import migrations, models

import django_tasks.backends.database.models
from django_tasks.backends.database.schema import create_schema_objects, drop_schema_objects


class Migration(migrations.Migration):
    initial = True

    dependencies: ClassVar[list[tuple[str, str]]] = []

    operations: ClassVar[list[migrations.operations.base.Operation]] = [
        migrations.CreateModel(
            name="DBTaskResult",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        editable=False, primary_key=True, serialize=False, verbose_name="id"
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("NEW", "New"),
                            ("RUNNING", "Running"),
                            ("FAILED", "Failed"),
                            ("SUCCEEDED", "Succeeded"),
                        ],
                        default="NEW",
                        max_length=9,
                        verbose_name="status",
                    ),
                ),
                ("backend", models.CharField(max_length=100, verbose_name="backend")),
                ("queue_name", models.CharField(max_length=100, verbose_name="queue name")),
                ("task_path", models.TextField(verbose_name="task path")),
                ("priority", models.SmallIntegerField(default=0, verbose_name="priority")),
                (
                    "arguments",
                    models.JSONField(
                        help_text='{"args": [...], "kwargs": {...}}', verbose_name="arguments"
                    ),
                ),
                (
                    "run_after",
                    models.DateTimeField(blank=True, null=True, verbose_name="run after"),
                ),
                (
                    "enqueued_at",
                    models.DateTimeField(
                        db_default=django_tasks.backends.database.models.DatabaseNow(),
                        verbose_name="enqueued at",
                    ),
                ),
                (
                    "available_at",
                    models.DateTimeField(
                        db_default=django_tasks.backends.database.models.DatabaseNow(),
                        help_text="run_after, or the enqueue time: the task is not started before.",
                        verbose_name="available at",
                    ),
                ),
                (
                    "started_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="started at"),
                ),
                (
                    "finished_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="finished at"),
                ),
                ("attempts", models.PositiveIntegerField(default=0, verbose_name="attempts")),
                ("worker_id", models.CharField(blank=True, max_length=255, verbose_name="worker")),
                ("worker_ids", models.JSONField(default=list, verbose_name="worker ids")),
                (
                    "lease_expires_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="lease expires at"),
                ),
                (
                    "return_value",
                    models.JSONField(blank=True, null=True, verbose_name="return value"),
                ),
                (
                    "exception_class_path",
                    models.TextField(blank=True, verbose_name="exception class"),
                ),
                ("traceback", models.TextField(blank=True, verbose_name="traceback")),
            ],
            options={
                "verbose_name": "task result",
                "verbose_name_plural": "task results",
                "permissions": (("reenqueue_dbtaskresult", "Can re-enqueue failed task results"),),
            },
        ),
        migrations.RunPython(
            create_schema_objects, drop_schema_objects, atomic=False, elidable=False
        ),
    ]
