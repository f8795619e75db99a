"""The ledger's fast paths, on both backends: verification reads a run of events and their leaves
per statement (reader threads ahead of the hashing, on PostgreSQL connections sharing one
snapshot) and names a mismatch from the events and leaves read side by side from the driver's
cursors; the usual inclusion proof is one statement; a batch of the read access log is one
statement over a JSON array."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event, text

from steward.errors import Unavailable
from steward.ledger import Checkpoint, leaf_hash, verify_batches, verify_ledger
from steward.service import Caller, MemoryKeys, Steward
from steward.storage import LedgerRows, ReadAccessFilter, append_reads
from steward.storage._store import SqlTransaction
from steward.storage._streams import PairedStream, snapshot_peers
from tests.integration.ledger_support import head_size, populate
from tests.integration.support import model_spec


@pytest.fixture
def filled(steward: Steward, admin: Caller) -> Steward:
    steward.ledger.use_keys(MemoryKeys())
    steward.ledger.start()
    populate(steward, admin)  # eleven events
    return steward


def test_an_intact_log_verifies_a_run_at_a_time_with_its_checkpoints_inside_the_runs(
    filled: Steward, admin: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    size = head_size(filled)
    with filled.store.read() as tx:
        kept = [Checkpoint("log", c.size, c.root) for c in tx.ledger.checkpoints()]
    told: list[int] = []
    with filled.store.read() as tx, tx.ledger.verification_batches(width=4, progress=told.append) as runs:
        report = verify_batches(runs, width=4, checkpoints=kept, first_position=1, expected_size=size)
    assert (report.ok, report.size, report.checkpoints) == (True, size, len(kept))
    assert {c.size % 4 for c in kept} != {0}  # some checkpoints fall inside a run
    assert told == [4, 8, size]
    with filled.store.read() as tx, tx.ledger.verification_rows() as (events, leaves):
        assert report.root == verify_ledger(events, first_position=1, leaves=leaves).root

    def not_needed(*_: object, **__: object) -> None:
        raise AssertionError("an intact log needs no event-at-a-time pass")

    monkeypatch.setattr(LedgerRows, "verification_rows", not_needed)
    verdict = filled.audit.verify(admin)
    assert (verdict.ok, verdict.events, verdict.root) == (
        True,
        size,
        report.root.hex() if report.root else None,
    )


def test_runs_that_do_not_come_back_whole_are_handed_out_to_fail(filled: Steward) -> None:
    size = head_size(filled)
    with filled.store.engine.begin() as conn:  # a gap at seq 6 and the leaf of seq 2 gone
        conn.execute(text("DELETE FROM audit_events WHERE seq = 6"))
        conn.execute(text("DELETE FROM ledger_nodes WHERE level = 0 AND idx = 1"))
    with filled.store.read() as tx, tx.ledger.verification_batches(width=4) as runs:
        assert [(len(r.positions), len(r.inputs), len(r.leaves or b"")) for r in runs] == [(0, 1, 0)]
    with filled.store.engine.begin() as conn:  # the seqs contiguous again (the last event moved)
        conn.execute(text("UPDATE audit_events SET seq = 6 WHERE seq = :last"), {"last": size})
    with filled.store.read() as tx, tx.ledger.verification_batches(width=4) as runs:
        found = [(r.positions, len(r.inputs), len(r.leaves or b"")) for r in runs]
    assert found[0] == (range(1, 5), 4, 0)  # a leaf missing: the run's leaves are not handed out
    assert found[1] == (range(5, 9), 4, 4 * 32)


def test_a_consumer_may_stop_taking_runs_and_the_transaction_goes_on(filled: Steward) -> None:
    with filled.store.read() as tx:
        with tx.ledger.verification_batches(width=2) as runs:
            assert next(runs).positions == range(1, 3)  # the reader thread is stopped on leaving
        assert tx.ledger.tree_size() == head_size(filled)  # the connection is free again


def test_readers_sharing_one_snapshot_hand_out_its_runs_in_order(filled: Steward, admin: Caller) -> None:
    size = head_size(filled)
    with filled.store.read() as tx, tx.ledger.verification_batches(width=2, readers=1) as runs:
        alone = [(r.positions, r.inputs, r.hashes, r.links, r.leaves) for r in runs]
    with filled.store.read(snapshot=True) as tx:
        assert tx.ledger.tree_size() == size  # the snapshot is taken here
        filled.registry.create_model(admin, model_spec("later"))  # committed after it
        with tx.ledger.verification_batches(width=2, readers=3) as runs:
            shared = [(r.positions, r.inputs, r.hashes, r.links, r.leaves) for r in runs]
    assert shared == alone
    assert shared[-1][0].stop - 1 == size  # the later event is not in the snapshot's runs
    assert head_size(filled) > size


def test_snapshot_peers_see_the_snapshot_and_none_are_made_without_one(
    filled: Steward, admin: Caller
) -> None:
    size = head_size(filled)
    count = "SELECT count(*) FROM audit_events"
    with filled.store.read(snapshot=True) as tx:
        conn = tx.s.connection()
        assert conn.exec_driver_sql(count).scalar() == size
        filled.registry.create_model(admin, model_spec("later"))
        with snapshot_peers(conn, 2) as peers:
            seen = [peer.execute(count).fetchone()[0] for peer in peers]
        assert seen == ([size, size] if filled.store.backend == "postgresql" else [])
    with filled.store.read() as tx, snapshot_peers(tx.s.connection(), 2) as peers:
        assert peers == []  # READ COMMITTED: each statement a newer state, no snapshot to share


def test_events_and_leaves_come_in_step_in_batches_with_progress(filled: Steward) -> None:
    told: list[int] = []
    with filled.store.read() as tx, tx.ledger.verification_rows(batch=4, progress=told.append) as pair:
        events, leaves = pair
        report = verify_ledger(events, first_position=1, leaves=leaves)
    size = head_size(filled)
    assert (report.ok, report.size, report.first_bad_leaf) == (True, size, None)
    assert told == [4, 8, size]
    with filled.store.read() as tx, tx.ledger.verification_rows(batch=4) as (events, leaves):
        rows = list(events)
        assert list(leaves) == [(seq - 1, leaf_hash(data)) for seq, data, _, _ in rows]


def test_a_consumer_may_stop_early_or_leave_the_leaves_and_the_transaction_goes_on(
    filled: Steward,
) -> None:
    with filled.store.read() as tx:
        with tx.ledger.verification_rows(batch=2) as (events, _):
            assert next(events)[0] == 1  # the rest is never read
        with tx.ledger.verification_rows(batch=2) as (events, leaves):
            assert len(list(events)) == head_size(filled)  # no leaf taken: they are dropped
            with pytest.raises(RuntimeError, match="in step"):
                next(leaves)
        assert tx.ledger.tree_size() == head_size(filled)  # the connection is free again


def test_a_tree_short_of_leaves_ends_the_leaves_early(filled: Steward, admin: Caller) -> None:
    with filled.store.engine.begin() as conn:
        conn.execute(text("DELETE FROM ledger_nodes WHERE level = 0 AND idx >= 6"))
    with filled.store.read() as tx, tx.ledger.verification_rows(batch=4) as (events, leaves):
        report = verify_ledger(events, first_position=1, leaves=leaves)
    assert (report.ok, report.first_bad_leaf, report.leaf_missing) == (True, 7, True)
    verdict = filled.audit.verify(admin)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 7)
    assert "is missing" in (verdict.problem or "")


def test_a_failing_query_is_raised_to_the_reader_of_the_rows(filled: Steward) -> None:
    with filled.store.read() as tx:
        driver = tx.s.connection().connection.driver_connection
        server_side = filled.store.backend == "postgresql"
        stream = PairedStream(driver, "SELECT * FROM no_such_table", "SELECT 1", server_side=server_side)
        with stream, pytest.raises(Exception, match="no_such_table"):
            list(stream.main())


def test_a_database_error_while_verifying_is_unavailable(filled: Steward, admin: Caller) -> None:
    with filled.store.engine.begin() as conn:
        conn.execute(text("ALTER TABLE ledger_nodes RENAME TO ledger_nodes_gone"))
    with pytest.raises(Unavailable, match="cannot be read"):
        filled.audit.verify(admin)


def test_the_usual_inclusion_proof_is_one_statement_and_the_same_proof(
    filled: Steward, admin: Caller
) -> None:
    size = head_size(filled)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    for seq in range(1, size + 1):
        event.listen(filled.store.engine, "before_cursor_execute", count)
        try:
            proof = filled.ledger.inclusion_proof(admin, seq)
        finally:
            event.remove(filled.store.engine, "before_cursor_execute", count)
        assert proof == filled.ledger.inclusion_proof(admin, seq, size=size)
        assert proof.checkpoint is not None and proof.checkpoint.size == size
    assert len([s for s in statements if "ledger_nodes" in s]) == size
    assert all("ledger_nodes" in s for s in statements if not s.startswith("BEGIN"))


def test_verification_reads_one_moment_while_others_write(
    filled: Steward, admin: Caller, database_url: str
) -> None:
    """A write committed while ``audit verify`` runs is not half-seen (the head before it, the tree
    after it): the whole pass reads one snapshot."""
    other = Steward.open(database_url)
    size = head_size(filled)
    try:

        def write_meanwhile(_: int) -> None:
            other.registry.create_model(admin, model_spec("written-meanwhile"))

        verdict = filled.audit.verify(admin, progress=write_meanwhile)
    finally:
        other.close()
    assert (verdict.ok, verdict.events, verdict.problem) == (True, size, None)
    assert head_size(filled) == size + 1


def test_a_process_that_made_the_last_write_reads_neither_frontier_nor_key_again(
    filled: Steward, admin: Caller, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After its own write, a process appends to the frontier it kept and signs with the key it
    checked; once anyone else has written, or its own write rolled back, it reads both again, and
    the log verifies throughout."""
    statements: list[str] = []

    def count(*args: Any) -> None:
        if "FROM ledger_head" not in args[2]:  # the head's read is counted where it is locked
            statements.append(args[2])

    # On PostgreSQL the head's lock begins the transaction and is sent on the driver (SqlStore.write),
    # which no statement event shows: each backend's lock is counted as the read it is.
    lock_head = SqlTransaction._lock_head

    def locking(tx: SqlTransaction) -> None:
        statements.append("SELECT size, head_hash FROM ledger_head WHERE id = 1")
        lock_head(tx)

    monkeypatch.setattr(SqlTransaction, "_lock_head", locking)

    def ledger_reads(name: str) -> list[str]:
        statements.clear()
        event.listen(filled.store.engine, "before_cursor_execute", count)
        try:
            filled.registry.create_model(admin, model_spec(name))
        finally:
            event.remove(filled.store.engine, "before_cursor_execute", count)
        return [s.split()[0] + " " + s.split("FROM")[1].split()[0] for s in statements if "FROM ledger_" in s]

    assert ledger_reads("ours-1") == ["SELECT ledger_head"]
    other = Steward.open(database_url)  # another process (without the key: no checkpoint)
    try:
        other.registry.create_model(admin, model_spec("theirs"))  # the head moved
    finally:
        other.close()
    assert ledger_reads("ours-2") == ["SELECT ledger_head", "SELECT ledger_nodes", "SELECT ledger_keys"]
    assert ledger_reads("ours-3") == ["SELECT ledger_head"]

    def fail_after_the_seal(*_: Any) -> None:
        raise RuntimeError("the transaction fails after the ledger's hook")

    filled.bus.before_commit(fail_after_the_seal)
    with pytest.raises(RuntimeError, match="after the ledger"):
        filled.registry.create_model(admin, model_spec("rolled-back"))
    filled.bus._before_commit.remove(fail_after_the_seal)
    assert ledger_reads("ours-4") == ["SELECT ledger_head", "SELECT ledger_nodes", "SELECT ledger_keys"]
    verdict = filled.audit.verify(admin)
    assert (verdict.ok, verdict.events) == (True, head_size(filled))
    assert filled.ledger.checkpoint(admin).size == head_size(filled)


