"""The ledger's rows: tree nodes, signed checkpoints, signing keys, and the read access log.

Tree nodes are insert-only ``(level, idx, hash)`` rows (see ``steward.ledger._merkle``); proofs
fetch the O(log n) nodes they need in one query. Events are read back as their canonical bytes,
assembled from the stored text: ``before``/``after`` are stored as canonical JSON, so the bytes
verified are exactly the bytes stored (a re-formatted value fails verification).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, TextClause, and_, bindparam, func, insert, or_, select, text, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from steward.domain import LedgerKey, Page, ReadAccess, StoredCheckpoint
from steward.errors import IntegrityError, InvalidInput, Unavailable
from steward.ledger import LedgerEntry, TreeNode
from steward.storage._pages import check_page_size, decode_token, encode_token
from steward.storage._tables import (
    SqlAuditEvent,
    SqlCheckpoint,
    SqlLedgerKey,
    SqlLedgerNode,
    SqlReadAccess,
)

_text = json.encoder.encode_basestring  # json.dumps(ensure_ascii=False) for one string

_CANONICAL_COLUMNS = (
    SqlAuditEvent.seq,
    SqlAuditEvent.time,
    SqlAuditEvent.actor,
    SqlAuditEvent.action,
    SqlAuditEvent.subject_type,
    SqlAuditEvent.subject_id,
    SqlAuditEvent.before,
    SqlAuditEvent.after,
    SqlAuditEvent.reason,
    SqlAuditEvent.request_id,
    SqlAuditEvent.client_address,
    SqlAuditEvent.user_agent,
)
_CHAIN_COLUMNS = (SqlAuditEvent.hash, SqlAuditEvent.prev_hash)
_ENTRY_ROWS = (
    select(*_CANONICAL_COLUMNS, *_CHAIN_COLUMNS)
    .where(SqlAuditEvent.seq > bindparam("after"), SqlAuditEvent.seq <= bindparam("last"))
    .order_by(SqlAuditEvent.seq)
    .limit(bindparam("batch"))
)


_LEAF = and_(SqlLedgerNode.level == 0, SqlLedgerNode.idx == SqlAuditEvent.seq - 1)
_ENTRY_ROWS_WITH_LEAVES = (
    select(*_CANONICAL_COLUMNS, *_CHAIN_COLUMNS, SqlLedgerNode.hash)
    .select_from(SqlAuditEvent)
    .outerjoin(SqlLedgerNode, _LEAF)
    .where(SqlAuditEvent.seq > bindparam("after"))
    .order_by(SqlAuditEvent.seq)
    .limit(bindparam("batch"))
)
_INSERT_NODE = insert(SqlLedgerNode)
_INSERT_CHECKPOINT = insert(SqlCheckpoint)
_TREE_SIZE = select(func.max(SqlLedgerNode.idx)).where(SqlLedgerNode.level == 0)
_CHECKPOINT = select(
    SqlCheckpoint.size, SqlCheckpoint.root, SqlCheckpoint.time, SqlCheckpoint.note, SqlCheckpoint.key_id
)
_ACTIVE_KEY = select(SqlLedgerKey.id).where(
    SqlLedgerKey.vkey == bindparam("vkey"), SqlLedgerKey.retired_at.is_(None)
)


def _canonical_sql(quote: str, number: str) -> TextClause:
    """SELECT of ``seq``, the canonical bytes as text (built in SQL, keys in code point order),
    ``hash``, ``prev_hash`` and the tree's leaf: the same assembly as :func:`event_bytes`."""
    parts: list[str] = []
    for name in sorted(c.key for c in _CANONICAL_COLUMNS):
        if name in ("before", "after"):
            value = f"coalesce(e.{name}, 'null')"
        elif name == "seq":
            value = number
        else:
            value = quote.format(f"e.{name}")
        parts.append(f"'{'{' if not parts else ','}\"{name}\":' || {value}")
    data = " || ".join(parts) + " || '}'"
    return text(
        f"SELECT e.seq, {data}, e.hash, e.prev_hash, n.hash FROM audit_events e "
        "LEFT JOIN ledger_nodes n ON n.level = 0 AND n.idx = e.seq - 1 "
        "WHERE e.seq > :after ORDER BY e.seq LIMIT :batch"
    )


_CANONICAL_SQL = {
    "sqlite": _canonical_sql("json_quote({})", "e.seq"),
    "postgresql": _canonical_sql("to_json({})::text", "e.seq::text"),
}


_NODES_PG = text(
    "SELECT n.level, n.idx, n.hash FROM ledger_nodes n JOIN unnest(CAST(:l AS smallint[]), "
    "CAST(:i AS bigint[])) AS w(level, idx) ON n.level = w.level AND n.idx = w.idx"
)


