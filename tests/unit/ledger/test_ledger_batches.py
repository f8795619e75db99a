"""The run-at-a-time pass agrees with the entry-at-a-time pass: the same verdict on every log, the
same root, head and checkpoint count when it passes, whatever the runs' width and wherever the
checkpoints fall in them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.ledger.test_ledger_verify import chained

from steward.errors import InvalidInput
from steward.ledger import (
    Checkpoint,
    EntryBatch,
    LedgerEntry,
    MemoryTree,
    canonical_bytes,
    leaf_hash,
    tree_root,
    verify_batches,
    verify_ledger,
)

ORIGIN = "steward.example/audit"


def log(size: int) -> tuple[list[LedgerEntry], list[bytes], MemoryTree]:
    """Entries at positions 1..size with their links, their leaves, and their tree."""
    datas = [
        canonical_bytes({"seq": seq, "action": "model.updated", "after": {"n": seq}})
        for seq in range(1, size + 1)
    ]
    entries = chained(datas, first=1, links=True)
    leaves = [leaf_hash(d) for d in datas]
    return entries, leaves, MemoryTree(leaves)


def runs(entries: list[LedgerEntry], leaves: list[bytes], width: int) -> list[EntryBatch]:
    """Runs as the store hands them out: seqs ``[1 + k*width, (k+1)*width]``, a run whose seqs are
    not that contiguous range in order with empty ``positions``; leaves by position."""
    if not entries:
        return []
    by_run: dict[int, list[LedgerEntry]] = {}
    for entry in entries:
        by_run.setdefault((entry.position - 1) // width, []).append(entry)
    found = []
    for k in range(max(by_run) + 1):
        members = by_run.get(k, [])
        seqs = [e.position for e in members]
        whole = bool(seqs) and seqs == list(range(seqs[0], seqs[0] + len(seqs)))
        found.append(
            EntryBatch(
                range(seqs[0], seqs[0] + len(seqs)) if whole else range(0),
                [b"\x00" + e.data for e in members],
                [e.chain_hash for e in members],
                [e.prev_hash or "" for e in members],
                b"".join(leaves[k * width : k * width + len(members)]),
            )
        )
    return found


TAMPERING = st.sampled_from(
    ["none", "edit", "delete", "swap", "link", "hash", "leaf", "no leaf", "checkpoint", "head", "extra"]
)


@settings(max_examples=300, deadline=None)
@given(
    size=st.integers(0, 80),
    width=st.sampled_from([1, 2, 4, 8, 16, 64]),
    sizes=st.lists(st.integers(0, 80), max_size=5),
    tampering=TAMPERING,
    where=st.integers(0, 10**6),
)
def test_both_passes_give_the_same_verdict(
    size: int, width: int, sizes: list[int], tampering: str, where: int
) -> None:
    entries, leaves, tree = log(size)
    checkpoints = [Checkpoint(ORIGIN, s, tree_root(tree, s)) for s in sizes if s <= size]
    expected_size, expected_head = size, entries[-1].chain_hash if entries else None
    k = where % size if size else 0
    if size and tampering == "edit":
        entries[k] = entries[k]._replace(data=entries[k].data.replace(b"updated", b"deleted"))
    elif size and tampering == "delete":
        del entries[k]
    elif size > 1 and tampering == "swap":
        j = (k + 1) % size
        entries[k], entries[j] = entries[j]._replace(position=k + 1), entries[k]._replace(position=j + 1)
    elif size and tampering == "link":
        entries[k] = entries[k]._replace(prev_hash="f" * 64)
    elif size and tampering == "hash":
        entries[k] = entries[k]._replace(chain_hash="e" * 64)
    elif size and tampering == "leaf":
        leaves[k] = bytes(32)
    elif size and tampering == "no leaf":
        del leaves[k:]
    elif tampering == "checkpoint":
        checkpoints.append(Checkpoint(ORIGIN, k + 1, bytes(32)))
    elif tampering == "head":
        expected_head = "d" * 64
    elif tampering == "extra":
        expected_size = size + 1

    plain = verify_ledger(
        entries,
        checkpoints=checkpoints,
        first_position=1,
        expected_size=expected_size,
        expected_head=expected_head,
        leaves=list(enumerate(leaves)),
    )
    batched = verify_batches(
        runs(entries, leaves, width),
        width=width,
        checkpoints=checkpoints,
        first_position=1,
        expected_size=expected_size,
        expected_head=expected_head,
    )
    assert batched.ok == (plain.ok and plain.first_bad_leaf is None), (plain, batched)
    if batched.ok:
        assert (batched.size, batched.root, batched.head_hash, batched.checkpoints) == (
            plain.size,
            plain.root,
            plain.head_hash,
            plain.checkpoints,
        )
    else:
        assert batched.reason and batched.first_bad_position is not None


def test_a_run_after_a_short_one_or_wider_than_asked_fails() -> None:
    entries, leaves, _ = log(12)
    four = runs(entries, leaves, 4)
    first = four[0]
    short = EntryBatch(range(1, 3), first.inputs[:2], first.hashes[:2], first.links[:2], b"".join(leaves[:2]))
    report = verify_batches([short, four[1]], width=4, first_position=1)
    assert (report.ok, report.first_bad_position) == (False, 3)
    assert "one run in order" in report.reason
    assert not verify_batches(runs(entries, leaves, 8), width=4, first_position=1).ok


def test_stored_leaves_need_not_be_given() -> None:
    entries, leaves, tree = log(9)
    bare = [run._replace(leaves=None) for run in runs(entries, leaves, 4)]
    report = verify_batches(bare, width=4, first_position=1, checkpoints=[Checkpoint(ORIGIN, 9, tree.root())])
    assert (report.ok, report.size, report.root, report.checkpoints) == (True, 9, tree.root(), 1)


@pytest.mark.parametrize("width", [0, 3, 12])
def test_the_width_must_be_a_power_of_two(width: int) -> None:
    with pytest.raises(InvalidInput, match="power of two") as raised:
        verify_batches([], width=width)
    assert raised.value.details["errors"][0]["field"] == "width"
