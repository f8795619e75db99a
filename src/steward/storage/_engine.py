"""Engines for SQLite (the embedded default) and PostgreSQL, and the migrations that shape them."""

from __future__ import annotations

import functools
import json
import sqlite3
import time
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import ColumnElement, Engine, Text, create_engine, event, or_
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InvalidatePoolError, OperationalError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from steward.errors import InvalidInput, Unavailable

_SQLITE_FOLD = "steward_casefold"


class _Folded(FunctionElement[str]):
    type = Text()
    inherit_cache = True


def folded(value: ColumnElement[str] | str) -> ColumnElement[str]:
    """``value`` case-folded in SQL, for case-insensitive matching of any script.

    PostgreSQL's ``lower()`` folds by the database's locale; SQLite's folds ASCII only, so on
    SQLite this calls :func:`_casefold`, registered on every connection by :func:`_sqlite_pragmas`.
    """
    return _Folded(value)


def contains(text: str, *columns: Any) -> ColumnElement[bool]:
    """Any of ``columns`` contains ``text``, ignoring case in every script; ``%``, ``_`` and ``\\``
    are literal. Both sides are folded by the same SQL function, so they agree on each backend."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = folded(f"%{escaped}%")
    return or_(*(folded(column).like(pattern, escape="\\") for column in columns))


@compiles(_Folded)
def _folded_default(element: _Folded, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(_Folded, "sqlite")
def _folded_sqlite(element: _Folded, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{_SQLITE_FOLD}({compiler.process(element.clauses, **kw)})"


def _casefold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _json_loads(text: str | bytes) -> Any:
    """A JSON column's value. orjson parses the small objects records keep (tags, metrics,
    parameters: three a version) several times faster than ``json``; text it refuses but ``json``
    reads (``NaN``, an integer beyond 64 bits) is read by ``json``, so any value stored reads back."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.create_function(_SQLITE_FOLD, 1, _casefold, deterministic=True)
    # Let SQLAlchemy, not the driver, decide when transactions begin (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Reads of a registry hop across its tables' b-trees; a page SQLite has to fetch again is a
    # system call and a copy. Keep up to 64 MiB of pages per connection (allocated as read) and
    # read the file through a memory map (up to 256 MiB; pages shared with the OS cache).
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA mmap_size=268435456")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # Writers take the write lock at BEGIN, so two writers queue instead of deadlocking on upgrade.
    # A read of one statement (SqlStore.read(statements=1)) begins nothing: the driver is in
    # autocommit (isolation_level None), so the statement is its own snapshot, and the COMMIT
    # SQLAlchemy sends at the end is the driver's no-op outside a transaction.
    options = conn.get_execution_options()
    if options.get("steward_single") and not options.get("steward_write"):
        return
    # On the driver's connection: a statement through SQLAlchemy costs more than the BEGIN itself
    # (a tenth of a quick read). Its errors (a busy write lock) are wrapped as SQLAlchemy's would be.
    begin = f"BEGIN {'IMMEDIATE' if options.get('steward_write') else 'DEFERRED'}"
    try:
        conn.connection.driver_connection.execute(begin)
    except sqlite3.Error as exc:
        raise DBAPIError.instance(begin, None, exc, sqlite3.Error) from exc


ALIVE_WINDOW = 0.5
"""Seconds after its last use during which a pooled PostgreSQL connection is handed out unpinged."""


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection on checkout only when it has sat unused for ``ALIVE_WINDOW``
    (HikariCP's ``aliveBypassWindowMs``): a ping is a round trip, about a twentieth of a write,
    and a connection used a moment ago is known to be alive. A failed ping is treated as
    SQLAlchemy's ``pool_pre_ping`` treats it: every pooled connection is dropped, a new one made.
    A server lost within the window fails the statements already under way (``Unavailable``), and
    SQLAlchemy drops the pool on that disconnect too."""
    dialect = engine.dialect

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def used(_dbapi_connection: Any, record: Any) -> None:
        record.info["steward_used"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("steward_used", 0.0) < ALIVE_WINDOW:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, dbapi_connection, None):
                raise InvalidatePoolError() from exc
            raise


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for ``url`` (``sqlite:///PATH`` or ``postgresql+psycopg://…``), tuned per backend."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InvalidInput.field("database_url", "url", f"is not a database URL: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
            json_deserializer=_json_loads,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = create_engine(
            parsed, echo=echo, pool_size=10, max_overflow=20, json_deserializer=_json_loads
        )
        _ping_when_idle(engine)
        return engine
    raise InvalidInput.field(
        "database_url", "backend", f"must be sqlite or postgresql, got {parsed.get_backend_name()}"
    )


if TYPE_CHECKING:
    from alembic.config import Config


def _alembic_config(engine: Engine | None) -> Config:
    from alembic.config import Config  # Alembic is imported only when the schema is touched

    config = Config()
    config.set_main_option("script_location", str(files("steward.storage") / "migrations"))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (``steward db upgrade``)."""
    from alembic import command

    try:
        command.upgrade(_alembic_config(engine), revision)
    except OperationalError as exc:
        raise Unavailable(f"cannot reach the database to upgrade it: {exc.orig}") from exc


@functools.cache
def newest_revision() -> str:
    """The newest migration this Steward ships (read from its scripts once: they do not change
    while it runs, and reading them is most of what a health check took)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config(None)).get_current_head() or ""


def schema_status(engine: Engine) -> tuple[str | None, str]:
    """The schema's current revision and the newest one this Steward knows."""
    from alembic.runtime.migration import MigrationContext

    head = newest_revision()
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:
        raise Unavailable(f"cannot reach the database: {exc.orig}") from exc
    return current, head
