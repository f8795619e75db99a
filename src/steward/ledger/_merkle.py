"""RFC 6962 Merkle tree hashing over stored complete subtrees (RFC 9162 section 2.1).

Coordinates: the node at ``(level, index)`` is the root of the *perfect* subtree over leaves
``[index * 2**level, (index + 1) * 2**level)``; level 0 holds the leaf hashes. Only such complete
nodes are ever stored, and once written they never change. The tree of any size ``n`` is the
right-fold of its *frontier*: one perfect subtree per set bit of ``n``, largest (leftmost) first.

Appending returns the complete nodes to persist; roots and proofs read O(log n) stored nodes
through a :class:`NodeReader`. Verification follows RFC 9162 sections 2.1.3.2 and 2.1.4.2.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from steward.errors import IntegrityError, InvalidInput

HASH_SIZE = 32
"""Bytes in every hash of the tree (SHA-256)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""RFC 6962 root of the empty tree: SHA-256 of nothing."""

_sha256 = hashlib.sha256


class NodeReader(Protocol):
    """Reads stored complete nodes. Proof and root functions only ask for nodes that exist."""

    def node(self, level: int, index: int) -> bytes: ...


class TreeNode(NamedTuple):
    """One complete node to persist: its coordinates and hash (a plain tuple, cheap to make)."""

    level: int
    index: int  # type: ignore[assignment]  # the field deliberately shadows tuple.index
    hash: bytes


@dataclass(frozen=True, slots=True)
class Appended:
    """What an append produced: the new size, its frontier and root, the new nodes to store."""

    size: int
    frontier: tuple[bytes, ...]
    root: bytes
    nodes: tuple[TreeNode, ...]


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash: SHA-256(0x01 || left || right)."""
    return _sha256(b"\x01" + left + right).digest()


def frontier_nodes(size: int) -> list[tuple[int, int]]:
    """``(level, index)`` of the perfect subtrees whose fold is the tree of ``size``, left first."""
    _check_size(size)
    return [
        (level, (size >> level) - 1) for level in range(size.bit_length() - 1, -1, -1) if size >> level & 1
    ]


def read_frontier(reader: NodeReader, size: int) -> list[bytes]:
    """The frontier hashes of the tree of ``size``: ``popcount(size)`` reads."""
    return [reader.node(level, index) for level, index in frontier_nodes(size)]


def frontier_root(frontier: Sequence[bytes]) -> bytes:
    """Root of a tree given its frontier (largest subtree first)."""
    if not frontier:
        return EMPTY_ROOT
    root = frontier[-1]
    for subtree in reversed(frontier[:-1]):
        root = _sha256(b"\x01" + subtree + root).digest()
    return root


def append_leaves(size: int, frontier: Sequence[bytes], leaf_hashes: Iterable[bytes]) -> Appended:
    """Append leaves to a tree of ``size`` whose frontier is given; return the nodes to store.

    Each leaf completes its level-0 node plus one node per trailing zero bit of the new size, so a
    batch of ``k`` leaves costs about ``k`` node hashes and yields about ``2k`` nodes, in order.
    """
    _check_size(size)
    if len(frontier) != size.bit_count():
        raise InvalidInput.field(
            "frontier",
            "frontier_length",
            f"a tree of size {size} has {size.bit_count()} frontier nodes, got {len(frontier)}",
        )
    for subtree in frontier:
        _check_hash("frontier", subtree)
    stack = list(frontier)
    nodes: list[TreeNode] = []
    push, pop, emit, sha256 = stack.append, stack.pop, nodes.append, _sha256
    n = size
    for leaf in leaf_hashes:
        if len(leaf) != HASH_SIZE:
            _check_hash("leaf_hashes", leaf)
        emit(TreeNode(0, n, leaf))
        n += 1
        current, level, rest = leaf, 0, n
        while not rest & 1:
            current = sha256(b"\x01" + pop() + current).digest()
            level += 1
            rest >>= 1
            emit(TreeNode(level, rest - 1, current))
        push(current)
    return Appended(n, tuple(stack), frontier_root(stack), tuple(nodes))


