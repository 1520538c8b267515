"""Retries and cancellation: the errors of retried attempts, a cancel request, the CANCELLED
status and the permission to cancel. Nullable columns, so no INSERT of the backend (nor of an
older release, during a rolling upgrade) has to name them."""

from typing import ClassVar

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies: ClassVar[list[tuple[str, str]]] = [
        ("django_tasks_spec_database", "0003_periodic_unique"),
    ]

    operations: ClassVar[list[migrations.operations.base.Operation]] = [
        migrations.AlterModelOptions(
            name="dbtaskresult",
            options={
                "permissions": (
                    ("reenqueue_dbtaskresult", "Can re-enqueue failed task results"),
                    ("cancel_dbtaskresult", "Can cancel task results"),
                ),
                "verbose_name": "task result",
                "verbose_name_plural": "task results",
            },
        ),
        migrations.AddField(
            model_name="dbtaskresult",
            name="cancel_requested_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="cancel requested at"),
        ),
        migrations.AddField(
            model_name="dbtaskresult",
            name="errors",
            field=models.JSONField(
                blank=True,
                help_text=(
                    '[{"exception_class_path": ..., "traceback": ...}, ...]: one per failed '
                    "attempt that was retried; the final one is in exception class and "
                    "traceback. Null: none."
                ),
                null=True,
                verbose_name="errors of retried attempts",
            ),
        ),
        migrations.AlterField(
            model_name="dbtaskresult",
            name="status",
            field=models.CharField(
                choices=[
                    ("NEW", "New"),
                    ("RUNNING", "Running"),
                    ("FAILED", "Failed"),
                    ("SUCCEEDED", "Succeeded"),
                    ("CANCELLED", "Cancelled"),
                ],
                default="NEW",
                max_length=9,
                verbose_name="status",
            ),
        ),
    ]
