"""The health and metrics endpoints of the database backends. Include them in a project's
URLconf (``path("tasks/", include("django_tasks.backends.database.urls"))``) where the probes
and Prometheus reach them, and keep them from the public: they name queues and task paths."""

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from django_tasks.backends.database.health import DEFAULT_MAX_WAIT, check_health
from django_tasks.backends.database.stats import database_backends


@never_cache
@require_GET
def health(request: HttpRequest) -> HttpResponse:
    """200 and the figures as JSON if every queue is healthy (see health.py), else 503.
    ``?max_wait=SECONDS`` sets the threshold of the oldest waiting task."""
    text = request.GET.get("max_wait", str(DEFAULT_MAX_WAIT))
    try:
        max_wait = float(text)
    except ValueError:
        max_wait = -1.0
    if not 0 <= max_wait < float("inf"):
        return HttpResponseBadRequest(
            f"max_wait {text[:50]!r} is invalid; it must be a number of seconds, 0 or more.",
            content_type="text/plain; charset=utf-8",
        )
    result = check_health(database_backends(), max_wait=max_wait)
    return JsonResponse(result.as_dict(), status=200 if result.healthy else 503)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """The queue's figures in Prometheus's text format (see metrics.py)."""
    try:
        # Imported here: prometheus_client is an optional dependency (the "prometheus" extra).
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        # Imported here: it imports prometheus_client.
        from django_tasks.backends.database.metrics import queue_registry
    except ImportError as e:
        raise ImproperlyConfigured(
            f"The metrics view needs prometheus_client ({e}); install the 'prometheus' extra: "
            f"pip install 'django-tasks-spec[prometheus]'."
        ) from e
    registry = queue_registry(database_backends())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
