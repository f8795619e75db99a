"""Named locks held across work done outside a transaction (a call to a platform between a read and
a write), so that two requests deciding the same thing take turns.

In one process a name's lock is a :class:`threading.Lock`. On PostgreSQL the holder also takes a
transaction-level advisory lock on the name (``pg_advisory_xact_lock``) on a connection of its own,
so the servers sharing one database take turns too; the transaction ends with the ``with`` block,
which releases it even when the holder fails. SQLite is served by one process, whose lock is enough.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from steward.errors import Unavailable

_ADVISORY = text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))")


_LOCKS: dict[tuple[str, str], threading.Lock] = {}
_MADE = threading.Lock()


def _local(database: str, name: str) -> threading.Lock:
    """This process's lock of ``name`` in ``database``, made on first use (the names are few: the
    guarded aliases), shared by every store of the process on that database."""
    with _MADE:
        return _LOCKS.setdefault((database, name), threading.Lock())


@contextmanager
def hold(engine: Engine, name: str) -> Iterator[None]:
    """Hold ``name`` until the block ends (waiting for its holder, if any)."""
    with _local(engine.url.render_as_string(hide_password=True), name):
        if engine.dialect.name != "postgresql":
            yield
            return
        try:
            conn = engine.connect()
        except DBAPIError as exc:
            raise Unavailable(f"the database cannot be reached for the lock {name!r}: {exc.orig}") from exc
        try:
            try:
                conn.execute(_ADVISORY, {"name": name})
            except DBAPIError as exc:
                raise Unavailable(f"could not take the lock {name!r} in the database: {exc.orig}") from exc
            yield
        finally:
            conn.close()  # rolls the transaction back, which releases the advisory lock