@functools.cache
def _nodes_query(count: int) -> TextClause:
    """Nodes by ``(level, idx)``: an OR of primary-key lookups, which SQLite and PostgreSQL both
    answer from the index (a row-value ``IN`` scans the table on SQLite)."""
    terms = " OR ".join(f"(level = :l{n} AND idx = :i{n})" for n in range(count))
    return text(f"SELECT level, idx, hash FROM ledger_nodes WHERE {terms}")


def event_bytes(
    seq: int,
    time: str,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    before: str | None,
    after: str | None,
    reason: str,
    request_id: str,
    client_address: str,
    user_agent: str,
) -> bytes:
    """Canonical bytes of a stored event (``steward.ledger.canonical_bytes`` of its document).

    Keys in code point order; ``before``/``after`` are embedded as stored (canonical JSON text).
    """
    return (
        '{"action":'
        + _text(action)
        + ',"actor":'
        + _text(actor)
        + ',"after":'
        + ("null" if after is None else after)
        + ',"before":'
        + ("null" if before is None else before)
        + ',"client_address":'
        + _text(client_address)
        + ',"reason":'
        + _text(reason)
        + ',"request_id":'
        + _text(request_id)
        + ',"seq":'
        + str(int(seq))
        + ',"subject_id":'
        + _text(subject_id)
        + ',"subject_type":'
        + _text(subject_type)
        + ',"time":'
        + _text(time)
        + ',"user_agent":'
        + _text(user_agent)
        + "}"
    ).encode("utf-8")


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """One stored event as the ledger sees it: position, canonical bytes, chain hashes."""

    seq: int
    data: bytes
    hash: str
    prev_hash: str
    action: str = ""
    after: str | None = None


@dataclass(frozen=True, slots=True)
class ReadAccessFilter:
    principal: str | None = None
    subject_type: str | None = None
    subject_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class NodeMap(dict[tuple[int, int], bytes]):
    """Fetched tree nodes as a :class:`steward.ledger.NodeReader`."""

    def node(self, level: int, index: int) -> bytes:
        try:
            return self[level, index]
        except KeyError:
            raise IntegrityError(
                f"tree node ({level}, {index}) is not stored: the ledger's tree is incomplete",
                {"level": level, "index": index},
            ) from None


