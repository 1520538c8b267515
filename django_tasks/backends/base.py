"""BaseTaskBackend: the policy every backend shares.

A backend declares what it supports with the ``supports_*`` flags, and implements one hook,
``_enqueue(result)``, which hands a new result over to wherever the backend keeps or runs it.
Validation, argument normalisation and waiting for the transaction to commit happen here, once.

On Django 6 it is a ``django.tasks`` backend (a subclass of Django's ``BaseTaskBackend``, see
``dialects``): Django's ``@task`` builds its ``task_class`` (set by ``django_tasks.task``), and it
takes tasks of both dialects, giving each a result of its task's dialect (``new_result``).
"""

import inspect
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, ClassVar, TypeVar

from asgiref.sync import sync_to_async
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone
from pydantic import BaseModel

from django_tasks import tracing
from django_tasks.constants import DEFAULT_PRIORITY
from django_tasks.dialects import BackendBase, enqueue_on_commit, is_async
from django_tasks.exceptions import (
    InvalidTaskBackendError,
    InvalidTaskError,
    InvalidTaskSettingError,
)
from django_tasks.problems import (
    ProblemKind,
    SettingProblem,
    location,
    validate_backend_config,
    validate_options,
)
from django_tasks.results import AnyResult, ResultStatus, TaskResult, new_result
from django_tasks.retries import ExponentialBackoff, RetryPolicy
from django_tasks.serialization import normalize_arguments
from django_tasks.signals import task_enqueued
from django_tasks.utils import class_path, get_random_id
from django_tasks_spec.protocols import TaskProtocol
from django_tasks_spec.settings import BackendConfig, NoOptions

logger = logging.getLogger("django_tasks")

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckedParams:
    """What validating an entry of TASKS for one backend class found."""

    config: BackendConfig | None = None
    """The entry with its defaults filled in, if its schema holds."""

    options: BaseModel | None = None
    """Its OPTIONS, as the class's ``options_schema``, if they are valid."""

    problems: list[SettingProblem] = field(default_factory=list)
    """Everything wrong with the entry; the backend can be created only if this is empty."""


class ValidatedParams(dict[str, Any]):
    """An entry of TASKS that the handler has validated for ``backend_class``, so that creating
    the backend does not validate it again (see ``BaseTaskBackend.__init__``)."""

    def __init__(
        self,
        params: Mapping[str, Any],
        backend_class: type["BaseTaskBackend"],
        checked: CheckedParams,
    ) -> None:
        super().__init__(params)
        self.backend_class = backend_class
        self.checked = checked


