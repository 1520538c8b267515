"""Claims: the tasks a worker has taken from the queue, and the one statement that takes them.

A claim runs one SQL statement (``Queries.claim``): it marks up to ``limit`` ready rows RUNNING,
leased to this worker, and counts their attempt. Each row becomes a ``Claim``, which the worker
holds (leases.py) from then until its outcome is written (outbox.py); executor threads
(threads.py) run it, in ``claim_order``.
"""

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django_tasks.backends.database.queries import ClaimedRow, Queries
from django_tasks.results import AnyResult


class ClaimState(enum.Enum):
    """Where a claimed task is in this worker (not its row's status, which is RUNNING
    throughout)."""

    UNSTARTED = "unstarted"
    """Waiting for a runner thread."""
    STARTED = "started"
    """A runner thread is running it."""
    FINISHED = "finished"
    """It has finished; its outcome is being written."""


@dataclass(slots=True, eq=False)
class Claim:
    """A task the worker holds a lease on, from its claim until its outcome is written."""

    row_id: str
    attempts: int
    result: AnyResult
    lease_until: float
    """time.monotonic() until which the lease certainly holds."""
    state: ClaimState = ClaimState.UNSTARTED
    cancelled: bool = False
    """The lease was lost before the task started: it must not start."""
    started: float = 0.0
    row: ClaimedRow | None = None
    """The row as claimed: what a child process of the process pool builds the task from."""
    timed_out: BaseException | None = None
    """The TaskTimeoutError recorded when the task ran past its timeout."""


def claim(
    queries: Queries,
    cursor: Any,
    *,
    worker_id: str,
    backend: str,
    queues: Sequence[str] | None,
    exclude: Sequence[str] = (),
    limit: int,
    lease_seconds: float,
) -> list[ClaimedRow]:
    """Claim up to ``limit`` ready rows for ``worker_id``, in the order they are to run."""
    rows = queries.claim(
        cursor,
        worker_id=worker_id,
        backend=backend,
        queues=queues,
        exclude=exclude,
        limit=limit,
        lease_seconds=lease_seconds,
    )
    return sorted(rows, key=claim_order)


def claim_order(row: ClaimedRow) -> tuple[int, Any, str]:
    """Highest priority first, then the earliest due, then by id."""
    return (-row.priority, row.run_after or row.enqueued_at, row.id)
