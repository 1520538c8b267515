"""``DatabaseHarness`` drives the database backend through real ``db_worker`` processes. It is also
the worked example of a harness for a backend whose tasks run in other processes. The suite
calls ``drain`` when a test needs its tasks run; between drains no worker runs, so enqueued
tasks wait (which is what lets the suite check the order they start in).

- ``start_worker`` starts ``db_worker --batch``, one per backend alias that has tasks waiting;
  ``--batch`` makes a worker exit once no task is ready, so the queue is drained when the
  workers have exited (``is_idle``). Tasks deferred to later stay queued.
- The workers run with the settings of this run, changed by ``worker_settings``: the suite's
  ``TASKS``, and the names of the databases this run uses (the test databases).
- They are forked by a ``Launcher`` that has set Django up once for the run, so a drain costs
  milliseconds rather than the few hundred it takes to start Python and Django.
- The back door, ``stored``, reads the queue table through the ORM (the model found through
  the app registry by its label); ``clear`` empties it, and (like ``setup``) refuses a database
  that is not a test database.
- ``task_started`` and ``task_finished`` are sent in the workers, so this process cannot
  observe them (``observes_worker_signals = False``).
"""

from typing import Any, ClassVar

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.db.backends.base.creation import TEST_DATABASE_PREFIX

from django_tasks import ResultStatus, tasks
from django_tasks_conformance.command import CommandHarness
from django_tasks_conformance.harness import StoredTask
from django_tasks_conformance.harnesses import DATABASE_BACKEND, class_path

DATABASE_APP = "django_tasks.backends.database"
QUEUE_MODEL = ("django_tasks_spec_database", "DBTaskResult")
"""The database backend's app, and its queue table's model (app label, model name)."""

PRELOAD = [
    "django_tasks.backends.database.management.commands.db_worker",
    "django_tasks_conformance.tasks",
    "django_tasks_conformance.more_tasks",
    "django_tasks_conformance.async_tasks",
]
"""What the launcher imports once, rather than each worker."""


class DatabaseHarness(CommandHarness):
    """Runs the database backend's tasks in ``db_worker --batch`` processes."""

    observes_worker_signals: ClassVar[bool] = False

    worker_arguments: ClassVar[tuple[str, ...]] = ("--queue-name", "*", "--interval", "0.05")
    """Given to every worker, after ``--backend``; ``--batch`` and ``--skip-checks`` are added."""

    @property
    def database(self) -> str:
        """The alias in DATABASES of the database that holds the queue."""
        backend = tasks["default"]
        database = getattr(backend, "database", None)
        if not (_is_subclass_of(type(backend), DATABASE_BACKEND) and isinstance(database, str)):
            raise ImproperlyConfigured(
                f"DatabaseHarness drives a DatabaseBackend; the backend under test is "
                f"{type(backend).__qualname__}."
            )
        return database

    def test_databases(self) -> list[str]:
        return sorted({"default", self.database})  # default: the suite's transactions.

    def _rows(self) -> Any:
        return _queue_model().objects.using(self.database)

    # --- Session ------------------------------------------------------------------------------

    def setup(self) -> None:
        self._check_test_database()
        connection = connections[self.database]
        table = _queue_model()._meta.db_table
        if table not in connection.introspection.table_names():
            raise ImproperlyConfigured(
                f"The task table {table!r} does not exist in database {self.database!r}; add "
                f"{DATABASE_APP!r} to INSTALLED_APPS and migrate it."
            )
        super().setup()

    def preload(self) -> list[str]:
        engine = f"{connections[self.database].settings_dict['ENGINE']}.base"
        return [*PRELOAD, engine]

    def _check_test_database(self) -> None:
        """Refuse a database that is not a test database: clear() deletes every task in it."""
        connection = connections[self.database]
        name = str(connection.settings_dict["NAME"])
        if connection.vendor == "sqlite" and connection.is_in_memory_db():  # type: ignore[attr-defined]  # SQLite's wrapper has it.
            raise ImproperlyConfigured(
                f"The queue's database {self.database!r} is an in-memory SQLite database, "
                f"which worker processes cannot share; give it a file: "
                f"DATABASES[{self.database!r}]['TEST']['NAME'] = 'test.sqlite3'."
            )
        # The name Django gives the test database: TEST["NAME"], or NAME prefixed with "test_".
        test_name = connection.settings_dict.get("TEST", {}).get("NAME")
        if name != str(test_name) if test_name else not name.startswith(TEST_DATABASE_PREFIX):
            raise ImproperlyConfigured(
                f"The queue's database {self.database!r} is {name!r}, not a test database; "
                f"the harness deletes every task in it. Run the suite under pytest-django, "
                f"which creates the test databases that test_databases() names."
            )

    # --- Workers ------------------------------------------------------------------------------

    def argvs(self) -> list[list[str]]:
        """A ``--batch`` worker for each backend alias that has tasks waiting."""
        waiting = self._rows().filter(status=ResultStatus.NEW).values_list("backend", flat=True)
        return [
            ["db_worker", "--skip-checks", f"--backend={alias}", *self.worker_arguments, "--batch"]
            for alias in sorted(set(waiting) & set(self.tasks_setting()))
        ]

    # --- The store ----------------------------------------------------------------------------

    def clear(self) -> None:
        self._check_test_database()
        self._rows().all().delete()

    def stored(self, result_id: str) -> StoredTask | None:
        row = self._rows().filter(pk=result_id).first()
        if row is None:
            return None
        return StoredTask(
            id=row.id,
            task_path=row.task_path,
            status=ResultStatus(row.status),
            args=row.arguments["args"],
            kwargs=row.arguments["kwargs"],
            queue_name=row.queue_name,
            priority=row.priority,
            run_after=row.run_after,
        )


def _queue_model() -> Any:
    """The database backend's queue table (a model: found once the app registry is ready)."""
    return apps.get_model(*QUEUE_MODEL)


def _is_subclass_of(cls: type, path: str) -> bool:
    return any(class_path(base) == path for base in cls.__mro__)