class BaseTaskBackend(BackendBase, ABC):
    """The base class of task backends."""

    # Can tasks be enqueued with run_after?
    supports_defer: bool = False

    # Can coroutine functions be enqueued?
    supports_async_task: bool = False

    # Can a result be retrieved by id, from any thread or process?
    supports_get_result: bool = False

    # Is a task with a higher priority started before one with a lower priority?
    supports_priority: bool = False

    # Can tasks be made unique with a key (unique_key), so that enqueueing one while another
    # with its key waits returns that one's result?
    supports_unique: bool = False

    # Can periodic tasks be declared on this backend (django_tasks.schedules), and run by it?
    supports_schedules: bool = False

    # Is a failed attempt run again, as the task's retry policy says (max_attempts, retry_on,
    # backoff)? Without it, a task runs at most once.
    supports_retries: bool = False

    # Can a task be cancelled (cancel()): one that has not started never runs, a running one is
    # asked to stop through its context?
    supports_cancel: bool = False

    # Is a task that runs past its timeout recorded FAILED with TaskTimeoutError?
    supports_timeout: bool = False

    options_schema: ClassVar[type[BaseModel]] = NoOptions
    """The pydantic model that validates this backend's OPTIONS."""

    alias: str
    queues: frozenset[str]  # Read-only, where Django's base sets a set.
    enqueue_on_commit: bool
    options: BaseModel  # Validated by options_schema, where Django's base keeps the dict.

    def __init__(self, alias: str, params: Mapping[str, Any]) -> None:
        """Create the backend of TASKS[alias]; raise InvalidTaskSettingError if it is invalid.

        ``params`` is validated here (``validate_params``), unless the handler has validated
        it already (``ValidatedParams``): a backend created directly, or by another handler,
        says what is wrong with its configuration in the same words as ``manage.py check``.
        """
        if isinstance(params, ValidatedParams) and params.backend_class is type(self):
            checked = params.checked
        else:
            checked = self.validate_params(alias, {"BACKEND": class_path(type(self)), **params})
        if checked.problems or checked.config is None or checked.options is None:
            raise InvalidTaskSettingError(checked.problems)
        super().__init__(alias, dict(params))
        self.alias = alias
        self.queues = frozenset(checked.config.QUEUES)
        self.enqueue_on_commit = checked.config.ENQUEUE_ON_COMMIT
        self._enqueue_on_commit_set = "ENQUEUE_ON_COMMIT" in checked.config.model_fields_set
        self.options = checked.options

    @classmethod
    def validate_params(cls, alias: str, params: Mapping[str, Any]) -> CheckedParams:
        """The validator of an entry of TASKS for this class: its schema and its OPTIONS
        (against ``options_schema``), every problem at once."""
        validated = validate_backend_config(alias, params)
        config, problems = (None, validated) if isinstance(validated, list) else (validated, [])
        if any(problem.kind is ProblemKind.OPTIONS_INVALID for problem in problems):
            return CheckedParams(config=config, problems=problems)  # OPTIONS is no dict.
        path = params.get("BACKEND")
        options = validate_options(
            alias,
            path if isinstance(path, str) else class_path(cls),
            cls.options_schema,
            params.get("OPTIONS", {}),
        )
        if isinstance(options, list):
            return CheckedParams(config=config, problems=[*problems, *options])
        return CheckedParams(config=config, options=options, problems=problems)

    def validate_task(self, task: TaskProtocol[Any, Any]) -> None:
        """Raise InvalidTaskError if this backend cannot run the task as declared (a task of
        either dialect)."""
        if task.backend != self.alias:
            raise InvalidTaskError(
                f"Task {task.module_path} is declared for backend {task.backend!r}, not "
                f"{self.alias!r}; use task.using(backend={self.alias!r})."
            )
        if getattr(task, "takes_context", False):
            _validate_context_parameter(task)
        if is_async(task) and not self.supports_async_task:
            raise InvalidTaskError(
                f"Backend does not support async tasks: task {task.module_path} is a coroutine "
                f"function, which backend {self.alias!r} cannot run (supports_async_task is "
                f"False)."
            )
        if task.run_after is not None and not self.supports_defer:
            raise InvalidTaskError(
                f"Backend does not support run_after: task {task.module_path} has run_after "
                f"{task.run_after.isoformat()}, but backend {self.alias!r} cannot defer tasks "
                f"(supports_defer is False)."
            )
        if task.priority != DEFAULT_PRIORITY and not self.supports_priority:
            raise InvalidTaskError(
                f"Task {task.module_path} has priority {task.priority}, but backend "
                f"{self.alias!r} ignores priority (supports_priority is False); leave it at "
                f"{DEFAULT_PRIORITY}."
            )
        unique_key = getattr(task, "unique_key", None)
        if unique_key is not None and not self.supports_unique:
            raise InvalidTaskError(
                f"Task {task.module_path} has unique_key {unique_key!r}, but backend "
                f"{self.alias!r} cannot keep tasks unique (supports_unique is False); leave "
                f"unique_key unset."
            )
        if self.queues and task.queue_name not in self.queues:
            raise InvalidTaskError(
                queue_not_allowed_message(task.queue_name, self.alias, self.queues)
            )

    def enqueue(
        self, task: TaskProtocol[Any, T], args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> TaskResult[T]:
        """Queue up the task to run with these arguments, now or once the transaction commits.

        Nothing is stored, sent or scheduled if the task or an argument is invalid. The result
        is of the task's dialect (typed here as the contract's, the 0.6.1 dialect's).
        """
        self.validate_task(task)
        result = self._new_result(task, args, kwargs)
        with tracing.producing([result]):
            if self.defers_to_commit(task):
                self._enqueue_on_commit(result)
            else:
                self._enqueue(result)
        return result

    async def aenqueue(
        self, task: TaskProtocol[Any, T], args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> TaskResult[T]:
        """See enqueue()."""
        return await sync_to_async(self.enqueue, thread_sensitive=True)(task, args, kwargs)

    @abstractmethod
    def _enqueue(self, result: AnyResult) -> None:
        """Hand a new, validated result over to the backend's store or runner.

        Once the task is really enqueued, call ``_mark_enqueued``.
        """

    def _mark_enqueued(self, result: AnyResult, enqueued_at: datetime | None = None) -> None:
        """Record that the result is enqueued (now, or at ``enqueued_at``, the store's time) and
        send ``task_enqueued``: the step every backend takes once a task is really enqueued."""
        result._update(enqueued_at=enqueued_at or timezone.now())
        task_enqueued.send(type(self), task_result=result)

    async def _amark_enqueued(self, result: AnyResult, enqueued_at: datetime | None = None) -> None:
        """See _mark_enqueued(); async receivers of ``task_enqueued`` are awaited here."""
        result._update(enqueued_at=enqueued_at or timezone.now())
        await task_enqueued.asend(type(self), task_result=result)

    def _enqueue_on_commit(self, result: AnyResult) -> None:
        """Enqueue a result once the default database's current transaction commits.

        A backend that keeps its tasks in that database may instead write them inside the
        transaction, so that they commit (or roll back) with it.
        """
        on_commit_logged(
            tracing.carried(partial(self._enqueue, result)),
            DEFAULT_DB_ALIAS,
            f"Enqueueing task id={result.id} path={result.task.module_path}",
        )

    def get_result(self, result_id: str) -> TaskResult[Any]:
        """Return the result with this id, of its task's dialect, or raise ResultDoesNotExist."""
        raise NotImplementedError(
            f"This backend does not support retrieving or refreshing results. Backend "
            f"{self.alias!r} ({type(self).__qualname__}) keeps none."
        )

    async def aget_result(self, result_id: str) -> TaskResult[Any]:
        """See get_result()."""
        return await sync_to_async(self.get_result, thread_sensitive=True)(result_id)

    def waits_for_commit(self, task: TaskProtocol[Any, Any]) -> bool:
        """Whether enqueueing the task waits for the default database's transaction to commit.

        The task's own enqueue_on_commit wins over the backend's ENQUEUE_ON_COMMIT; a project
        with no database never waits.
        """
        own = enqueue_on_commit(task)
        wanted = self.enqueue_on_commit if own is None else own
        return wanted and database_configured(DEFAULT_DB_ALIAS)

    def defers_to_commit(self, task: TaskProtocol[Any, Any]) -> bool:
        """The enqueue policy: whether enqueueing the task now waits for the current
        transaction of the default database to commit. Every way of enqueueing (enqueue,
        aenqueue, a backend's bulk_enqueue) asks it.

        Raises InvalidTaskBackendError if the task would wait for a commit that never runs
        on-commit hooks (the database does not autocommit): it would never be enqueued. Async
        code runs outside transactions (atomic() is sync-only), so it never waits.
        """
        if not (self.waits_for_commit(task) and in_transaction(DEFAULT_DB_ALIAS)):
            return False
        if not autocommits(DEFAULT_DB_ALIAS):
            raise InvalidTaskBackendError(manual_commit_message(self.alias, task))
        return True

    def check(self, **kwargs: Any) -> Iterable[checks.CheckMessage]:
        """Report problems with the backend's configuration. Every message has an id.

        A subclass yields from ``super().check(**kwargs)`` first.
        """
        # ENQUEUE_ON_COMMIT=True asks for a transaction that cannot exist. Its default (True)
        # is no mistake in a project without a database: only an explicit True is reported.
        if self.enqueue_on_commit and self._enqueue_on_commit_set:
            try:
                missing = not database_configured(DEFAULT_DB_ALIAS)
            except ImproperlyConfigured:  # DATABASES itself is broken; Django reports that.
                missing = False
            if missing:
                where = location([self.alias, "ENQUEUE_ON_COMMIT"])
                yield checks.Error(
                    f"`ENQUEUE_ON_COMMIT` cannot be used when no databases are configured: "
                    f"{where} is True, but DATABASES defines no {DEFAULT_DB_ALIAS!r} database, "
                    f"so there is no transaction to wait for.",
                    hint=f"Set `ENQUEUE_ON_COMMIT` to False (or remove {where}), or configure "
                    f"a database.",
                    obj=where,
                    id="django_tasks.E060",
                )

    @property
    def retry_defaults(self) -> RetryPolicy:
        """The retry policy of a task that sets none of its own options: one attempt, unless
        the backend supports retries and its options say otherwise."""
        return RetryPolicy(max_attempts=1, retry_on=(), backoff=ExponentialBackoff())

    def retry_policy(self, task: TaskProtocol[Any, Any]) -> RetryPolicy:
        """The task's retry policy: its own options over the backend's defaults."""
        return self.retry_defaults.over(task)

    def cancel(self, result_id: str) -> TaskResult[Any]:
        """Cancel the task of ``result_id`` and return its result as it is now: one that has
        not started never runs and ends cancelled; a running one is asked to stop (see
        ``django_tasks.cancellation``). Raises TaskFinishedError if it has finished, and
        ResultDoesNotExist for an unknown id."""
        raise NotImplementedError(
            f"Backend {self.alias!r} ({type(self).__qualname__}) does not support cancelling "
            f"tasks (supports_cancel is False)."
        )

    async def acancel(self, result_id: str) -> TaskResult[Any]:
        """See cancel()."""
        return await sync_to_async(self.cancel, thread_sensitive=True)(result_id)

    def _new_result(
        self, task: TaskProtocol[Any, T], args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> TaskResult[T]:
        """A NEW result of the task's dialect (typed as the contract's: see enqueue())."""
        normal_args, normal_kwargs = normalize_arguments(args, kwargs)
        result = new_result(
            task,
            id=self._new_result_id(),
            status=ResultStatus.NEW,
            args=normal_args,
            kwargs=normal_kwargs,
            backend=self.alias,
        )
        return result  # Of the task's dialect: see enqueue().

    def _new_result_id(self) -> str:
        """A new, unique result id of at most MAX_RESULT_ID_LENGTH characters."""
        return get_random_id()


def _validate_context_parameter(task: TaskProtocol[Any, Any]) -> None:
    """A task that takes its context receives it as its first parameter, named ``context``."""
    parameters = list(inspect.signature(task.func).parameters)
    if not parameters or parameters[0] != "context":
        found = f"{parameters[0]!r}" if parameters else "no parameter"
        raise InvalidTaskError(
            f"Task {task.module_path} takes its context (takes_context=True), so its first "
            f"parameter must be named 'context'; it has {found}."
        )


def on_commit_logged(callback: Callable[[], None], using: str, what: str) -> None:
    """transaction.on_commit(callback), except that what the callback raises is logged (at
    ERROR, on ``django_tasks``, with ``what`` it was doing) rather than raised: Django would
    skip the callbacks after it, other tasks' among them, and raise it from the end of the
    atomic() block, once the transaction has committed. (Django's own ``robust=True`` cannot
    name a functools.partial in its log line before Django 6.)"""

    def run() -> None:
        try:
            callback()
        except Exception:
            logger.exception(
                "%s failed after the commit of database %r; the on-commit callbacks after it "
                "still run.",
                what,
                using,
            )

    transaction.on_commit(run, using=using)


def in_transaction(alias: str) -> bool:
    """Whether this thread's connection to ``alias`` is inside atomic(). Opens no connection."""
    return connections[alias].in_atomic_block


def autocommits(alias: str) -> bool:
    """Whether the connection to ``alias`` autocommits, so that on-commit hooks can run."""
    return bool(connections.settings[alias].get("AUTOCOMMIT", True))


def manual_commit_message(alias: str, task: TaskProtocol[Any, Any] | None = None) -> str:
    """Why enqueueing cannot wait for a commit on a database that does not autocommit.

    Django never runs on-commit hooks without autocommit, so a task enqueued inside a
    transaction would never be enqueued. ``task`` is a task whose own enqueue_on_commit asks
    to wait; None (or a task that leaves it to the backend) blames ENQUEUE_ON_COMMIT.
    """
    if task is None or enqueue_on_commit(task) is None:
        subject = f"ENQUEUE_ON_COMMIT of backend {alias!r} is True"
    else:
        subject = f"Task {task.module_path!r} has enqueue_on_commit=True"
    return (
        f"{subject}, but DATABASES[{DEFAULT_DB_ALIAS!r}] has AUTOCOMMIT False, so on-commit "
        f"hooks never run and tasks enqueued in a transaction would never be enqueued."
    )


def queue_not_allowed_message(queue_name: str, alias: str, queues: Iterable[str]) -> str:
    """The message for a queue that the backend's QUEUES does not list."""
    return f"Queue {queue_name!r} is not valid for backend {alias!r}; allowed: {sorted(queues)}."


def database_configured(alias: str) -> bool:
    """Whether DATABASES defines ``alias`` with a real engine."""
    engine: str = connections.settings.get(alias, {}).get("ENGINE", "django.db.backends.dummy")
    return engine != "django.db.backends.dummy"
