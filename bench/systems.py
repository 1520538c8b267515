"""The systems measured, the packages each one's virtualenv gets, and the stores it runs on."""

import importlib.metadata
from dataclasses import dataclass
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent

DJANGO_STORES = ("sqlite", "postgresql", "mysql")
BROKERS = ("redis", "rabbitmq")
"""The stores of the Celery-based systems: Celery's broker (results are in Redis for both)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class System:
    """One queue that is measured, and how to install it."""

    key: str
    """The short name used on the command line and in BENCH_SYSTEM."""

    name: str
    """The name shown in the table."""

    stores: tuple[str, ...]
    """The stores it can run on."""

    requirements: tuple[str, ...]
    """What pip installs into its virtualenv (pinned)."""

    ours: bool = False
    """Whether it runs our django_tasks (installed from the checkout measured)."""


def pins() -> dict[str, str]:
    """The project's pinned requirements (requirements/dev.txt), by lower-case package name."""
    found = {}
    for line in (REPO_DIR / "requirements" / "dev.txt").read_text().splitlines():
        requirement = line.split("#", 1)[0].strip()
        if "==" in requirement:
            name = requirement.split("==", 1)[0].split("[", 1)[0].lower()
            found[name] = requirement
    return found


def all_systems() -> dict[str, System]:
    """Every system, with the Django this runner's own virtualenv has (./dev pins it)."""
    django = f"Django=={importlib.metadata.version('Django')}"
    pinned = pins()
    database_drivers = (pinned["psycopg"], pinned["mysqlclient"])
    celery = (pinned["celery"], pinned["kombu"], pinned["redis"])
    return {
        "ours": System(
            key="ours",
            name="django_tasks (ours)",
            ours=True,
            stores=DJANGO_STORES,
            requirements=(
                django,
                *database_drivers,
                pinned["asgiref"],
                pinned["pydantic"],
                pinned["typing_extensions"],
            ),
        ),
        "dtdb": System(
            key="dtdb",
            name="django-tasks-db",
            stores=DJANGO_STORES,
            # On Django 5.2 django-tasks-db needs the [compat] extra to get django-tasks.
            requirements=(
                "django-tasks-db[compat]==0.13.0",
                "django-tasks==0.12.0",
                django,
                *database_drivers,
            ),
        ),
        "ours-celery": System(
            key="ours-celery",
            name="django_tasks on Celery",
            ours=True,
            stores=BROKERS,
            requirements=(
                django,
                pinned["asgiref"],
                pinned["pydantic"],
                pinned["typing_extensions"],
                *celery,
            ),
        ),
        "celery": System(
            key="celery",
            name="Celery",
            stores=BROKERS,
            requirements=(*celery, django),
        ),
    }
