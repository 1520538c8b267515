"""Celery 5 on a Redis or RabbitMQ broker, with a Redis result backend, as Django teams run it:
driven directly (``.delay()``), and through our CeleryBackend (``task.enqueue()``).

Both run the same Celery app (benchproj.celery_app), the same worker command and the same
configuration. The result backend is what lets the benchmark count finished tasks and read
their timestamps; Celery keeps no results by default, so its figures include writing them. Our
backend keeps its own records there (from enqueue on), with start and finish times; the drain
rate is measured the same way for both, from the first finish to the last.
"""

import importlib.metadata
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import redis
from kombu.exceptions import ChannelError

from benchdriver.common import Adapter, BenchError, Outcome, Window, Workers, python, wait_until

KEY_PREFIX = "celery-task-meta-"


class PlainCelery(Adapter):
    """Celery's default prefork worker, one node with a pool of W processes."""

    distributions: tuple[str, ...] = ("celery", "kombu", "redis", "billiard", "Django")

    def __init__(self, system: str, store: str) -> None:
        super().__init__(system, store)
        from benchproj.celery_app import app

        self.app = app
        self.results = redis.Redis.from_url(app.conf.result_backend)
        self.queue = str(app.conf.task_default_queue)

    def setup(self) -> dict[str, Any]:
        conf = self.app.conf
        with self.app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1)
            server = connection.connection.server_properties if self.store == "rabbitmq" else {}
        return {
            "versions": {name: importlib.metadata.version(name) for name in self.distributions},
            "server": (
                f"RabbitMQ {server.get('version', '?')}"
                if self.store == "rabbitmq"
                else f"Redis {self.results.info('server')['redis_version']}"
            ),
            "settings": {
                "broker": conf.broker_url,
                "result backend": conf.result_backend,
                "pool": "prefork (Celery's default), W processes in one node",
                "worker_prefetch_multiplier": conf.worker_prefetch_multiplier,
                **self.delivery_settings(),
                "worker": "celery -A benchproj.celery_app worker --concurrency W "
                "--loglevel WARNING",
            },
        }

    def delivery_settings(self) -> dict[str, Any]:
        return {"task_acks_late": self.app.conf.task_acks_late}

    def reset(self) -> None:
        with self.app.connection_for_write() as connection:
            channel: Any = connection.channel()
            channel.queue_declare(self.queue, durable=True, auto_delete=False)
            channel.queue_purge(self.queue)
            channel.close()
        self.results.flushdb()

    def enqueue_noop(self) -> str:
        from benchcelery.tasks import noop

        return str(noop.delay().id)

    def enqueue_io(self) -> str:
        from benchcelery.tasks import io

        return str(io.delay().id)

    def enqueue_stamp(self) -> str:
        from benchcelery.tasks import stamp

        return str(stamp.delay().id)

    def enqueue_flaky(self, number: int) -> str | None:
        from benchcelery.tasks import flaky

        return str(flaky.delay(number).id)

    def worker_commands(
        self,
        workers: int,
        *,
        batch: bool,
        concurrency: int = 1,
        pool: str = "prefork",
        defaults: bool = False,
    ) -> list[list[str]]:
        command = [python(), "-m", "celery", "-A", "benchproj.celery_app", "worker"]
        command += ["--loglevel", "WARNING"]
        if concurrency == 1 and pool == "prefork":
            # One node whose pool has W processes: how Celery runs W tasks at once on one
            # machine.
            return [[*command, "--concurrency", str(workers), "--hostname", "bench@%h"]]
        # W nodes of ``concurrency`` each, as the database workers run.
        return [
            [
                *command,
                "--pool",
                pool,
                "--concurrency",
                str(concurrency),
                "--hostname",
                f"bench{i}@%h",
            ]
            for i in range(workers)
        ]

    def idle_counters(self) -> tuple[float, float] | None:
        # The whole Redis server: commands and CPU of every client (the broker and results).
        stats, cpu = self.results.info("stats"), self.results.info("cpu")
        return (
            float(stats["total_commands_processed"]) - 2,
            float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"]),
        )

    def wait_drained(self, expected: int, workers: Workers, deadline: float) -> None:
        wait_until(lambda: self.finished() >= expected, deadline)

    def finished(self) -> int:
        return int(self.results.dbsize())

    def outcome(self) -> Outcome:
        metas = list(self._metas())
        succeeded = sum(1 for meta in metas if meta["status"] == "SUCCESS")
        return Outcome(succeeded=succeeded, total=len(metas) + self.waiting())

    def waiting(self) -> int:
        """Messages still in the broker's queue."""
        with self.app.connection_for_write() as connection:
            channel: Any = connection.channel()
            try:
                _, count, _ = channel.queue_declare(self.queue, passive=True)
            except ChannelError:  # Redis: an empty queue is no list at all.
                count = 0
            finally:
                channel.close()
        return int(count)

    def window(self, since: float) -> Window:
        return _window(
            (
                _timestamp(meta["date_done"])
                for meta in self._metas()
                if meta["status"] == "SUCCESS"
            ),
            since,
        )

    def stamps(self, ids: Sequence[str]) -> list[float]:
        raw = self.results.mget([KEY_PREFIX + result_id for result_id in ids])
        if any(value is None for value in raw):
            raise BenchError("A Celery latency probe has no result.")
        return [float(json.loads(cast(bytes, value))["result"]) for value in raw]

    def _metas(self) -> Iterator[dict[str, Any]]:
        keys = list(self.results.scan_iter(match=KEY_PREFIX + "*", count=1000))
        for start in range(0, len(keys), 1000):
            for value in self.results.mget(keys[start : start + 1000]):
                if value is not None:
                    yield json.loads(value)


