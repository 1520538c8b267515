"""Declaring tasks: @task, the Task value, using()."""

import re
from dataclasses import FrozenInstanceError
from datetime import UTC, datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any, cast

import pytest
from django.utils import timezone
from pytest_django import Settings as SettingsWrapper

import django_tasks
from django_tasks import (
    DEFAULT_QUEUE_NAME,
    DEFAULT_TASK_BACKEND_ALIAS,
    ResultStatus,
    Task,
    TaskResult,
    default_task_backend,
    task,
    tasks,
)
from django_tasks.backends.dummy import DummyBackend
from django_tasks.backends.immediate import ImmediateBackend
from django_tasks.configuration import DEFAULT_TASKS, tasks_setting
from django_tasks.exceptions import InvalidTaskBackendError, InvalidTaskError
from django_tasks.handler import TasksHandler
from django_tasks.registry import task_registry
from django_tasks.utils import class_path
from tests import tasks as test_tasks

SUITE = "django_tasks_conformance.tasks"
"""The module of the suite's fixture tasks, which these tests share."""


def test_public_api_names() -> None:
    kinds = (str.isupper, lambda name: name[0].isupper(), lambda name: True)  # As ruff sorts.
    assert sorted(django_tasks.__all__, key=lambda n: ([not is_(n) for is_ in kinds], n)) == (
        django_tasks.__all__
    )
    for name in (
        "task",
        "ResultStatus",
        "default_task_backend",
        "tasks",
        "Task",
        "TaskResult",
        "DEFAULT_TASK_BACKEND_ALIAS",
        "DEFAULT_QUEUE_NAME",
    ):
        assert name in django_tasks.__all__
    assert DEFAULT_TASK_BACKEND_ALIAS == "default"
    assert DEFAULT_QUEUE_NAME == django_tasks.DEFAULT_TASK_QUEUE_NAME == "default"
    assert (django_tasks.TASK_MIN_PRIORITY, django_tasks.TASK_MAX_PRIORITY) == (-100, 100)
    assert django_tasks.DEFAULT_TASK_PRIORITY == 0
    assert [status.value for status in ResultStatus] == ["NEW", "RUNNING", "FAILED", "SUCCEEDED"]


def test_module_layout_of_the_reference() -> None:
    from django_tasks.backends.base import BaseTaskBackend
    from django_tasks.exceptions import ResultDoesNotExist
    from django_tasks.signals import task_enqueued, task_finished, task_started
    from django_tasks.task import task as task_from_module

    assert task_from_module is task
    assert issubclass(DummyBackend, BaseTaskBackend)
    assert issubclass(ImmediateBackend, BaseTaskBackend)
    assert {task_enqueued, task_started, task_finished}
    assert issubclass(ResultDoesNotExist, Exception)


def test_default_backend_without_tasks_setting(settings: SettingsWrapper) -> None:
    del settings.TASKS  # Sends no setting_changed: a handler of its own reads the default.
    assert tasks_setting() == DEFAULT_TASKS
    backend = TasksHandler(tasks_setting())[DEFAULT_TASK_BACKEND_ALIAS]
    # Ours on Django 5.2; Django's own on Django 6 (its global settings name it).
    assert class_path(type(backend)) == DEFAULT_TASKS["default"]["BACKEND"]
    assert class_path(type(backend)).endswith(".immediate.ImmediateBackend")
    assert tasks[DEFAULT_TASK_BACKEND_ALIAS] is tasks["default"]


def test_bare_decorator() -> None:
    assert isinstance(test_tasks.noop, Task)
    assert test_tasks.noop.priority == 0
    assert test_tasks.noop.queue_name == "default"
    assert test_tasks.noop.backend == "default"
    assert test_tasks.noop.run_after is None
    assert test_tasks.noop.enqueue_on_commit is None
    assert test_tasks.noop.name == "noop"
    assert test_tasks.noop.module_path == "django_tasks_conformance.tasks.noop"


def test_decorator_with_options(settings: SettingsWrapper) -> None:
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"},
        "other": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": ["q"]},
    }

    def send(x: int) -> int:
        return x

    send.__qualname__ = "send"  # As if it were declared at module level.
    declared = task(priority=-5, queue_name="q", backend="other", enqueue_on_commit=False)(send)
    assert (declared.priority, declared.queue_name, declared.backend) == (-5, "q", "other")
    assert declared.enqueue_on_commit is False
    assert declared.func is send


def test_decorator_registers_the_task() -> None:
    assert task_registry.get("tests.tasks.noop_async") is test_tasks.noop_async
    assert test_tasks.noop_async in list(task_registry)


