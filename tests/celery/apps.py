"""The Celery apps of the tests: one per broker, both keeping results in Redis.

Everything a test run puts on a server is its own: the RabbitMQ virtual host and the Redis key
prefix carry DJANGO_TASKS_TEST_DB_SUFFIX, so runs of other checkouts on the same servers never
take each other's messages. ``celery -A tests.celery.apps:redis worker`` runs a worker of one.
"""

import os
from typing import Any

from celery import Celery

SUFFIX = os.environ.get("DJANGO_TASKS_TEST_DB_SUFFIX", "")
NAMESPACE = f"django_tasks_test{SUFFIX}"
"""The RabbitMQ virtual host and the Redis key prefix of this run."""

RABBITMQ_URL = f"amqp://guest:guest@127.0.0.1:5672/{NAMESPACE}"
REDIS_URL = "redis://127.0.0.1:6379/12"
RESULTS_URL = "redis://127.0.0.1:6379/13"

PRIORITY_LEVELS = 201
"""Queue priorities on RabbitMQ: one level for each of our priorities (-100 to 100)."""


def settings(namespace: str = NAMESPACE, **overrides: Any) -> dict[str, Any]:
    """What both apps share: results in Redis, one task reserved per worker process (so that
    priorities order every waiting task), and names of their own."""
    return {
        "result_backend": RESULTS_URL,
        "result_backend_transport_options": {"global_keyprefix": f"{namespace}:"},
        "task_default_queue": f"{namespace}.default",
        "worker_prefetch_multiplier": 1,
        "worker_hijack_root_logger": False,
        # How long a worker waits for a lost pool process's result before it hands the task
        # back (Celery's default: 10 s).
        "worker_lost_wait": 1.0,
        "broker_connection_retry_on_startup": True,
        **overrides,
    }


def rabbitmq_settings(namespace: str = NAMESPACE, **overrides: Any) -> dict[str, Any]:
    return settings(
        namespace,
        **{
            "broker_url": RABBITMQ_URL,
            "task_queue_max_priority": PRIORITY_LEVELS - 1,
            **overrides,
        },
    )


def redis_settings(namespace: str = NAMESPACE, **overrides: Any) -> dict[str, Any]:
    options = {
        "global_keyprefix": f"{namespace}:",
        "priority_steps": list(range(10)),  # The most levels Redis has.
        "polling_interval": 0.1,  # A worker's BRPOP returns every 0.1 s (Celery's default: 1).
        **overrides.pop("broker_transport_options", {}),
    }
    return settings(namespace, broker_url=REDIS_URL, broker_transport_options=options, **overrides)


def make_app(name: str, configuration: dict[str, Any]) -> Celery:
    app = Celery(name, set_as_current=False)
    app.conf.update(configuration)
    return app


rabbitmq = make_app("rabbitmq", rabbitmq_settings())
redis = make_app("redis", redis_settings())

# Where the tests kill workers: queues and keys of their own. On Redis, a message whose worker
# is lost goes back to its queue once it has been unacknowledged for visibility_timeout seconds
# (Celery's default: an hour), when a worker next looks (kombu's default: every ~100 s).
LOST_NAMESPACE = f"{NAMESPACE}.lost"
VISIBILITY_TIMEOUT = 5
rabbitmq_lost = make_app("rabbitmq-lost", rabbitmq_settings(LOST_NAMESPACE))
redis_lost = make_app(
    "redis-lost",
    redis_settings(
        LOST_NAMESPACE,
        broker_transport_options={
            "visibility_timeout": VISIBILITY_TIMEOUT,
            "unacked_restore_interval": 1,
            "unacked_restore_throttle": 1,
        },
    ),
)
