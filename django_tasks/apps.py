"""The django_tasks app: connects the signal receivers, registers the system checks, and
imports the ``tasks`` module of every installed app."""

from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class TasksConfig(AppConfig):
    name = "django_tasks"
    verbose_name = "Tasks"

    def ready(self) -> None:
        # Imported here, once the app registry is ready, as Django's app loading asks: importing
        # them connects the signal receivers and registers the system checks.
        from django_tasks import checks, signals  # noqa: F401  # Imported for their effects.

        # Like admin.py for the admin: declaring the tasks of <app>/tasks.py at start-up lets
        # the system checks see every task, and workers find them without importing on demand.
        autodiscover_modules("tasks")
