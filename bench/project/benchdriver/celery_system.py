"""Celery 5 with a Redis broker and a Redis result backend, as most Django teams run it.

The result backend is what lets the benchmark count finished tasks and read their timestamps
(``date_done``); Celery keeps no results by default, so its figures include writing them.
"""

import importlib.metadata
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import redis

from benchdriver.common import Adapter, BenchError, Outcome, Window, Workers, python, wait_until

KEY_PREFIX = "celery-task-meta-"


class CeleryRedis(Adapter):
    """Celery's default prefork worker, one node with a pool of W processes."""

    def __init__(self, system: str, store: str) -> None:
        super().__init__(system, store)
        from benchproj.celery_app import app

        self.app = app
        self.broker = redis.Redis.from_url(app.conf.broker_url)
        self.results = redis.Redis.from_url(app.conf.result_backend)

    def setup(self) -> dict[str, Any]:
        conf = self.app.conf
        return {
            "versions": {
                name: importlib.metadata.version(name)
                for name in ("celery", "kombu", "redis", "billiard", "Django")
            },
            "server": f"Redis {self.broker.info('server')['redis_version']}",
            "settings": {
                "broker": conf.broker_url,
                "result backend": conf.result_backend,
                "pool": "prefork (Celery's default), W processes in one node",
                "worker_prefetch_multiplier": conf.worker_prefetch_multiplier,
                "task_acks_late": conf.task_acks_late,
                "worker": "celery -A benchproj.celery_app worker --concurrency W "
                "--loglevel WARNING",
            },
        }

    def reset(self) -> None:
        self.broker.flushdb()
        self.results.flushdb()

    def enqueue_noop(self) -> str:
        from benchcelery.tasks import noop

        return str(noop.delay().id)

    def enqueue_stamp(self) -> str:
        from benchcelery.tasks import stamp

        return str(stamp.delay().id)

    def worker_commands(self, workers: int, *, batch: bool) -> list[list[str]]:
        # One node whose pool has W processes: how Celery runs W tasks at once on one machine.
        return [
            [
                python(),
                "-m",
                "celery",
                "-A",
                "benchproj.celery_app",
                "worker",
                "--concurrency",
                str(workers),
                "--loglevel",
                "WARNING",
                "--hostname",
                "bench@%h",
            ]
        ]

    def wait_drained(self, expected: int, workers: Workers, deadline: float) -> None:
        wait_until(lambda: self.finished() >= expected, deadline)

    def finished(self) -> int:
        return int(self.results.dbsize())

    def outcome(self) -> Outcome:
        metas = list(self._metas())
        pending = int(self.broker.llen("celery")) + int(self.broker.hlen("unacked"))
        succeeded = sum(1 for meta in metas if meta["status"] == "SUCCESS")
        return Outcome(succeeded=succeeded, total=len(metas) + pending)

    def window(self, since: float) -> Window:
        done = sorted(
            moment
            for meta in self._metas()
            if meta["status"] == "SUCCESS" and (moment := _timestamp(meta["date_done"])) >= since
        )
        if len(done) < 2:
            raise BenchError("Fewer than two Celery tasks succeeded; no rate can be measured.")
        # Celery records no start time: the rate runs from the first finish to the last.
        return Window(first=done[0], last=done[-1], rate=(len(done) - 1) / (done[-1] - done[0]))

    def stamps(self, ids: Sequence[str]) -> list[float]:
        raw = self.results.mget([KEY_PREFIX + result_id for result_id in ids])
        if any(value is None for value in raw):
            raise BenchError("A Celery latency probe has no result.")
        return [float(json.loads(value)["result"]) for value in raw]

    def _metas(self) -> Iterator[dict[str, Any]]:
        keys = list(self.results.scan_iter(match=KEY_PREFIX + "*", count=1000))
        for start in range(0, len(keys), 1000):
            for value in self.results.mget(keys[start : start + 1000]):
                if value is not None:
                    yield json.loads(value)


def _timestamp(value: str) -> float:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
