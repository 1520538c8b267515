"""The app of the Celery backend: installing it registers ``django_tasks.run`` (tasks.py)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CeleryBackendConfig(AppConfig):
    name = "django_tasks.backends.celery"
    label = "django_tasks_celery_backend"
    verbose_name = _("Tasks (Celery backend)")