def merkle_root(leaf_hashes: Iterable[bytes]) -> bytes:
    """RFC 6962 Merkle tree hash of a list of leaf hashes."""
    stack: list[bytes] = []
    for n, leaf in enumerate(leaf_hashes, start=1):
        _check_hash("leaf_hashes", leaf)
        current, rest = leaf, n
        while not rest & 1:
            current = _sha256(b"\x01" + stack.pop() + current).digest()
            rest >>= 1
        stack.append(current)
    return frontier_root(stack)


def tree_root(reader: NodeReader, size: int) -> bytes:
    """Root of the first ``size`` leaves of a stored tree, from ``popcount(size)`` reads."""
    return frontier_root(read_frontier(reader, size))


def inclusion_proof(reader: NodeReader, index: int, size: int) -> list[bytes]:
    """RFC 9162 inclusion proof (audit path) of leaf ``index`` in the tree of ``size``.

    Hashes run from the leaf's sibling up to the root's child; O(log n) node reads.
    """
    _check_size(size)
    if not 0 <= index < size:
        raise InvalidInput.field("index", "range", f"leaf {index} is not in a tree of size {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        split = _split(end - start)
        if index < start + split:
            path.append(_range_hash(reader, start + split, end))
            end = start + split
        else:
            path.append(_range_hash(reader, start, start + split))
            start += split
    path.reverse()
    return path


def consistency_proof(reader: NodeReader, old_size: int, new_size: int) -> list[bytes]:
    """RFC 9162 consistency proof that the tree of ``old_size`` is a prefix of ``new_size``.

    Empty when ``old_size`` is 0 or equals ``new_size``; O(log n) node reads.
    """
    _check_sizes(old_size, new_size)
    if old_size in (0, new_size):
        return []
    path: list[bytes] = []
    start, old, width, complete = 0, old_size, new_size, True
    while old != width:
        split = _split(width)
        if old <= split:
            path.append(_range_hash(reader, start + split, start + width))
            width = split
        else:
            path.append(_range_hash(reader, start, start + split))
            start, old, width, complete = start + split, old - split, width - split, False
    if not complete:
        path.append(_range_hash(reader, start, start + width))
    path.reverse()
    return path


def inclusion_proof_nodes(index: int, size: int) -> list[tuple[int, int]]:
    """``(level, index)`` of every node :func:`inclusion_proof` reads (fetch them in one query)."""
    recorder = _Recorder()
    inclusion_proof(recorder, index, size)
    return recorder.reads


def consistency_proof_nodes(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """``(level, index)`` of every node :func:`consistency_proof` reads."""
    recorder = _Recorder()
    consistency_proof(recorder, old_size, new_size)
    return recorder.reads


def inclusion_proof_length(index: int, size: int) -> int:
    """Number of hashes in the inclusion proof of ``index`` in a tree of ``size``.

    ``inner`` levels where the leaf's path and the last leaf's path differ each give a sibling;
    above them, each perfect subtree to the left of the shared right edge gives one more.
    """
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def consistency_proof_length(old_size: int, new_size: int) -> int:
    """Number of hashes in the consistency proof from ``old_size`` to ``new_size``."""
    if old_size in (0, new_size):
        return 0
    inner = ((old_size - 1) ^ (new_size - 1)).bit_length()
    border = ((old_size - 1) >> inner).bit_count()
    shift = (old_size & -old_size).bit_length() - 1  # trailing zero bits of old_size
    seed = 0 if old_size == 1 << shift else 1  # the old tree's own root is not sent when perfect
    return inner - shift + border + seed


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` with ``root``.

    Raises :class:`IntegrityError` when the proof does not lead to the root, and
    :class:`InvalidInput` when the arguments cannot describe a proof.
    """
    _check_size(size)
    if not 0 <= index < size:
        raise InvalidInput.field("index", "range", f"leaf {index} is not in a tree of size {size}")
    _check_hash("leaf_hash", leaf_hash)
    _check_hash("root", root)
    _check_proof(proof, inclusion_proof_length(index, size), f"leaf {index} of size {size}")
    fn, sn, result = index, size - 1, leaf_hash
    for sibling in proof:
        if fn & 1 or fn == sn:
            result = _sha256(b"\x01" + sibling + result).digest()
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            result = _sha256(b"\x01" + result + sibling).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0 or not hmac.compare_digest(result, root):
        raise IntegrityError(
            f"inclusion proof for leaf {index} does not lead to the root of size {size}",
            {"index": index, "size": size, "computed_root": result.hex(), "root": root.hex()},
        )


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of ``old_size`` and ``old_root`` is a prefix of the newer one.

    Raises :class:`IntegrityError` when it is not (or the proof is wrong), and
    :class:`InvalidInput` when the arguments cannot describe a proof.
    """
    _check_sizes(old_size, new_size)
    _check_hash("old_root", old_root)
    _check_hash("new_root", new_root)
    _check_proof(proof, consistency_proof_length(old_size, new_size), f"{old_size} → {new_size}")
    details = {"old_size": old_size, "new_size": new_size}
    if old_size == 0:
        if not hmac.compare_digest(old_root, EMPTY_ROOT):
            raise IntegrityError("the root of an empty tree must be SHA-256 of nothing", details)
        return
    if old_size == new_size:
        if not hmac.compare_digest(old_root, new_root):
            raise IntegrityError(f"two different roots for the same size {new_size}", details)
        return
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    old, new = path[0], path[0]
    for node in path[1:]:
        if sn == 0:
            raise IntegrityError(f"consistency proof {old_size} → {new_size} is too long", details)
        if fn & 1 or fn == sn:
            old = _sha256(b"\x01" + node + old).digest()
            new = _sha256(b"\x01" + node + new).digest()
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            new = _sha256(b"\x01" + new + node).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise IntegrityError(f"consistency proof {old_size} → {new_size} is too short", details)
    if not hmac.compare_digest(old, old_root):
        raise IntegrityError(
            f"consistency proof {old_size} → {new_size} does not lead to the old root", details
        )
    if not hmac.compare_digest(new, new_root):
        raise IntegrityError(
            f"consistency proof {old_size} → {new_size} does not lead to the new root", details
        )


class _Recorder:
    """A reader that notes which nodes are asked for and answers with placeholders."""

    def __init__(self) -> None:
        self.reads: list[tuple[int, int]] = []

    def node(self, level: int, index: int) -> bytes:
        self.reads.append((level, index))
        return EMPTY_ROOT


def _split(width: int) -> int:
    """The largest power of two smaller than ``width`` (RFC 6962's ``k``), for ``width > 1``."""
    return 1 << ((width - 1).bit_length() - 1)


def _range_hash(reader: NodeReader, start: int, end: int) -> bytes:
    """MTH of leaves ``[start, end)`` for a range of the RFC 6962 tree, from stored nodes.

    Every such range starts at a multiple of a power of two at least its width, so it splits into
    perfect subtrees along the binary digits of its width, largest first.
    """
    width = end - start
    hashes: list[bytes] = []
    for level in range(width.bit_length() - 1, -1, -1):
        if width >> level & 1:
            hashes.append(reader.node(level, start >> level))
            start += 1 << level
    return frontier_root(hashes)


def _check_size(size: int) -> None:
    if size < 0:
        raise InvalidInput.field("size", "range", f"a tree size cannot be negative, got {size}")


def _check_sizes(old_size: int, new_size: int) -> None:
    if not 0 <= old_size <= new_size:
        raise InvalidInput.field(
            "old_size", "range", f"need 0 <= old size <= new size, got {old_size} and {new_size}"
        )


def _check_hash(field: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise InvalidInput.field(field, "hash_size", f"a hash has 32 bytes, got {len(value)}")


def _check_proof(proof: Sequence[bytes], expected: int, what: str) -> None:
    if len(proof) != expected:
        raise IntegrityError(
            f"proof for {what} has {len(proof)} hashes, expected {expected}",
            {"hashes": len(proof), "expected": expected},
        )
    for node in proof:
        if len(node) != HASH_SIZE:
            raise IntegrityError(f"proof for {what} holds a hash of {len(node)} bytes, not 32")
