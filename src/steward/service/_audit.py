"""Reading and verifying the audit trail (the ledger's chain, tree and signed checkpoints)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from steward.domain import Action, AuditEvent, Page
from steward.ledger import Checkpoint, VerifierKey
from steward.service._caller import Caller
from steward.service._ledger_verify import verify_stored
from steward.storage import AuditFilter, SqlStore


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of walking the chain: ``first_bad_seq`` names the first event that fails."""

    ok: bool
    events: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None
    root: str | None = None
    checkpoints: int = 0
    details: dict[str, object] = field(default_factory=dict)
    trusted_keys: tuple[str, ...] = ()


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

    def verify(
        self,
        caller: Caller,
        progress: Callable[[int], None] | None = None,
        *,
        keys: Sequence[VerifierKey] = (),
        kept: Sequence[Checkpoint] = (),
    ) -> Verification:
        """Recompute the chain and the Merkle tree from the stored events, check every kept
        checkpoint's signature and root, and name the first event that does not match.

        A changed field breaks that event's hash; a removed event leaves a gap in the sequence; an
        inserted or reordered one breaks the ``prev_hash`` link; a rewritten history (every later
        hash recomputed) no longer hashes to a signed checkpoint's root; events appended without the
        key are not covered by a checkpoint. ``keys`` pins the verifier keys trusted (default: the
        log's genesis key and the keys it rotated to); ``kept`` adds checkpoints verified elsewhere.
        """
        caller.authorize(Action.AUDIT_READ)
        with self.store.read(snapshot=True) as tx:  # head, checkpoints and events of one moment
            verdict = verify_stored(tx, pins=keys, kept=kept, progress=progress)
        return Verification(
            ok=verdict.ok,
            events=verdict.events,
            head_hash=verdict.head_hash,
            first_bad_seq=verdict.first_bad_seq,
            problem=verdict.problem,
            root=None if verdict.root is None else verdict.root.hex(),
            checkpoints=verdict.checkpoints,
            details=dict(verdict.details),
            trusted_keys=verdict.trusted_keys,
        )
