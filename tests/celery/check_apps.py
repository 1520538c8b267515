"""Celery apps whose configurations the Celery backend's system checks refuse or warn about,
and one whose broker cannot be reached (nothing listens on port 9)."""

from tests.celery.apps import make_app, rabbitmq_settings, redis_settings

not_a_celery_app = object()
no_results = make_app("no-results", rabbitmq_settings(result_backend=None))
rpc_results = make_app("rpc-results", rabbitmq_settings(result_backend="rpc://"))
mongodb_results = make_app("mongodb-results", rabbitmq_settings(result_backend="mongodb://x/r"))
unloadable_results = make_app(
    "unloadable-results", rabbitmq_settings(result_backend="db+sqlite:///results.sqlite3")
)
bad_broker_url = make_app("bad-broker-url", rabbitmq_settings(broker_url="localhost:5672"))
unknown_transport = make_app("unknown-transport", rabbitmq_settings(broker_url="rabbit://x//"))
bad_priority_steps = make_app(
    "bad-priority-steps", redis_settings(broker_transport_options={"priority_steps": [3, 6, 12]})
)
pickle_only = make_app("pickle-only", rabbitmq_settings(accept_content=["pickle"]))
no_queue_priorities = make_app(
    "no-queue-priorities", rabbitmq_settings(task_queue_max_priority=None)
)
prefetching = make_app("prefetching", rabbitmq_settings(worker_prefetch_multiplier=4))
declared_queues_only = make_app(
    "declared-queues-only", rabbitmq_settings(task_create_missing_queues=False)
)
unreachable_broker = make_app(
    "unreachable-broker",
    rabbitmq_settings(
        broker_url="amqp://guest:guest@127.0.0.1:9//",
        task_publish_retry=False,
        broker_connection_timeout=1,
    ),
)
