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
    EMPTY_ROOT,
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


class EntryBatch(NamedTuple):
    """A run of stored events as :func:`verify_batches` reads them, column by column.

    ``inputs`` are the events' canonical bytes each behind the ``0x00`` byte that both the leaf
    hash and the chain hash put before them; ``hashes`` and ``links`` are their stored chain hashes
    and ``prev_hash``. ``positions`` are the positions they were read at, in order: a reader hands
    out an empty range when the rows did not come as one run in order. ``leaves`` are the stored
    tree's leaves at those positions, concatenated (``None``: not compared).
    """

    positions: range
    inputs: Sequence[bytes]
    hashes: Sequence[str]
    links: Sequence[str]
    leaves: bytes | None = None


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


def verify_batches(
    batches: Iterable[EntryBatch],
    *,
    width: int,
    checkpoints: Iterable[Checkpoint] = (),
    first_position: int = 0,
    genesis: str = GENESIS_HASH,
    expected_size: int | None = None,
    expected_head: str | None = None,
) -> VerifyReport:
    """Check a log read in runs of ``width`` entries (a power of two; only the last run may be
    shorter) against trusted ``checkpoints``: the same checks as :func:`verify_ledger`, a whole
    run at a time, and the same ``root`` and ``head_hash`` when it passes.

    A run is checked by list comparisons and its tree built level by level, not entry by entry:
    this is the pass to run first. It names only the first run that fails (any mismatch, its
    stored leaves' too, fails it, and ``ok`` is false); :func:`verify_ledger` names the entry.
    """
    if width < 1 or width & (width - 1):
        raise InvalidInput.field(
            "width", "power_of_two", f"runs must hold a power of two entries, not {width}"
        )
    pending = sorted(checkpoints, key=lambda checkpoint: checkpoint.size)
    runs = _Runs(pending, first_position, genesis, width)
    while runs.next_cp < len(pending) and pending[runs.next_cp].size == 0:
        if not hmac.compare_digest(EMPTY_ROOT, pending[runs.next_cp].root):
            return VerifyReport(
                0,
                None,
                None,
                runs.next_cp,
                first_position,
                "the empty log does not hash to its checkpoint's root",
            )
        runs.next_cp += 1
    for batch in batches:
        if not runs.take(batch):
            break
    return runs.report(expected_size, expected_head)


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


class _Runs:
    """The state of one :func:`verify_batches` pass: the roots of the full runs so far, kept as
    the frontier of a tree whose leaves are runs (each a perfect subtree of ``width`` leaves)."""

    def __init__(self, checkpoints: list[Checkpoint], first: int, genesis: str, width: int) -> None:
        self.checkpoints = checkpoints
        self.next_cp = 0
        self.first = first
        self.width = width
        self.stack: list[bytes] = []  # frontier of the full runs' roots
        self.full = 0  # full runs taken
        self.size = 0  # entries taken
        self.last = genesis  # chain hash of the last entry taken
        self.tail: list[list[bytes]] = []  # the levels of a short last run
        self.anchored = 0  # size of the largest checkpoint that matched
        self.failed: tuple[int, str] | None = None

    def take(self, batch: EntryBatch) -> bool:
        """Check one run; false (and :attr:`failed` set) when it does not verify."""
        start, inputs, hashes, links = self.first + self.size, batch.inputs, batch.hashes, batch.links
        count = len(inputs)
        end = start + count - 1
        if (
            self.tail
            or not 0 < count <= self.width
            or batch.positions != range(start, start + count)
            or len(hashes) != count
            or len(links) != count
        ):
            return self._fail(start, f"positions {start}..{end} were not read as one run in order")
        sha256 = hashlib.sha256
        if links[0] != self.last or links[1:] != hashes[:-1]:
            return self._fail(start, f"a prev_hash in positions {start}..{end} is not its predecessor's hash")
        if [
            sha256(link.encode("ascii") + data).hexdigest() for link, data in zip(links, inputs, strict=True)
        ] != hashes:
            return self._fail(start, f"a chain hash in positions {start}..{end} does not match its event")
        level = [sha256(data).digest() for data in inputs]
        if batch.leaves is not None and b"".join(level) != batch.leaves:
            return self._fail(start, f"a stored leaf in positions {start}..{end} is not its event's hash")
        levels = [level]
        while len(level) > 1:
            level = [
                sha256(b"\x01" + left + right).digest()
                for left, right in zip(level[::2], level[1::2], strict=False)
            ]
            levels.append(level)
        checkpoints = self.checkpoints
        while self.next_cp < len(checkpoints) and checkpoints[self.next_cp].size <= self.size + count:
            checkpoint = checkpoints[self.next_cp]
            root = frontier_root(self.stack + _subtrees(levels, checkpoint.size - self.size))
            if not hmac.compare_digest(root, checkpoint.root):
                return self._fail(
                    self.first + self.anchored,
                    f"the first {checkpoint.size} events do not hash to the root of its checkpoint",
                )
            self.anchored = checkpoint.size
            self.next_cp += 1
        self.size += count
        self.last = hashes[-1]
        if count < self.width:
            self.tail = levels
            return True
        current, rest = levels[-1][0], self.full + 1
        while not rest & 1:
            current = sha256(b"\x01" + self.stack.pop() + current).digest()
            rest >>= 1
        self.stack.append(current)
        self.full += 1
        return True

    def report(self, expected_size: int | None, expected_head: str | None) -> VerifyReport:
        matched = self.next_cp
        if self.failed is None:
            checkpoints = self.checkpoints
            if self.next_cp < len(checkpoints):
                return self._report(
                    self.first + self.size,
                    f"checkpoint of size {checkpoints[-1].size} was signed but the ledger holds "
                    f"{self.size} events",
                )
            if expected_size is not None and expected_size != self.size:
                return self._report(
                    self.first + min(self.size, expected_size),
                    f"the ledger head records {expected_size} events but {self.size} are stored",
                )
            if expected_head is not None and expected_head != self.last:
                return self._report(
                    self.first + max(self.size - 1, 0),
                    f"the chain ends at {self.last} but the ledger head records {expected_head}",
                )
            frontier = self.stack + (_subtrees(self.tail, len(self.tail[0])) if self.tail else [])
            return VerifyReport(self.size, frontier_root(frontier), self.last, self.next_cp)
        position, reason = self.failed
        return VerifyReport(position - self.first, None, None, matched, position, reason)

    def _fail(self, position: int, reason: str) -> bool:
        self.failed = (position, reason)
        return False

    def _report(self, position: int, reason: str) -> VerifyReport:
        self.failed = (position, reason)
        return self.report(None, None)


def _subtrees(levels: list[list[bytes]], count: int) -> list[bytes]:
    """The frontier of a run's first ``count`` leaves, from the run's levels (``levels[j][i]`` is
    its perfect subtree of ``2**j`` leaves from ``i * 2**j``)."""
    found: list[bytes] = []
    offset = 0
    for level in range(count.bit_length() - 1, -1, -1):
        if count >> level & 1:
            found.append(levels[level][offset >> level])
            offset += 1 << level
    return found
