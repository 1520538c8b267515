"""The app that holds the database backend's table, admin and management commands."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DatabaseBackendConfig(AppConfig):
    name = "django_tasks.backends.database"
    label = "django_tasks_spec_database"
    verbose_name = _("Tasks (database backend)")
    default_auto_field = "django.db.models.BigAutoField"
