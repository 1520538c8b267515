"""Retry policies: how often a task may run, which failures run it again, and after how long.

A task's policy is its own options (``@task(max_attempts=..., retry_on=..., backoff=...)``)
over its backend's defaults (the database backend's OPTIONS ``MAX_ATTEMPTS``, ``RETRY_ON`` and
``BACKOFF_*``). ``decide`` is the one place that turns a failed attempt into what happens next:
run again after a delay, end FAILED, or end cancelled. Every kind of failed attempt goes through
it: an exception the task raised, a lease that expired (its worker died), a timeout.

A failed attempt is retried when attempts remain and:

- the task raised ``RetryTask`` (after its ``delay``, if it gives one), or
- the exception is an instance of a class of ``retry_on``, or
- the worker running it stopped renewing its lease (``LeaseExpiredError``: crash recovery).

``TaskCancelled`` is never retried: the task ends cancelled.
"""

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from django_tasks.exceptions import RetryTask, TaskCancelled

__all__ = [
    "Backoff",
    "Decision",
    "ExponentialBackoff",
    "Next",
    "RetryPolicy",
    "decide",
    "exponential",
    "option_problems",
]

Backoff = Callable[[int], float | timedelta]
"""How long to wait before the next attempt, given the number of the attempt that failed
(1 for the first): seconds, or a timedelta."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ExponentialBackoff:
    """``base * factor ** (attempt - 1)`` seconds, at most ``cap``, less a random part of up to
    ``jitter`` of it, so that tasks that failed together do not all run again together."""

    base: float = 1.0
    """The delay after the first failed attempt, in seconds."""
    factor: float = 2.0
    """How much longer each next delay is."""
    cap: float = 600.0
    """The longest delay, in seconds."""
    jitter: float = 0.25
    """The largest part of a delay taken off at random: 0 for none, at most 1."""

    def __post_init__(self) -> None:
        for name in ("base", "factor", "cap", "jitter"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise ValueError(
                    f"ExponentialBackoff {name} {value!r} is invalid; it must be a number that "
                    f"is zero or greater."
                )
        if self.factor < 1 or self.jitter > 1:
            raise ValueError(
                f"ExponentialBackoff factor {self.factor!r} must be at least 1 and jitter "
                f"{self.jitter!r} at most 1."
            )

    def __call__(self, attempt: int) -> float:
        try:
            delay = min(self.cap, self.base * self.factor ** max(attempt - 1, 0))
        except OverflowError:
            delay = self.cap
        return delay * (1 - self.jitter * random.random())  # Not cryptography: jitter.


def exponential(
    base: float = 1.0, *, factor: float = 2.0, cap: float = 600.0, jitter: float = 0.25
) -> ExponentialBackoff:
    """An exponential backoff (see ExponentialBackoff), for ``@task(backoff=...)``."""
    return ExponentialBackoff(base=base, factor=factor, cap=cap, jitter=jitter)


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How a task is retried: its own options over its backend's defaults."""

    max_attempts: int
    """How many times the task may be started in all."""
    retry_on: tuple[type[BaseException], ...]
    """The exceptions that run the task again."""
    backoff: Backoff
    """The delay before each next attempt."""

    def over(self, task: Any) -> "RetryPolicy":
        """This policy (a backend's defaults) with the task's own options, where it sets them."""
        max_attempts = getattr(task, "max_attempts", None)
        retry_on = getattr(task, "retry_on", None)
        backoff = getattr(task, "backoff", None)
        return RetryPolicy(
            max_attempts=self.max_attempts if max_attempts is None else max_attempts,
            retry_on=self.retry_on if retry_on is None else tuple(retry_on),
            backoff=self.backoff if backoff is None else backoff,
        )


class Next(StrEnum):
    """What follows a failed attempt."""

    RETRY = "retry"
    FAIL = "fail"
    CANCEL = "cancel"


@dataclass(frozen=True, slots=True)
class Decision:
    """What follows a failed attempt, and for a retry, after how many seconds."""

    next: Next
    delay: float = 0.0
    reason: str = ""
    """Why, in a few words, for the logs."""

    @property
    def retries(self) -> bool:
        return self.next is Next.RETRY


def decide(
    policy: RetryPolicy, attempt: int, exception: BaseException, *, lost: bool = False
) -> Decision:
    """What follows the failed attempt number ``attempt`` (1 for the first) that raised
    ``exception``; ``lost``: the attempt's worker stopped renewing its lease, so it was never
    the task's fault and is retried whatever ``retry_on`` says."""
    if isinstance(exception, TaskCancelled):
        return Decision(Next.CANCEL, reason="cancelled")
    if attempt >= policy.max_attempts:
        return Decision(Next.FAIL, reason=f"no attempts left ({attempt} of {policy.max_attempts})")
    if isinstance(exception, RetryTask):
        delay = getattr(exception, "delay", None)  # A subclass may not call our __init__.
        return Decision(
            Next.RETRY, _delay(policy, attempt) if delay is None else delay, "RetryTask raised"
        )
    if lost:
        return Decision(Next.RETRY, 0.0, "lease expired")
    if isinstance(exception, policy.retry_on):
        return Decision(Next.RETRY, _delay(policy, attempt), "in retry_on")
    return Decision(Next.FAIL, reason="not in retry_on")


def _delay(policy: RetryPolicy, attempt: int) -> float:
    value = policy.backoff(attempt)
    seconds: Any = value.total_seconds() if isinstance(value, timedelta) else value
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds >= 0:
        raise TypeError(
            f"The backoff {policy.backoff!r} returned {value!r} for attempt {attempt}; it must "
            f"return a number of seconds (or a timedelta) that is zero or greater."
        )
    return float(seconds)


def option_problems(max_attempts: Any, retry_on: Any, backoff: Any) -> list[str]:
    """What is wrong with a task's retry options (None: the backend's default), one sentence
    each, quoting the value."""
    problems = []
    if max_attempts is not None and (type(max_attempts) is not int or max_attempts < 1):
        problems.append(
            f"max_attempts {max_attempts!r} is invalid; it must be a whole number of 1 or more."
        )
    if retry_on is not None and not _exception_classes(retry_on):
        problems.append(
            f"retry_on {retry_on!r} is invalid; it must be a tuple of exception classes "
            f"(subclasses of BaseException)."
        )
    if backoff is not None and not callable(backoff):
        problems.append(
            f"backoff {backoff!r} is not callable; pass a function of the failed attempt's "
            f"number that returns seconds (or a timedelta), such as "
            f"django_tasks.retries.exponential(2.0)."
        )
    return problems


def _exception_classes(value: Any) -> bool:
    return (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and all(isinstance(item, type) and issubclass(item, BaseException) for item in value)
    )