def test_reads_written_through_the_driver_keep_their_time_and_filter_by_it(steward: Steward) -> None:
    zone = timezone(timedelta(hours=2))
    times = [
        datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC),  # a whole second: SQLite's text keeps ".000000"
        datetime(2026, 3, 1, 14, 0, 0, 250, tzinfo=zone),  # 12:00:00.000250 UTC
        datetime(2026, 3, 1, 12, 0, 1, tzinfo=UTC),
    ]
    rows = [
        {
            "time": at,
            "principal": f"p{n}",
            "action": "model.read",
            "subject_type": "model",
            "subject_id": "m",
            "path": "/api/v1/models/m?x='1'",
            "request_id": "r",
            "client_address": "127.0.0.1",
            "user_agent": "ua",
        }
        for n, at in enumerate(times)
    ]
    append_reads(steward.store.engine, rows)
    with steward.store.read() as tx:
        everything = tx.ledger.list_reads(ReadAccessFilter(), 10, None).items
        between = tx.ledger.list_reads(
            ReadAccessFilter(since=times[0] + timedelta(microseconds=1), until=times[2]), 10, None
        ).items
        from_first = tx.ledger.list_reads(ReadAccessFilter(since=times[0]), 10, None).items
    assert [(r.principal, r.time, r.path) for r in reversed(everything)] == [
        (f"p{n}", at.astimezone(UTC), "/api/v1/models/m?x='1'") for n, at in enumerate(times)
    ]
    assert [r.principal for r in between] == ["p1"]
    assert len(from_first) == 3


