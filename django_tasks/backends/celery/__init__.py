"""The Celery backend: tasks travel through the project's Celery broker, Celery's workers run
them, and their results live in Celery's result backend.

Install the extra (``pip install 'django-tasks-spec[celery]'``), add
``"django_tasks.backends.celery"`` to INSTALLED_APPS, and configure::

    TASKS = {"default": {"BACKEND": "django_tasks.backends.celery.CeleryBackend"}}
"""

from django_tasks.backends.celery.backend import CeleryBackend

__all__ = ["CeleryBackend"]
