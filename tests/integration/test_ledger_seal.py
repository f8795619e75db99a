"""A write batch's seal (its events, the head, the tree's new nodes, the signed checkpoint) is kept
until the transaction reads the ledger or ends: one statement on PostgreSQL, each in turn on
SQLite; a read in the transaction sees what is kept; a clash with stored nodes or checkpoints is
the ledger's IntegrityError, and nothing of the transaction stays."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event

from steward.domain import StoredCheckpoint
from steward.errors import IntegrityError
from steward.ledger import TreeNode
from steward.service import Caller, MemoryKeys, Steward
from tests.integration.ledger_support import head_size, populate
from tests.integration.support import model_spec

SEAL_TABLES = ("audit_events", "ledger_head", "ledger_nodes", "ledger_checkpoints")


@pytest.fixture
def keyed(steward: Steward, admin: Caller) -> Steward:
    steward.ledger.use_keys(MemoryKeys())
    steward.ledger.start()
    populate(steward, admin, models=1)
    return steward


def test_a_write_sends_its_seal_after_its_change_and_on_postgresql_as_one_statement(
    keyed: Steward, admin: Caller
) -> None:
    sent: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        sent.append(" ".join(statement.split()))

    event.listen(keyed.store.engine, "before_cursor_execute", note)
    try:
        keyed.registry.create_model(admin, model_spec("sealed"))
    finally:
        event.remove(keyed.store.engine, "before_cursor_execute", note)
    sealing = [s for s in sent if any(t in s for t in SEAL_TABLES[:1] + SEAL_TABLES[2:])]
    if keyed.store.backend == "postgresql":
        assert len(sealing) == 1 and sealing == [sent[-1]]
        assert sealing[0].startswith("WITH ") and all(t in sealing[0] for t in SEAL_TABLES)
    else:
        assert [next(t for t in SEAL_TABLES if t in s) for s in sent[-4:]] == list(SEAL_TABLES)
    assert sent.index(next(s for s in sent if "INSERT INTO models" in s)) < sent.index(sealing[0])
    verdict = keyed.audit.verify(admin)
    assert (verdict.ok, verdict.events) == (True, head_size(keyed))


class RollBack(Exception):
    """Raised inside a write transaction to end it without a commit."""


def test_a_read_in_the_transaction_sees_the_nodes_and_checkpoint_kept(keyed: Steward) -> None:
    size = head_size(keyed)
    at = datetime.now(UTC)
    seen: list[object] = []

    def keep_then_read() -> None:
        with keyed.store.write() as tx:
            tx.ledger.insert_nodes([TreeNode(0, size, b"\x01" * 32)])
            tx.ledger.insert_checkpoint(StoredCheckpoint(size + 1, b"\x02" * 32, at, "note", "00000000"))
            kept = tx.ledger.checkpoint(size + 1)
            seen.extend([tx.ledger.tree_size(), kept and (kept.root, kept.time)])
            raise RollBack

    with pytest.raises(RollBack):
        keep_then_read()
    assert seen == [size + 1, (b"\x02" * 32, at)]  # written before the reads
    with keyed.store.read() as tx:  # nothing of it stayed
        assert (tx.ledger.tree_size(), tx.ledger.checkpoint(size + 1)) == (size, None)


@pytest.mark.parametrize("clash", ["node", "checkpoint"])
def test_a_clash_with_what_is_stored_is_the_ledgers_integrity_error(
    keyed: Steward, admin: Caller, clash: str
) -> None:
    size = head_size(keyed)
    with keyed.store.read() as tx:
        stored = tx.ledger.latest_checkpoint()
    assert stored is not None

    def clashing_write() -> None:
        with keyed.store.write() as tx:
            tx.move_head(size, tx.ledger_head().head_hash)
            if clash == "node":
                tx.ledger.insert_nodes([TreeNode(0, 0, b"\x01" * 32)])
            else:
                tx.ledger.insert_checkpoint(stored)

    expected = "holds nodes this write would add" if clash == "node" else "holds a checkpoint of size"
    with pytest.raises(IntegrityError, match=expected):
        clashing_write()
    keyed.registry.create_model(admin, model_spec("after"))  # the log goes on, intact
    assert keyed.audit.verify(admin).ok