class OursOnCelery(PlainCelery):
    """Our CeleryBackend on the same app: ``task.enqueue()``, the same worker command."""

    distributions = ("django-tasks-spec", "celery", "kombu", "redis", "billiard", "Django")

    def __init__(self, system: str, store: str) -> None:
        super().__init__(system, store)
        self.ids: list[str] = []

    def delivery_settings(self) -> dict[str, Any]:
        from django.conf import settings

        return {
            "TASKS": settings.TASKS,
            "django_tasks.run": "acks_late, reject_on_worker_lost, ignore_result (the backend "
            "writes its own records: NEW at enqueue, RUNNING, then the outcome)",
        }

    def reset(self) -> None:
        super().reset()
        self.ids.clear()

    def enqueue_noop(self) -> str:
        from benchtasks.tasks import noop

        return self._keep(noop.enqueue().id)

    def enqueue_io(self) -> str:
        from benchtasks.tasks import io

        return self._keep(io.enqueue().id)

    def enqueue_flaky(self, number: int) -> str | None:
        return None  # The retry workload runs on plain Celery.

    def enqueue_stamp(self) -> str:
        from benchtasks.tasks import stamp

        return self._keep(stamp.enqueue().id)

    def _keep(self, result_id: str) -> str:
        self.ids.append(result_id)
        return result_id

    def wait_drained(self, expected: int, workers: Workers, deadline: float) -> None:
        # Tasks finish about in the order they were enqueued: wait for the last one, cheaply,
        # then for every one.
        if self.ids:
            wait_until(lambda: self._record(self.ids[-1])["status"] != "NEW", deadline)
        wait_until(lambda: self.finished() >= expected, deadline)

    def finished(self) -> int:
        return sum(1 for record in self._records() if record["finished_at"] is not None)

    def outcome(self) -> Outcome:
        records = list(self._records())
        succeeded = sum(1 for record in records if record["status"] == "SUCCEEDED")
        return Outcome(succeeded=succeeded, total=len(records))

    def window(self, since: float) -> Window:
        return _window(
            (
                _timestamp(record["finished_at"])
                for record in self._records()
                if record["status"] == "SUCCEEDED"
            ),
            since,
        )

    def stamps(self, ids: Sequence[str]) -> list[float]:
        return [float(self._record(result_id)["return_value"]) for result_id in ids]

    def _record(self, result_id: str) -> dict[str, Any]:
        value = self.results.get(KEY_PREFIX + result_id)
        if value is None:
            raise BenchError(f"Task {result_id} has no record.")
        return dict(json.loads(json.loads(value)["django_tasks"]))

    def _records(self) -> Iterator[dict[str, Any]]:
        for start in range(0, len(self.ids), 1000):
            keys = [KEY_PREFIX + result_id for result_id in self.ids[start : start + 1000]]
            for value in self.results.mget(keys):
                if value is not None:
                    yield json.loads(json.loads(value)["django_tasks"])


def _window(moments: Iterator[float], since: float) -> Window:
    """The rate from the first finish after ``since`` to the last (Celery records no start)."""
    done = sorted(moment for moment in moments if moment >= since)
    if len(done) < 2:
        raise BenchError("Fewer than two tasks succeeded; no rate can be measured.")
    return Window(first=done[0], last=done[-1], rate=(len(done) - 1) / (done[-1] - done[0]))


def _timestamp(value: str) -> float:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
