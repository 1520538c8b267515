"""The suite as a Django app, so that its fixture tasks belong to an installed app.

A backend whose workers import tasks only from INSTALLED_APPS (the database backend refuses any
other task at enqueue) can then run them: add ``"django_tasks_conformance"`` to the
INSTALLED_APPS of the settings the suite runs with. The app has no models.
"""

from django.apps import AppConfig


class ConformanceConfig(AppConfig):
    name = "django_tasks_conformance"
    label = "django_tasks_conformance"
    verbose_name = "Task backend conformance suite"
