"""The store turns driver errors into Steward's kinds at its boundary, on both backends."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from steward import wire
from steward.errors import AlreadyExists, Conflict, Unavailable
from steward.service import Caller, Steward
from steward.storage import AuditFilter, ModelFilter

COLUMNS = (
    "name, owner, risk_tier, state, description, use_case, intended_use, limitations, regulatory_scopes, "
    "tags, source_links, review_cadence_months, created_by, created_at, updated_at, revision"
)


def test_a_unique_clash_is_already_exists_and_writes_nothing(steward: Steward, admin: Caller) -> None:
    steward.registry.create_model(admin, wire.ModelCreate(name="m", owner="o", risk_tier="low"))
    before = steward.audit.list_events(admin, AuditFilter(), 100).items
    with pytest.raises(AlreadyExists), steward.store.write() as tx:
        tx.s.execute(text(f"INSERT INTO models ({COLUMNS}) SELECT {COLUMNS} FROM models WHERE name = 'm'"))
    assert steward.audit.list_events(admin, AuditFilter(), 100).items == before


def test_a_not_null_failure_is_a_conflict_not_a_duplicate(steward: Steward, admin: Caller) -> None:
    with pytest.raises(Conflict, match="rule of the database"), steward.store.write() as tx:
        tx.s.execute(text("INSERT INTO models (name) VALUES ('n')"))
    with steward.store.read() as tx:
        assert tx.s.execute(text("SELECT count(*) FROM models")).scalar_one() == 0


def _in_transaction(tx: object) -> bool:
    """Whether the driver's connection under ``tx`` is inside a transaction (its own view, which
    sees PostgreSQL's implicit BEGIN that no statement event shows)."""
    driver = tx.s.connection().connection.driver_connection  # type: ignore[attr-defined]
    if hasattr(driver, "in_transaction"):  # sqlite3
        return bool(driver.in_transaction)
    from psycopg.pq import TransactionStatus

    return bool(driver.info.transaction_status != TransactionStatus.IDLE)


