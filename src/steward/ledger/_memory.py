"""A Merkle tree held in memory: the reference :class:`NodeReader` for tests, benches, exports."""

from __future__ import annotations

from collections.abc import Iterable

from steward.errors import IntegrityError
from steward.ledger._merkle import append_leaves, frontier_root


class MemoryTree:
    """Complete nodes kept in one list per level, filled by :func:`append_leaves`.

    It stores exactly what a database table of ``(level, index, hash)`` rows would.
    """

    __slots__ = ("_frontier", "_levels", "_size")

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = []
        self._frontier: tuple[bytes, ...] = ()
        self._size = 0
        self.append(leaf_hashes)

    @property
    def size(self) -> int:
        """Number of leaves."""
        return self._size

    def root(self) -> bytes:
        """Root of the whole tree."""
        return frontier_root(self._frontier)

    def append(self, leaf_hashes: Iterable[bytes]) -> int:
        """Append leaves; return how many complete nodes were stored."""
        appended = append_leaves(self._size, self._frontier, leaf_hashes)
        levels = self._levels
        for node in appended.nodes:
            if node.level == len(levels):
                levels.append([])
            stored = levels[node.level]
            if node.index != len(stored):
                raise IntegrityError(f"node ({node.level}, {node.index}) written out of order")
            stored.append(node.hash)
        self._size, self._frontier = appended.size, appended.frontier
        return len(appended.nodes)

    def node(self, level: int, index: int) -> bytes:
        """The stored complete node at ``(level, index)``."""
        try:
            if level < 0 or index < 0:
                raise IndexError
            return self._levels[level][index]
        except IndexError:
            raise IntegrityError(f"tree node ({level}, {index}) is not stored") from None