class LedgerRows:
    """The ledger's operations inside one transaction (``SqlTransaction.ledger``)."""

    def __init__(self, session: Session) -> None:
        self.s = session

    # -- tree --------------------------------------------------------------------------------

    def tree_size(self) -> int:
        """Leaves stored: one more than the largest level-0 index (an index lookup)."""
        last = self.s.connection().execute(_TREE_SIZE).scalar()
        return 0 if last is None else int(last) + 1

    def nodes(self, coordinates: Iterable[tuple[int, int]]) -> NodeMap:
        """The stored nodes at ``coordinates``, in one query: primary-key lookups joined to the
        wanted pairs on PostgreSQL, an OR of them on SQLite (per 200)."""
        wanted = list(dict.fromkeys(coordinates))
        found = NodeMap()
        if wanted and self.s.get_bind().dialect.name == "postgresql":
            levels, indexes = [level for level, _ in wanted], [idx for _, idx in wanted]
            for level, idx, digest in self.s.connection().execute(_NODES_PG, {"l": levels, "i": indexes}):
                found[int(level), int(idx)] = bytes(digest)
            return found
        for start in range(0, len(wanted), 200):
            chunk = wanted[start : start + 200]
            params = {
                f"{kind}{n}": value
                for n, pair in enumerate(chunk)
                for kind, value in zip("li", pair, strict=True)
            }
            rows = self.s.connection().execute(_nodes_query(len(chunk)), params)
            for level, idx, digest in rows:
                found[int(level), int(idx)] = bytes(digest)
        return found

    def insert_nodes(self, nodes: Sequence[TreeNode]) -> None:
        if nodes:
            self.s.connection().execute(
                _INSERT_NODE, [{"level": n.level, "idx": n.index, "hash": n.hash} for n in nodes]
            )

    # -- events as the ledger reads them -----------------------------------------------------

    def entries(
        self, first_seq: int = 1, last_seq: int | None = None, batch: int = 10_000
    ) -> Iterator[StoredEntry]:
        """Stored events from ``first_seq`` (to ``last_seq``) in ``seq`` order, in batches."""
        for rows in self._entry_rows(first_seq, last_seq, batch):
            for row in rows:
                yield _entry(row)

    def ledger_entries(
        self, batch: int = 10_000, *, fast: bool = False
    ) -> Iterator[tuple[LedgerEntry, bytes | None]]:
        """Every stored event as :func:`steward.ledger.verify_ledger` reads it, in ``seq`` order,
        with the tree's stored leaf hash for it (``None`` when the tree has no such leaf).

        With ``fast``, the database concatenates each event's canonical bytes itself (SQLite's
        ``json_quote``, PostgreSQL's ``to_json`` escape strings as the canonical encoding does) and
        sends one column instead of fourteen: about three times faster. A mismatch on that path
        must be confirmed on the plain one (``verify_stored`` does), since it trusts the database's
        string escaping.
        """
        dialect = self.s.get_bind().dialect.name
        if fast and dialect in _CANONICAL_SQL:
            conn, after, statement = self.s.connection(), 0, _CANONICAL_SQL[dialect]
            while True:
                rows = conn.execute(statement, {"after": after, "batch": batch}).all()
                for seq, data, digest, prev, leaf in rows:
                    yield LedgerEntry(seq, data.encode("utf-8"), digest, prev), _bytes(leaf)
                if len(rows) < batch:
                    return
                after = int(rows[-1][0])
            return
        conn, after = self.s.connection(), 0
        while True:
            plain = conn.execute(_ENTRY_ROWS_WITH_LEAVES, {"after": after, "batch": batch}).all()
            for row in plain:
                yield _with_leaf(row)
            if len(plain) < batch:
                return
            after = int(plain[-1][0])

    def _entry_rows(self, first_seq: int, last_seq: int | None, batch: int) -> Iterator[Sequence[Any]]:
        """Raw rows (canonical columns, then hash and prev_hash) in ``seq`` order, a batch at a time
        (plain statements on the connection: no ORM on the verification path)."""
        conn = self.s.connection()
        after, last = first_seq - 1, (2**63 - 1 if last_seq is None else last_seq)
        while True:
            rows = conn.execute(_ENTRY_ROWS, {"after": after, "last": last, "batch": batch}).all()
            yield rows
            if len(rows) < batch:
                return
            after = int(rows[-1][0])

    def entries_about(self, subjects: Iterable[tuple[str, str]]) -> list[StoredEntry]:
        """Every stored event whose subject is one of ``subjects``, in ``seq`` order."""
        wanted = list(dict.fromkeys(subjects))
        found: list[StoredEntry] = []
        for start in range(0, len(wanted), 200):
            chunk = wanted[start : start + 200]
            rows = self.s.execute(
                select(*_CANONICAL_COLUMNS, *_CHAIN_COLUMNS).where(
                    or_(
                        *(
                            and_(SqlAuditEvent.subject_type == kind, SqlAuditEvent.subject_id == ident)
                            for kind, ident in chunk
                        )
                    )
                )
            ).all()
            found += [_entry(r) for r in rows]
        return sorted(found, key=lambda e: e.seq)

    def entries_with_action(self, action: str) -> list[StoredEntry]:
        rows = self.s.execute(
            select(*_CANONICAL_COLUMNS, *_CHAIN_COLUMNS)
            .where(SqlAuditEvent.action == action)
            .order_by(SqlAuditEvent.seq)
        ).all()
        return [_entry(r) for r in rows]

    # -- checkpoints -------------------------------------------------------------------------

    def insert_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        self.s.connection().execute(
            _INSERT_CHECKPOINT,
            {
                "size": checkpoint.size,
                "root": checkpoint.root.hex(),
                "time": checkpoint.time,
                "note": checkpoint.note,
                "key_id": checkpoint.key_id,
            },
        )

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        return self._one_checkpoint(_CHECKPOINT.order_by(SqlCheckpoint.size.desc()).limit(1))

    def checkpoint(self, size: int) -> StoredCheckpoint | None:
        return self._one_checkpoint(_CHECKPOINT.where(SqlCheckpoint.size == size))

    def _one_checkpoint(self, statement: Any) -> StoredCheckpoint | None:
        row = self.s.connection().execute(statement).first()
        return (
            None
            if row is None
            else StoredCheckpoint(int(row[0]), bytes.fromhex(row[1]), row[2], row[3], row[4])
        )

    def checkpoints(self, batch: int = 5000) -> Iterator[StoredCheckpoint]:
        """Every kept checkpoint, smallest first, in batches."""
        after = -1
        conn = self.s.connection()
        while True:
            rows = conn.execute(
                _CHECKPOINT.where(SqlCheckpoint.size > after).order_by(SqlCheckpoint.size).limit(batch)
            ).all()
            for size, root, time, note, key_id in rows:
                yield StoredCheckpoint(int(size), bytes.fromhex(root), time, note, key_id)
            if len(rows) < batch:
                return
            after = int(rows[-1][0])

    def count_checkpoints(self) -> int:
        return int(self.s.scalar(select(func.count()).select_from(SqlCheckpoint)) or 0)

    # -- signing keys ------------------------------------------------------------------------

    def keys(self) -> list[LedgerKey]:
        """Every registered key, oldest first."""
        rows = self.s.scalars(select(SqlLedgerKey).order_by(SqlLedgerKey.valid_from, SqlLedgerKey.id))
        return [LedgerKey(r.key_id, r.name, r.vkey, r.valid_from, r.retired_at) for r in rows]

    def is_active_key(self, vkey: str) -> bool:
        """Whether ``vkey`` is registered and not retired (one unique-index lookup)."""
        return self.s.connection().execute(_ACTIVE_KEY, {"vkey": vkey}).first() is not None

    def insert_key(self, key: LedgerKey) -> None:
        self.s.execute(
            insert(SqlLedgerKey).values(
                name=key.name,
                key_id=key.key_id,
                vkey=key.vkey,
                valid_from=key.valid_from,
                retired_at=key.retired_at,
            )
        )

    def retire_keys(self, at: datetime) -> None:
        """Retire every active key (they stay published)."""
        self.s.execute(
            update(SqlLedgerKey)
            .where(SqlLedgerKey.retired_at.is_(None))
            .values(retired_at=at)
            .execution_options(synchronize_session=False)
        )

    # -- read access log ---------------------------------------------------------------------

    def list_reads(self, where: ReadAccessFilter, page_size: int, token: str | None) -> Page[ReadAccess]:
        """Reads, newest first, filtered."""
        check_page_size(page_size)
        position = decode_token(token, "id")
        conditions: list[Any] = []
        if where.principal:
            conditions.append(SqlReadAccess.principal == where.principal)
        if where.subject_type:
            conditions.append(SqlReadAccess.subject_type == where.subject_type)
        if where.subject_id:
            conditions.append(SqlReadAccess.subject_id == where.subject_id)
        if where.since:
            conditions.append(SqlReadAccess.time >= where.since)
        if where.until:
            conditions.append(SqlReadAccess.time < where.until)
        if position:
            if not isinstance(position["id"], int):
                raise InvalidInput.field("page_token", "page_token", "is not a token this server issued")
            conditions.append(SqlReadAccess.id < position["id"])
        rows = self.s.scalars(
            select(SqlReadAccess)
            .where(and_(True, *conditions))
            .order_by(SqlReadAccess.id.desc())
            .limit(page_size + 1)
        ).all()
        next_token = encode_token({"id": rows[page_size - 1].id}) if len(rows) > page_size else None
        return Page(tuple(_read(r) for r in rows[:page_size]), next_token)


