"""The ledger in the database agrees with the pure ledger (and with pymerkle): roots, checkpoints,
inclusion and consistency proofs, on both backends; batches append in one transaction."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pymerkle
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from steward.domain import DomainEvent, Origin
from steward.errors import IntegrityError, InvalidInput
from steward.ledger import (
    canonical_bytes,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    parse_signed_checkpoint,
    parse_verifier,
    tree_root,
    verify_checkpoint,
    verify_consistency,
    verify_inclusion,
)
from steward.ledger._event import event_document
from steward.service import Caller, MemoryKeys, Steward
from steward.service._events import writing
from steward.storage import event_bytes
from tests.integration.ledger_support import head_size, populate, pure_tree, stored_events
from tests.integration.support import model_spec


@pytest.fixture
def keyed(steward: Steward) -> Steward:
    """The test's Steward signing with a key held in memory."""
    steward.ledger.use_keys(MemoryKeys())
    steward.ledger.start()
    return steward


def test_every_write_appends_its_leaves_and_keeps_a_signed_checkpoint(keyed: Steward, admin: Caller) -> None:
    populate(keyed, admin)
    size = head_size(keyed)
    tree = pure_tree(keyed)
    assert tree.size == size == 11
    keys = [parse_verifier(k.vkey) for k in keyed.ledger.list_keys(admin)]
    with keyed.store.read() as tx:
        kept = list(tx.ledger.checkpoints())
        assert tx.ledger.tree_size() == size
    assert [c.size for c in kept] == list(range(1, size + 1)), "one checkpoint per write transaction"
    for checkpoint in kept:
        signed = verify_checkpoint(checkpoint.note, keys)
        assert signed.checkpoint.size == checkpoint.size
        assert signed.checkpoint.root == checkpoint.root == tree_root(tree, checkpoint.size)
        assert signed.checkpoint.timestamp is not None
    assert keyed.audit.verify(admin).ok


def test_inclusion_proofs_from_the_database_agree_with_the_pure_ledger(keyed: Steward, admin: Caller) -> None:
    populate(keyed, admin, models=6)
    tree = pure_tree(keyed)
    n = tree.size
    theirs = pymerkle.InmemoryTree(algorithm="sha256")
    for row in stored_events(keyed):
        theirs.append_entry(event_bytes(*row))
    for size in (1, 2, 7, n):
        root = tree_root(tree, size)
        assert theirs.get_root(size) == root
        for seq in range(1, size + 1):
            proof = keyed.ledger.inclusion_proof(admin, seq, size)
            assert list(proof.hashes) == inclusion_proof(tree, seq - 1, size)
            assert proof.root == root
            assert proof.leaf_hash == tree.node(0, seq - 1)
            verify_inclusion(proof.leaf_hash, seq - 1, size, proof.hashes, root)
            assert proof.checkpoint is not None and proof.checkpoint.root == root
    latest = keyed.ledger.inclusion_proof(admin, 3)
    assert latest.tree_size == n


def test_consistency_proofs_from_the_database_agree_with_the_pure_ledger(
    keyed: Steward, admin: Caller
) -> None:
    populate(keyed, admin, models=4)
    tree = pure_tree(keyed)
    n = tree.size
    for old, new in itertools.combinations_with_replacement(range(n + 1), 2):
        proof = keyed.ledger.consistency_proof(admin, old, new)
        assert list(proof.hashes) == consistency_proof(tree, old, new)
        assert (proof.old_root, proof.new_root) == (tree_root(tree, old), tree_root(tree, new))
        verify_consistency(old, new, proof.old_root, proof.new_root, proof.hashes)
    default = keyed.ledger.consistency_proof(admin, 2)
    assert default.new_size == n
    assert default.new_checkpoint is not None and default.old_checkpoint is not None


def test_bad_proof_requests_name_the_field(keyed: Steward, admin: Caller) -> None:
    populate(keyed, admin, models=1)
    n = head_size(keyed)
    for seq, size, field in ((0, None, "seq"), (n + 1, None, "seq"), (1, n + 1, "size"), (3, 2, "seq")):
        with pytest.raises(InvalidInput) as caught:
            keyed.ledger.inclusion_proof(admin, seq, size)
        assert caught.value.details["errors"][0]["field"] == field
    with pytest.raises(InvalidInput):
        keyed.ledger.consistency_proof(admin, 5, 4)
    with pytest.raises(InvalidInput):
        keyed.ledger.consistency_proof(admin, 1, n + 1)


