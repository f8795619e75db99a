"""Bulk inserts past SQLAlchemy's per-row parameter processing.

An ``executemany`` through a compiled ``insert()`` runs every value of every row through the
column types' bind processors; for the audit events and Merkle nodes a write batch appends (text,
integers and bytes the driver takes as they are) that processing was most of the insert's time.
:func:`insert_rows` hands the rows to the driver's ``executemany`` directly, in the driver's own
parameter style, with the identifiers quoted by the dialect. :func:`chunks` cuts long key lists
for ``IN (…)`` lookups.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, Dialect

from steward.storage._tables import Base

_T = TypeVar("_T")
CHUNK = 400  # keys per IN list: well under SQLite's 999 bound parameters, with room for the rest


def chunks(items: Iterable[_T], size: int = CHUNK) -> Iterator[list[_T]]:
    """``items`` in lists of at most ``size``."""
    batch = list(items)
    for start in range(0, len(batch), size):
        yield batch[start : start + size]


_MARKS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def insert_rows(connection: Connection, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` into the table named ``table`` (every column each, values already of the
    driver's types)."""
    if not rows:
        return
    statement, names = _statement(connection.dialect, table)
    connection.exec_driver_sql(statement, [tuple(row[name] for name in names) for row in rows])


@functools.cache
def _statement(dialect: Dialect, name: str) -> tuple[str, tuple[str, ...]]:
    """The statement for the table ``name`` in ``dialect`` (one per engine's dialect and table)."""
    table = Base.metadata.tables[name]
    mark = _MARKS.get(dialect.paramstyle)
    if mark is None:  # pragma: no cover (SQLite and psycopg are the supported drivers)
        raise NotImplementedError(f"no bulk insert for the {dialect.paramstyle!r} parameter style")
    quote = dialect.identifier_preparer.quote
    names = tuple(column.name for column in table.columns)
    columns = ", ".join(quote(name) for name in names)
    marks = ", ".join(mark for _ in names)
    return f"INSERT INTO {quote(table.name)} ({columns}) VALUES ({marks})", names
