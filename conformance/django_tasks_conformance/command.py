"""``CommandHarness``: drives a backend whose worker is a management command, so that its author
writes no Python to run the suite::

    pytest --pyargs django_tasks_conformance --tasks-backend=django_tasks_db.DatabaseBackend \\
        --tasks-worker-command="db_worker --batch --queue-name * --interval 0.05 --backend {alias}"

The command must run every task that is due and exit once none is waiting (``db_worker
--batch``, ``rqworker --burst``...). ``{alias}`` in it stands for a backend alias of the suite's
TASKS: the command then runs once per alias, as a worker serves one backend. A leading
``manage.py`` or ``django-admin`` is dropped: the commands are forked from a ``Launcher`` that has
set Django up once, with the settings of this run (the suite's TASKS, the test databases).

A worker without such a mode (one that polls until it is stopped) is stopped once a query says
the queue is idle: ``--tasks-worker-idle="SELECT count(*) FROM myqueue_job WHERE status IN
('ready', 'running') AND run_after <= now()"`` runs the query on the default database while the
worker runs, and when its first column is 0 (or it returns no row), sends the workers SIGINT, as
Ctrl-C would, and waits for them to exit.

Between drains no worker runs, so enqueued tasks wait and the order they start in shows. The
workers send ``task_started`` and ``task_finished`` in their own processes, which this one cannot
observe. There is no back door into the backend's store; ``clear`` flushes every test database,
as Django's ``TransactionTestCase`` does, so that no task of one test waits into the next.
"""

import shlex
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from django.core.management import call_command
from django.db import connections

from django_tasks_conformance.dialect import words
from django_tasks_conformance.harness import DrainTimeoutError, WorkerHarness
from django_tasks_conformance.launcher import (
    STOP_TIMEOUT,
    CommandProcess,
    Launcher,
    worker_environment,
)

ALIAS = "{alias}"
"""Stands for each backend alias of the suite, in a worker command."""

PRELOAD = ["django_tasks_conformance.tasks", "django_tasks_conformance.more_tasks"]
"""What the launcher imports once, rather than each worker."""

LAUNCHERS = ("manage.py", "./manage.py", "django-admin", "python", "python3", "-m", "django")
"""Words a worker command may start with that the launcher stands for."""


class WorkerFailedError(AssertionError):
    """A worker command exited with an error."""


