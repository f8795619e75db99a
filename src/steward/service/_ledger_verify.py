"""Verify the ledger stored in the database: chain, tree, every kept checkpoint and its signature.

Which keys are trusted: the keys given (``--key``, what an auditor holds) or else the first key in
the registry (the log's genesis key); a ``ledger.key_rotated`` event adds its new key once a
checkpoint that covers the event verifies with a key already trusted (the old key vouches for the
new). A key added to the registry by hand is therefore not trusted, and a checkpoint it signed is
reported. When the log has a key, every event must be covered by a kept checkpoint: events after
the last one were written without the key.

The report names the first position that does not match; for a bad or forged checkpoint, that is
the first position after the last checkpoint that verified.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from steward.errors import IntegrityError, InvalidInput
from steward.ledger import (
    Checkpoint,
    VerifierKey,
    frontier_nodes,
    frontier_root,
    parse_verifier,
    verify_batches,
    verify_checkpoint,
    verify_ledger,
)
from steward.storage import RUN_WIDTH, SqlTransaction, StoredEntry


@dataclass(frozen=True, slots=True)
class LedgerVerdict:
    """The outcome of :func:`verify_stored`; ``first_bad_seq`` names the first event that fails."""

    ok: bool
    events: int
    head_hash: str
    root: bytes | None
    checkpoints: int
    first_bad_seq: int | None = None
    problem: str | None = None
    details: dict[str, object] = field(default_factory=dict)
    trusted_keys: tuple[str, ...] = ()


def verify_stored(
    tx: SqlTransaction,
    *,
    pins: Sequence[VerifierKey] = (),
    kept: Sequence[Checkpoint] = (),
    progress: Callable[[int], None] | None = None,
) -> LedgerVerdict:
    """Recompute the chain and the tree from the stored events; check every kept checkpoint.

    ``kept`` are checkpoints verified elsewhere (an auditor's copy): the log must match them too.
    """
    rows = tx.ledger
    head = tx.ledger_head()
    registry = rows.keys()
    try:
        trusted = list(pins) if pins else [parse_verifier(registry[0].vkey)] if registry else []
    except InvalidInput as error:
        return _failed(0, 1, f"the registered genesis key is malformed: {error.message}")
    announced = _announced(rows.entries_with_action("ledger.key_rotated"))
    origin = registry[0].name if registry else None

    good: list[Checkpoint] = list(kept)
    covered = max((c.size for c in kept), default=0)
    signature_problem: tuple[int, str, dict[str, object]] | None = None
    checked = 0
    for stored in rows.checkpoints():
        try:
            if not trusted:
                raise IntegrityError("no trusted key: the key registry is empty")
            signed = verify_checkpoint(stored.note, trusted, origin=origin)
            if signed.checkpoint.size != stored.size or signed.checkpoint.root != stored.root:
                raise IntegrityError("its note does not match the size and root stored beside it")
        except (IntegrityError, InvalidInput) as error:
            signature_problem = (
                covered + 1,
                f"the checkpoint of size {stored.size} does not verify: {error.message}; events after "
                f"seq {covered} are not vouched for by a trusted key",
                {"checkpoint_size": stored.size, **error.details},
            )
            break
        checked += 1
        good.append(signed.checkpoint)
        covered = max(covered, stored.size)
        while announced and announced[0][0] <= stored.size:
            key = announced.pop(0)[1]
            if key not in trusted:
                trusted.append(key)

    # A run at a time first (list comparisons over columns the database joined); only when that
    # fails, an event at a time from the stored columns, which names the first bad position.
    with rows.verification_batches(progress=progress) as batches:
        report = verify_batches(
            batches,
            width=RUN_WIDTH,
            checkpoints=good,
            first_position=1,
            expected_size=head.size,
            expected_head=head.head_hash,
        )
    if not report.ok:
        with rows.verification_rows(progress=progress) as (events, leaves):
            report = verify_ledger(
                events,
                checkpoints=good,
                first_position=1,
                expected_size=head.size,
                expected_head=head.head_hash,
                leaves=leaves,
            )
    problems: list[tuple[int, str, dict[str, object]]] = []
    if not report.ok:
        problems.append((report.first_bad_position or 1, report.reason, dict(report.details)))
    if report.first_bad_leaf is not None:
        bad = report.first_bad_leaf
        problems.append(
            (
                bad,
                f"the Merkle tree's leaf for event {bad} "
                f"{'is missing' if report.leaf_missing else 'is not the hash of the event'}: the event "
                "was written or changed behind Steward's back (or the tree's nodes were)",
                {"leaf_index": bad - 1},
            )
        )
    tree = rows.tree_size()
    if tree > head.size:
        problems.append(
            (
                head.size + 1,
                f"the Merkle tree holds {tree} leaves but the log {head.size} events: events from seq "
                f"{head.size + 1} on were removed",
                {"tree_size": tree, "size": head.size},
            )
        )
    if signature_problem is not None:
        problems.append(signature_problem)
    elif (registry or pins or good) and head.size > covered:
        problems.append(
            (
                covered + 1,
                f"events from seq {covered + 1} to {head.size} are not covered by a signed checkpoint: "
                "they were written without the ledger's key",
                {"covered": covered, "size": head.size},
            )
        )
    if problems:
        position, reason, details = min(problems, key=lambda p: p[0])
        return LedgerVerdict(
            False,
            min(report.size, position - 1),
            report.head_hash or "",
            None,
            checked,
            position,
            reason,
            details,
            tuple(k.encode() for k in trusted),
        )
    if report.root is None or report.head_hash is None:  # pragma: no cover (a passing report has both)
        raise IntegrityError("verification passed without a root")
    coordinates = frontier_nodes(head.size)
    stored_nodes = rows.nodes(coordinates)
    if (
        len(stored_nodes) != len(coordinates)
        or frontier_root([stored_nodes[c] for c in coordinates]) != report.root
    ):
        return LedgerVerdict(
            False,
            report.size,
            report.head_hash,
            report.root,
            checked,
            None,
            "the stored tree nodes do not hash to the events' root: proofs served from them would "
            "not verify (the ledger_nodes table was changed)",
            {"root": report.root.hex()},
        )
    return LedgerVerdict(
        True,
        report.size,
        report.head_hash,
        report.root,
        checked,
        trusted_keys=tuple(k.encode() for k in trusted),
    )


def _announced(rotations: list[StoredEntry]) -> list[tuple[int, VerifierKey]]:
    """``(seq, new key)`` of every rotation event, oldest first (malformed ones are skipped)."""
    found: list[tuple[int, VerifierKey]] = []
    for entry in rotations:
        try:
            after = json.loads(entry.after or "null")
            found.append((entry.seq, parse_verifier(str(after["vkey"]))))
        except (ValueError, TypeError, KeyError, InvalidInput):
            continue
    return found


def _failed(events: int, position: int, reason: str) -> LedgerVerdict:
    return LedgerVerdict(False, events, "", None, 0, position, reason)
