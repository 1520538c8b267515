"""The django_tasks app: connects the signal receivers, registers the system checks (in place of
Django 6's ``check_tasks``), and imports the ``tasks`` module of every installed app and the
modules of the TASK_MODULES setting."""

from importlib import import_module

from django.apps import AppConfig, apps
from django.utils.module_loading import module_has_submodule

from django_tasks.dialects import InvalidTaskBackendBase, replace_django_check_and_receivers
from django_tasks.registry import task_modules


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
        discover_tasks()


def discover_tasks() -> None:
    """Import the ``tasks`` module of every installed app, and the modules TASK_MODULES lists.

    Django's ``@django.tasks.task`` creates its backend when the module declares a task, so
    with a broken TASKS setting it raises there; the system checks report what is wrong with
    the setting, word for word, so that module is skipped rather than crashing the start-up
    (``manage.py check`` must run to say it). Anything else it raises is raised.
    """
    # Imported here: the checks module registers the checks, which the app does in ready().
    from django_tasks.checks import tasks_setting_is_broken

    app_modules = [
        f"{app_config.name}.tasks"
        for app_config in apps.get_app_configs()
        if module_has_submodule(app_config.module, "tasks")
    ]
    for name in [*app_modules, *task_modules()]:
        try:
            import_module(name)
        except InvalidTaskBackendBase:  # Ours too: they are Django's InvalidTaskBackend.
            if not tasks_setting_is_broken():
                raise
        except ImportError:  # Of TASK_MODULES: reported by the check E061, which must run.
            if name in app_modules:
                raise
