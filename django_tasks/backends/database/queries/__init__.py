"""The SQL the backend and the worker run, one module per database (see base.py)."""

import weakref
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from django_tasks.backends.database.queries.base import ClaimedRow, Finish, NewRow, Queries
from django_tasks.backends.database.queries.mysql import MySQLQueries
from django_tasks.backends.database.queries.postgresql import PostgreSQLQueries
from django_tasks.backends.database.queries.sqlite import SQLiteQueries

__all__ = ["ClaimedRow", "Finish", "NewRow", "Queries", "connection_bounds", "queries_for"]

_by_connection: "weakref.WeakKeyDictionary[BaseDatabaseWrapper, Queries]" = (
    weakref.WeakKeyDictionary()
)


def queries_for(alias: str) -> Queries:
    """The statements for the database ``alias``, on this thread's connection to it."""
    connection = connections[alias]
    try:
        return _by_connection[connection]
    except KeyError:
        queries = _by_connection[connection] = _queries_class(connection.vendor)(connection)
        return queries


def connection_bounds(alias: str) -> dict[str, Any]:
    """The options that bound how long the worker's own connection to ``alias`` waits on a
    dead network path (see Queries.connection_bounds)."""
    connection = connections[alias]
    return _queries_class(connection.vendor).connection_bounds(connection)


def _queries_class(vendor: str) -> type[Queries]:
    classes: dict[str, type[Queries]] = {
        "postgresql": PostgreSQLQueries,
        "sqlite": SQLiteQueries,
        "mysql": MySQLQueries,
    }
    return classes[vendor]
