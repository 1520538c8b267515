"""The health and metrics endpoints (see views.py)::

path("tasks/", include("django_tasks.backends.database.urls"))
"""

from django.urls import path

from django_tasks.backends.database import views

app_name = "django_tasks_database"

urlpatterns = [
    path("health/", views.health, name="health"),
    path("metrics/", views.metrics, name="metrics"),
]
