"""Where events go. The audit sink writes inside the transaction; other sinks run after commit.

Every use case calls :meth:`EventBus.emit` inside its write transaction, so every path (REST, CLI,
SDK, connectors) records the same audit entries. Sinks that talk to the outside world (webhooks)
subscribe with :meth:`EventBus.after_commit` and see only events whose change committed. Hooks that
must write in the same transaction (the ledger appends the batch's leaves to its Merkle tree and
signs a checkpoint) subscribe with :meth:`EventBus.before_commit`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Protocol

from steward.domain import AuditEvent, DomainEvent, Origin
from steward.ledger import leaf_hash
from steward.ledger._event import format_time, seal_encoded
from steward.storage import LedgerHead, SqlStore, SqlTransaction

AfterCommit = Callable[[AuditEvent], None]


class EventBatch(list[AuditEvent]):
    """The events one transaction emitted, with the RFC 6962 leaf hash of each one's canonical
    bytes (kept from :func:`seal_encoded`, so the tree hashes exactly what the chain hashed)."""

    def __init__(self) -> None:
        super().__init__()
        self.leaves: list[bytes] = []


BeforeCommit = Callable[[SqlTransaction, EventBatch, datetime], None]


class Clock(Protocol):
    def __call__(self) -> datetime: ...


class EventBus:
    """Turns domain events into sealed audit events in the caller's transaction."""

    def __init__(self) -> None:
        self._after_commit: list[AfterCommit] = []
        self._before_commit: list[BeforeCommit] = []

    def after_commit(self, sink: AfterCommit) -> None:
        self._after_commit.append(sink)

    def before_commit(self, hook: BeforeCommit) -> None:
        """Run ``hook(tx, batch, at)`` at the end of every write transaction that emitted events."""
        self._before_commit.append(hook)

    def sealing(self, tx: SqlTransaction, batch: EventBatch, at: datetime) -> None:
        """End a batch: move the ledger head to its last event once, then run the hooks."""
        if batch:
            tx.move_head(batch[-1].seq, batch[-1].hash)
            for hook in self._before_commit:
                hook(tx, batch, at)

    def emit(
        self,
        tx: SqlTransaction,
        event: DomainEvent,
        origin: Origin,
        at: datetime,
        pending: list[AuditEvent],
    ) -> AuditEvent:
        batch = pending if isinstance(pending, EventBatch) else None
        # Within a batch the head is its last event (the batch moves the stored head once, sealed).
        head = LedgerHead(batch[-1].seq, batch[-1].hash) if batch else tx.ledger_head()
        fields: dict[str, Any] = {
            "seq": head.size + 1,
            "time": format_time(at),
            "actor": origin.actor,
            "action": event.type,
            "subject_type": event.subject_type,
            "subject_id": event.subject_id,
            "before": event.before,
            "after": event.after,
            "reason": event.reason,
            "request_id": origin.request_id,
            "client_address": origin.client_address,
            "user_agent": origin.user_agent,
        }
        data, event_hash, before, after = seal_encoded(head.head_hash, fields)
        stored = tx.append_event(
            fields, head.head_hash, event_hash, move_head=batch is None, texts=(before, after)
        )
        pending.append(stored)
        if batch is not None:
            batch.leaves.append(leaf_hash(data))
        return stored

    def delivered(self, events: list[AuditEvent]) -> None:
        for stored in events:
            for sink in self._after_commit:
                sink(stored)


class Writer:
    """One write transaction of a use case, with the events it emits."""

    def __init__(self, tx: SqlTransaction, bus: EventBus, origin: Origin, at: datetime) -> None:
        self.tx = tx
        self.at = at
        self._bus = bus
        self._origin = origin
        self.events = EventBatch()

    def emit(self, event: DomainEvent) -> AuditEvent:
        return self._bus.emit(self.tx, event, self._origin, self.at, self.events)


@contextmanager
def writing(store: SqlStore, bus: EventBus, origin: Origin, clock: Clock) -> Iterator[Writer]:
    """A write transaction: the change and its events commit together, then sinks run."""
    with store.write() as tx:
        writer = Writer(tx, bus, origin, clock())
        yield writer
        bus.sealing(tx, writer.events, writer.at)
    bus.delivered(writer.events)
