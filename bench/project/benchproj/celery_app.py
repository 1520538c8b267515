"""The Celery application, set up the way Celery's Django guide does it."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchproj.settings")

app = Celery("benchproj")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
