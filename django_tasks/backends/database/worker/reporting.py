"""What a worker tells its operator: the tally of what it did, its summary line, and the set-up
of its log output on the command line."""

import logging
from dataclasses import dataclass

logger = logging.getLogger("django_tasks.worker")


@dataclass(slots=True)
class Tally:
    """What a worker has done since it started, for its summary line."""

    claimed: int = 0
    succeeded: int = 0
    failed: int = 0
    rejected: int = 0
    lost: int = 0
    handed_back: int = 0
    retried: int = 0
    """Failed attempts that went back to the queue, to run again (retries.decide)."""


def log_summary(tally: Tally, *, worker_id: str, status: int | None, uptime: float) -> None:
    """The line a worker logs as it stops."""
    logger.info(
        "Worker stopped id=%s status=%s uptime=%.1fs claimed=%s succeeded=%s failed=%s "
        "rejected=%s lost=%s handed_back=%s retried=%s",
        worker_id,
        status,
        uptime,
        tally.claimed,
        tally.succeeded,
        tally.failed,
        tally.rejected,
        tally.lost,
        tally.handed_back,
        tally.retried,
    )


def configure_logging(verbosity: int) -> int | None:
    """Show the worker's log lines on stderr (its process pool's children call it too), unless
    the project has configured logging for ``django_tasks`` (or the root logger): verbosity 0
    shows warnings and errors, 1 also a line per finished task, 2 and 3 also a line per started
    task. Return ``verbosity``, or None if the project configures logging."""
    tasks_logger = logging.getLogger("django_tasks")
    if tasks_logger.hasHandlers():
        return None
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    tasks_logger.addHandler(handler)
    levels = {0: logging.WARNING, 1: logging.INFO}
    tasks_logger.setLevel(levels.get(verbosity, logging.DEBUG))
    return verbosity
