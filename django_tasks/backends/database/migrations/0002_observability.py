"""The workers table (presence.py) and the index of failed results (schema.py)."""

from typing import ClassVar

from django.db import migrations, models

import django_tasks.backends.database.models
from django_tasks.backends.database.schema import (
    create_observability_objects,
    drop_observability_objects,
)


class Migration(migrations.Migration):
    dependencies: ClassVar[list[tuple[str, str]]] = [("django_tasks_spec_database", "0001_initial")]

    operations: ClassVar[list[migrations.operations.base.Operation]] = [
        migrations.CreateModel(
            name="DBWorker",
            fields=[
                (
                    "worker_id",
                    models.CharField(
                        editable=False,
                        max_length=255,
                        primary_key=True,
                        serialize=False,
                        verbose_name="worker",
                    ),
                ),
                ("backend", models.CharField(max_length=100, verbose_name="backend")),
                (
                    "queues",
                    models.JSONField(
                        blank=True,
                        help_text="The queue names, or null for every queue.",
                        null=True,
                        verbose_name="queues",
                    ),
                ),
                (
                    "concurrency",
                    models.PositiveIntegerField(default=1, verbose_name="concurrency"),
                ),
                (
                    "started_at",
                    models.DateTimeField(
                        db_default=django_tasks.backends.database.models.DatabaseNow(),
                        verbose_name="started at",
                    ),
                ),
                (
                    "heartbeat_at",
                    models.DateTimeField(
                        db_default=django_tasks.backends.database.models.DatabaseNow(),
                        verbose_name="last heartbeat",
                    ),
                ),
            ],
            options={"verbose_name": "worker", "verbose_name_plural": "workers"},
        ),
        migrations.RunPython(
            create_observability_objects, drop_observability_objects, atomic=False, elidable=False
        ),
    ]
