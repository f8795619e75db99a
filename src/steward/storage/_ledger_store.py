"""The ledger's rows: tree nodes, signed checkpoints, signing keys, and the read access log.

Tree nodes are insert-only ``(level, idx, hash)`` rows (see ``steward.ledger._merkle``); proofs
fetch the O(log n) nodes they need in one query. Events are read back as their canonical bytes,
assembled from the stored text: ``before``/``after`` are stored as canonical JSON, so the bytes
verified are exactly the bytes stored (a re-formatted value fails verification).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    TextClause,
    TextualSelect,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from steward._read_ahead import ReadAhead
from steward.domain import LedgerKey, Page, ReadAccess, StoredCheckpoint
from steward.errors import IntegrityError, InvalidInput, Unavailable
from steward.ledger import HASH_SIZE, EntryBatch, TreeNode
from steward.storage._bulk import chunks, insert_json_rows
from steward.storage._pages import check_page_size, decode_token, encode_token
from steward.storage._seal import SealRows
from steward.storage._streams import PairedStream, in_turn, snapshot_peers
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

_TREE_SIZE = select(func.max(SqlLedgerNode.idx)).where(SqlLedgerNode.level == 0)
_CHECKPOINT = select(
    SqlCheckpoint.size, SqlCheckpoint.root, SqlCheckpoint.time, SqlCheckpoint.note, SqlCheckpoint.key_id
)
_ACTIVE_KEY = select(SqlLedgerKey.id).where(
    SqlLedgerKey.vkey == bindparam("vkey"), SqlLedgerKey.retired_at.is_(None)
)


def _canonical_expression(quote: str, number: str, tail: str | None = None) -> str:
    """An event's canonical bytes (as text) built in SQL from the row ``e``, keys in code point
    order: the same assembly as :func:`event_bytes`.

    ``before``/``after`` are spliced in as stored. With ``tail`` (SQLite's ``json_object``), the
    keys after them are rendered by one call of it, its opening brace dropped: fewer function calls
    and concatenations than a ``quote`` per key, the same escaping."""
    names = sorted(c.key for c in _CANONICAL_COLUMNS)
    last_raw = max(names.index("before"), names.index("after"))
    rest = names[last_raw + 1 :] if tail is not None else []
    parts: list[str] = []
    for name in names[: len(names) - len(rest)]:
        if name in ("before", "after"):
            value = f"coalesce(e.{name}, 'null')"
        elif name == "seq":
            value = number
        else:
            value = quote.format(f"e.{name}")
        parts.append(f"'{'{' if not parts else ','}\"{name}\":' || {value}")
    if tail is not None and rest:
        pairs = ", ".join(f"'{name}', e.{name}" for name in rest)
        parts.append(f"',' || substr({tail}({pairs}), 2)")
    else:
        parts.append("'}'")
    return " || ".join(parts)


_RUN_EVENTS = (
    "(SELECT count(*) AS events, min(s) AS low, max(s) AS high, {seqs} AS seqs, {data} AS data, "
    "{hashes} AS hashes, {links} AS links FROM (SELECT e.seq AS s, {bytes} AS d, e.hash AS h, "
    "e.prev_hash AS p FROM audit_events e WHERE e.seq BETWEEN {param} AND {param} ORDER BY e.seq) r) "
    "run_events"
)
_RUN_LEAVES = (
    "(SELECT count(*) AS leaves, min(length(hash)) AS shortest, max(length(hash)) AS longest, "
    "{leaves} AS stored FROM (SELECT hash FROM ledger_nodes WHERE level = 0 AND idx BETWEEN {param} "
    "AND {param} ORDER BY idx) n) run_leaves"
)
_RUN_COLUMNS = "events, low, high, seqs, data, hashes, links, leaves, shortest, longest, stored"
# One row per run, from one statement (one trip through the driver): its count, first and last
# seq, the seqs as read, each column of the run joined by newlines (canonical JSON holds none),
# each event's bytes behind a 0x00; then the tree's leaves at those positions, joined.
_RUN_SQL = {
    "sqlite": f"SELECT {_RUN_COLUMNS} FROM "
    + _RUN_EVENTS.format(
        seqs="group_concat(s)",
        data="CAST(group_concat(d, char(10)) AS BLOB)",
        hashes="group_concat(h, char(10))",
        links="group_concat(p, char(10))",
        bytes=f"CAST(X'00' || {_canonical_expression('json_quote({})', 'e.seq', 'json_object')} AS BLOB)",
        param="?",
    )
    + ", "
    + _RUN_LEAVES.format(leaves="CAST(group_concat(hash, '') AS BLOB)", param="?"),
    "postgresql": f"SELECT {_RUN_COLUMNS} FROM "
    + _RUN_EVENTS.format(
        seqs="string_agg(s::text, ',')",
        data="string_agg(d, '\\x0a'::bytea)",
        hashes="string_agg(h, E'\\n')",
        links="string_agg(p, E'\\n')",
        bytes="'\\x00'::bytea || convert_to("
        + _canonical_expression("to_json({})::text", "e.seq::text")
        + ", 'UTF8')",
        param="%s",
    )
    + ", "
    + _RUN_LEAVES.format(leaves="string_agg(hash, ''::bytea)", param="%s"),
}
RUN_WIDTH = 8192
"""Events per run of :meth:`LedgerRows.verification_batches` by default: a power of two, a few MB."""
_SEQ_SPAN = "SELECT count(*), min(seq), max(seq) FROM audit_events"
_PLAIN_SQL = (
    "SELECT "
    + ", ".join('"' + c.key + '"' for c in (*_CANONICAL_COLUMNS, *_CHAIN_COLUMNS))
    + " FROM audit_events ORDER BY seq"
)
_LEAVES_SQL = "SELECT idx, hash FROM ledger_nodes WHERE level = 0 ORDER BY idx"


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


def _latest_with_path_sql(levels: str, xor_one: str) -> TextualSelect:
    """The latest checkpoint and, on each of its rows, one stored node a proof of leaf ``:i`` in
    its tree may read: the leaf, its siblings on every level, the tree's frontier (a superset of
    ``inclusion_proof_nodes``, found by the database from the checkpoint's size)."""
    return text(
        f"WITH RECURSIVE {levels}, "
        "cp AS (SELECT size, root, time, note, key_id FROM ledger_checkpoints "
        "ORDER BY size DESC LIMIT 1), "
        f"want(level, idx) AS (SELECT lv.l, {xor_one.format('(:i >> lv.l)')} FROM cp, lv "
        "WHERE (cp.size >> lv.l) > 0 "
        "UNION SELECT lv.l, (cp.size >> lv.l) - 1 FROM cp, lv WHERE ((cp.size >> lv.l) & 1) = 1 "
        "UNION SELECT 0, :i) "
        "SELECT cp.size, cp.root, cp.time, cp.note, cp.key_id, n.level, n.idx, n.hash FROM cp "
        "LEFT JOIN (want JOIN ledger_nodes n ON n.level = want.level AND n.idx = want.idx) ON 1 = 1"
    ).columns(
        SqlCheckpoint.size,
        SqlCheckpoint.root,
        SqlCheckpoint.time,
        SqlCheckpoint.note,
        SqlCheckpoint.key_id,
        SqlLedgerNode.level,
        SqlLedgerNode.idx,
        SqlLedgerNode.hash,
    )


_LATEST_WITH_PATH = {
    "postgresql": _latest_with_path_sql("lv(l) AS (SELECT generate_series(0, 62))", "({} # 1)").bindparams(
        bindparam("i", type_=BigInteger)
    ),
    "sqlite": _latest_with_path_sql(
        "lv(l) AS (SELECT 0 UNION ALL SELECT l + 1 FROM lv WHERE l < 62)", "(({0} | 1) - ({0} & 1))"
    ),
}
"""One statement (one round trip) for the usual inclusion proof, by dialect."""


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

    def __init__(self, session: Session, seal: SealRows) -> None:
        self.s = session
        self._seal = seal

    def _session(self) -> Session:
        """The transaction, once the rows its seal keeps are written: every statement here sees
        the events, nodes and checkpoints of the transaction so far."""
        self._seal.write(self.s.connection())
        return self.s

    def _conn(self) -> Connection:
        return self._session().connection()

    # -- tree --------------------------------------------------------------------------------

    def tree_size(self) -> int:
        """Leaves stored: one more than the largest level-0 index (an index lookup)."""
        last = self._conn().execute(_TREE_SIZE).scalar()
        return 0 if last is None else int(last) + 1

    def nodes(self, coordinates: Iterable[tuple[int, int]]) -> NodeMap:
        """The stored nodes at ``coordinates``, in one query: primary-key lookups joined to the
        wanted pairs on PostgreSQL, an OR of them on SQLite (per 200)."""
        wanted = list(dict.fromkeys(coordinates))
        found = NodeMap()
        if wanted and self.s.get_bind().dialect.name == "postgresql":
            levels, indexes = [level for level, _ in wanted], [idx for _, idx in wanted]
            for level, idx, digest in self._conn().execute(_NODES_PG, {"l": levels, "i": indexes}):
                found[int(level), int(idx)] = bytes(digest)
            return found
        for chunk in chunks(wanted, 200):  # two parameters a node
            params = {
                f"{kind}{n}": value
                for n, pair in enumerate(chunk)
                for kind, value in zip("li", pair, strict=True)
            }
            rows = self._conn().execute(_nodes_query(len(chunk)), params)
            for level, idx, digest in rows:
                found[int(level), int(idx)] = bytes(digest)
        return found

    def insert_nodes(self, nodes: Sequence[TreeNode]) -> None:
        """Store new tree nodes, with the transaction's seal (``steward.storage._seal``); one
        stored already (the tree is ahead of the events it was extended from: the log was changed
        outside Steward) fails it with ``IntegrityError``."""
        self._seal.nodes.extend(nodes)

    # -- events as the ledger reads them -----------------------------------------------------

    def entries(
        self, first_seq: int = 1, last_seq: int | None = None, batch: int = 10_000
    ) -> Iterator[StoredEntry]:
        """Stored events from ``first_seq`` (to ``last_seq``) in ``seq`` order, in batches."""
        for rows in self._entry_rows(first_seq, last_seq, batch):
            for row in rows:
                yield _entry(row)

    @contextmanager
    def verification_rows(
        self,
        *,
        batch: int = 10_000,
        progress: Callable[[int], None] | None = None,
    ) -> Iterator[tuple[Iterator[tuple[int, bytes, str, str]], Iterator[tuple[int, bytes]]]]:
        """Every stored event as :func:`steward.ledger.verify_ledger` reads it, ``(seq,
        canonical bytes, hash, prev_hash)`` in ``seq`` order, and the tree's leaves ``(index,
        hash)`` in index order, to be read in step (its ``leaves``). Streamed from the driver's
        cursors (see ``steward.storage._streams``); ``progress`` is told the count of events read.

        The canonical bytes are assembled here by :func:`event_bytes` from the stored columns: this
        is the read that names a mismatch :meth:`verification_batches` found.
        """
        dialect = self.s.get_bind().dialect
        driver = self._conn().connection.driver_connection
        try:
            with PairedStream(
                driver,
                _PLAIN_SQL,
                _LEAVES_SQL,
                server_side=dialect.name == "postgresql",
                batch=batch,
                progress=progress,
            ) as stream:
                rows = ((r[0], event_bytes(*r[:12]), r[12], r[13]) for r in stream.main())
                yield rows, stream.side()
        except dialect.loaded_dbapi.Error as exc:
            raise Unavailable(f"the database cannot be read: {exc}") from exc

    @contextmanager
    def verification_batches(
        self,
        *,
        width: int = RUN_WIDTH,
        readers: int = 2,
        progress: Callable[[int], None] | None = None,
    ) -> Iterator[Iterator[EntryBatch]]:
        """Every stored event, and the tree's leaf at its position, in runs of ``width`` from seq 1,
        as :func:`steward.ledger.verify_batches` reads them; ``progress`` is told the count of events
        handed out after each run.

        The database builds a whole run in one statement: each event's canonical bytes (SQLite's
        ``json_quote``/``json_object``, PostgreSQL's ``to_json``: they escape strings as the
        canonical encoding does) and each column joined into one value. Threads of their own run
        the next runs' statements while the caller hashes this one (see
        ``steward.storage._streams``); on PostgreSQL in a snapshot transaction
        (``SqlStore.read(snapshot=True)``), ``readers`` connections share the runs, all reading
        that snapshot: building a run is PostgreSQL's work, and one connection is one server
        process, one core.
        This read trusts the database's string escaping, so a mismatch it finds is to be named from
        :meth:`verification_rows`.

        Runs that did not come back whole (a seq missing, repeated or out of order; a leaf missing
        or not 32 bytes) are handed out so that they fail: their ``positions`` are empty, their
        ``leaves`` empty.
        """
        conn = self._conn()
        dialect = conn.dialect
        sql = _RUN_SQL[dialect.name]

        def runs(cursor: Any, starts: range) -> Iterator[EntryBatch]:
            for start in starts:
                end = start + width - 1
                yield _run(cursor.execute(sql, (start, end, start - 1, end - 1)).fetchone())

        with ExitStack() as stack:
            try:
                drivers: list[Any] = [conn.connection.driver_connection]
                count, low, high = conn.exec_driver_sql(_SEQ_SPAN).one()
                if count and (low != 1 or high != count):  # a gap, or seqs below 1: not runs from 1
                    yield iter([EntryBatch(range(0), [b""], [""], [""], b"")])
                    return
                starts = range(1, (high or 0) + 1, width)
                drivers += stack.enter_context(snapshot_peers(conn, min(readers, len(starts)) - 1))
                binary = {"binary": True} if dialect.name == "postgresql" else {}
                shares = []
                for share, driver in enumerate(drivers):
                    cursor = stack.enter_context(closing(driver.cursor(**binary)))
                    reader = ReadAhead(
                        runs(cursor, starts[share :: len(drivers)]), depth=2, name="steward-ledger-runs"
                    )
                    stack.callback(reader.close)  # before its cursor closes
                    shares.append(reader)
                yield _told(in_turn(shares), progress)
            except (SQLAlchemyError, dialect.loaded_dbapi.Error) as exc:  # a peer not had from the pool too
                raise Unavailable(f"the database cannot be read: {exc}") from exc

    def _entry_rows(self, first_seq: int, last_seq: int | None, batch: int) -> Iterator[Sequence[Any]]:
        """Raw rows (canonical columns, then hash and prev_hash) in ``seq`` order, a batch at a time
        (plain statements on the connection: no ORM on the verification path)."""
        conn = self._conn()
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
            rows = (
                self._session()
                .execute(
                    select(*_CANONICAL_COLUMNS, *_CHAIN_COLUMNS).where(
                        or_(
                            *(
                                and_(SqlAuditEvent.subject_type == kind, SqlAuditEvent.subject_id == ident)
                                for kind, ident in chunk
                            )
                        )
                    )
                )
                .all()
            )
            found += [_entry(r) for r in rows]
        return sorted(found, key=lambda e: e.seq)

    def entries_with_action(self, action: str) -> list[StoredEntry]:
        rows = (
            self._session()
            .execute(
                select(*_CANONICAL_COLUMNS, *_CHAIN_COLUMNS)
                .where(SqlAuditEvent.action == action)
                .order_by(SqlAuditEvent.seq)
            )
            .all()
        )
        return [_entry(r) for r in rows]

    # -- checkpoints -------------------------------------------------------------------------

    def insert_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        """Keep a signed checkpoint, with the transaction's seal (``steward.storage._seal``)."""
        self._seal.checkpoints.append(checkpoint)

    def latest_with_path(self, index: int) -> tuple[StoredCheckpoint, NodeMap] | None:
        """The latest checkpoint and every stored node an inclusion proof of leaf ``index`` in
        its tree reads, in one statement; ``None`` when no checkpoint is kept."""
        if not 0 <= index < 2**62:
            raise InvalidInput.field("index", "range", f"leaf {index} is not in any tree")
        statement = _LATEST_WITH_PATH[self.s.get_bind().dialect.name]
        rows = self._conn().execute(statement, {"i": index}).all()
        if not rows:
            return None
        size, root, time, note, key_id = rows[0][:5]
        found = NodeMap()
        for *_, level, idx, digest in rows:
            if level is not None:
                found[int(level), int(idx)] = bytes(digest)
        return StoredCheckpoint(int(size), bytes.fromhex(root), time, note, key_id), found

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        return self._one_checkpoint(_CHECKPOINT.order_by(SqlCheckpoint.size.desc()).limit(1))

    def checkpoint(self, size: int) -> StoredCheckpoint | None:
        return self._one_checkpoint(_CHECKPOINT.where(SqlCheckpoint.size == size))

    def _one_checkpoint(self, statement: Any) -> StoredCheckpoint | None:
        row = self._conn().execute(statement).first()
        return (
            None
            if row is None
            else StoredCheckpoint(int(row[0]), bytes.fromhex(row[1]), row[2], row[3], row[4])
        )

    def checkpoints(self, batch: int = 5000) -> Iterator[StoredCheckpoint]:
        """Every kept checkpoint, smallest first, in batches."""
        after = -1
        conn = self._conn()
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
        return int(self._session().scalar(select(func.count()).select_from(SqlCheckpoint)) or 0)

    # -- signing keys ------------------------------------------------------------------------

    def keys(self) -> list[LedgerKey]:
        """Every registered key, oldest first."""
        rows = self._session().scalars(
            select(SqlLedgerKey).order_by(SqlLedgerKey.valid_from, SqlLedgerKey.id)
        )
        return [LedgerKey(r.key_id, r.name, r.vkey, r.valid_from, r.retired_at) for r in rows]

    def is_active_key(self, vkey: str) -> bool:
        """Whether ``vkey`` is registered and not retired (one unique-index lookup)."""
        return self._conn().execute(_ACTIVE_KEY, {"vkey": vkey}).first() is not None

    def insert_key(self, key: LedgerKey) -> None:
        self._session().execute(
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
        self._session().execute(
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
        rows = (
            self._session()
            .scalars(
                select(SqlReadAccess)
                .where(and_(True, *conditions))
                .order_by(SqlReadAccess.id.desc())
                .limit(page_size + 1)
            )
            .all()
        )
        next_token = encode_token({"id": rows[page_size - 1].id}) if len(rows) > page_size else None
        return Page(tuple(_read(r) for r in rows[:page_size]), next_token)


def append_reads(engine: Engine, reads: Sequence[dict[str, Any]]) -> None:
    """Insert read records in one short transaction, outside the ledger head's lock (one statement:
    ``insert_json_rows``)."""
    if not reads:
        return
    binds = _read_binds(engine.dialect)
    rows = [
        {name: read[name] if bind is None else bind(read[name]) for name, bind in binds} for read in reads
    ]
    try:
        with engine.connect() as raw:
            conn = raw.execution_options(steward_write=True)
            with conn.begin():
                insert_json_rows(conn, SqlReadAccess.__tablename__, rows)
    except OperationalError as exc:
        raise Unavailable(f"the database cannot be reached or is busy: {exc.orig}") from exc
    except DBAPIError as exc:
        raise Unavailable(f"the database refused the operation: {exc.orig}") from exc


@functools.cache
def _read_binds(dialect: Dialect) -> tuple[tuple[str, Any], ...]:
    """Each column of the read log but its id, and its bind processor (UTC conversion, SQLite's
    datetime text): the values ``insert_json_rows`` sends are then the driver's own."""
    columns = [column for column in SqlReadAccess.__table__.columns if not column.primary_key]
    return tuple(
        (column.key, column.type.dialect_impl(dialect).bind_processor(dialect)) for column in columns
    )


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


def _run(row: Sequence[Any]) -> EntryBatch:
    """One run's :class:`EntryBatch` from its row of ``_RUN_SQL``."""
    count, low, high, seqs, data, hashes, links, leaf_count, shortest, longest, stored = row
    if not count:
        return EntryBatch(range(0), [], [], [])
    inputs = bytes(data).split(b"\n")
    whole = high - low + 1 == count == len(inputs) and seqs == ",".join(map(str, range(low, high + 1)))
    if leaf_count != count or shortest != HASH_SIZE or longest != HASH_SIZE:
        stored = b""
    return EntryBatch(
        range(low, high + 1) if whole else range(0),
        inputs,
        hashes.split("\n"),
        links.split("\n"),
        bytes(stored),
    )


def _told(batches: Iterable[EntryBatch], progress: Callable[[int], None] | None) -> Iterator[EntryBatch]:
    taken = 0
    for batch in batches:
        yield batch
        taken += len(batch.inputs)
        if progress is not None:
            progress(taken)
