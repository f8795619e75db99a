"""Bulk inserts past SQLAlchemy's per-row parameter processing.

An ``executemany`` through a compiled ``insert()`` runs every value of every row through the
column types' bind processors; for the audit events and Merkle nodes a write batch appends (text,
integers and bytes the driver takes as they are) that processing was most of the insert's time.
:func:`insert_rows` hands the rows to the driver's ``executemany`` directly, in the driver's own
parameter style, with the identifiers quoted by the dialect. :func:`insert_json_rows` sends a
whole batch as one statement over a JSON array, for a writer that must not hold up other threads.
:func:`chunks` cuts long key lists for ``IN (…)`` lookups.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection, Dialect, String

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


def insert_json_rows(connection: Connection, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` into the table named ``table`` in one statement over a JSON array of them
    (each row the same columns, values of the driver's types that JSON can carry).

    An ``executemany`` binds and steps each row, taking Python's GIL back for each: the read log's
    writer thread then held up the server's event loop many times per batch (in a tight loop of
    version reads, each cost a third more while the log was written). One statement is one step
    (SQLite's ``json_each``) or one round trip (PostgreSQL's ``json_array_elements``) whatever the
    batch's size, its work done without the GIL."""
    if not rows:
        return
    names = tuple(rows[0])
    statement = json_insert_statement(connection.dialect, table, names)
    connection.exec_driver_sql(statement, (json_rows(rows, names),))


def json_rows(rows: Sequence[Mapping[str, Any]], names: tuple[str, ...]) -> str:
    """The one parameter of :func:`json_insert_statement`: ``rows`` as a JSON array of arrays."""
    return orjson.dumps([[row[name] for name in names] for row in rows]).decode()


@functools.cache
def json_insert_statement(dialect: Dialect, name: str, names: tuple[str, ...]) -> str:
    """The insert into the table ``name`` of the columns ``names`` from one parameter, a JSON array
    of rows (:func:`json_rows`)."""
    table = Base.metadata.tables[name]
    quote = dialect.identifier_preparer.quote
    columns = ", ".join(quote(column) for column in names)
    if dialect.name == "postgresql":
        # texts as they are (a text too long for its column fails, where a cast would cut it)
        types = [table.columns[column].type for column in names]
        casts = ["" if isinstance(t, String) else f"::{t.compile(dialect=dialect)}" for t in types]
        picks = ", ".join(f"(value->>{i}){cast}" for i, cast in enumerate(casts))
        source = "json_array_elements(%s::json)"
    else:
        picks = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(names)))
        source = "json_each(?)"
    return f"INSERT INTO {quote(table.name)} ({columns}) SELECT {picks} FROM {source}"
