"""Writing outcomes: the worker's queue of outcomes to store (the outbox), and the rows they
become.

An outcome's text (its exception class path and traceback) becomes what the databases store in
one place, ``make_finish``, before any of them sees it: lone surrogates and NUL characters
escaped, a huge traceback cut in the middle (see ``storable_text``).

Runner threads and the main thread put outcomes in an ``Outbox``; the main thread writes them,
up to MAX_FINISH_BATCH per statement. An outcome whose write fails is retried on its own, so it
holds back nothing else; one the database keeps refusing while it is otherwise reachable (a
value it cannot store), or that the driver refuses before sending it (any error but a database
error), is replaced by a FAILED outcome that says why, in ASCII after its own traceback, and
given up on after as many attempts again: its task is then retaken when its lease expires.
"""

import dataclasses
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import DatabaseError, InterfaceError, OperationalError
from django.utils import timezone

from django_tasks.backends.database.exceptions import LeaseExpiredError
from django_tasks.backends.database.queries import ClaimedRow, Finish
from django_tasks.backends.database.rows import error_entry
from django_tasks.backends.database.schema import CANCELLED
from django_tasks.backends.database.worker.claims import Claim
from django_tasks.exceptions import InvalidTaskError, StorageError
from django_tasks.execution import Outcome
from django_tasks.registry import task_registry
from django_tasks.retries import Next, RetryPolicy, decide
from django_tasks.serialization import JSONLimit, JSONTooLarge, too_large_return_value
from django_tasks.task import ResultStatus
from django_tasks.utils import class_path, format_exception, safe_str

if TYPE_CHECKING:
    from django_tasks.backends.database.backend import DatabaseBackend

logger = logging.getLogger("django_tasks.worker")

MAX_FINISH_BATCH = 200
"""The most outcomes written in one statement."""
STORE_ATTEMPTS = 3
"""Failed writes of an outcome, while the database is reachable, before a FAILED outcome saying
why is written instead (and as many again before giving up on it)."""
TRANSIENT_STORE_ATTEMPTS = 20
"""The same, for errors that usually pass (deadlocks, locks, lost connections)."""
MAX_TRACEBACK_LENGTH = 64_000
"""The most characters of a traceback stored; past that its start (the first exception of a
chain, and where it was called from) and its end (the last exception and its message) are kept."""
MAX_CLASS_PATH_LENGTH = 1_000
"""The most characters of an exception class path stored."""
_OMISSION_ROOM = 64
"""Characters kept for the line that counts what was left out of a long text."""


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
        answers otherwise, in which case the failure counts against the outcomes. Any other
        error counts against them at once and is not raised: the worker goes on."""
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
        except Exception as e:  # The driver refused a value before sending it.
            logger.exception("Could not write %s outcome(s); retrying them one by one.", len(batch))
            self._pending.extendleft(reversed(batch))
            self._failed(batch, e)
            return
        for pending in batch:
            self._settle(pending, pending.finish.id in stored)

    def _failed(self, batch: list[PendingFinish], error: Exception) -> None:
        """Count a failed write against its outcomes, and replace or give up on stubborn ones."""
        transient = isinstance(error, (OperationalError, InterfaceError))
        limit = TRANSIENT_STORE_ATTEMPTS if transient else STORE_ATTEMPTS
        for pending in batch:
            pending.failures += 1
            if pending.failures == limit:
                pending.replaced = f"{type(error).__name__}: {safe_str(error).strip()[:500]}"
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


def outcome_finish(
    claim: Claim, outcome: Outcome, columns: JSONLimit, policy: RetryPolicy
) -> PendingFinish:
    """The row values of a task's outcome, or of a FAILED one (and why, in ``replaced``) if
    its return value cannot be encoded, or is larger than the backend stores. A failed
    attempt becomes what the task's retry ``policy`` decides (``failed_attempt``)."""
    result = claim.result
    finish = make_finish(
        id=claim.row_id,
        attempts=claim.attempts,
        status=outcome.status.value,
        started_at=result.started_at or outcome.finished_at,
        finished_at=outcome.finished_at,
        exception_class_path="" if outcome.error is None else outcome.error.exception_class_path,
        traceback=outcome.traceback or "",
    )
    if outcome.status != ResultStatus.SUCCEEDED:
        return failed_attempt(claim, finish, outcome, policy)
    try:
        value = columns.dumps(outcome.return_value)
    except JSONTooLarge as e:
        reason = too_large_return_value(e)
        return PendingFinish(claim, storage_failure(finish, reason), outcome, replaced=reason)
    except (ValueError, TypeError, RecursionError) as e:  # Not normalised JSON data.
        reason = f"{type(e).__name__}: {e}"
        return PendingFinish(claim, storage_failure(finish, reason), outcome, replaced=reason)
    return PendingFinish(claim, dataclasses.replace(finish, return_value=value), outcome)


