"""Leases: the claims this worker holds, and keeping them.

Each claimed task is leased to this worker for OPTIONS["LEASE_SECONDS"], renewed every
OPTIONS["HEARTBEAT_SECONDS"] (``Leases.keep``); a worker that stops renewing (killed, frozen,
cut off from the database) loses its tasks to the next worker that looks for expired leases,
which every worker does at each heartbeat (``Leases.take_back_expired``). A claim whose lease
was lost before it started is not started (threads.py) and is given back (``release_dropped``);
one whose lease was lost while it ran has its outcome refused (Queries.finish).
"""

import logging
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from django_tasks.backends.database.exceptions import LeaseExpiredError
from django_tasks.backends.database.options import DatabaseOptions
from django_tasks.backends.database.queries.base import Decide
from django_tasks.backends.database.worker.claims import Claim, ClaimState
from django_tasks.backends.database.worker.connection import Connection
from django_tasks.cancellation import request_stop
from django_tasks.utils import class_path

logger = logging.getLogger("django_tasks.worker")


class Leases:
    """The claims a worker holds, by row id, from the claim until the outcome is written."""

    def __init__(
        self,
        connection: Connection,
        *,
        backend: str,
        options: DatabaseOptions,
        worker_id: str,
        lost_attempt: Decide,
    ) -> None:
        self._connection = connection
        self._lost_attempt = lost_attempt
        """What follows an attempt whose lease expired (outbox.lost_attempt)."""
        self._backend = backend
        self._options = options
        self._worker_id = worker_id
        self._held: dict[str, Claim] = {}
        self._dropped: deque[Claim] = deque()
        """Claims the executor did not start (their lease was lost), to give back."""
        self.next_heartbeat = 0.0
        """time.monotonic() of the next renewal and look for expired leases."""

    def __len__(self) -> int:
        return len(self._held)

    def __iter__(self) -> Iterator[Claim]:
        return iter(list(self._held.values()))

    def hold(self, claim: Claim) -> None:
        self._held[claim.row_id] = claim

    def let_go(self, row_id: str) -> None:
        """Forget a claim (its outcome is written, or it was handed back)."""
        self._held.pop(row_id, None)

    def count(self, *states: ClaimState) -> int:
        """How many held claims are in one of ``states``."""
        return sum(1 for claim in self._held.values() if claim.state in states)

    def ids(self, *states: ClaimState) -> list[str]:
        """The row ids of the held claims in one of ``states``."""
        return [claim.row_id for claim in self._held.values() if claim.state in states]

    @property
    def has_dropped(self) -> bool:
        return bool(self._dropped)

    def drop(self, claim: Claim) -> None:
        """A claim the executor did not start, its lease lost, or whose child process died
        (process pool): give it back at the next step (from a runner thread)."""
        self._dropped.append(claim)

    def release_dropped(self) -> tuple[int, int]:
        """Give back the claims that executors skipped (their leases were lost), if they are
        still this worker's, and those whose child process died (process pool), which alone
        keep their attempt counted; return how many of each went back."""
        dropped: dict[bool, list[str]] = {False: [], True: []}
        while self._dropped:
            claim = self._dropped.popleft()
            self.let_go(claim.row_id)
            dropped[claim.state != ClaimState.UNSTARTED].append(claim.row_id)
        unstarted, started = (
            self.release(ids, started=started) if ids else 0 for started, ids in dropped.items()
        )
        return unstarted, started

    def release(self, ids: list[str], *, started: bool) -> int:
        """Hand rows back to the queue (see Queries.release); return how many went back."""
        return self._connection.run(
            lambda cursor: self._connection.queries.release(
                cursor, worker_id=self._worker_id, ids=ids, started=started
            )
        )

    def keep(self) -> None:
        """Every HEARTBEAT_SECONDS: renew this worker's leases, and take back the tasks of
        workers whose leases have expired."""
        now = time.monotonic()
        if now < self.next_heartbeat:
            return
        options = self._options
        if self._held:
            self.renew(now)
            self.hear_stop_requests()
        failed, requeued = self._connection.run(self.take_back_expired)
        if failed or requeued:
            logger.warning(
                "Took back tasks whose worker stopped renewing its lease: %s requeued, "
                "%s failed on their last attempt.",
                requeued,
                failed,
            )
        self.next_heartbeat = now + options.HEARTBEAT_SECONDS

    def renew(self, now: float) -> None:
        """Extend the leases of every held claim; cancel the unstarted ones whose row this
        worker no longer holds."""
        ids = list(self._held)
        lease_seconds = self._options.LEASE_SECONDS
        owned = self._connection.run(
            lambda cursor: self._connection.queries.renew(
                cursor, worker_id=self._worker_id, ids=ids, lease_seconds=lease_seconds
            )
        )
        for row_id in ids:
            claim = self._held.get(row_id)
            if claim is None:
                continue
            if row_id in owned:
                claim.lease_until = now + lease_seconds
            elif claim.state == ClaimState.UNSTARTED:
                claim.cancelled = True

    def hear_stop_requests(self) -> None:
        """Tell the running tasks that have been asked to stop (cancel()) through their
        context (see django_tasks.cancellation)."""
        running = self.ids(ClaimState.UNSTARTED, ClaimState.STARTED)
        if running:
            asked = self._connection.run(
                lambda cursor: self._connection.queries.stop_requested(cursor, ids=running)
            )
            for row_id in asked:
                request_stop(row_id)

    def take_back_expired(self, cursor: Any) -> tuple[int, int]:
        """Deal with the expired rows (any worker's) as their retry policy says: requeue
        them, or fail them on their last attempt; return how many failed and how many went
        back."""
        error = LeaseExpiredError(
            "The task's worker stopped renewing its lease (killed, frozen, or cut off from the "
            "database) while the task ran."
        )
        return self._connection.queries.reap(
            cursor,
            backend=self._backend,
            decide=self._lost_attempt,
            lost_class_path=class_path(LeaseExpiredError),
            lost_traceback=f"{class_path(LeaseExpiredError)}: {error}\n",
        )