def test_coroutine_function_is_a_task() -> None:
    assert test_tasks.add_async.is_async
    assert not test_tasks.add.is_async


def nested_holder() -> Task[[], None]:
    def nested() -> None: ...

    return task(nested)


class Holder:
    def method(self) -> None: ...


@pytest.mark.parametrize(
    ("func", "message"),
    [
        (
            lambda: None,
            "Task function must be defined at a module level: tests.test_task.<lambda> is a "
            "lambda; define it at module level so that a worker can import it.",
        ),
        (
            Holder.method,
            "Task function must be defined at a module level: tests.test_task.Holder.method is "
            "defined inside a class; define it at module level so that a worker can import it.",
        ),
        (
            len,
            "Task function must be defined at a module level: <built-in function len> is not a "
            "Python function; a task must be a module-level function defined with def or async "
            "def.",
        ),
    ],
)
def test_refuses_what_a_worker_cannot_import(func: Any, message: str) -> None:
    with pytest.raises(InvalidTaskError, match=re.escape(message)):
        task(func)


def test_refuses_nested_functions() -> None:
    message = (
        "Task function must be defined at a module level: tests.test_task.nested_holder."
        "<locals>.nested is defined inside another function; define it at module level so that "
        "a worker can import it."
    )
    with pytest.raises(InvalidTaskError, match=re.escape(message)):
        nested_holder()


@pytest.mark.parametrize("priority", [-101, 101, 1.0, True, "1", None])
def test_priority_is_a_whole_number_in_range(priority: Any) -> None:
    message = (
        f"Priority {priority!r} is invalid: priority must be a whole number between -100 and 100."
    )
    with pytest.raises(InvalidTaskError, match=re.escape(message)):
        task(priority=priority)(test_tasks.noop.func)
    if priority is not None:  # using(priority=None) keeps the priority.
        with pytest.raises(InvalidTaskError, match=re.escape(message)):
            test_tasks.noop.using(priority=priority)


@pytest.mark.parametrize("priority", [-100, 0, 100])
def test_priority_bounds_are_allowed(priority: int) -> None:
    assert test_tasks.noop.using(priority=priority).priority == priority


@pytest.mark.parametrize("timeout", [0, -1, -0.5, float("inf"), float("nan"), True, "30"])
def test_timeout_is_a_number_of_seconds_above_zero_in_both_dialects(timeout: Any) -> None:
    message = (
        f"timeout {timeout!r} is invalid; it must be a number of seconds greater than zero, or "
        f"None for the backend's default."
    )
    with pytest.raises(InvalidTaskError, match=re.escape(message)):
        task(timeout=timeout)(test_tasks.noop.func)
    with pytest.raises(InvalidTaskError, match=re.escape(message)):
        django_tasks.django_task(timeout=timeout)(test_tasks.noop.func)


def test_timeout_is_kept_by_both_dialects() -> None:
    assert test_tasks.noop.timeout is None
    assert task(timeout=2)(test_tasks.noop.func).timeout == 2
    declared = django_tasks.django_task(timeout=0.5)(test_tasks.noop.func)
    assert (type(declared).__name__, declared.timeout) == ("DjangoTask", 0.5)


def test_queue_name_must_be_a_non_empty_string() -> None:
    with pytest.raises(
        InvalidTaskError,
        match=re.escape("Queue name '' is invalid; it must be a non-empty string."),
    ):
        task(queue_name="")(test_tasks.noop.func)


@pytest.mark.parametrize(
    "name",
    ["a,b", " padded ", "padded\n", "a b", "*", "emails*", "a\x00b", "\ud800", "ünï", "q'x"],
)
def test_a_queue_name_a_worker_cannot_select_is_refused(
    settings: SettingsWrapper, name: str
) -> None:
    """db_worker --queue-name splits at commas, strips spaces and reads '*' as every queue: such
    names were accepted and never run (except under '*'); a NUL or a lone surrogate failed with
    a database or encoding error at enqueue."""
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": []}
    }
    message = (
        f"Queue name {name!r} has characters a queue name cannot have; it may use ASCII letters "
        f"and digits and _ - . : / @ only."
    )
    with pytest.raises(InvalidTaskError, match=f"^{re.escape(message)}$"):
        test_tasks.add.using(queue_name=name)
    with pytest.raises(InvalidTaskError, match=f"^{re.escape(message)}$"):
        task(queue_name=name)(test_tasks.noop.func)


