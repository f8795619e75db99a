"""Verify the audit ledger from its stored events: chain hashes, tree roots and checkpoints.

One pass recomputes every chain hash and the Merkle tree (a frontier of O(log n) hashes), checks
each checkpoint as the pass reaches its size, and reports the first position that does not match.
A rewrite that recomputes every later chain hash is caught only by a signed checkpoint; the report
then names the first position after the last checkpoint that still matched.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple, TypeAlias

from steward.errors import IntegrityError, InvalidInput
from steward.ledger._canonical import GENESIS_HASH, chain_hash, leaf_hash
from steward.ledger._checkpoint import Checkpoint, SignedCheckpoint, verify_checkpoint
from steward.ledger._merkle import (
    NodeReader,
    consistency_proof,
    frontier_root,
    tree_root,
    verify_consistency,
    verify_inclusion,
)
from steward.ledger._note import VerifierKey


class LedgerEntry(NamedTuple):
    """One stored event: its position, canonical bytes, stored chain hash, stored ``prev_hash``.

    ``prev_hash`` is optional; when given, it must be the chain hash of the entry before.
    """

    position: int
    data: bytes
    chain_hash: str
    prev_hash: str | None = None


StoredLeaf: TypeAlias = tuple[int, bytes]
"""A leaf the stored tree holds: ``(index, leaf hash)``; index 0 is the first entry's."""


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of :func:`verify_ledger`.

    ``size`` counts the events known good: all of them when ``ok``, else those before
    ``first_bad_position``. ``root`` and ``head_hash`` describe the whole log when ``ok``.
    ``first_bad_leaf`` is the position of the first entry, among those the pass read, whose
    stored tree leaf (given as ``leaves``) is missing (``leaf_missing``) or not its leaf hash; the
    chain and roots do not depend on the stored leaves, so ``ok`` does not either.
    """

    size: int
    root: bytes | None
    head_hash: str | None
    checkpoints: int
    first_bad_position: int | None = None
    reason: str = ""
    details: dict[str, object] = field(default_factory=dict)
    first_bad_leaf: int | None = None
    leaf_missing: bool = False

    @property
    def ok(self) -> bool:
        return not self.reason

    def raise_for_problem(self) -> None:
        """Raise :class:`IntegrityError` naming the first bad position, unless the log verified."""
        if not self.ok:
            raise IntegrityError(
                self.reason,
                {"first_bad_position": self.first_bad_position, "verified": self.size} | self.details,
            )


def verify_ledger(
    entries: Iterable[tuple[int, bytes, str, str | None]],
    *,
    checkpoints: Iterable[Checkpoint | SignedCheckpoint | str | bytes] = (),
    verifiers: Iterable[VerifierKey] = (),
    origin: str | None = None,
    first_position: int = 0,
    genesis: str = GENESIS_HASH,
    expected_size: int | None = None,
    expected_head: str | None = None,
    leaves: Iterable[StoredLeaf] | None = None,
) -> VerifyReport:
    """Recompute the chain and the tree over ``entries`` (in position order) and check them.

    ``entries`` are :class:`LedgerEntry` objects or plain ``(position, data, chain_hash,
    prev_hash)`` tuples (a database cursor's rows). ``checkpoints`` are trusted
    :class:`Checkpoint` objects, or signed checkpoints (notes or parsed) whose signatures are
    verified here against ``verifiers``; all must be for ``origin``, if given. ``expected_size`` and
    ``expected_head`` are what the ledger's head records; they catch events removed at the end.
    ``leaves`` are a stored tree's leaves in index order: each is compared with the leaf hash the
    pass computes anyway, and the first that is missing or differs is reported (``first_bad_leaf``).
    """
    try:
        pending = _trusted(checkpoints, verifiers, origin)
    except (IntegrityError, InvalidInput) as error:
        return VerifyReport(0, None, None, 0, None, f"checkpoint: {error}", dict(error.details))
    checked = _Pass(pending, first_position, genesis)
    report = checked.run(entries, expected_size, expected_head, leaves)
    if checked.bad_leaf is None:
        return report
    return replace(report, first_bad_leaf=checked.bad_leaf, leaf_missing=checked.leaf_missing)


def verify_checkpoint_consistency(old: Checkpoint, new: Checkpoint, proof: Sequence[bytes]) -> None:
    """Check, offline, that ``new`` extends the log ``old`` describes (an auditor's check).

    Raises :class:`IntegrityError` when the logs differ, the log shrank, or the proof fails.
    """
    if old.origin != new.origin:
        raise IntegrityError(
            f"checkpoints of different logs: {old.origin!r} and {new.origin!r}",
            {"old_origin": old.origin, "new_origin": new.origin},
        )
    if old.size > new.size:
        raise IntegrityError(
            f"the log shrank from {old.size} to {new.size} events",
            {"old_size": old.size, "new_size": new.size},
        )
    verify_consistency(old.size, new.size, old.root, new.root, proof)


def prove_checkpoint_consistency(old: Checkpoint, reader: NodeReader, size: int) -> list[bytes]:
    """A checked consistency proof from ``old`` to the stored tree of ``size``.

    Raises :class:`IntegrityError` when the stored tree does not extend ``old``.
    """
    if old.size > size:
        raise IntegrityError(
            f"the checkpoint covers {old.size} events but the tree holds {size}",
            {"old_size": old.size, "size": size},
        )
    proof = consistency_proof(reader, old.size, size)
    verify_consistency(old.size, size, old.root, tree_root(reader, size), proof)
    return proof


def verify_entry_inclusion(data: bytes, index: int, checkpoint: Checkpoint, proof: Sequence[bytes]) -> None:
    """Check that the event with canonical bytes ``data`` is leaf ``index`` under ``checkpoint``."""
    verify_inclusion(leaf_hash(data), index, checkpoint.size, proof, checkpoint.root)


def _trusted(
    checkpoints: Iterable[Checkpoint | SignedCheckpoint | str | bytes],
    verifiers: Iterable[VerifierKey],
    origin: str | None,
) -> list[Checkpoint]:
    keys = list(verifiers)
    trusted: list[Checkpoint] = []
    for item in checkpoints:
        if isinstance(item, Checkpoint):
            checkpoint = item
        elif keys:
            checkpoint = verify_checkpoint(item, keys).checkpoint
        else:
            raise InvalidInput.field("verifiers", "required", "signed checkpoints need verifier keys")
        if origin is not None and checkpoint.origin != origin:
            raise IntegrityError(
                f"checkpoint of size {checkpoint.size} is for log {checkpoint.origin!r}, not {origin!r}",
                {"checkpoint_size": checkpoint.size, "origin": checkpoint.origin},
            )
        trusted.append(checkpoint)
    trusted.sort(key=lambda checkpoint: checkpoint.size)
    return trusted


class _Pass:
    """The state of one verification pass; ``run`` is the hot loop."""

    def __init__(self, checkpoints: list[Checkpoint], first_position: int, genesis: str) -> None:
        self.checkpoints = checkpoints
        self.first = first_position
        self.genesis = genesis
        self.matched = 0  # checkpoints that matched
        self.anchored = 0  # size of the largest checkpoint that matched
        self.bad_leaf: int | None = None  # position of the first entry whose stored leaf is wrong
        self.leaf_missing = False

    def run(
        self,
        entries: Iterable[tuple[int, bytes, str, str | None]],
        expected_size: int | None,
        expected_head: str | None,
        leaves: Iterable[StoredLeaf] | None = None,
    ) -> VerifyReport:
        checkpoints = self.checkpoints
        next_cp = 0
        while next_cp < len(checkpoints) and checkpoints[next_cp].size == 0:
            bad = self._check_root(checkpoints[next_cp], [], 0)
            if bad:
                return bad
            next_cp += 1
        next_size = checkpoints[next_cp].size if next_cp < len(checkpoints) else -1

        stack: list[bytes] = []
        push, pop, sha256 = stack.append, stack.pop, hashlib.sha256
        stored_leaves = None if leaves is None else iter(leaves)
        before, prev = "", self.genesis  # chain hashes of the two entries before this one
        position, n = self.first, 0
        # The hot loop: chain_hash and leaf_hash inlined (see steward.ledger._canonical).
        for entry_position, data, stored, link in entries:
            if entry_position != position:
                return self._bad_position(entry_position, position, n)
            if link is not None and link != prev:
                return self._bad_link(link, before, position, n)
            if sha256(prev.encode("ascii") + b"\x00" + data).hexdigest() != stored:
                return self._bad_hash(data, stored, before, position, n)
            before, prev = prev, stored
            current = sha256(b"\x00" + data).digest()
            if stored_leaves is not None:
                leaf = next(stored_leaves, None)
                if leaf is None or leaf[0] != n or leaf[1] != current:
                    self.bad_leaf, self.leaf_missing = position, leaf is None or leaf[0] > n
                    stored_leaves = None  # only the first is reported
            n += 1
            rest = n
            while not rest & 1:
                current = sha256(b"\x01" + pop() + current).digest()
                rest >>= 1
            push(current)
            if n == next_size:
                while next_cp < len(checkpoints) and checkpoints[next_cp].size == n:
                    bad = self._check_root(checkpoints[next_cp], stack, n)
                    if bad:
                        return bad
                    next_cp += 1
                next_size = checkpoints[next_cp].size if next_cp < len(checkpoints) else -1
            position += 1

        if next_cp < len(checkpoints):
            size = checkpoints[-1].size
            return self._fail(
                n,
                f"checkpoint of size {size} was signed but the ledger holds {n} events: "
                f"position {position} and later were removed",
                {"checkpoint_size": size},
            )
        if expected_size is not None and expected_size != n:
            cut = min(n, expected_size)
            return self._fail(
                cut,
                f"the ledger head records {expected_size} events but {n} are stored",
                {"expected_size": expected_size},
            )
        if expected_head is not None and expected_head != prev:
            return self._fail(
                max(n - 1, 0),
                f"the chain ends at {prev} but the ledger head records {expected_head}",
                {"expected_head": expected_head},
            )
        return VerifyReport(n, frontier_root(stack), prev, self.matched)

    def _check_root(self, checkpoint: Checkpoint, stack: list[bytes], n: int) -> VerifyReport | None:
        root = frontier_root(stack)
        if hmac.compare_digest(root, checkpoint.root):
            self.matched += 1
            self.anchored = n
            return None
        first = self.first + self.anchored
        return self._fail(
            self.anchored,
            f"the first {n} events do not hash to the root of the checkpoint of size {n}: "
            f"an event at positions {first}..{self.first + n - 1} was changed, inserted or "
            "removed and the chain rewritten",
            {"checkpoint_size": n, "computed_root": root.hex(), "root": checkpoint.root.hex()},
        )

    def _bad_position(self, found: int, expected: int, n: int) -> VerifyReport:
        if found > expected:
            reason = f"position {expected} is missing (the next stored event is at {found})"
            return self._fail(n, reason, {"found_position": found})
        reason = f"position {found} appears again or out of order after {expected - 1}"
        return self._fail(max(n - (expected - found), 0), reason, {"found_position": found})

    def _bad_link(self, link: str, before: str, position: int, n: int) -> VerifyReport:
        if n and link == before:
            return self._inserted(position, n)
        reason = (
            f"position {position} links to a predecessor that is not position {position - 1}: "
            "an event before it was removed or moved, or its prev_hash changed"
        )
        return self._fail(n, reason, {"prev_hash": link})

    def _bad_hash(self, data: bytes, stored: str, before: str, position: int, n: int) -> VerifyReport:
        if n and chain_hash(before, data) == stored:
            return self._inserted(position, n)
        reason = (
            f"position {position} does not match its chain hash: it was changed, or an event "
            "before it was removed or moved"
        )
        return self._fail(n, reason, {"chain_hash": stored})

    def _inserted(self, position: int, n: int) -> VerifyReport:
        target = f"position {position - 2}" if n > 1 else "the genesis hash"
        reason = f"position {position - 1} was inserted: position {position} links to {target}"
        return self._fail(n - 1, reason, {})

    def _fail(self, good: int, reason: str, details: dict[str, object]) -> VerifyReport:
        return VerifyReport(good, None, None, self.matched, self.first + good, reason, details)
