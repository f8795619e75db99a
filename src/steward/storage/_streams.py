"""The ledger's verification reads, straight from the driver's cursors, ahead of the hashing.

The ledger's verification reads every event and every tree leaf, both in order, and hashes each
event as it goes. Rows come from the driver's own cursors, a batch at a time: no SQLAlchemy row
objects and no per-row Python on the way.

``steward._read_ahead.ReadAhead`` runs the reads in a thread of their own, a result or two ahead
of the consumer. That pays wherever the driver waits without the GIL for a long stretch: psycopg
while PostgreSQL builds a batch in its own process, and SQLite stepping an aggregate that builds a
whole batch in one step (``steward.storage._ledger_store``'s batch reads). Stepping plain rows,
SQLite takes the GIL back for every row, so a reader thread would only queue behind the hashing:
there :class:`PairedStream` reads inline.

While a stream is open the connection is used by it alone; the transaction's other statements
run before or after.

One PostgreSQL connection builds one batch at a time, in one server process: one core. With
:func:`snapshot_peers`, more connections read the same snapshot (the way ``pg_dump --jobs`` reads
one consistent state in parallel), each a share of the batches; :func:`in_turn` puts their batches
back in order.
"""

from __future__ import annotations

import itertools
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection

from steward._read_ahead import ReadAhead

T = TypeVar("T")

_names = itertools.count()


class PairedStream:
    """The rows of ``main_sql`` and of ``side_sql`` (neither takes parameters), a batch of each at
    a time, as two iterators: :meth:`main` and :meth:`side`.

    A side batch is handed out when the main batch fetched with it is taken, so the side rows must
    be consumed in step with the main ones (side row *i* after main row *i*), as a pass comparing
    the two does. A consumer may stop taking side rows: they are then dropped, and the side
    iterator refuses to go on. ``progress`` is told the count of main rows taken after each batch.
    """

    def __init__(
        self,
        driver: Any,
        main_sql: str,
        side_sql: str,
        *,
        server_side: bool,
        batch: int = 10_000,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self._cursors = [_cursor(driver, server_side) for _ in (main_sql, side_sql)]
        self._sql = (main_sql, side_sql)
        self._batch = batch
        self._progress = progress
        self._side: deque[list[Any]] = deque()
        self._side_left = True
        self._side_dropped = False
        self._started = False
        self._ahead = (
            ReadAhead(iter(self._fetch, None), depth=2, name="steward-stream") if server_side else None
        )
        self._pairs = iter(self._ahead) if self._ahead is not None else None

    def main(self) -> Iterator[Any]:
        return itertools.chain.from_iterable(self._main_batches())

    def side(self) -> Iterator[Any]:
        return itertools.chain.from_iterable(self._side_batches())

    def close(self) -> None:
        if self._ahead is not None:
            self._ahead.close()
        for cursor in self._cursors:
            cursor.close()

    def __enter__(self) -> PairedStream:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------------------

    def _fetch(self) -> tuple[list[Any], list[Any]] | None:
        """The next main batch and the side batch read with it; ``None`` at the end. The queries
        run at the first call (so a failing one is raised to the reader of the rows)."""
        main, side = self._cursors
        if not self._started:
            self._started = True
            main.execute(self._sql[0])
            side.execute(self._sql[1])
        rows = main.fetchmany(self._batch)
        if not rows:
            return None
        more = side.fetchmany(self._batch) if self._side_left else []
        self._side_left = len(more) == self._batch
        return rows, more

    def _next_pair(self) -> tuple[list[Any], list[Any]] | None:
        if self._pairs is None:
            return self._fetch()
        return next(self._pairs, None)

    def _main_batches(self) -> Iterator[list[Any]]:
        taken = 0
        while (pair := self._next_pair()) is not None:
            rows, side = pair
            if side and not self._side_dropped:
                self._side.append(side)
                if len(self._side) > 4:  # in step it holds one or two: its consumer has stopped
                    self._side.clear()
                    self._side_dropped = True
            yield rows
            taken += len(rows)
            if self._progress is not None:
                self._progress(taken)

    def _side_batches(self) -> Iterator[list[Any]]:
        while True:
            if self._side_dropped:
                raise RuntimeError("the side rows were not read in step with the main ones")
            if not self._side:
                return  # the side query has no more rows for the main rows taken
            yield self._side.popleft()


def _cursor(driver: Any, server_side: bool) -> Any:
    if server_side:  # psycopg: a named cursor is declared on the server, fetched in batches
        return driver.cursor(name=f"steward_stream_{next(_names)}", binary=True)
    return driver.cursor()


_SNAPSHOT_ID = re.compile(r"[0-9A-F]+(-[0-9A-F]+)+")
_SNAPSHOT_LEVELS = ("repeatable read", "serializable")


@contextmanager
def snapshot_peers(conn: Connection, count: int) -> Iterator[list[Any]]:
    """Up to ``count`` more driver connections, each in a transaction that sees exactly what
    ``conn``'s transaction sees: PostgreSQL's exported snapshot (``pg_export_snapshot``, imported
    by ``SET TRANSACTION SNAPSHOT``). They are the caller's until the block ends, then rolled back
    and returned to the pool.

    None on SQLite (one writer's file, no snapshot to share) and none when ``conn``'s transaction
    is no snapshot: under READ COMMITTED each of its statements sees a newer state, which a peer
    could not follow."""
    if count < 1 or conn.dialect.name != "postgresql":
        yield []
        return
    if conn.exec_driver_sql("SHOW transaction_isolation").scalar() not in _SNAPSHOT_LEVELS:
        yield []
        return
    snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
    if not isinstance(snapshot, str) or not _SNAPSHOT_ID.fullmatch(snapshot):
        raise RuntimeError(f"PostgreSQL exported a snapshot named {snapshot!r}, not an identifier")
    with ExitStack() as stack:
        peers = []
        for _ in range(count):
            peer = stack.enter_context(conn.engine.connect())
            peer = peer.execution_options(isolation_level="REPEATABLE READ")
            peer.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")  # its transaction's first
            peers.append(peer.connection.driver_connection)
        yield peers


def in_turn(shares: Sequence[Iterable[T]]) -> Iterator[T]:
    """The items of ``shares`` dealt back in order: share *i* holds items *i*, *i + n*, *i + 2n*…
    of ``n`` shares (as ``items[i::n]`` deals them), so the first share to run out ends them all."""
    taken = [iter(share) for share in shares]
    for turn in itertools.cycle(taken):
        try:
            yield next(turn)
        except StopIteration:
            return
