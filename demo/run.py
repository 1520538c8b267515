"""The demo: enqueue a few tasks on the database backend, run a real worker, print the results.

    ./dev demo

It creates a fresh SQLite database in a temporary directory, migrates it, enqueues four tasks
(one succeeds, one fails, one is deferred by two seconds, one is a coroutine), starts
``manage.py db_worker`` as a separate process, waits until every task has finished, stops the
worker with SIGTERM (as a process manager would) and prints each result.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django_tasks import TaskResult

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="django-tasks-demo-") as directory:
        os.environ["DJANGO_SETTINGS_MODULE"] = "demo.settings"
        os.environ["DJANGO_TASKS_DEMO_DB"] = str(Path(directory) / "demo.sqlite3")
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        return run()


def run() -> int:
    from django.core.management import call_command

    from demo.tasks import add, divide, fetch_title, greet

    say("Migrating a fresh SQLite database...")
    call_command("migrate", verbosity=0)

    results: list[TaskResult[Any]] = [
        add.enqueue(2, 3),
        divide.enqueue(1, 0),
        greet.using(run_after=timedelta(seconds=2)).enqueue("deferred world"),
        fetch_title.enqueue("https://example.com"),
    ]
    say("Enqueued 4 tasks:")
    for result in results:
        say(f"  {result.task.name:<12} {result.status.value:<9} id={result.id}")

    say("\nStarting the worker (manage.py db_worker)...")
    worker = subprocess.Popen(
        [sys.executable, "-m", "django", "db_worker", "--interval", "0.5"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        deadline = time.monotonic() + 60
        while not all(result.is_finished for result in results):
            if time.monotonic() > deadline or worker.poll() is not None:
                say("The tasks did not finish; is the worker running?")
                return 1
            time.sleep(0.2)
            for result in results:
                result.refresh()
    finally:
        worker.send_signal(signal.SIGTERM)  # Finish what is running, then exit.
        status = worker.wait()

    say(f"\nThe worker exited with status {status}. Results:")
    for result in results:
        say(f"  {result.task.name:<12} {result.status.value:<9} {outcome(result)}")
        say(
            f"  {'':<12} attempts={result.attempts} worker={result.worker_ids[-1]} "
            f"enqueued={result.enqueued_at:%H:%M:%S.%f} started={result.started_at:%H:%M:%S.%f}"
        )
    return status


def outcome(result: "TaskResult[Any]") -> str:
    from django_tasks import ResultStatus

    if result.status == ResultStatus.SUCCEEDED:
        return f"returned {result.return_value!r}"
    exception = result.exception_class
    name = exception.__name__ if exception else "?"
    last_line = (result.traceback or "").strip().splitlines()[-1]
    return f"raised {name} ({last_line})"


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
