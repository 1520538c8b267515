"""The django_tasks app: connects the signal receivers and registers the system checks."""

from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "django_tasks"
    verbose_name = "Tasks"

    def ready(self) -> None:
        from django_tasks import checks, signals  # noqa: F401  # Connect receivers, register checks.
