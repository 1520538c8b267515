"""``manage.py db_worker``: run the tasks of a DatabaseBackend (the work is in worker/)."""

import argparse
import math
import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import autoreload

from django_tasks.backends.database.backend import DatabaseBackend
from django_tasks.backends.database.checks import timeout_option_message
from django_tasks.backends.database.management.arguments import (
    add_backend_argument,
    database_backend,
    queue_names,
    zero_or_more,
)
from django_tasks.backends.database.models import WORKER_ID_MAX_LENGTH
from django_tasks.backends.database.worker import (
    QueueTableMissing,
    Worker,
    WorkerOptions,
    configure_logging,
)
from django_tasks.problems import queue_name_characters_message
from django_tasks.schedules import InvalidScheduleError
from django_tasks.utils import default_worker_id
from django_tasks_spec.settings import QUEUE_NAME_PATTERN


class Command(BaseCommand):
    help = (
        "Run the tasks of a database backend: claim them from its table, run them, store "
        "their results. Run as many workers as you like, on one machine or many. SIGTERM, "
        "SIGINT, SIGHUP or SIGQUIT finishes the running tasks and exits; a second signal hands "
        "them back to the queue and exits at once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--queue-name",
            action="append",
            metavar="NAME",
            help="The queue to run tasks from: a name, several separated by commas (or the "
            "option repeated), or '*' for every queue. Default: 'default'.",
        )
        parser.add_argument(
            "--exclude-queues",
            action="append",
            metavar="NAME",
            help="With --queue-name '*': the queues not to run tasks from, separated by "
            "commas (or the option repeated).",
        )
        add_backend_argument(parser, dest="backend_name")
        parser.add_argument(
            "--interval",
            type=zero_or_more("a number"),
            default=1.0,
            metavar="SECONDS",
            help="The longest wait between looks for new tasks, in (fractional) seconds; an "
            "idle worker polls more often at first. Tasks whose run_after has come start "
            "within about this long. On PostgreSQL, new tasks wake idle workers at once. 0 "
            "looks again at once, without waiting. Default: 1.",
        )
        parser.add_argument(
            "--no-startup-delay",
            action="store_false",
            dest="startup_delay",
            help="Claim at once at start-up. By default a worker first waits a random time of "
            "up to a second (at most --interval), which spreads the first looks of many "
            "workers started together.",
        )
        parser.add_argument(
            "--batch",
            action="store_true",
            help="Exit once no task is ready to run (tasks deferred to later stay queued).",
        )
        parser.add_argument(
            "--max-tasks",
            type=_positive(int),
            metavar="N",
            help="Exit after running N tasks.",
        )
        parser.add_argument(
            "--worker-id",
            metavar="ID",
            help="The name this worker records on the tasks it runs. Default: host:pid.",
        )
        parser.add_argument(
            "--concurrency",
            type=_positive(int),
            default=1,
            metavar="N",
            help="How many tasks run at once in this worker, each in its own thread, or "
            "child process with --pool process (so with its own database connection). "
            "Default: 1.",
        )
        parser.add_argument(
            "--pool",
            choices=["thread", "process"],
            default="thread",
            help="Where tasks run: 'thread' (threads of the worker: light, suits tasks that "
            "wait on I/O; a timeout cannot stop a thread) or 'process' (a child process per "
            "slot: a task past its timeout is killed, a task that crashes its process takes "
            "no other task with it, CPU-bound tasks use every core). Default: thread.",
        )
        parser.add_argument(
            "--max-tasks-per-child",
            type=_positive(int),
            metavar="N",
            help="With --pool process: replace a child process after it has run N tasks "
            "(returns the memory that tasks leak). Default: no limit.",
        )
        parser.add_argument(
            "--metrics-port",
            type=_positive(int),
            metavar="PORT",
            help="Serve this worker's Prometheus counters (tasks finished, run times) over "
            "HTTP on PORT. Needs the 'prometheus' extra (prometheus_client).",
        )
        parser.add_argument(
            "--reload",
            action=argparse.BooleanOptionalAction,
            default=False,
            help="Restart the worker when a Python file changes (for development). Stopping "
            "it does not wait for running tasks. Off unless given, whatever DEBUG is.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity = configure_logging(options["verbosity"])
        backend = database_backend(
            options["backend_name"], "db_worker runs only the tasks of a DatabaseBackend"
        )
        queues = self._queues(backend, options["queue_name"] or ["default"])
        interval = options["interval"]
        worker_options = WorkerOptions(
            queues=queues,
            exclude_queues=self._excluded(queues, options["exclude_queues"]),
            startup_delay=min(1.0, interval) if options["startup_delay"] else 0.0,
            interval=interval,
            batch=options["batch"],
            max_tasks=options["max_tasks"],
            worker_id=self._worker_id(options["worker_id"]),
            concurrency=options["concurrency"],
            metrics_port=options["metrics_port"],
            pool=options["pool"],
            max_tasks_per_child=options["max_tasks_per_child"],
            verbosity=verbosity,
        )
        if options["max_tasks_per_child"] is not None and options["pool"] != "process":
            raise CommandError(
                f"--max-tasks-per-child {options['max_tasks_per_child']} needs --pool process; "
                f"the thread pool has no child processes to replace."
            )
        if backend.options.TIMEOUT is not None and backend.options.TIMEOUT <= 0:
            raise CommandError(timeout_option_message(backend))
        if options["reload"]:
            if options["batch"] or options["max_tasks"]:
                raise CommandError(
                    "--reload cannot be combined with --batch or --max-tasks: the reloader "
                    "keeps the worker running until it is stopped."
                )
            autoreload.run_with_reloader(self._work, backend, worker_options)
        else:
            self._work(backend, worker_options)

    def _work(self, backend: DatabaseBackend, options: WorkerOptions) -> None:
        try:
            status = Worker(backend, options).run()
        except (QueueTableMissing, InvalidScheduleError) as e:
            raise CommandError(str(e)) from None
        if status:
            raise CommandError(
                "Stopped at once by a second signal; the running tasks were handed back to "
                "the queue.",
                returncode=status,
            )

    def _queues(self, backend: DatabaseBackend, values: list[str]) -> list[str] | None:
        names = queue_names(values)
        if "*" in names:
            if names != ["*"]:
                raise CommandError(
                    f"--queue-name {','.join(names)!r} mixes '*' (every queue) with queue "
                    f"names; pass one or the other."
                )
            return None
        if "" in names:
            raise CommandError(f"--queue-name {','.join(names)!r} contains an empty queue name.")
        for name in names:
            if not re.fullmatch(QUEUE_NAME_PATTERN, name):
                raise CommandError(queue_name_characters_message(name))
            if backend.queues and name not in backend.queues:
                raise CommandError(
                    f"Queue {name!r} is not valid for backend {backend.alias!r}; allowed: "
                    f"{sorted(backend.queues)}."
                )
        return list(dict.fromkeys(names))

    def _excluded(self, queues: list[str] | None, values: str | list[str] | None) -> list[str]:
        if not values:
            return []
        names = [name for name in queue_names(values) if name]
        if queues is not None:
            raise CommandError(
                f"--exclude-queues can only be used with --queue-name=*: "
                f"--exclude-queues {','.join(names)!r} excludes from every queue, but "
                f"--queue-name names {','.join(queues)!r}."
            )
        return list(dict.fromkeys(names))

    def _worker_id(self, worker_id: str | None) -> str:
        if worker_id is None:
            return default_worker_id()[:WORKER_ID_MAX_LENGTH]
        if not worker_id or len(worker_id) > WORKER_ID_MAX_LENGTH:
            raise CommandError(
                f"--worker-id {worker_id[:50]!r} is invalid; it must be between 1 and "
                f"{WORKER_ID_MAX_LENGTH} characters long."
            )
        return worker_id


def _positive(kind: type[int] | type[float]) -> Any:
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            value = 0
        if not (value > 0 and math.isfinite(value)):
            name = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"{text!r} is invalid; it must be {name} above 0")
        return value

    return parse