@pytest.mark.parametrize(
    "name",
    [
        "default",
        "emails",
        "high-priority",
        "low_priority",
        "app.emails",
        "tenant:42",
        "team/reports",
        "user@host",
        "Q2",
    ],
)
def test_queue_names_real_projects_use_are_allowed(settings: SettingsWrapper, name: str) -> None:
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": [name]}
    }
    assert test_tasks.add.using(queue_name=name).enqueue(1, 2).task.queue_name == name


def test_task_is_immutable() -> None:
    with pytest.raises(FrozenInstanceError):
        test_tasks.noop.priority = 3  # type: ignore[misc]  # Proving it is refused.


class TestUsing:
    def test_returns_a_new_task_and_leaves_the_original(self) -> None:
        changed = test_tasks.add.using(priority=7)
        assert changed is not test_tasks.add
        assert changed.priority == 7
        assert test_tasks.add.priority == 0
        assert changed.func is test_tasks.add.func

    def test_changes_queue_and_backend(self, settings: SettingsWrapper) -> None:
        settings.TASKS = {
            "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"},
            "dummy": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": []},
        }
        changed = test_tasks.add.using(queue_name="emails", backend="dummy")
        assert (changed.queue_name, changed.backend) == ("emails", "dummy")
        assert isinstance(changed.get_backend(), DummyBackend)

    def test_run_after_aware_datetime(self, dummy: DummyBackend) -> None:
        when = timezone.now() + timedelta(hours=1)
        assert test_tasks.add.using(run_after=when).run_after == when

    def test_run_after_timedelta_means_from_now(self, dummy: DummyBackend) -> None:
        before = timezone.now()
        run_after = test_tasks.add.using(run_after=timedelta(minutes=5)).run_after
        assert run_after is not None
        assert before + timedelta(minutes=5) <= run_after <= timezone.now() + timedelta(minutes=5)

    def test_run_after_naive_datetime_is_refused(self, dummy: DummyBackend) -> None:
        naive = datetime(2030, 1, 1, 12, 0)
        message = (
            "run_after must be an aware datetime: datetime.datetime(2030, 1, 1, 12, 0) is naive; "
            "pass an aware one (for example django.utils.timezone.now() + timedelta(minutes=5))."
        )
        with pytest.raises(InvalidTaskError, match=re.escape(message)):
            test_tasks.add.using(run_after=naive)

    def test_run_after_must_be_a_datetime(self, dummy: DummyBackend) -> None:
        message = "run_after 5 is invalid; pass an aware datetime or a timedelta."
        with pytest.raises(InvalidTaskError, match=re.escape(message)):
            test_tasks.add.using(run_after=cast(Any, 5))

    @pytest.mark.parametrize(
        ("run_after", "message"),
        [
            (
                datetime(1, 1, 1, 0, 30, tzinfo=dt_timezone(timedelta(hours=5))),
                "run_after datetime.datetime(1, 1, 1, 0, 30, tzinfo=datetime.timezone("
                "datetime.timedelta(seconds=18000))) is outside the years 1 to 9999 once in "
                "UTC, the range every backend can store and read back; pass a time between "
                "0001-01-01 and 9999-12-31 UTC.",
            ),
            (
                datetime(9999, 12, 31, 23, 0, tzinfo=dt_timezone(timedelta(hours=-5))),
                "run_after datetime.datetime(9999, 12, 31, 23, 0, tzinfo=datetime.timezone("
                "datetime.timedelta(days=-1, seconds=68400))) is outside the years 1 to 9999 "
                "once in UTC",
            ),
            (
                timedelta(days=3_650_000),
                "run_after datetime.timedelta(days=3650000) from now is after year 9999, beyond "
                "the years 1 to 9999 that every backend can store and read back; pass a shorter "
                "timedelta.",
            ),
            (
                timedelta(days=-800_000),
                "run_after datetime.timedelta(days=-800000) from now is before year 1, beyond",
            ),
        ],
    )
    def test_run_after_beyond_the_years_1_to_9999_in_utc_is_refused(
        self, dummy: DummyBackend, run_after: datetime | timedelta, message: str
    ) -> None:
        with pytest.raises(InvalidTaskError, match=re.escape(message)):
            test_tasks.add.using(run_after=run_after)
        if isinstance(run_after, datetime):  # However the task is made.
            with pytest.raises(InvalidTaskError, match=re.escape(message)):
                Task(func=test_tasks.add.func, run_after=run_after)

    @pytest.mark.parametrize(
        "run_after",
        [
            datetime(1, 1, 1, tzinfo=UTC),
            datetime(1, 1, 1, 5, 0, tzinfo=dt_timezone(timedelta(hours=5))),
            datetime.max.replace(tzinfo=UTC),
        ],
    )
    def test_run_after_at_the_ends_of_the_years_1_to_9999_in_utc_is_kept(
        self, dummy: DummyBackend, run_after: datetime
    ) -> None:
        assert test_tasks.add.using(run_after=run_after).run_after == run_after

    def test_run_after_refused_by_a_backend_without_defer(self) -> None:
        when = timezone.now() + timedelta(hours=1)
        message = (
            f"Backend does not support run_after: task {SUITE}.add has run_after "
            f"{when.isoformat()}, but backend 'default' cannot defer tasks (supports_defer is "
            f"False)."
        )
        with pytest.raises(InvalidTaskError, match=re.escape(message)):
            test_tasks.add.using(run_after=when)

    def test_validates_the_queue_against_the_target_backend(
        self, settings: SettingsWrapper
    ) -> None:
        settings.TASKS = {
            "default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": []},
            "strict": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"},
        }
        assert test_tasks.add.using(queue_name="anything").queue_name == "anything"
        message = "Queue 'anything' is not valid for backend 'strict'; allowed: ['default']."
        with pytest.raises(InvalidTaskError, match=re.escape(message)):
            test_tasks.add.using(queue_name="anything", backend="strict")

    def test_unknown_backend_alias(self) -> None:
        message = (
            "The connection 'missing' doesn't exist. Task backend 'missing' is not defined; "
            "TASKS defines ['default']."
        )
        with pytest.raises(InvalidTaskBackendError, match=re.escape(message)):
            test_tasks.add.using(backend="missing")

    def test_cannot_change_enqueue_on_commit(self) -> None:
        with pytest.raises(TypeError, match="enqueue_on_commit"):
            test_tasks.add.using(enqueue_on_commit=False)  # type: ignore[call-arg]  # Refused.


