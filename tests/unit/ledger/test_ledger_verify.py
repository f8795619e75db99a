"""Whole-ledger verification names the first position that does not match."""

from __future__ import annotations

import pytest

from steward.errors import IntegrityError
from steward.ledger import (
    EMPTY_ROOT,
    GENESIS_HASH,
    Checkpoint,
    LedgerEntry,
    MemoryTree,
    canonical_bytes,
    chain_hash,
    consistency_proof,
    generate_signer,
    inclusion_proof,
    leaf_hash,
    merkle_root,
    prove_checkpoint_consistency,
    sign_checkpoint,
    tree_root,
    verify_checkpoint_consistency,
    verify_entry_inclusion,
    verify_ledger,
)

N = 50


def event(seq: int, action: str = "model.registered") -> bytes:
    return canonical_bytes({"seq": seq, "action": action, "actor": "alice", "after": {"n": seq}})


def chained(datas: list[bytes], first: int = 0, links: bool = False) -> list[LedgerEntry]:
    """Entries as storage would hold them: hashes chained in order from ``first``."""
    entries, prev = [], GENESIS_HASH
    for offset, data in enumerate(datas):
        current = chain_hash(prev, data)
        entries.append(LedgerEntry(first + offset, data, current, prev if links else None))
        prev = current
    return entries


DATAS = [event(i) for i in range(N)]
LOG = chained(DATAS)
TREE = MemoryTree(leaf_hash(d) for d in DATAS)


def checkpoint(size: int, tree: MemoryTree = TREE) -> Checkpoint:
    return Checkpoint("steward.example/audit", size, tree_root(tree, size))


def renumber(entries: list[LedgerEntry]) -> list[LedgerEntry]:
    return [e._replace(position=i) for i, e in enumerate(entries)]


def test_an_intact_ledger_verifies_with_its_root_and_head() -> None:
    report = verify_ledger(LOG, checkpoints=[checkpoint(0), checkpoint(17), checkpoint(N)])
    assert report.ok
    assert report.size == N
    assert report.root == merkle_root(leaf_hash(d) for d in DATAS) == TREE.root()
    assert report.head_hash == LOG[-1].chain_hash
    assert report.checkpoints == 3
    assert report.first_bad_position is None
    report.raise_for_problem()


def test_an_empty_ledger_verifies() -> None:
    report = verify_ledger([], checkpoints=[Checkpoint("log", 0, EMPTY_ROOT)])
    assert (report.ok, report.size, report.root, report.head_hash) == (
        True,
        0,
        EMPTY_ROOT,
        GENESIS_HASH,
    )


def test_an_edited_event_is_named() -> None:
    log = list(LOG)
    log[23] = log[23]._replace(data=event(23, "model.retired"))
    report = verify_ledger(log)
    assert (report.ok, report.first_bad_position, report.size) == (False, 23, 23)
    assert "position 23 does not match its chain hash" in report.reason
    with pytest.raises(IntegrityError) as caught:
        report.raise_for_problem()
    assert caught.value.details["first_bad_position"] == 23


def test_a_deleted_event_is_named() -> None:
    log = LOG[:12] + LOG[13:]
    report = verify_ledger(log)
    assert report.first_bad_position == 12
    assert report.reason == "position 12 is missing (the next stored event is at 13)"
    renumbered = verify_ledger(renumber(log))
    assert renumbered.first_bad_position == 12
    assert "chain hash" in renumbered.reason


def test_swapped_events_are_named() -> None:
    log = list(LOG)
    log[30], log[34] = log[34]._replace(position=30), log[30]._replace(position=34)
    assert verify_ledger(log).first_bad_position == 30
    log = list(LOG)
    log[0], log[1] = log[1]._replace(position=0), log[0]._replace(position=1)
    assert verify_ledger(log).first_bad_position == 0


def test_an_inserted_event_is_named_even_when_chained_correctly() -> None:
    forged = event(999, "model.approved")
    chained_forgery = LedgerEntry(20, forged, chain_hash(LOG[19].chain_hash, forged))
    report = verify_ledger(renumber([*LOG[:20], chained_forgery, *LOG[20:]]))
    assert report.first_bad_position == 20
    assert report.reason == "position 20 was inserted: position 21 links to position 19"
    garbage = LedgerEntry(20, forged, "f" * 64)
    assert verify_ledger(renumber([*LOG[:20], garbage, *LOG[20:]])).first_bad_position == 20
    first = LedgerEntry(0, forged, chain_hash(GENESIS_HASH, forged))
    report = verify_ledger(renumber([first, *LOG]))
    assert (report.first_bad_position, report.size) == (0, 0)
    assert "links to the genesis hash" in report.reason


def test_a_duplicated_position_is_named() -> None:
    report = verify_ledger([*LOG[:8], LOG[7], *LOG[8:]])
    assert report.first_bad_position == 7
    assert "position 7 appears again" in report.reason


def test_stored_prev_hash_links_are_checked() -> None:
    linked = chained(DATAS, links=True)
    assert verify_ledger(linked).ok
    log = list(linked)
    log[9] = log[9]._replace(prev_hash="0" * 64)
    report = verify_ledger(log)
    assert report.first_bad_position == 9
    assert "links to a predecessor that is not position 8" in report.reason
    forged = event(999)
    inserted = LedgerEntry(5, forged, chain_hash(linked[4].chain_hash, forged), linked[4].chain_hash)
    report = verify_ledger(renumber([*linked[:5], inserted, *linked[5:]]))
    assert report.first_bad_position == 5
    assert "was inserted" in report.reason


def test_positions_can_start_at_one() -> None:
    log = chained(DATAS, first=1)
    assert verify_ledger(log, first_position=1).ok
    report = verify_ledger(log[:4] + log[5:], first_position=1)
    assert report.first_bad_position == 5
    assert verify_ledger(log).first_bad_position == 0