def failed_attempt(
    claim: Claim, finish: Finish, outcome: Outcome, policy: RetryPolicy
) -> PendingFinish:
    """The one step that decides what a failed attempt becomes, whatever failed it (an
    exception of the task, a timeout, a task asked to stop): the task waits again (NEW, its
    error added to ``errors``, claimable ``retry_in`` seconds from now), ends CANCELLED, or
    ends FAILED, as ``retries.decide`` says for its policy."""
    exception = outcome.exception or RuntimeError(
        f"The attempt failed ({finish.exception_class_path or 'without an exception'})."
    )
    try:
        decision = decide(policy, claim.attempts, exception)
    except Exception:  # The task's backoff raised, or returned what is no delay.
        logger.exception(
            "The retry policy of task id=%s path=%s raised; the task fails.",
            claim.row_id,
            claim.result.task.module_path,
        )
        return PendingFinish(claim, finish, outcome)
    if decision.next is Next.CANCEL:
        return PendingFinish(claim, dataclasses.replace(finish, status=CANCELLED), outcome)
    if decision.next is Next.FAIL:
        return PendingFinish(claim, finish, outcome)
    entry = error_entry(
        finish.exception_class_path, finish.traceback, decision.delay, finish.finished_at
    )
    retry = dataclasses.replace(
        finish, status=ResultStatus.NEW.value, retry_in=decision.delay, error_entry=entry
    )
    return PendingFinish(claim, retry, dataclasses.replace(outcome, retry_in=decision.delay))


def lost_attempt(backend: "DatabaseBackend", task_path: str, attempts: int) -> float | None:
    """What follows an attempt whose lease expired (Queries.reap's ``decide``): the seconds
    until the task runs again, or None to fail it. Its policy decides, as for any failed
    attempt (``retries.decide``); the backend's defaults for a path that is no task (it
    fails when claimed)."""
    try:
        policy = backend.retry_policy(task_registry.resolve(task_path))
    except InvalidTaskError:
        policy = backend.retry_defaults
    try:
        decision = decide(policy, attempts, LeaseExpiredError(), lost=True)
    except Exception:  # The task's backoff raised.
        logger.exception("The retry policy of task path=%s raised; the task fails.", task_path)
        return None
    return decision.delay if decision.retries else None


def rejection_finish(row: ClaimedRow, error: Exception) -> PendingFinish:
    """A FAILED outcome for a row that cannot run (unknown task, bad arguments)."""
    now = timezone.now()
    finish = make_finish(
        id=row.id,
        attempts=row.attempts,
        status=ResultStatus.FAILED.value,
        started_at=now,
        finished_at=now,
        exception_class_path=class_path(type(error)),
        traceback=format_exception(error),
    )
    return PendingFinish(None, finish)


def storage_failure(finish: Finish, reason: str) -> Finish:
    """A FAILED outcome saying why the real one could not be stored, after the real one's
    traceback if it has one, all in ASCII, which every database stores."""
    error = StorageError.of_outcome(finish.status, reason)
    original = (
        f"{finish.traceback}\nThe outcome above could not be stored; this one was stored "
        f"instead:\n\n"
        if finish.traceback
        else ""
    )
    return make_finish(
        id=finish.id,
        attempts=finish.attempts,
        status=ResultStatus.FAILED.value,
        started_at=finish.started_at,
        finished_at=finish.finished_at,
        exception_class_path=class_path(type(error)),
        traceback=f"{original}{format_exception(error)}",
        ascii_only=True,
    )


def make_finish(
    *,
    id: str,  # noqa: A002  # The column's name, as in Finish.
    attempts: int,
    status: str,
    started_at: datetime,
    finished_at: datetime,
    exception_class_path: str,
    traceback: str,
    ascii_only: bool = False,
) -> Finish:
    """The one place where an outcome's text becomes what the databases store (see
    ``storable_text``); the return value is set afterwards, for a success."""
    return Finish(
        id=id,
        attempts=attempts,
        status=status,
        started_at=started_at,
        finished_at=finished_at,
        return_value=None,
        exception_class_path=storable_text(
            exception_class_path, MAX_CLASS_PATH_LENGTH, ascii_only=ascii_only
        ),
        traceback=storable_text(traceback, MAX_TRACEBACK_LENGTH, ascii_only=ascii_only),
    )


def storable_text(text: str, limit: int, *, ascii_only: bool = False) -> str:
    """``text`` as every database stores it, the same on each: lone surrogates (a file name
    that is not UTF-8, from ``os.listdir()``), which no database's encoding takes, and NUL
    characters, which PostgreSQL refuses, written as Python escapes them (``\\udcff``,
    ``\\x00``); with ``ascii_only``, every character beyond ASCII too. Past ``limit``
    characters, the start and the end are kept, and the middle is left out and counted."""
    if not text.isascii():
        if ascii_only:
            text = text.encode("ascii", "backslashreplace").decode("ascii")
        else:
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                # A surrogate pair becomes the character it stands for; lone ones are escaped.
                text = text.encode("utf-16-le", "surrogatepass").decode(
                    "utf-16-le", "surrogatepass"
                )
                text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    if len(text) <= limit:
        return text
    head = (limit - _OMISSION_ROOM) // 2
    tail = limit - _OMISSION_ROOM - head
    return (
        f"{text[:head]}\n[... {len(text) - head - tail:,} characters omitted ...]\n{text[-tail:]}"
    )
