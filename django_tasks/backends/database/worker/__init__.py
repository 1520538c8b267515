"""The worker behind ``manage.py db_worker``: claim tasks, run them, record how they ended.

Threads. The main thread (loop.py) owns the worker's database connection (connection.py) and
does all its bookkeeping: it claims tasks, writes their outcomes, renews their leases, takes
back the tasks of dead workers and reacts to signals. Task functions run in executor threads
(threads.py), at most ``concurrency`` at once; a finished task hands its outcome to the main
thread, which writes the outcomes that arrived together in one statement (outbox.py).

Claims. The main thread claims tasks (claims.py) in batches sized and timed by pacing.py. Each
claimed task is leased to this worker for OPTIONS["LEASE_SECONDS"], renewed every
OPTIONS["HEARTBEAT_SECONDS"]; a worker that stops renewing (killed, frozen, cut off from the
database) loses its tasks to the next worker that looks for expired leases, which every worker
does at each heartbeat (leases.py).

Waiting. On PostgreSQL an idle worker LISTENs and wakes when a task is enqueued on one of its
queues (waking.py), and polls for tasks whose run_after has come. Elsewhere it polls, backing
off to ``interval`` while the queue stays empty.

Schedules. Each pass also enqueues the ticks of the backend's periodic tasks that have come,
with the other workers, each tick once (``backends/database/scheduler.py``).

Stopping. SIGTERM, SIGINT, SIGHUP or SIGQUIT: claim nothing more, hand back claimed tasks that
have not started, finish the running ones, exit 0. A second signal: hand back the running ones
too (they start again elsewhere; their attempt counts) and exit 1 at once. Signal handlers only
count; a Stopper thread (stopping.py) ends the process if the database keeps the main thread from
acting on a second signal for STOP_NOW_SECONDS.

Database errors. An error of the worker's own statements (the database restarts, the
connection is killed) closes the connection; the worker retries after a backoff of up to
MAX_BACKOFF seconds, stays responsive to signals, and keeps finished outcomes until it can
write them. Its own connection is bounded (Queries.connection_bounds), so a network path that
stops answering, without a reset, fails its statements within about DEAD_PATH_SECONDS too
(connection.py).

The modules, each importing only those below it (an import contract in pyproject.toml):

- loop.py: ``Worker``, the main thread's loop. Its extension points: ``Worker._claim`` (the
  one step that takes tasks from the queue, through ``claims.claim``), ``outbox.outcome_finish``
  (the row an attempt's outcome becomes; a failed attempt's, whatever failed it, through
  ``outbox.failed_attempt``, which asks the task's retry policy: retry, fail or cancelled)
  and ``Worker._outcome_written`` (what follows its write: the tally, the log,
  task_finished).
- leases.py, outbox.py, threads.py: the claims held and their leases; outcomes waiting to be
  written; the executor threads.
- claims.py, connection.py, pacing.py, waking.py, stopping.py, reporting.py: a claim and the
  statement that makes it; the main thread's connection and its backoff; when to claim and how
  many; what wakes the main thread; stopping at once, and the signals; the summary line and
  the command line's log output.
"""

from django_tasks.backends.database.worker.connection import bound_connection
from django_tasks.backends.database.worker.loop import QueueTableMissing, Worker, WorkerOptions
from django_tasks.backends.database.worker.reporting import configure_logging

__all__ = ["QueueTableMissing", "Worker", "WorkerOptions", "bound_connection", "configure_logging"]
