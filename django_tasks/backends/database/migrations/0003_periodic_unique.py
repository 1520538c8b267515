"""Unique tasks (two columns and the unique index of live keys, see schema.py) and the ticks of
periodic tasks (one row per tick a worker has dealt with, unique per schedule and time)."""

from typing import ClassVar

from django.db import migrations, models

import django_tasks.backends.database.models
from django_tasks.backends.database.schema import create_unique_index, drop_unique_index


class Migration(migrations.Migration):
    dependencies: ClassVar[list[tuple[str, str]]] = [
        ("django_tasks_spec_database", "0002_observability"),
    ]

    operations: ClassVar[list[migrations.operations.base.Operation]] = [
        migrations.AddField(
            model_name="dbtaskresult",
            name="unique_key",
            field=models.CharField(
                blank=True, max_length=200, null=True, verbose_name="unique key"
            ),
        ),
        migrations.AddField(
            model_name="dbtaskresult",
            name="unique_while_running",
            field=models.BooleanField(
                db_default=False, default=False, verbose_name="unique while running"
            ),
        ),
        migrations.RunPython(create_unique_index, drop_unique_index, atomic=False, elidable=False),
        migrations.CreateModel(
            name="DBScheduleTick",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("backend", models.CharField(max_length=100, verbose_name="backend")),
                ("schedule", models.CharField(max_length=200, verbose_name="schedule")),
                ("tick_at", models.DateTimeField(verbose_name="tick at")),
                ("result_id", models.UUIDField(blank=True, null=True, verbose_name="result id")),
                (
                    "outcome",
                    models.CharField(
                        choices=[
                            ("ENQUEUED", "Enqueued"),
                            ("SKIPPED", "Skipped (missed)"),
                            ("BEGAN", "Schedule began"),
                        ],
                        max_length=9,
                        verbose_name="outcome",
                    ),
                ),
                (
                    "recorded_at",
                    models.DateTimeField(
                        db_default=django_tasks.backends.database.models.DatabaseNow(),
                        verbose_name="recorded at",
                    ),
                ),
            ],
            options={
                "verbose_name": "schedule tick",
                "verbose_name_plural": "schedule ticks",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("backend", "schedule", "tick_at"),
                        name="django_tasks_spec_one_tick",
                    )
                ],
            },
        ),
    ]