def test_a_batch_of_reads_keeps_every_text_as_sent_and_in_order(steward: Steward) -> None:
    """SQLite writes a batch as one statement over a JSON array: texts that look like JSON, or
    carry quotes, backslashes and other scripts, come back as they were, in the batch's order."""
    texts = ["123", "null", "[1, 2]", '{"a": 1}', 'it\'s "quoted" \\ back', "ünïcødé ✓ 模型", "", "x" * 2048]
    at = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    rows = [
        {
            "time": at,
            "principal": f"p{n:02d}",
            "action": "model.read",
            "subject_type": "model",
            "subject_id": text[:512],
            "path": text,
            "request_id": text[:128],
            "client_address": "::1",
            "user_agent": text[:512],
        }
        for n, text in enumerate(texts)
    ]
    append_reads(steward.store.engine, rows)
    with steward.store.read() as tx:
        stored = list(reversed(tx.ledger.list_reads(ReadAccessFilter(), 100, None).items))
    assert [r.principal for r in stored] == [row["principal"] for row in rows]
    assert [r.id for r in stored] == sorted(r.id for r in stored)
    assert [(r.subject_id, r.path, r.request_id, r.user_agent) for r in stored] == [
        (row["subject_id"], row["path"], row["request_id"], row["user_agent"]) for row in rows
    ]
    assert all(r.time == at for r in stored)


def test_a_reader_the_pool_cannot_give_is_unavailable_and_says_so(
    filled: Steward, admin: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    from contextlib import contextmanager

    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from steward.storage import _ledger_store

    @contextmanager
    def exhausted(*_: object) -> Iterator[list[object]]:
        raise PoolTimeout("QueuePool limit of size 10 overflow 20 reached")
        yield []

    monkeypatch.setattr(_ledger_store, "snapshot_peers", exhausted)
    with pytest.raises(Unavailable, match="cannot be read: QueuePool limit"):
        filled.audit.verify(admin)
