"""The one Celery task the backend needs: ``django_tasks.run`` runs any of our tasks.

A shared task, so every Celery app of the process has it, the worker's included. Importing
this module registers it: Django imports it at start-up (the ``tasks`` module of an installed
app, in the web process and in ``celery worker`` alike), and so does Celery's
``app.autodiscover_tasks()``. Hence ``django_tasks.backends.celery`` in INSTALLED_APPS.

Late acknowledgement (``acks_late``, and ``reject_on_worker_lost`` for a pool process that
dies) is what makes the delivery at-least-once: the broker keeps the message until the task
has run and its result is stored. Results are stored by worker.py itself, as our records, so
Celery stores none (``ignore_result``).
"""

from typing import Any

from celery import Task, shared_task

from django_tasks.backends.celery.backend import RUN_TASK
from django_tasks.backends.celery.worker import run_message


@shared_task(
    name=RUN_TASK,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    serializer="json",
    typing=False,
)
def run(self: Task[Any, Any], *args: Any, **kwargs: Any) -> None:
    """Run the task whose record the message carries (see worker.py)."""
    run_message(self, args, kwargs)
