"""The rows that seal a write batch, kept until the transaction next reads them or ends.

A write batch ends with four writes whose answers nobody reads: its audit events, the ledger head
moved to the last of them, the Merkle tree's new nodes, and the signed checkpoint of the new tree.
On PostgreSQL each statement is a round trip to the server, and a one-event write over REST made
about ten. :class:`SealRows` keeps them and writes them when the transaction next reads the ledger
or its events, or commits. On PostgreSQL they go as one statement of data-modifying ``WITH``
queries; PostgreSQL runs each of them once, to completion, in the transaction. None of them reads
another's rows, so the order they run in does not matter. SQLite, whose statements are calls into
the library, runs them one after another.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Dialect, bindparam, insert, update
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from steward.domain import StoredCheckpoint
from steward.errors import IntegrityError
from steward.ledger import TreeNode
from steward.storage._bulk import insert_rows, json_insert_statement, json_rows
from steward.storage._tables import SqlAuditEvent, SqlCheckpoint, SqlLedgerHead, SqlLedgerNode

_MOVE_HEAD = (
    update(SqlLedgerHead)
    .where(SqlLedgerHead.id == 1)
    .values(size=bindparam("size"), head_hash=bindparam("head_hash"))
)
_INSERT_CHECKPOINT = insert(SqlCheckpoint)
_EVENTS = SqlAuditEvent.__tablename__
_NODES = SqlLedgerNode.__tablename__
_CHECKPOINTS = SqlCheckpoint.__tablename__
_HEAD = SqlLedgerHead.__tablename__


@dataclass
class SealRows:
    """Events, the head, tree nodes and checkpoints of one transaction, not written yet."""

    events: list[dict[str, Any]] = field(default_factory=list)
    head: tuple[int, str] | None = None
    nodes: list[TreeNode] = field(default_factory=list)
    checkpoints: list[StoredCheckpoint] = field(default_factory=list)

    def write(self, conn: Connection) -> None:
        """Write every row kept, and keep none. A node already stored (the tree is ahead of the
        events it was extended from) is Steward's ``IntegrityError``."""
        if not (self.events or self.head or self.nodes or self.checkpoints):
            return
        kept = SealRows(self.events, self.head, self.nodes, self.checkpoints)
        self.events, self.head, self.nodes, self.checkpoints = [], None, [], []
        try:
            if conn.dialect.name == "postgresql":
                _write_together(conn, kept)
            else:
                _write_each(conn, kept)
        except SqlIntegrityError as exc:
            ahead = _ahead(str(exc.orig), kept.nodes, kept.checkpoints)
            if ahead is None:
                raise
            raise ahead from None


_LOCATE = "run `steward audit verify` to find the first event that no longer matches"


def _ahead(error: str, nodes: list[TreeNode], checkpoints: list[StoredCheckpoint]) -> IntegrityError | None:
    """The clash of a node or checkpoint already stored as Steward's ``IntegrityError``: the tree
    is ahead of the events it was extended from (one statement reports whichever clash it meets
    first)."""
    if nodes and _NODES in error:
        first = nodes[0]
        return IntegrityError(
            f"the ledger's tree holds nodes this write would add (from ({first.level}, {first.index})): "
            f"its events or head were changed outside Steward; {_LOCATE}",
            {"level": first.level, "index": first.index},
        )
    if checkpoints and _CHECKPOINTS in error:
        size = checkpoints[0].size
        return IntegrityError(
            f"the ledger's tree holds a checkpoint of size {size}, which this write would add: its "
            f"events or head were changed outside Steward; {_LOCATE}",
            {"checkpoint_size": size},
        )
    return None


def _write_each(conn: Connection, kept: SealRows) -> None:
    insert_rows(conn, _EVENTS, kept.events)
    if kept.head is not None:
        conn.execute(_MOVE_HEAD, {"size": kept.head[0], "head_hash": kept.head[1]})
    nodes = [{"level": n.level, "idx": n.index, "hash": n.hash} for n in kept.nodes]
    insert_rows(conn, _NODES, nodes)
    for checkpoint in kept.checkpoints:
        conn.execute(_INSERT_CHECKPOINT, _checkpoint_row(checkpoint))


def _write_together(conn: Connection, kept: SealRows) -> None:
    """One statement: each write a ``WITH`` query but the last, which is the statement's own."""
    dialect = conn.dialect
    parts: list[str] = []
    values: list[Any] = []
    checkpoints = [_checkpoint_row(checkpoint) for checkpoint in kept.checkpoints]
    for table, rows in ((_EVENTS, kept.events), (_CHECKPOINTS, checkpoints)):
        if rows:
            names = tuple(rows[0])
            parts.append(json_insert_statement(dialect, table, names))
            values.append(json_rows(rows, names))
    if kept.head is not None:
        parts.append(_statements(dialect)["head"])
        values.extend(kept.head)
    if kept.nodes:
        nodes = kept.nodes
        parts.append(_statements(dialect)["nodes"])
        values.extend(([n.level for n in nodes], [n.index for n in nodes], [n.hash for n in nodes]))
    *first, last = parts
    queries = ", ".join(f"seal_{i} AS ({part})" for i, part in enumerate(first))
    conn.exec_driver_sql(f"WITH {queries} {last}" if first else last, tuple(values))


@functools.cache
def _statements(dialect: Dialect) -> dict[str, str]:
    """PostgreSQL's statements for the head and for the nodes (an array of each column: JSON
    carries no bytes); events and checkpoints go as JSON rows (``_bulk.json_insert_statement``)."""
    quote = dialect.identifier_preparer.quote
    head, nodes = quote(_HEAD), quote(_NODES)
    size, head_hash, level, idx, digest = (quote(c) for c in ("size", "head_hash", "level", "idx", "hash"))
    return {
        "head": f"UPDATE {head} SET {size} = %s, {head_hash} = %s WHERE id = 1",
        "nodes": f"INSERT INTO {nodes} ({level}, {idx}, {digest}) "
        "SELECT * FROM unnest(%s::smallint[], %s::bigint[], %s::bytea[])",
    }


def _checkpoint_row(checkpoint: StoredCheckpoint) -> dict[str, Any]:
    return {
        "size": checkpoint.size,
        "root": checkpoint.root.hex(),
        "time": checkpoint.time,
        "note": checkpoint.note,
        "key_id": checkpoint.key_id,
    }