def test_a_single_statement_read_begins_no_transaction(steward: Steward, admin: Caller) -> None:
    """``read(statements=1)`` runs its statement alone (autocommit on both backends); other reads
    and every write run in a transaction (on SQLite, a write's BEGIN IMMEDIATE takes the lock)."""
    from sqlalchemy import event

    steward.registry.create_model(admin, wire.ModelCreate(name="m", owner="o", risk_tier="low"))
    sent: list[str] = []
    sqlite = steward.store.backend == "sqlite"

    def note(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        sent.append(statement.split()[0].upper())

    # SQLite's BEGIN is sent on the driver's connection (storage._engine), which no statement event
    # shows: there the statements are the ones the library itself reports running (COMMIT aside)
    def traced(statement: str) -> None:
        if statement.split()[0].upper() not in ("COMMIT", "ROLLBACK"):
            note(None, None, statement)

    def trace(dbapi_connection: Any, *_: object) -> None:
        dbapi_connection.set_trace_callback(traced)

    def untrace(dbapi_connection: Any, *_: object) -> None:
        dbapi_connection.set_trace_callback(None)

    watched = [("checkout", trace), ("checkin", untrace)] if sqlite else [("before_cursor_execute", note)]
    for name, listener in watched:
        event.listen(steward.store.engine, name, listener)
    try:
        with steward.store.read(statements=1) as tx:
            assert tx.find_model("m") is not None
            assert not _in_transaction(tx)
        single = list(sent)
        sent.clear()
        with steward.store.read() as tx:
            assert tx.find_model("m") is not None
            assert _in_transaction(tx)
        several = list(sent)
        sent.clear()
        steward.registry.update_model(admin, "m", wire.ModelUpdate(revision=1, description="d"))
        write = list(sent)
    finally:
        for name, listener in watched:
            event.remove(steward.store.engine, name, listener)
    assert single == ["SELECT"]
    if sqlite:  # PostgreSQL's driver begins implicitly (or with the head's lock), unseen here
        assert several == ["BEGIN", "SELECT"]
        assert write[0] == "BEGIN"
    assert "UPDATE" in write


def test_a_write_runs_in_a_transaction(steward: Steward) -> None:
    with steward.store.write() as tx:
        assert _in_transaction(tx)


def test_a_busy_write_lock_is_unavailable_and_names_the_cause(steward: Steward) -> None:
    """SQLite: another writer holds the lock past the busy timeout; BEGIN IMMEDIATE fails, and the
    failure is Steward's Unavailable, as any other driver error at the store's boundary."""
    import sqlite3

    from sqlalchemy import event

    if steward.store.backend != "sqlite":
        pytest.skip("SQLite's write lock")

    def short_wait(conn: object) -> None:
        conn.connection.driver_connection.execute("PRAGMA busy_timeout=50")  # type: ignore[attr-defined]

    event.listen(steward.store.engine, "begin", short_wait, insert=True)
    holder = sqlite3.connect(steward.store.engine.url.database or "", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(Unavailable, match="database is locked"), steward.store.write():
            pass
        holder.execute("ROLLBACK")
        with steward.store.write() as tx:  # free again: the failed BEGIN left nothing behind
            assert _in_transaction(tx)
    finally:
        holder.close()
        event.remove(steward.store.engine, "begin", short_wait)


def test_a_lost_server_connection_is_replaced_once_idle_and_a_busy_one_is_not_pinged(
    steward: Steward, admin: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: the server ends Steward's pooled connections (a restart, a failover, an idle
    timeout). A connection unused for the alive window is pinged on checkout, and a failed ping
    drops the pool, so the next write runs on a new connection; one used a moment ago is not."""
    import psycopg

    from steward.storage import _engine

    if steward.store.backend != "postgresql":
        pytest.skip("a server's connections")
    dialect = steward.store.engine.dialect
    pings: list[object] = []
    real_ping = dialect.do_ping
    monkeypatch.setattr(dialect, "do_ping", lambda conn: pings.append(conn) or real_ping(conn))
    steward.registry.create_model(admin, wire.ModelCreate(name="before", owner="o", risk_tier="low"))
    steward.registry.get_model(admin, "before")
    assert pings == []  # each connection was used a moment ago
    url = steward.store.engine.url
    with psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False)) as other:
        ended = other.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (url.database,),
        ).fetchone()
    assert ended is not None and ended[0] >= 1
    monkeypatch.setattr(_engine, "ALIVE_WINDOW", 0.0)  # as if each had sat idle for the window
    steward.registry.create_model(admin, wire.ModelCreate(name="after", owner="o", risk_tier="low"))
    assert steward.registry.get_model(admin, "after").name == "after"
    assert pings


def test_a_write_begins_with_the_head_lock_and_its_connection_goes_back_as_it_came(
    steward: Steward, admin: Caller
) -> None:
    """PostgreSQL's write transaction begins in the message that locks the head (the driver in
    autocommit mode, SqlStore.write); a failed write rolls back, and the pooled connection serves
    the next transaction in the mode that one asks for."""
    if steward.store.backend != "postgresql":
        pytest.skip("PostgreSQL's BEGIN")
    with steward.store.write() as tx:
        assert _in_transaction(tx)
        locks = tx.s.execute(
            text("SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND mode = 'RowShareLock'")
        ).scalar_one()
        assert locks >= 1  # SELECT … FOR UPDATE's lock on ledger_head
    steward.registry.create_model(admin, wire.ModelCreate(name="x", owner="o", risk_tier="low"))
    with pytest.raises(AlreadyExists), steward.store.write() as tx:
        tx.s.execute(text(f"INSERT INTO models ({COLUMNS}) SELECT {COLUMNS} FROM models WHERE name = 'x'"))
    with steward.store.read(snapshot=True) as tx:
        assert tx.s.execute(text("SHOW transaction_isolation")).scalar_one() == "repeatable read"
        assert _in_transaction(tx)
    assert [m.name for m in steward.registry.list_models(admin, ModelFilter(), 10).items] == ["x"]