def append_reads(engine: Engine, reads: Sequence[dict[str, Any]]) -> None:
    """Insert read records in one short transaction, outside the ledger head's lock."""
    if not reads:
        return
    try:
        with engine.connect() as raw:
            conn = raw.execution_options(steward_write=True)
            with conn.begin():
                conn.execute(insert(SqlReadAccess), list(reads))
    except OperationalError as exc:
        raise Unavailable(f"the database cannot be reached or is busy: {exc.orig}") from exc
    except DBAPIError as exc:
        raise Unavailable(f"the database refused the operation: {exc.orig}") from exc


def _with_leaf(row: Any) -> tuple[LedgerEntry, bytes | None]:
    return LedgerEntry(row[0], event_bytes(*row[:12]), row[12], row[13]), _bytes(row[14])


def _bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


def _entry(row: Any) -> StoredEntry:
    """A row of ``_CANONICAL_COLUMNS`` then ``_CHAIN_COLUMNS`` as the ledger sees it."""
    return StoredEntry(int(row[0]), event_bytes(*row[:12]), row[12], row[13], row[3], row[7])


def _checkpoint(row: SqlCheckpoint) -> StoredCheckpoint:
    return StoredCheckpoint(row.size, bytes.fromhex(row.root), row.time, row.note, row.key_id)


def _read(row: SqlReadAccess) -> ReadAccess:
    return ReadAccess(
        id=row.id,
        time=row.time,
        principal=row.principal,
        action=row.action,
        subject_type=row.subject_type,
        subject_id=row.subject_id,
        path=row.path,
        request_id=row.request_id,
        client_address=row.client_address,
        user_agent=row.user_agent,
    )


__all__ = [
    "LedgerRows",
    "NodeMap",
    "ReadAccessFilter",
    "StoredEntry",
    "append_reads",
    "event_bytes",
]
