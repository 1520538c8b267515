"""``db_worker --pool process``: each task runs in a child process that the worker supervises.

What it gives over threads: a task that overruns its timeout is killed (SIGKILL) and recorded
FAILED with TaskTimeoutError, and its slot is free again at once; a task that kills its process
(a segfault in a C extension, ``os._exit``, the kernel's out-of-memory killer) takes only itself
down, never the tasks beside it; CPU-bound tasks run on every core, with no GIL between them.
What it costs: a task's imports and warm caches are per child, and each outcome crosses a pipe.

The process model. Each of the ``concurrency`` runner threads of the worker (see threads.py,
whose subclass this is) owns one child, started with the ``forkserver`` method where the
platform has it (``spawn`` elsewhere): a server process, started once, imports Django and sets
it up (pool_preload.py), then forks a child per request. So a child starts in milliseconds,
shares the server's memory pages until it writes to them, and inherits no database connection,
no thread and no lock of the worker's (plain ``fork`` of the worker would copy its open
connection, its threads' locks and its signal handlers). The worker's own connection stays in
the worker: a child writes no row; it reports the outcome over its pipe, and the worker writes it
as it writes a thread's.

A runner thread sends its child a claimed row, waits for the report until the task's deadline,
and then:

- the report came: hand the outcome over, as a thread does; after ``max_tasks_per_child``
  tasks the child exits and a new one takes its place (memory that a task leaks is returned);
- the deadline passed: kill the child, record the attempt FAILED with TaskTimeoutError, start a
  new child;
- the task was asked to stop (cancel(), heard at a heartbeat): the request goes to the child
  over a second pipe, and the task's context says so; if no report came STOP_GRACE_SECONDS
  later, kill the child, record the attempt cancelled (TaskCancelled), start a new child;
- the child died (any exit without a report): only its own task is affected. Like a worker
  that dies, it counts as an attempt of that task: the task goes back to the queue, or fails
  with ChildProcessDiedError on its last attempt (OPTIONS["MAX_ATTEMPTS"]).

Signals. Children ignore SIGINT, SIGTERM and SIGHUP (a terminal's Ctrl-C reaches the whole
process group, and some supervisors signal every process): the worker decides. On its first
signal the running tasks finish and each child is told to exit; on a second, the worker hands
the running tasks back and kills its children. A child whose worker is gone (SIGKILL) exits
within PARENT_CHECK_SECONDS (child.py).
"""

import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from enum import Enum
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess

from django.utils import timezone

from django_tasks.backends.database.exceptions import ChildProcessDiedError
from django_tasks.backends.database.worker.child import Job, Report, serve
from django_tasks.backends.database.worker.claims import Claim, ClaimState
from django_tasks.backends.database.worker.threads import Executor, Store
from django_tasks.backends.database.worker.timeouts import timeout_of
from django_tasks.cancellation import stop_requested
from django_tasks.exceptions import TaskCancelled, TaskTimeoutError
from django_tasks.execution import Outcome

logger = logging.getLogger("django_tasks.worker")

EXIT_GRACE_SECONDS = 5.0
"""How long a child told to exit (recycled, or its worker stopping) may take before it is
killed."""
STOP_GRACE_SECONDS = 5.0
"""How long a running task asked to stop (cancel()) may take to stop before its child is
killed and the task recorded cancelled."""
STOP_CHECK_SECONDS = 0.1
"""How often a runner thread looks for a request that its child's task stop."""


class Ended(Enum):
    """How a runner thread's wait for its child's report ended."""

    REPORTED = "reported"
    TIMED_OUT = "timed out"
    STOPPED = "asked to stop, and killed after the grace period"


