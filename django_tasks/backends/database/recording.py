"""Writing outcomes: the worker's queue of outcomes to store, and the rows they become.

Runner threads and the main thread put outcomes in an ``Outbox``; the main thread writes them,
up to MAX_FINISH_BATCH per statement. An outcome whose write fails is retried on its own, so it
holds back nothing else; one the database keeps refusing while it is otherwise reachable (a
value it cannot store) is replaced by a FAILED outcome that says why, and given up on after as
many attempts again: its task is then retaken when its lease expires.
"""

import dataclasses
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db import DatabaseError, InterfaceError, OperationalError
from django.utils import timezone

from django_tasks.backends.database.executor import Claim
from django_tasks.backends.database.queries import ClaimedRow, Finish
from django_tasks.exceptions import StorageError
from django_tasks.execution import Outcome
from django_tasks.serialization import JSONLimit, JSONTooLarge, too_large_return_value
from django_tasks.task import ResultStatus
from django_tasks.utils import class_path, format_exception

logger = logging.getLogger("django_tasks.worker")

MAX_FINISH_BATCH = 200
"""The most outcomes written in one statement."""
STORE_ATTEMPTS = 3
"""Failed writes of an outcome, while the database is reachable, before a FAILED outcome saying
why is written instead (and as many again before giving up on it)."""
TRANSIENT_STORE_ATTEMPTS = 20
"""The same, for errors that usually pass (deadlocks, locks, lost connections)."""


@dataclass(slots=True, eq=False)
class PendingFinish:
    """An outcome waiting to be written."""

    claim: Claim | None
    """None for a rejected row, which nothing waits on."""
    finish: Finish
    outcome: Outcome | None = None
    """What the task's result becomes once the outcome is stored."""
    failures: int = 0
    replaced: str = ""
    """Why the outcome was replaced by a FAILED one, if it could not be stored."""


Write = Callable[[Sequence[Finish]], set[str]]
"""Stores outcomes; returns the ids whose lease was still held (see Queries.finish)."""
Settle = Callable[[PendingFinish, bool], None]
"""Called once per outcome when it is written (True), or not and never will be (False)."""


class Outbox:
    """Outcomes waiting to be written, in the order they came."""

    def __init__(self, settle: Settle) -> None:
        self._settle = settle
        self._incoming: deque[PendingFinish] = deque()
        """Appended to by any thread; emptied by the main thread (both atomic on a deque)."""
        self._pending: deque[PendingFinish] = deque()
        """The main thread's: only it iterates over them."""

    def put(self, pending: PendingFinish) -> None:
        """Add an outcome to write (from any thread)."""
        self._incoming.append(pending)

    def __bool__(self) -> bool:
        return bool(self._incoming or self._pending)

    def flush(self, write: Write, reachable: Callable[[], bool]) -> None:
        """Write the oldest outcomes that have not failed (or the oldest that has) and settle
        them. Raises DatabaseError if the write fails; ``reachable`` says whether the database
        answers otherwise, in which case the failure counts against the outcomes."""
        while self._incoming:
            self._pending.append(self._incoming.popleft())
        if not self._pending:
            return
        fresh = [pending for pending in self._pending if not pending.failures]
        batch = fresh[:MAX_FINISH_BATCH] or [self._pending[0]]
        for pending in batch:
            self._pending.remove(pending)
        try:
            stored = write([pending.finish for pending in batch])
        except DatabaseError as e:
            self._pending.extendleft(reversed(batch))
            if reachable():
                self._failed(batch, e)
            raise
        for pending in batch:
            self._settle(pending, pending.finish.id in stored)

    def _failed(self, batch: list[PendingFinish], error: DatabaseError) -> None:
        """Count a failed write against its outcomes, and replace or give up on stubborn ones."""
        transient = isinstance(error, (OperationalError, InterfaceError))
        limit = TRANSIENT_STORE_ATTEMPTS if transient else STORE_ATTEMPTS
        for pending in batch:
            pending.failures += 1
            if pending.failures == limit:
                pending.replaced = f"{type(error).__name__}: {str(error).strip()[:500]}"
                pending.finish = storage_failure(pending.finish, pending.replaced)
            elif pending.failures >= 2 * limit:
                self._pending.remove(pending)
                logger.error(
                    "Outcome not stored id=%s error=%s; the task will be retaken when its "
                    "lease expires.",
                    pending.finish.id,
                    error,
                )
                self._settle(pending, False)


def outcome_finish(claim: Claim, outcome: Outcome, columns: JSONLimit) -> PendingFinish:
    """The row values of a task's outcome, or of a FAILED one (and why, in ``replaced``) if
    its return value cannot be encoded, or is larger than the backend stores."""
    result = claim.result
    finish = Finish(
        id=claim.row_id,
        attempts=claim.attempts,
        status=outcome.status.value,
        started_at=result.started_at or outcome.finished_at,
        finished_at=outcome.finished_at,
        return_value=None,
        exception_class_path=class_path(type(outcome.exception)) if outcome.exception else "",
        traceback=outcome.traceback or "",
    )
    if outcome.status != ResultStatus.SUCCEEDED:
        return PendingFinish(claim, finish, outcome)
    try:
        value = columns.dumps(outcome.return_value)
    except JSONTooLarge as e:
        reason = too_large_return_value(e)
        return PendingFinish(claim, storage_failure(finish, reason), outcome, replaced=reason)
    except (ValueError, TypeError, RecursionError) as e:  # Not normalised JSON data.
        reason = f"{type(e).__name__}: {e}"
        return PendingFinish(claim, storage_failure(finish, reason), outcome, replaced=reason)
    return PendingFinish(claim, dataclasses.replace(finish, return_value=value), outcome)


def rejection_finish(row: ClaimedRow, error: Exception) -> PendingFinish:
    """A FAILED outcome for a row that cannot run (unknown task, bad arguments)."""
    now = timezone.now()
    finish = Finish(
        id=row.id,
        attempts=row.attempts,
        status=ResultStatus.FAILED.value,
        started_at=now,
        finished_at=now,
        return_value=None,
        exception_class_path=class_path(type(error)),
        traceback=format_exception(error),
    )
    return PendingFinish(None, finish)


def storage_failure(finish: Finish, reason: str) -> Finish:
    """A FAILED outcome saying why the real one could not be stored."""
    error = StorageError.of_outcome(finish.status, reason)
    return dataclasses.replace(
        finish,
        status=ResultStatus.FAILED.value,
        return_value=None,
        exception_class_path=class_path(type(error)),
        traceback=format_exception(error),
    )
