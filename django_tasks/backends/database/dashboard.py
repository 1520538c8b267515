"""The dashboard of the database backends in the Django admin: the queues, the throughput and
failures of the last hour, wait and run times, the workers and the recent failures.

Staff only (the admin site's login), and only for users who may view task results. The page
reloads its panel (the same HTML, rendered by the server) every REFRESH_SECONDS with a few
lines of script, so nothing is built or bundled; the charts are SVG drawn here, from numbers
only, so no text of a task reaches them unescaped.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from django_tasks.backends.database.models import queues_text
from django_tasks.backends.database.stats import (
    PERCENTILES,
    Minute,
    Snapshot,
    database_backends,
    snapshot,
)

REFRESH_SECONDS = 5
CHART_WIDTH, CHART_HEIGHT = 600, 140
SUCCEEDED_COLOUR, FAILED_COLOUR = "#417690", "#ba2121"


@dataclass(frozen=True, slots=True)
class Dashboard:
    """The views, bound to the ModelAdmin of the task results (for its permissions)."""

    model_admin: Any

    def page(self, request: HttpRequest) -> HttpResponse:
        context = {
            **self.model_admin.admin_site.each_context(request),
            **self._context(request),
            "title": "Task queue dashboard",
            "opts": self.model_admin.opts,
            "refresh_seconds": REFRESH_SECONDS,
        }
        return TemplateResponse(request, "django_tasks_spec_database/dashboard.html", context)

    def panel(self, request: HttpRequest) -> HttpResponse:
        """The part of the page that the script reloads."""
        return TemplateResponse(
            request, "django_tasks_spec_database/dashboard_panel.html", self._context(request)
        )

    def _context(self, request: HttpRequest) -> dict[str, Any]:
        if not self.model_admin.has_view_permission(request):
            raise PermissionDenied
        figures = snapshot(database_backends())
        return {
            "figures": figures,
            "queues": queue_rows(figures),
            "workers": worker_rows(figures),
            "percentiles": " / ".join(f"p{p}" for p in PERCENTILES),
            "throughput_chart": throughput_chart(figures.minutes),
            "failure_rate_chart": failure_rate_chart(figures.minutes),
            "finished": sum(minute.succeeded + minute.failed for minute in figures.minutes),
            "opts": self.model_admin.opts,
        }


def throughput_chart(minutes: Sequence[Minute]) -> SafeString:
    """Stacked bars, one per minute: succeeded below, failed above."""
    top = max((minute.succeeded + minute.failed for minute in minutes), default=0) or 1
    width = CHART_WIDTH / max(len(minutes), 1)
    bars = []
    for index, minute in enumerate(minutes):
        x = index * width
        succeeded = CHART_HEIGHT * minute.succeeded / top
        failed = CHART_HEIGHT * minute.failed / top
        title = f"{minute.start:%H:%M} UTC: {minute.succeeded} succeeded, {minute.failed} failed"
        bars.append(
            format_html(
                '<g><title>{}</title><rect x="{}" y="{}" width="{}" height="{}" '
                'fill="{}"/><rect x="{}" y="{}" width="{}" height="{}" '
                'fill="{}"/></g>',
                title,
                _n(x),
                _n(CHART_HEIGHT - succeeded),
                _n(max(width - 1, 1)),
                _n(succeeded),
                SUCCEEDED_COLOUR,
                _n(x),
                _n(CHART_HEIGHT - succeeded - failed),
                _n(max(width - 1, 1)),
                _n(failed),
                FAILED_COLOUR,
            )
        )
    return _svg("Tasks finished per minute", top, "", SafeString("".join(bars)))


def failure_rate_chart(minutes: Sequence[Minute]) -> SafeString:
    """The share of failures per minute, as a line over the minutes that finished tasks."""
    width = CHART_WIDTH / max(len(minutes), 1)
    points = [
        (index * width + width / 2, CHART_HEIGHT * (1 - minute.failed / finished))
        for index, minute in enumerate(minutes)
        if (finished := minute.succeeded + minute.failed)
    ]
    line = format_html(
        '<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>',
        FAILED_COLOUR,
        " ".join(f"{_n(x)},{_n(y)}" for x, y in points),
    )
    dots = format_html_join(
        "",
        '<circle cx="{}" cy="{}" r="2" fill="{}"/>',
        ((_n(x), _n(y), FAILED_COLOUR) for x, y in points),
    )
    return _svg("Failure rate per minute", 100, "%", SafeString(line + dots))


def _n(number: float) -> str:
    """A coordinate, as SVG takes it (format_html escapes its arguments into text first)."""
    return f"{number:.1f}"


def _svg(label: str, top: float, unit: str, body: SafeString) -> SafeString:
    return format_html(
        '<svg class="tasks-chart" role="img" aria-label="{}" viewBox="-40 -10 {} {}" '
        'width="100%" preserveAspectRatio="xMinYMin meet">'
        '<text x="-6" y="4" text-anchor="end" font-size="10">{}{}</text>'
        '<text x="-6" y="{}" text-anchor="end" font-size="10">0</text>'
        '<line x1="0" y1="{}" x2="{}" y2="{}" stroke="#999"/>{}</svg>',
        label,
        CHART_WIDTH + 50,
        CHART_HEIGHT + 30,
        f"{top:g}",
        unit,
        CHART_HEIGHT,
        CHART_HEIGHT,
        CHART_WIDTH,
        CHART_HEIGHT,
        body,
    )


def age(seconds: float) -> str:
    """A duration as a person reads it: 45 s, 12 min, 3.5 h."""
    if seconds < 120:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def queue_rows(figures: Snapshot) -> list[dict[str, Any]]:
    """The queues' table, as the template shows it."""
    return [
        {
            "backend": queue.backend,
            "queue_name": queue.queue_name,
            "waiting": queue.waiting,
            "running": queue.running,
            "deferred": queue.deferred,
            "oldest": age(queue.oldest_waiting_seconds) if queue.waiting else "-",
            "succeeded": queue.succeeded,
            "failed": queue.failed,
            "failure_rate": "-" if queue.failure_rate is None else f"{queue.failure_rate:.1%}",
            "wait": _percentiles(queue.wait_percentiles),
            "run": _percentiles(queue.run_percentiles),
        }
        for queue in figures.queues
    ]


def worker_rows(figures: Snapshot) -> list[dict[str, Any]]:
    return [
        {
            "worker_id": worker.worker_id,
            "backend": worker.backend,
            "queues": queues_text(worker.queues, worker.excluded_queues),
            "concurrency": worker.concurrency,
            "heartbeat": f"{age(worker.heartbeat_seconds)} ago",
            "live": worker.live,
            "running": sorted(worker.running.items()),
        }
        for worker in figures.workers
    ]


def _percentiles(values: dict[int, float]) -> str:
    return " / ".join(age(values[p]) for p in PERCENTILES) if values else "-"
