"""Traces: the trace context a task carries from its enqueueing span to its run's (see
django_tasks.tracing). A nullable column, so that no INSERT of an older release, during a
rolling upgrade, has to name it; on PostgreSQL the enqueue function gains a form of nine
arguments beside that of eight, which workers of earlier releases keep calling."""

from typing import ClassVar

from django.db import migrations, models

from django_tasks.backends.database.schema import (
    create_traced_enqueue_function,
    drop_traced_enqueue_function,
)


class Migration(migrations.Migration):
    dependencies: ClassVar[list[tuple[str, str]]] = [
        ("django_tasks_spec_database", "0004_lifecycle"),
    ]

    operations: ClassVar[list[migrations.operations.base.Operation]] = [
        migrations.AddField(
            model_name="dbtaskresult",
            name="trace_context",
            field=models.JSONField(
                blank=True,
                help_text=(
                    "The enqueueing span's trace context (W3C traceparent...), when tracing "
                    "was on. Null: none."
                ),
                null=True,
                verbose_name="trace context",
            ),
        ),
        migrations.RunPython(
            create_traced_enqueue_function, drop_traced_enqueue_function, elidable=False
        ),
    ]
