"""The retry policy: decide() for every kind of failed attempt, the backoff, the options."""

import re
from datetime import timedelta

import pytest

from django_tasks import task
from django_tasks.backends.database.exceptions import LeaseExpiredError
from django_tasks.exceptions import InvalidTaskError, RetryTask, TaskCancelled
from django_tasks.retries import Decision, ExponentialBackoff, Next, RetryPolicy, decide

POLICY = RetryPolicy(
    max_attempts=3, retry_on=(ValueError,), backoff=ExponentialBackoff(base=1.0, jitter=0)
)


@pytest.mark.parametrize(
    ("attempt", "exception", "lost", "decision"),
    [
        (1, ValueError(), False, Decision(Next.RETRY, 1.0, "in retry_on")),
        (2, ValueError(), False, Decision(Next.RETRY, 2.0, "in retry_on")),
        (3, ValueError(), False, Decision(Next.FAIL, 0.0, "no attempts left (3 of 3)")),
        (1, KeyError(), False, Decision(Next.FAIL, 0.0, "not in retry_on")),
        (1, RetryTask(), False, Decision(Next.RETRY, 1.0, "RetryTask raised")),
        (
            2,
            RetryTask(delay=timedelta(seconds=7)),
            False,
            Decision(Next.RETRY, 7.0, "RetryTask raised"),
        ),
        (3, RetryTask(delay=0), False, Decision(Next.FAIL, 0.0, "no attempts left (3 of 3)")),
        (1, LeaseExpiredError(), True, Decision(Next.RETRY, 0.0, "lease expired")),
        (3, LeaseExpiredError(), True, Decision(Next.FAIL, 0.0, "no attempts left (3 of 3)")),
        (1, TaskCancelled(), False, Decision(Next.CANCEL, 0.0, "cancelled")),
    ],
)
def test_decide(attempt: int, exception: BaseException, lost: bool, decision: Decision) -> None:
    assert decide(POLICY, attempt, exception, lost=lost) == decision


def test_the_exponential_backoff_has_a_cap_and_jitter() -> None:
    capped = ExponentialBackoff(base=1.0, factor=2.0, cap=10.0, jitter=0)
    assert [capped(n) for n in (1, 2, 3, 4, 5, 10_000)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    jittered = ExponentialBackoff(base=8.0, cap=100.0, jitter=0.5)
    delays = {jittered(1) for _ in range(200)}
    assert all(4.0 <= delay <= 8.0 for delay in delays)
    assert len(delays) > 1
    with pytest.raises(ValueError, match=re.escape("ExponentialBackoff base -1 is invalid")):
        ExponentialBackoff(base=-1)


def test_a_backoff_that_returns_no_delay_is_an_error() -> None:
    policy = RetryPolicy(max_attempts=3, retry_on=(ValueError,), backoff=lambda attempt: "soon")  # type: ignore[arg-type, return-value]  # The mistake under test.
    with pytest.raises(TypeError, match=re.escape("returned 'soon' for attempt 1")):
        decide(policy, 1, ValueError())


def test_a_retry_delay_must_be_seconds() -> None:
    with pytest.raises(TypeError, match=re.escape("RetryTask delay -1 is invalid")):
        RetryTask(delay=-1)


def test_a_task_overrides_the_backend_defaults_where_it_sets_options() -> None:
    policy = POLICY.over(task(max_attempts=5)(_module_level))
    assert (policy.max_attempts, policy.retry_on) == (5, (ValueError,))
    assert policy.backoff is POLICY.backoff


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"max_attempts": 0}, "max_attempts 0 is invalid; it must be a whole number of 1 or more."),
        (
            {"retry_on": (ValueError, "KeyError")},
            "retry_on (<class 'ValueError'>, 'KeyError') is invalid; it must be a tuple of "
            "exception classes (subclasses of BaseException).",
        ),
        ({"backoff": 5}, "backoff 5 is not callable;"),
    ],
)
def test_invalid_retry_options_are_refused_when_the_task_is_declared(
    options: dict[str, object], problem: str
) -> None:
    with pytest.raises(InvalidTaskError, match=re.escape(problem)):
        task(**options)(_module_level)  # type: ignore[call-overload]  # Wrong on purpose.


def _module_level() -> None: ...
