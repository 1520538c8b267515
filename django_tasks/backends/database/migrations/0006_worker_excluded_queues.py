"""The queues a worker does not serve (``db_worker --exclude-queues``), so that the health check
and the dashboard do not count a worker of every queue but ``mail`` as serving ``mail``. A
nullable column: workers of earlier releases, during a rolling upgrade, write rows without it."""

from typing import ClassVar

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies: ClassVar[list[tuple[str, str]]] = [
        ("django_tasks_spec_database", "0005_trace_context"),
    ]

    operations: ClassVar[list[migrations.operations.base.Operation]] = [
        migrations.AddField(
            model_name="dbworker",
            name="excluded_queues",
            field=models.JSONField(
                blank=True,
                help_text="The queue names it does not serve (db_worker --exclude-queues). "
                "Null: none.",
                null=True,
                verbose_name="excluded queues",
            ),
        ),
    ]