def test_a_batch_of_events_appends_in_one_transaction_with_one_checkpoint(
    keyed: Steward, admin: Caller
) -> None:
    keyed.registry.create_model(admin, model_spec("m"))
    with writing(keyed.store, keyed.bus, admin.origin, keyed.clock) as w:
        for i in range(37):
            w.emit(DomainEvent("model.updated", "model", "m", after={"i": i}))
    tree = pure_tree(keyed)
    assert tree.size == 38
    with keyed.store.read() as tx:
        assert [c.size for c in tx.ledger.checkpoints()] == [1, 38]
        assert tx.ledger.latest_checkpoint().root == tree_root(tree, 38)  # type: ignore[union-attr]
    assert keyed.audit.verify(admin).ok


def test_writes_without_a_key_are_signed_when_a_key_arrives(steward: Steward, admin: Caller) -> None:
    populate(steward, admin, models=1)
    with steward.store.read() as tx:
        assert tx.ledger.count_checkpoints() == 0
        assert tx.ledger.tree_size() == head_size(steward)  # the tree grows with or without a key
    assert steward.audit.verify(admin).ok  # no key yet: the chain and tree are all there is
    steward.ledger.use_keys(MemoryKeys())
    steward.ledger.start()
    with steward.store.read() as tx:
        assert [c.size for c in tx.ledger.checkpoints()] == [head_size(steward)]
    assert steward.audit.verify(admin).ok


def test_a_rolled_back_write_leaves_no_nodes_and_no_checkpoint(keyed: Steward, admin: Caller) -> None:
    keyed.registry.create_model(admin, model_spec("m"))
    with keyed.store.read() as tx:
        before = (tx.ledger.tree_size(), tx.ledger.count_checkpoints())

    def fail_after_emitting() -> None:
        with writing(keyed.store, keyed.bus, admin.origin, keyed.clock) as w:
            w.emit(DomainEvent("model.updated", "model", "m", after={"x": 1}))
            raise RuntimeError("the use case failed after emitting")

    with pytest.raises(RuntimeError):
        fail_after_emitting()
    with keyed.store.read() as tx:
        assert (tx.ledger.tree_size(), tx.ledger.count_checkpoints()) == before
    assert keyed.audit.verify(admin).ok


texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(
    seq=st.integers(1, 2**62),
    strings=st.lists(texts, min_size=8, max_size=8),
    before=st.none() | st.dictionaries(texts, values, max_size=5),
    after=st.none() | st.dictionaries(texts, values, max_size=5),
)
def test_stored_events_rebuild_the_canonical_bytes(
    seq: int, strings: list[str], before: dict[str, object] | None, after: dict[str, object] | None
) -> None:
    """The store rebuilds an event's bytes from its columns; they are the spec's canonical bytes."""
    actor, action, subject_type, subject_id, reason, request_id, address, agent = strings
    fields = {
        "seq": seq,
        "time": "2025-01-02T03:04:05.000000Z",
        "actor": actor,
        "action": action,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "before": before,
        "after": after,
        "reason": reason,
        "request_id": request_id,
        "client_address": address,
        "user_agent": agent,
    }
    stored = [None if v is None else canonical_bytes(v).decode() for v in (before, after)]
    rebuilt = event_bytes(
        seq,
        fields["time"],
        actor,
        action,
        subject_type,
        subject_id,
        *stored,
        reason,
        request_id,
        address,
        agent,  # type: ignore[arg-type]
    )
    assert rebuilt == canonical_bytes(event_document(fields))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.integers(1, 40), min_size=1, max_size=12))