class TestQueues:
    def test_omitted_queues_allow_only_default(self, settings: SettingsWrapper) -> None:
        settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
        message = "Queue 'other' is not valid for backend 'default'; allowed: ['default']."
        with pytest.raises(InvalidTaskError, match=re.escape(message)):
            task(queue_name="other")(test_tasks.noop.func)

    def test_listed_queues(self, settings: SettingsWrapper) -> None:
        settings.TASKS = {
            "default": {
                "BACKEND": "django_tasks.backends.dummy.DummyBackend",
                "QUEUES": ["default", "special"],
            }
        }
        assert task(queue_name="special")(test_tasks.noop.func).queue_name == "special"
        message = (
            "Queue 'spesial' is not valid for backend 'default'; allowed: ['default', 'special']."
        )
        with pytest.raises(InvalidTaskError, match=re.escape(message)):
            test_tasks.noop.using(queue_name="spesial")

    def test_empty_queues_allow_any_name(self, settings: SettingsWrapper) -> None:
        settings.TASKS = {
            "default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": []}
        }
        assert task(queue_name="whatever")(test_tasks.noop.func).queue_name == "whatever"


class TestBackendSettings:
    def test_override_settings_takes_effect_at_once(self, settings: SettingsWrapper) -> None:
        assert isinstance(default_task_backend, ImmediateBackend)
        settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
        assert isinstance(default_task_backend, DummyBackend)
        result = test_tasks.add.enqueue(1, 2)
        assert result.status == ResultStatus.NEW

    def test_decorating_with_a_broken_backend_defers_the_error(
        self, settings: SettingsWrapper
    ) -> None:
        settings.TASKS = {"default": {"BACKEND": "no.such.Backend"}}
        declared = task(test_tasks.noop.func)
        message = (
            "TASKS['default']['BACKEND']: Could not find backend 'no.such.Backend': No module "
            "named 'no'; the module 'no.such' of BACKEND 'no.such.Backend' cannot be imported "
            "(ModuleNotFoundError)."
        )
        with pytest.raises(InvalidTaskBackendError, match=re.escape(message)):
            declared.enqueue()

    def test_tasks_setting_must_be_a_dict(self, settings: SettingsWrapper) -> None:
        settings.TASKS = ["default"]
        message = (
            "TASKS must be a dict of backend aliases to configurations; found list ['default']."
        )
        with pytest.raises(InvalidTaskBackendError, match=re.escape(message)):
            test_tasks.noop.enqueue()


def test_task_result_is_generic_over_the_return_type() -> None:
    result: TaskResult[int] = test_tasks.add.enqueue(2, 3)
    assert result.return_value == 5
