"""Prometheus metrics of the database backend (the ``prometheus`` extra: prometheus_client).

Two sources, as usual for a task queue:

- The queue, read from the database at each scrape by ``QueueCollector`` (the metrics view):
  ``django_tasks_tasks{backend, queue, task, status}`` (status ``waiting``, ``deferred``,
  ``running``), ``django_tasks_oldest_waiting_seconds{backend, queue}``,
  ``django_tasks_finished_recent{backend, queue, status}`` (the last hour) and
  ``django_tasks_workers{backend, state}`` (``live``, ``dead``).
- Each worker's own counters, kept in memory as its tasks finish (no statement, no lock a task
  waits on) and served by ``db_worker --metrics-port``:
  ``django_tasks_finished_total{backend, queue, task, status}`` and
  ``django_tasks_run_seconds{backend, queue, task}`` (a histogram).
"""

from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from django_tasks.backends.database.backend import DatabaseBackend
from django_tasks.backends.database.stats import snapshot

PREFIX = "django_tasks"


class QueueCollector(Collector):
    """The queue's figures, read when Prometheus scrapes (see the module docstring)."""

    def __init__(self, backends: Sequence[DatabaseBackend]) -> None:
        self.backends = backends

    def collect(self) -> Iterator[Metric]:
        figures = snapshot(self.backends)
        tasks = GaugeMetricFamily(
            f"{PREFIX}_tasks",
            "Unfinished tasks: waiting (due), deferred (run_after to come), running.",
            labels=["backend", "queue", "task", "status"],
        )
        oldest = GaugeMetricFamily(
            f"{PREFIX}_oldest_waiting_seconds",
            "How long the oldest waiting task of the queue has waited.",
            labels=["backend", "queue"],
        )
        finished = GaugeMetricFamily(
            f"{PREFIX}_finished_recent",
            "Tasks finished in the last hour.",
            labels=["backend", "queue", "status"],
        )
        for queue in figures.queues:
            where = [queue.backend, queue.queue_name]
            for counts in queue.tasks:
                for status, value in (
                    ("waiting", counts.waiting),
                    ("deferred", counts.deferred),
                    ("running", counts.running),
                ):
                    tasks.add_metric([*where, counts.task_path, status], value)
            oldest.add_metric(where, queue.oldest_waiting_seconds)
            finished.add_metric([*where, "SUCCEEDED"], queue.succeeded)
            finished.add_metric([*where, "FAILED"], queue.failed)
        workers = GaugeMetricFamily(
            f"{PREFIX}_workers",
            "Workers by the age of their heartbeat: live (within LEASE_SECONDS) or dead.",
            labels=["backend", "state"],
        )
        for backend in self.backends:
            own = [worker for worker in figures.workers if worker.backend == backend.alias]
            live = sum(worker.live for worker in own)
            workers.add_metric([backend.alias, "live"], live)
            workers.add_metric([backend.alias, "dead"], len(own) - live)
        yield from (tasks, oldest, finished, workers)


def queue_registry(backends: Sequence[DatabaseBackend]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(QueueCollector(backends))
    return registry


class WorkerMetrics:
    """A worker's counters, served over HTTP on ``port`` (``db_worker --metrics-port``)."""

    def __init__(self, port: int, address: str = "0.0.0.0") -> None:  # Scraped from outside.
        self.registry = CollectorRegistry(auto_describe=True)
        self.finished_total = Counter(
            f"{PREFIX}_finished",
            "Tasks this worker finished, by how they ended.",
            ["backend", "queue", "task", "status"],
            registry=self.registry,
        )
        self.run_seconds = Histogram(
            f"{PREFIX}_run_seconds",
            "How long this worker's tasks ran.",
            ["backend", "queue", "task"],
            registry=self.registry,
        )
        self._counters: dict[tuple[str, str, str, str], Counter] = {}
        self._histograms: dict[tuple[str, str, str], Histogram] = {}
        """Each label set's child, kept: ``labels()`` takes a lock and checks its values, which
        costs more than the count itself, once per task (bench/overhead.py)."""
        self.server, self.thread = start_http_server(port, address, registry=self.registry)

    def finished(
        self, *, backend: str, queue: str, task: str, status: str, run_seconds: float | None
    ) -> None:
        key = (backend, queue, task)
        counter = self._counters.get((*key, status))
        if counter is None:
            counter = self._counters[(*key, status)] = self.finished_total.labels(*key, status)
        counter.inc()
        if run_seconds is not None:
            histogram = self._histograms.get(key)
            if histogram is None:
                histogram = self._histograms[key] = self.run_seconds.labels(*key)
            histogram.observe(run_seconds)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
