"""Reading and verifying the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from steward.domain import Action, AuditEvent, Page
from steward.ledger import GENESIS_HASH
from steward.ledger._event import decode_json, seal
from steward.service._caller import Caller
from steward.storage import AuditFilter, SqlStore


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of walking the chain: ``first_bad_seq`` names the first event that fails."""

    ok: bool
    events: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None


class AuditService:
    def __init__(self, store: SqlStore) -> None:
        self.store = store

    def list_events(
        self,
        caller: Caller,
        where: AuditFilter,
        page_size: int = 100,
        page_token: str | None = None,
    ) -> Page[AuditEvent]:
        caller.authorize(Action.AUDIT_READ)
        with self.store.read() as tx:
            return tx.list_events(where, page_size, page_token)

    def verify(self, caller: Caller, progress: Callable[[int], None] | None = None) -> Verification:
        """Recompute every hash from the stored fields and name the first event that does not match.

        A changed field breaks that event's hash; a removed event leaves a gap in the sequence; an
        inserted or reordered one breaks the ``prev_hash`` link; a removed or forged tail disagrees
        with the ledger head.
        """
        caller.authorize(Action.AUDIT_READ)
        with self.store.read() as tx:
            head = tx.ledger_head()
            expected_prev = GENESIS_HASH
            count = 0
            for row in tx.iter_event_rows():
                count += 1
                if progress is not None and count % 10_000 == 0:
                    progress(count)
                if row.seq != count:
                    return Verification(
                        False,
                        count - 1,
                        expected_prev,
                        count if row.seq > count else row.seq,
                        f"event {count} is missing (the next stored event is {row.seq})"
                        if row.seq > count
                        else f"event {row.seq} appears out of order",
                    )
                if row.prev_hash != expected_prev:
                    return Verification(
                        False,
                        count - 1,
                        expected_prev,
                        row.seq,
                        f"event {row.seq} does not follow event {row.seq - 1}: an event was "
                        "inserted, removed or reordered here",
                    )
                fields = {
                    "seq": row.seq,
                    "time": row.time,
                    "actor": row.actor,
                    "action": row.action,
                    "subject_type": row.subject_type,
                    "subject_id": row.subject_id,
                    "before": decode_json(row.before),
                    "after": decode_json(row.after),
                    "reason": row.reason,
                    "request_id": row.request_id,
                    "client_address": row.client_address,
                    "user_agent": row.user_agent,
                }
                _, recomputed = seal(expected_prev, fields)
                if recomputed != row.hash:
                    return Verification(
                        False,
                        count - 1,
                        expected_prev,
                        row.seq,
                        f"event {row.seq} ({row.action} on {row.subject_type} {row.subject_id}) was "
                        "changed after it was written: its content no longer matches its hash",
                    )
                expected_prev = row.hash
            if head.size != count or head.head_hash != expected_prev:
                bad = min(head.size, count) + 1
                return Verification(
                    False,
                    count,
                    expected_prev,
                    bad,
                    f"the log holds {count} events but its head records {head.size} "
                    f"(events from {bad} on were removed or added outside Steward)",
                )
        return Verification(True, count, expected_prev)