def test_random_batches_build_the_same_tree_as_the_pure_ledger(batches: list[int], admin: Caller) -> None:
    core = Steward.open("sqlite://", migrate=True)
    try:
        core.ledger.use_keys(MemoryKeys())
        origin = Origin(actor="batcher")
        for number, count in enumerate(batches):
            with writing(core.store, core.bus, origin, lambda: datetime.now(UTC)) as w:
                for i in range(count):
                    w.emit(DomainEvent("model.updated", "model", f"m{number}", after={"i": i, "é": "ü"}))
        tree = pure_tree(core)
        assert tree.size == sum(batches)
        sizes = list(itertools.accumulate(batches))
        with core.store.read() as tx:
            kept = list(tx.ledger.checkpoints())
        assert [c.size for c in kept] == sizes
        for checkpoint in kept:
            assert checkpoint.root == tree_root(tree, checkpoint.size)
            assert parse_signed_checkpoint(checkpoint.note).checkpoint.root == checkpoint.root
        last = sizes[-1]
        for seq in {1, last, (last + 1) // 2}:
            proof = core.ledger.inclusion_proof(admin, seq)
            verify_inclusion(
                leaf_hash(event_bytes(*stored_events(core)[seq - 1])),
                seq - 1,
                last,
                proof.hashes,
                tree_root(tree, last),
            )
        assert core.audit.verify(admin).ok
    finally:
        core.close()


NASTY = [
    "",
    'quote " and \\ backslash',
    "tab\tnew\nline\rcr\bbs\fff",
    "\x00\x01\x1f\x7f",
    "é ü 中文 🤖",
    "\u2028\u2029 /",
]


def test_the_database_assembles_the_same_canonical_bytes_as_python(steward: Steward, admin: Caller) -> None:
    """The fast verification path lets the database build the bytes; they must be the spec's."""
    origin = Origin(actor=NASTY[1], request_id=NASTY[2], client_address=NASTY[4], user_agent=NASTY[5])
    with writing(steward.store, steward.bus, origin, steward.clock) as w:
        for i, text_ in enumerate(NASTY):
            if "\x00" in text_ and steward.store.backend == "postgresql":
                text_ = text_.replace("\x00", "")  # PostgreSQL text holds no NUL
            w.emit(
                DomainEvent(
                    "model.updated",
                    "model",
                    text_ or "m",
                    before={text_: i},
                    after={"v": text_},
                    reason=text_,
                )
            )
    with steward.store.read() as tx:
        with tx.ledger.verification_batches(width=4) as batches:
            runs = list(batches)
        with tx.ledger.verification_rows(batch=2) as (rows, leaf_rows):
            slow, leaves = [], []
            for row in rows:  # the leaves in step with the events, batches of two
                slow.append(row)
                leaves.append(next(leaf_rows))
    assert [len(run.inputs) for run in runs[:-1]] == [4] * (len(runs) - 1)  # runs of four from seq 1
    fast = [
        (seq, data, hash_, link)
        for run in runs
        for seq, data, hash_, link in zip(run.positions, run.inputs, run.hashes, run.links, strict=True)
    ]
    assert fast == [(seq, b"\x00" + data, hash_, link) for seq, data, hash_, link in slow]
    assert leaves == [(seq - 1, leaf_hash(data)) for seq, data, _, _ in slow]
    assert b"".join(run.leaves or b"" for run in runs) == b"".join(leaf for _, leaf in leaves)
    assert steward.audit.verify(admin).ok


def test_a_tree_behind_its_events_catches_up_and_one_ahead_refuses_to_grow(
    steward: Steward, admin: Caller
) -> None:
    keys = MemoryKeys()
    keyed = steward
    keyed.ledger.use_keys(keys)
    populate(keyed, admin, models=1)
    with keyed.store.engine.begin() as conn:  # as if the events predated the tree
        conn.execute(text("DELETE FROM ledger_nodes"))
    starting = Steward(keyed.store)  # a process new to this log (the last writer kept its frontier)
    starting.ledger.use_keys(keys)
    starting.registry.create_model(admin, model_spec("after-the-gap"))
    with keyed.store.read() as tx:
        assert tx.ledger.tree_size() == head_size(keyed)
    assert keyed.audit.verify(admin).ok
    with keyed.store.engine.begin() as conn:  # events removed behind Steward's back, head moved back
        last = conn.execute(text("SELECT seq, prev_hash FROM audit_events ORDER BY seq DESC LIMIT 1")).one()
        conn.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": last[0]})
        conn.execute(
            text("UPDATE ledger_head SET size = :n, head_hash = :h"), {"n": last[0] - 1, "h": last[1]}
        )
    for process in (keyed, starting):  # the head is keyed's last again; starting's is gone
        with pytest.raises(IntegrityError, match="tree holds"):
            process.registry.create_model(admin, model_spec("refused"))
    verdict = keyed.audit.verify(admin)
    assert (verdict.ok, verdict.first_bad_seq) == (False, last[0])