def test_a_rewritten_tail_is_caught_by_the_next_checkpoint_only() -> None:
    datas = list(DATAS)
    datas[33] = event(33, "model.retired")
    rewritten = chained(datas)  # an attacker with write access re-hashes every later event
    assert verify_ledger(rewritten).ok  # the chain alone cannot tell
    report = verify_ledger(rewritten, checkpoints=[checkpoint(10), checkpoint(30), checkpoint(40)])
    assert (report.ok, report.first_bad_position, report.size, report.checkpoints) == (
        False,
        30,
        30,
        2,
    )
    assert "checkpoint of size 40" in report.reason
    assert report.details["root"] == TREE.node(0, 0).hex() or report.details["checkpoint_size"] == 40


def test_removed_tail_events_are_caught_by_checkpoints_and_the_head() -> None:
    report = verify_ledger(LOG[:45], checkpoints=[checkpoint(20), checkpoint(N)])
    assert report.first_bad_position == 45
    assert "position 45 and later were removed" in report.reason
    report = verify_ledger(LOG[:45], expected_size=N)
    assert report.first_bad_position == 45
    assert "records 50 events but 45 are stored" in report.reason
    report = verify_ledger(LOG, expected_size=N, expected_head="a" * 64)
    assert report.first_bad_position == N - 1
    assert verify_ledger(LOG, expected_size=N, expected_head=LOG[-1].chain_hash).ok


def test_signed_checkpoints_are_verified_before_the_pass() -> None:
    old, new = generate_signer("steward.example/audit"), generate_signer("steward.example/audit")
    notes = [sign_checkpoint(checkpoint(25), old), sign_checkpoint(checkpoint(N), new)]
    report = verify_ledger(LOG, checkpoints=notes, verifiers=[old.verifier, new.verifier])
    assert (report.ok, report.checkpoints) == (True, 2)
    report = verify_ledger(LOG, checkpoints=notes, verifiers=[new.verifier])
    assert (report.ok, report.first_bad_position) == (False, None)
    assert report.reason == "checkpoint: no known key signed this note"
    report = verify_ledger(LOG, checkpoints=notes, verifiers=[old.verifier, new.verifier], origin="elsewhere")
    assert "is for log 'steward.example/audit'" in report.reason
    assert not verify_ledger(LOG, checkpoints=notes).ok


def test_an_auditors_old_checkpoint_is_proved_consistent() -> None:
    old, new = checkpoint(21), checkpoint(N)
    proof = prove_checkpoint_consistency(old, TREE, N)
    assert proof == consistency_proof(TREE, 21, N)
    verify_checkpoint_consistency(old, new, proof)

    forked = MemoryTree(leaf_hash(d) for d in [*DATAS[:7], event(7, "forged"), *DATAS[8:]])
    with pytest.raises(IntegrityError, match="old root"):
        prove_checkpoint_consistency(old, forked, N)
    with pytest.raises(IntegrityError, match="old root"):
        verify_checkpoint_consistency(old, checkpoint(N, forked), consistency_proof(forked, 21, N))
    with pytest.raises(IntegrityError, match="shrank from 50 to 21"):
        verify_checkpoint_consistency(new, old, [])
    with pytest.raises(IntegrityError, match="covers 50 events but the tree holds 21"):
        prove_checkpoint_consistency(new, TREE, 21)
    with pytest.raises(IntegrityError, match="different logs"):
        verify_checkpoint_consistency(Checkpoint("other", 21, old.root), new, proof)


def test_an_event_is_proved_included_under_a_checkpoint() -> None:
    cp = checkpoint(N)
    verify_entry_inclusion(DATAS[13], 13, cp, inclusion_proof(TREE, 13, N))
    with pytest.raises(IntegrityError):
        verify_entry_inclusion(event(13, "changed"), 13, cp, inclusion_proof(TREE, 13, N))


LEAVES = [(i, leaf_hash(d)) for i, d in enumerate(DATAS)]


def test_stored_leaves_are_checked_against_the_leaf_hash_of_each_entry() -> None:
    assert verify_ledger(LOG, leaves=LEAVES).first_bad_leaf is None
    plain = [tuple(e) for e in LOG]  # a cursor's rows do as well as LedgerEntry objects
    assert verify_ledger(plain, leaves=iter(LEAVES)).ok

    changed = [*LEAVES[:12], (12, leaf_hash(b"forged")), *LEAVES[13:]]
    report = verify_ledger(LOG, leaves=changed)
    assert (report.ok, report.first_bad_leaf, report.leaf_missing) == (True, 12, False)

    report = verify_ledger(LOG, leaves=LEAVES[:7] + LEAVES[8:])
    assert (report.first_bad_leaf, report.leaf_missing) == (7, True)
    report = verify_ledger(chained(DATAS, first=1), first_position=1, leaves=LEAVES[:30])
    assert (report.first_bad_leaf, report.leaf_missing) == (31, True)  # positions from one
    report = verify_ledger(LOG, leaves=[(-1, b"x"), *LEAVES])
    assert (report.first_bad_leaf, report.leaf_missing) == (0, False)


def test_a_bad_leaf_does_not_hide_a_bad_chain_nor_the_reverse() -> None:
    datas = list(DATAS)
    datas[20] = event(20, "model.retired")
    tampered = [*LOG[:20], LOG[20]._replace(data=datas[20]), *LOG[21:]]
    report = verify_ledger(tampered, leaves=[*LEAVES[:5], (5, b"bad"), *LEAVES[6:]])
    assert (report.ok, report.first_bad_position, report.first_bad_leaf) == (False, 20, 5)