def process_context() -> BaseContext:
    """The multiprocessing context of the children: forkserver, with Django set up once in the
    server, where the platform has it; spawn elsewhere."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["django_tasks.backends.database.pool_preload"])
        return context
    return multiprocessing.get_context("spawn")


@dataclass(slots=True, eq=False)
class Child:
    """A child process and the worker's end of its pipe."""

    process: BaseProcess
    connection: Connection
    stops: Connection
    """Where the ids of running tasks asked to stop go (child.py reads them in a thread)."""
    tasks: int = 0
    """How many tasks it has run."""

    def stop(self, grace: float) -> int | None:
        """Tell the child to exit, kill it if it has not within ``grace`` seconds, and reap
        it; return its exit code (negative: the signal that ended it)."""
        with suppress(OSError):  # It may be gone already.
            self.connection.send(None)
        self.process.join(grace)
        return self.kill()

    def kill(self) -> int | None:
        """Kill the child unless it has exited, reap it, and return its exit code."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        exitcode = self.process.exitcode
        self.connection.close()
        self.stops.close()
        self.process.close()
        return exitcode


@dataclass(slots=True, kw_only=True)
class Slot:
    """One runner thread's child, started when first needed, replaced when it has to go."""

    pool: "ProcessPool"
    child: Child | None = None

    def run(self, claim: Claim) -> None:
        """Run a claim in the child (see the module docstring)."""
        pool = self.pool
        seconds = timeout_of(claim.result.task, pool.timeout)
        assert claim.row is not None, "The worker gives the process pool claims with rows."
        job = Job(row=claim.row, backend=pool.backend_alias, started_at=timezone.now())
        claim.result._update(started_at=job.started_at, last_attempted_at=job.started_at)
        child = self._send(job)
        claim.state = ClaimState.STARTED
        claim.started = time.perf_counter()
        ended = self._wait(claim, child, seconds)
        if ended is Ended.STOPPED:
            self._replace(kill=True)
            logger.error(
                "Task did not stop id=%s path=%s within %ss of being asked; its process was "
                "killed.",
                claim.row_id,
                claim.result.task.module_path,
                STOP_GRACE_SECONDS,
            )
            pool.failed_attempt(
                claim,
                TaskCancelled(
                    f"Task result {claim.row_id!r} was asked to stop while it ran, and did not "
                    f"within {STOP_GRACE_SECONDS} s; its process was killed."
                ),
            )
            return
        if ended is Ended.TIMED_OUT:
            self._replace(kill=True)
            error = TaskTimeoutError.after(seconds or 0, stopped=True)
            logger.error(
                "Task timed out id=%s path=%s timeout=%ss; its process was killed.",
                claim.row_id,
                claim.result.task.module_path,
                seconds,
            )
            pool.failed_attempt(claim, error)
            return
        try:
            report = Report.from_bytes(child.connection.recv_bytes())
        except (EOFError, OSError):
            exitcode = self._replace(kill=True)
            pool.child_died(claim, exitcode)
            return
        pool.outcome(claim, report)
        child.tasks += 1
        if pool.max_tasks_per_child is not None and child.tasks >= pool.max_tasks_per_child:
            self._replace(kill=False)

    def _wait(self, claim: Claim, child: "Child", seconds: float | None) -> "Ended":
        """Wait for the child's report until the task's deadline (``seconds``, None: none),
        passing on a request that the task stop (cancel()), and giving up STOP_GRACE_SECONDS
        after it."""
        deadline = None if seconds is None else time.monotonic() + seconds
        asked_at: float | None = None
        while True:
            step = STOP_CHECK_SECONDS
            if deadline is not None:
                step = max(0.0, min(step, deadline - time.monotonic()))
            if child.connection.poll(step):
                return Ended.REPORTED
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return Ended.TIMED_OUT
            if asked_at is None and stop_requested(claim.row_id):
                asked_at = now
                with suppress(OSError):  # It died: the next poll finds its pipe closed.
                    child.stops.send_bytes(claim.row_id.encode())
            elif asked_at is not None and now - asked_at >= STOP_GRACE_SECONDS:
                return Ended.STOPPED

    def close(self, *, kill: bool) -> None:
        if self.child is not None:
            self._replace(kill=kill)

    def _send(self, job: Job) -> Child:
        """Send ``job`` to the child, starting one if there is none, or if it has died idle."""
        for _ in range(2):
            if self.child is None:
                self.child = self.pool.start_child()
            try:
                self.child.connection.send(job)
            except OSError:  # It died between tasks (killed from outside): start another.
                self._replace(kill=True)
            else:
                return self.child
        raise ChildProcessDiedError("Could not hand a task to a new child process.")

    def _replace(self, *, kill: bool) -> int | None:
        """End the child (killing it, or telling it to exit); return its exit code. The next
        task starts a new one."""
        child, self.child = self.child, None
        if child is None:
            return None
        self.pool.forget(child)
        return child.kill() if kill else child.stop(EXIT_GRACE_SECONDS)


