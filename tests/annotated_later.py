"""Tasks whose annotations @task cannot resolve when it runs, so the system check does.

Importing this module declares (and registers) three tasks: import it only with the registry
isolated (see test_signatures.py), or ``manage.py check`` reports them for the rest of the run.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, TypedDict

from django_tasks import task

if TYPE_CHECKING:
    from decimal import Decimal


@task
def schedule(event: Meeting) -> None:
    """Meeting is defined further down: resolvable once the module is imported, and wrong."""


@task
def charge(amount: Decimal) -> None:
    """Decimal is imported only for the type checker: never resolvable at run time."""


@task
def move(to: Place) -> Place:
    """Place is defined further down, and fine."""
    return to


class Meeting(TypedDict):
    title: str
    starts: datetime.datetime


class Place(TypedDict):
    name: str
    floor: int