class CommandHarness(WorkerHarness):
    """Runs the backend's tasks with its worker command, forked for each drain."""

    observes_worker_signals: ClassVar[bool] = False

    command: ClassVar[tuple[str, ...]] = ()
    """The management command and its arguments (set by ``running``)."""

    idle_query: ClassVar[str | None] = None
    """SQL whose first column is 0 once the queue is idle, for a worker that never exits on its
    own (set by ``running``); None for a worker that exits once no task is waiting."""

    @classmethod
    def running(cls, command: str, idle_query: str | None = None) -> type["CommandHarness"]:
        """This harness, running ``command`` (as given to ``--tasks-worker-command``), stopped
        once ``idle_query`` (``--tasks-worker-idle``) says the queue is idle, if given."""
        argv = shlex.split(command)
        while argv and argv[0] in LAUNCHERS:
            argv.pop(0)
        if not argv:
            raise ValueError(
                f"The worker command {command!r} names no management command; give one such "
                f"as 'db_worker --batch'."
            )
        attributes = {
            "command": tuple(argv),
            "idle_query": idle_query,
            "__module__": cls.__module__,
        }
        return type(cls.__name__, (cls,), attributes)

    def __init__(self, backend_path: str, options: dict[str, Any]) -> None:
        super().__init__(backend_path, options)
        self._workers: list[CommandProcess] = []
        """The workers of the last drain (kept after they exit, for their output)."""
        self._started = 0
        self._logs: Path | None = None
        self._launcher: Launcher | None = None

    def test_databases(self) -> list[str]:
        """Every configured database: the backend may keep its tasks in any."""
        return [alias for alias in connections if connections[alias].settings_dict.get("ENGINE")]

    def setup(self) -> None:
        environment = worker_environment(type(self).__name__, self.tasks_setting())
        self._logs = Path(tempfile.mkdtemp(prefix="tasks-conformance-workers-"))
        self._launcher = Launcher(environment, self.preload(), self._logs / "launcher.log")

    def preload(self) -> list[str]:
        """The modules the launcher imports once, rather than each worker: the fixture tasks
        this backend can declare (coroutine tasks if it runs them, context tasks in Django's
        dialect), so that no worker has to import a module of tasks while it runs one."""
        modules = list(PRELOAD)
        if words().backends["default"].supports_async_task:
            modules.append("django_tasks_conformance.async_tasks")
        if words().django:
            modules.append("django_tasks_conformance.context_tasks")
        return modules

    def clear(self) -> None:
        """Flush every test database (the workers are stopped)."""
        for alias in self.test_databases():
            call_command("flush", database=alias, interactive=False, verbosity=0)

    def teardown(self) -> None:
        self.stop_worker()
        if self._launcher is not None:
            self._launcher.close()
            self._launcher = None
        if self._logs is not None:
            shutil.rmtree(self._logs, ignore_errors=True)
            self._logs = None

    def argvs(self) -> list[list[str]]:
        """The commands one drain runs: one, or one per alias when it names ``{alias}``."""
        if not any(ALIAS in word for word in self.command):
            return [list(self.command)]
        return [[word.replace(ALIAS, alias) for word in self.command] for alias in self.aliases()]

    def aliases(self) -> list[str]:
        return list(self.tasks_setting())

    def start_worker(self) -> None:
        if self._launcher is None or self._logs is None:
            raise RuntimeError("CommandHarness.setup() has not run.")
        self.stop_worker()
        self._workers = []
        for argv in self.argvs():
            self._started += 1
            log = self._logs / f"worker-{self._started}.log"
            self._workers.append(CommandProcess(self._launcher.start(argv, log), argv, log))

    def stop_worker(self) -> None:
        for worker in self._workers:
            worker.stop()

    def worker_running(self) -> bool:
        return any(worker.running() for worker in self._workers)

    def is_idle(self) -> bool:
        """Whether every worker has exited (as a worker that ran out of tasks does), or, with
        an idle query, whether the query says so (and then the workers are stopped)."""
        if self.idle_query is not None and self.worker_running() and self._queue_is_idle():
            self._interrupt()
            return True
        if self.worker_running():
            return False
        for worker in self._workers:
            if worker.returncode != 0:
                raise WorkerFailedError(
                    f"Worker {worker.describe()} exited with status {worker.returncode} before "
                    f"the queue was drained. Its "
                    f"output:\n{worker.output()}"
                )
        return True

    def drain(self, timeout: float) -> None:
        try:
            super().drain(timeout)
        except DrainTimeoutError as e:
            outputs = "".join(
                f"\nOutput of {worker.describe()}:\n{worker.output()}" for worker in self._workers
            )
            expected = (
                "--tasks-worker-idle's query still counted a task waiting or running"
                if self.idle_query is not None
                else "The worker command must exit once no task is waiting (db_worker --batch, "
                "rqworker --burst)"
            )
            raise DrainTimeoutError(f"{e} {expected}.{outputs}") from None

    def _queue_is_idle(self) -> bool:
        assert self.idle_query is not None
        with connections["default"].cursor() as cursor:
            cursor.execute(self.idle_query)
            row = cursor.fetchone()
        return row is None or not row[0]

    def _interrupt(self) -> None:
        """SIGINT each worker, as Ctrl-C would, and wait for it to exit (SIGKILL if it hangs)."""
        for worker in self._workers:
            worker.send_signal(signal.SIGINT)
        for worker in self._workers:
            try:
                worker.wait(STOP_TIMEOUT)
            except TimeoutError:
                worker.kill()