@dataclass(slots=True, kw_only=True)
class PoolOptions:
    """What the process pool needs besides what the thread pool does."""

    backend_alias: str
    max_tasks_per_child: int | None = None
    """Replace a child after this many tasks; None: keep it as long as it lives."""
    max_attempts: int
    """OPTIONS["MAX_ATTEMPTS"]: a task whose child dies on this attempt fails."""
    verbosity: int | None = None
    """db_worker's --verbosity, for the children's log lines (None: the project's LOGGING)."""
    context: BaseContext = field(default_factory=process_context)


class ProcessPool(Executor):
    """An Executor whose runner threads run their claims in child processes."""

    def __init__(
        self,
        concurrency: int,
        sender: type,
        store: Store,
        dropped: Callable[[Claim], None],
        *,
        timeout: float | None,
        options: PoolOptions,
    ) -> None:
        super().__init__(concurrency, sender, store, dropped, timeout=timeout)
        self.backend_alias = options.backend_alias
        self.max_tasks_per_child = options.max_tasks_per_child
        self._max_attempts = options.max_attempts
        self._context = options.context
        self._children: set[Child] = set()
        self._children_lock = threading.Lock()
        self.children_started = 0
        self.verbosity = options.verbosity

    def stop(self, *, wait: bool) -> None:
        """As Executor.stop; stopping at once (the running tasks were handed back) also kills
        the children, so that no task runs on after its worker."""
        if not wait:
            with self._children_lock:
                children = list(self._children)
            for child in children:
                if child.process.is_alive():
                    child.process.kill()
        super().stop(wait=wait)

    @contextmanager
    def _runner(self) -> Iterator[Callable[[Claim], None]]:
        slot = Slot(pool=self)
        try:
            yield slot.run
        finally:
            slot.close(kill=False)

    # The slots' calls.

    def start_child(self) -> Child:
        ours, theirs = self._context.Pipe()
        hear, say = self._context.Pipe(duplex=False)
        process = self._context.Process(  # type: ignore[attr-defined]  # Each context has one.
            target=serve,
            args=(theirs, self.verbosity, hear),
            name="db_worker-child",
            daemon=True,
        )
        process.start()
        theirs.close()
        hear.close()
        child = Child(process=process, connection=ours, stops=say)
        with self._children_lock:
            self._children.add(child)
            self.children_started += 1
        logger.debug("Child process started pid=%s", process.pid)
        return child

    def forget(self, child: Child) -> None:
        with self._children_lock:
            self._children.discard(child)

    def outcome(self, claim: Claim, report: Report) -> None:
        """A child's report of how the task ended, handed over as a thread's outcome is (a
        failure with a stand-in of its exception, see Report.exception)."""
        if self._done(claim):
            self._hand_over(claim, report.outcome())

    def failed_attempt(self, claim: Claim, error: BaseException) -> None:
        """The attempt failed (a timeout, or a child that died on the last attempt): record
        it as every failed attempt is recorded."""
        if self._done(claim):
            self._hand_over(claim, Outcome.failed(error))

    def child_died(self, claim: Claim, exitcode: int | None) -> None:
        """The child running ``claim`` died: only this task is affected (see the module
        docstring)."""
        how = _exit_description(exitcode)
        if claim.attempts >= self._max_attempts:
            logger.error(
                "Task's process died id=%s path=%s %s attempt=%s; failing it (MAX_ATTEMPTS %s).",
                claim.row_id,
                claim.result.task.module_path,
                how,
                claim.attempts,
                self._max_attempts,
            )
            self.failed_attempt(
                claim,
                ChildProcessDiedError(
                    f"The process running the task died ({how}) on its last attempt "
                    f"({claim.attempts} of MAX_ATTEMPTS {self._max_attempts}), so it is not "
                    f"retaken."
                ),
            )
            return
        logger.warning(
            "Task's process died id=%s path=%s %s attempt=%s; handing it back to the queue.",
            claim.row_id,
            claim.result.task.module_path,
            how,
            claim.attempts,
        )
        self._dropped(claim)  # Started: its attempt stays counted (Worker._release_dropped).


def _exit_description(exitcode: int | None) -> str:
    if exitcode is None:
        return "exit=unknown"
    if exitcode < 0:
        return f"signal={-exitcode}"
    return f"exit={exitcode}"
