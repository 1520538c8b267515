"""The django_tasks app: connects the signal receivers, registers the system checks (in place of
Django 6's ``check_tasks``), and imports the ``tasks`` module of every installed app."""

from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules

from django_tasks.dialects import replace_django_check_and_receivers


class TasksConfig(AppConfig):
    name = "django_tasks"
    verbose_name = "Tasks"

    def ready(self) -> None:
        # Imported here, once the app registry is ready, as Django's app loading asks: importing
        # them connects the signal receivers and registers the system checks.
        from django_tasks import checks, signals  # noqa: F401  # Imported for their effects.

        # On Django 6: our checks validate TASKS and run each backend's check() once, and our
        # receivers log the task signals once; Django's own would do both a second time.
        replace_django_check_and_receivers()

        # Like admin.py for the admin: declaring the tasks of <app>/tasks.py at start-up lets
        # the system checks see every task, and workers find them without importing on demand.
        autodiscover_modules("tasks")
