"""The verifiable ledger: tree appends and signed checkpoints in every write, proofs, key rotation.

Every write transaction that emitted audit events ends, before it commits, with one batch append:
the transaction's leaves join the Merkle tree (RFC 6962) in ``ledger_nodes``, and a checkpoint of
the new tree, signed with the ledger's Ed25519 key, is kept in ``ledger_checkpoints``. A change, its
events, their tree nodes and the checkpoint that covers them commit together or not at all.

The key comes from a :class:`KeySource` the entry point builds (a file, mode 0600, created on
first use). Its public half is registered in ``ledger_keys`` the first time it signs; a rotation
registers a new key, retires the old one (it stays published), records a ``ledger.key_rotated``
event and signs that transaction's checkpoint with both keys, so the old key vouches for the new.

A process keeps its key in memory but checks, in every write transaction that follows anyone
else's (after the transaction has locked the ledger head, so a rotation committed by another
process is seen), that the key is still the active one: a retired key never signs again, not even
for a moment after a rotation made elsewhere (``steward ledger rotate-key`` beside a running
server). A rotation is itself an event, so when the locked head is still this process's own last
event, nothing can have changed since its last check, and neither the key nor the tree's frontier
is read again (``_Tip``).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from steward.domain import (
    Action,
    AuditEvent,
    ConsistencyProof,
    DomainEvent,
    InclusionProof,
    LedgerKey,
    StoredCheckpoint,
)
from steward.errors import IntegrityError, InvalidInput, NotFound
from steward.ledger import (
    Appended,
    Checkpoint,
    NodeReader,
    SignerKey,
    append_leaves,
    canonical_bytes,
    consistency_proof,
    consistency_proof_nodes,
    frontier_nodes,
    generate_signer,
    inclusion_proof,
    inclusion_proof_nodes,
    leaf_hash,
    sign_checkpoint,
    tree_root,
    verify_consistency,
    verify_inclusion,
)
from steward.ledger._event import event_document, format_time
from steward.service._caller import Caller
from steward.service._events import Clock, EventBatch, EventBus
from steward.storage import SqlStore, SqlTransaction


class KeySource(Protocol):
    """Where the signing key is kept (see ``steward.service._keyfile``)."""

    @property
    def location(self) -> str: ...
    def load(self) -> SignerKey | None: ...
    def create(self, name: str) -> SignerKey: ...
    def staged(self) -> SignerKey | None: ...
    def stage(self, signer: SignerKey) -> None: ...
    def promote(self) -> None: ...


def new_origin() -> str:
    """The origin line (and key name) of a new log: unique, no spaces or ``+``."""
    return f"steward.local/{secrets.token_hex(6)}"


def ledger_key(signer: SignerKey, at: datetime) -> LedgerKey:
    return LedgerKey(f"{signer.key_id:08x}", signer.name, signer.verifier.encode(), at)


@dataclass(frozen=True)
class _Tip:
    """The log as this process's last ledger write left it: its size and head hash, the tree's
    frontier and the key that signed. While the locked head is still that write's last event, no
    other transaction has written the ledger since (a key rotation is an event too), so the next
    write may append to this frontier and sign with this key without reading either again."""

    size: int
    head_hash: str
    frontier: tuple[bytes, ...]
    signer: SignerKey | None


class LedgerService:
    """The Merkle tree, checkpoints and keys over one store; hooks into the bus's write path."""

    def __init__(self, store: SqlStore, bus: EventBus, clock: Clock) -> None:
        self.store = store
        self.bus = bus
        self.clock = clock
        self._keys: KeySource | None = None
        self._signer: SignerKey | None = None
        self._tip: _Tip | None = None
        self._lock = threading.Lock()
        bus.before_commit(self._seal)

    # -- the key -----------------------------------------------------------------------------

    def use_keys(self, source: KeySource) -> None:
        """Sign checkpoints with the key kept in ``source`` (loaded or created on first need)."""
        with self._lock:
            self._keys = source
            self._signer = None
            self._tip = None

    @property
    def keys_location(self) -> str | None:
        return None if self._keys is None else self._keys.location

    def start(self) -> SignerKey | None:
        """Load (or create) the key now, check it against the registry, and sign the log's head if
        no kept checkpoint covers it (events written without a key). For servers, at startup."""
        if self._keys is None:
            return None
        with self.store.write() as tx:
            at = self.clock()
            signer = self._signer_for(tx, at, force=True)
            head = tx.ledger_head()
            latest = tx.ledger.latest_checkpoint()
            if signer is not None and head.size and (latest is None or latest.size < head.size):
                appended = self._extend(tx, head.size, [])
                self._sign(tx, [signer], appended.size, appended.root, at)
        return signer

    def signer(self) -> SignerKey:
        """The active signing key (loading it on first use); ``NotFound`` without a key source.

        Checked against the key registry on every call: after a rotation made by another process,
        this is the new key, never the retired one."""
        if self._keys is None:
            raise NotFound("this Steward has no ledger key configured")
        cached = self._signer
        if cached is not None:
            with self.store.read() as tx:
                if tx.ledger.is_active_key(cached.verifier.encode()):
                    return cached
        with self.store.write() as tx:
            signer = self._signer_for(tx, self.clock(), force=True)
        if signer is None:  # pragma: no cover (a key source always yields a key)
            raise NotFound("this Steward has no ledger key configured")
        return signer

    def _signer_for(self, tx: SqlTransaction, at: datetime, *, force: bool = False) -> SignerKey | None:
        """The key to sign this transaction's checkpoint with, checked against the key registry.

        The usual case is one indexed lookup: the key in memory is still registered and active.
        Otherwise (first use, or a rotation by another process retired it) the registry and the
        key source are read in full."""
        source = self._keys
        if source is None:
            return None
        cached = self._signer
        if not force and cached is not None and tx.ledger.is_active_key(cached.verifier.encode()):
            return cached
        registry = tx.ledger.keys()
        signer = self._signer or source.load()
        if signer is None:
            if registry:
                raise IntegrityError(
                    f"the ledger key file {source.location} is missing, but this log's checkpoints are "
                    f"signed by {', '.join(k.vkey for k in registry if k.active) or 'retired keys'}: "
                    "restore the file, or run `steward ledger rotate-key` to sign with a new key",
                    {"key_path": source.location},
                )
            signer = source.create(new_origin())
        if not registry:
            tx.ledger.insert_key(ledger_key(signer, at))
            return self._remember(signer)
        if _is_active(signer, registry):
            return self._remember(signer)
        for candidate, staged in ((source.load(), False), (source.staged(), True)):
            if candidate is not None and _is_active(candidate, registry):
                if staged:
                    source.promote()  # finish a rotation that committed before its file moved
                return self._remember(candidate)
        known = next((k for k in registry if k.vkey == signer.verifier.encode()), None)
        active = [k.vkey for k in registry if k.active]
        if known is not None:
            raise IntegrityError(
                f"the ledger key in {source.location} ({known.key_id}) was retired at "
                f"{known.retired_at:%Y-%m-%d %H:%M:%S}Z; the active key is {', '.join(active)}",
                {"key_path": source.location, "key_id": known.key_id},
            )
        raise IntegrityError(
            f"the ledger key in {source.location} ({signer.verifier.encode()}) is not one of this log's "
            f"keys ({', '.join(active) or 'none active'}): restore the right key file, or run "
            "`steward ledger rotate-key`",
            {"key_path": source.location, "vkey": signer.verifier.encode()},
        )

    def _remember(self, signer: SignerKey) -> SignerKey:
        self._signer = signer
        return signer

    # -- the write path ----------------------------------------------------------------------

    def _seal(self, tx: SqlTransaction, batch: EventBatch, at: datetime) -> None:
        """Append the transaction's leaves in one batch and keep a signed checkpoint of the tree."""
        self._append(tx, batch, at, None)

    def _append(
        self, tx: SqlTransaction, batch: Sequence[AuditEvent], at: datetime, signers: list[SignerKey] | None
    ) -> None:
        """Append ``batch`` to the tree and sign the new tree with ``signers`` (default: the active
        key, checked against the registry unless this process made the last ledger write)."""
        if not batch:
            return
        leaves = list(batch.leaves) if isinstance(batch, EventBatch) else []
        if len(leaves) != len(batch):
            leaves = [leaf_hash(_event_bytes(event)) for event in batch]
        before, tip, self._tip = batch[0].seq - 1, self._tip, None
        if (
            signers is None
            and tip is not None
            and (tip.size, tip.head_hash) == (before, batch[0].prev_hash)
            and tip.signer is self._signer
        ):
            appended = append_leaves(before, tip.frontier, leaves)
            tx.ledger.insert_nodes(appended.nodes)
            signer = tip.signer
        else:
            appended = self._extend(tx, before, leaves)
            signer = self._signer_for(tx, at) if signers is None else None
        if signers is None:
            signers = [] if signer is None else [signer]
        if signers:
            self._sign(tx, signers, appended.size, appended.root, at)
        if signer is not None or not signers:  # not a rotation: its keys are remembered after commit
            self._tip = _Tip(appended.size, batch[-1].hash, appended.frontier, signer)

    def _extend(self, tx: SqlTransaction, before: int, leaves: list[bytes]) -> Appended:
        """Bring the tree to ``before`` leaves (from stored events, if behind), then append.

        One query in the usual case: the frontier of ``before`` leaves, and the leaf after it,
        which must not exist yet.
        """
        rows = tx.ledger
        size, missing = before, []
        coordinates = frontier_nodes(size)
        stored = rows.nodes([*coordinates, (0, size)])
        if (0, size) in stored or len(stored) != len(coordinates):
            size = rows.tree_size()
            if size > before:
                raise IntegrityError(
                    f"the ledger's tree holds {size} leaves but only {before} events precede this batch",
                    {"tree_size": size, "events": before},
                )
            missing = [leaf_hash(e.data) for e in rows.entries(size + 1, before)]  # the tree is behind
            coordinates = frontier_nodes(size)
            stored = rows.nodes(coordinates)
        appended = append_leaves(
            size, [stored.node(level, idx) for level, idx in coordinates], missing + leaves
        )
        rows.insert_nodes(appended.nodes)
        return appended

    def _sign(
        self, tx: SqlTransaction, signers: list[SignerKey], size: int, root: bytes, at: datetime
    ) -> None:
        note = sign_checkpoint(Checkpoint(signers[0].name, size, root, timestamp=at), *signers)
        tx.ledger.insert_checkpoint(StoredCheckpoint(size, root, at, note, f"{signers[0].key_id:08x}"))

    # -- reading -----------------------------------------------------------------------------

    def checkpoint(self, caller: Caller, size: int | None = None) -> StoredCheckpoint:
        """The latest kept checkpoint, or the one of ``size``."""
        caller.authorize(Action.LEDGER_READ)
        with self.store.read() as tx:
            found = tx.ledger.latest_checkpoint() if size is None else tx.ledger.checkpoint(size)
        if found is None:
            if size is None:
                raise NotFound("the ledger has no signed checkpoint yet")
            raise NotFound(f"no checkpoint of size {size} is kept", {"size": size})
        return found

    def list_keys(self, caller: Caller) -> list[LedgerKey]:
        """Every key that signs or signed checkpoints, oldest first (retired keys included)."""
        caller.authorize(Action.LEDGER_READ)
        with self.store.read() as tx:
            return tx.ledger.keys()

    def inclusion_proof(self, caller: Caller, seq: int, size: int | None = None) -> InclusionProof:
        """The audit path of event ``seq`` in the tree of ``size`` (default: the latest checkpoint)."""
        caller.authorize(Action.LEDGER_READ)
        if size is None and 1 <= seq <= 2**62:  # the usual case: one statement, one round trip
            with self.store.read(statements=1) as tx:
                latest = tx.ledger.latest_with_path(seq - 1)
            if latest is not None and seq <= latest[0].size:
                latest_kept, nodes = latest
                return _prove(seq, latest_kept.size, nodes, latest_kept)
        with self.store.read() as tx:
            rows = tx.ledger
            kept = rows.latest_checkpoint() if size is None else rows.checkpoint(size)
            if size is None and kept is not None:
                size = kept.size  # a kept checkpoint's tree is stored: no need to ask its size
            else:
                tree = rows.tree_size()
                size = tree if size is None else size
                if not 1 <= size <= tree:
                    raise InvalidInput.field(
                        "size", "range", f"must be between 1 and {tree} (the tree's size)"
                    )
            if not 1 <= seq <= size:
                raise InvalidInput.field("seq", "range", f"event {seq} is not in a tree of size {size}")
            index = seq - 1
            nodes = rows.nodes([*inclusion_proof_nodes(index, size), *frontier_nodes(size), (0, index)])
        return _prove(seq, size, nodes, kept)

    def consistency_proof(
        self, caller: Caller, old_size: int, new_size: int | None = None
    ) -> ConsistencyProof:
        """A proof that the tree of ``old_size`` is a prefix of the one of ``new_size`` (default:
        the latest checkpoint)."""
        caller.authorize(Action.LEDGER_READ)
        with self.store.read() as tx:
            rows = tx.ledger
            latest = rows.latest_checkpoint()
            if new_size is None:
                new_size = latest.size if latest is not None else tx.ledger_head().size
            tree = rows.tree_size()
            if not 0 <= new_size <= tree:
                raise InvalidInput.field(
                    "new_size", "range", f"must be between 0 and {tree} (the tree's size)"
                )
            if not 0 <= old_size <= new_size:
                raise InvalidInput.field("old_size", "range", f"must be between 0 and {new_size}")
            nodes = rows.nodes(
                [
                    *consistency_proof_nodes(old_size, new_size),
                    *frontier_nodes(old_size),
                    *frontier_nodes(new_size),
                ]
            )
            old_kept, new_kept = rows.checkpoint(old_size), rows.checkpoint(new_size)
        hashes = consistency_proof(nodes, old_size, new_size)
        old_root, new_root = tree_root(nodes, old_size), tree_root(nodes, new_size)
        verify_consistency(old_size, new_size, old_root, new_root, hashes)
        return ConsistencyProof(old_size, new_size, old_root, new_root, tuple(hashes), old_kept, new_kept)

    # -- rotation ----------------------------------------------------------------------------

    def rotate_key(self, caller: Caller, reason: str = "") -> LedgerKey:
        """Sign with a new key from now on; the old one is retired and stays published.

        The rotation is an audit event; its checkpoint is signed by the new key and, when the old
        key is at hand, by the old one too, so verifiers who trust the old key learn the new one.
        """
        caller.authorize(Action.LEDGER_MANAGE)
        source = self._keys
        if source is None:
            raise InvalidInput.field("ledger_key_path", "required", "no ledger key location is configured")
        with self._lock:
            with self.store.write() as tx:
                at = self.clock()
                registry = tx.ledger.keys()
                old = self._signer or source.load()
                vouching = old if old is not None and _is_active(old, registry) else None
                origin = registry[0].name if registry else (old.name if old is not None else new_origin())
                new = generate_signer(origin)
                source.stage(new)
                tx.ledger.retire_keys(at)
                key = ledger_key(new, at)
                tx.ledger.insert_key(key)
                batch = EventBatch()
                self.bus.emit(
                    tx,
                    DomainEvent(
                        "ledger.key_rotated",
                        "ledger_key",
                        key.key_id,
                        before=None if old is None else {"vkey": old.verifier.encode()},
                        after={"vkey": key.vkey, "key_id": key.key_id},
                        reason=reason,
                    ),
                    caller.origin,
                    at,
                    batch,
                )
                tx.move_head(batch[-1].seq, batch[-1].hash)
                self._append(tx, batch, at, [new] if vouching is None else [new, vouching])
            source.promote()
            self._remember(new)
        self.bus.delivered(batch)
        return key


def _prove(seq: int, size: int, nodes: NodeReader, kept: StoredCheckpoint | None) -> InclusionProof:
    """The inclusion proof of event ``seq`` in the tree of ``size`` from fetched nodes, checked
    against the root they give before it is served."""
    index = seq - 1
    hashes = inclusion_proof(nodes, index, size)
    root = tree_root(nodes, size)
    leaf = nodes.node(0, index)
    verify_inclusion(leaf, index, size, hashes, root)
    return InclusionProof(seq, index, size, leaf, root, tuple(hashes), kept)


def _is_active(signer: SignerKey, registry: Sequence[LedgerKey]) -> bool:
    vkey = signer.verifier.encode()
    return any(k.vkey == vkey and k.active for k in registry)


def _event_bytes(event: AuditEvent) -> bytes:
    """Canonical bytes of a stored event (when the emitter did not keep them)."""
    fields = {
        "seq": event.seq,
        "time": format_time(event.time),
        "actor": event.actor,
        "action": event.action,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "before": event.before,
        "after": event.after,
        "reason": event.reason,
        "request_id": event.request_id,
        "client_address": event.client_address,
        "user_agent": event.user_agent,
    }
    return canonical_bytes(event_document(fields))
