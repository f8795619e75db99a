"""The verifiable ledger (checkpoints, keys, proofs) and the read access log."""

from __future__ import annotations

import base64
from datetime import datetime

from pydantic import (
    BaseModel,
)

from steward.domain import (
    ConsistencyProof,
    InclusionProof,
    StoredCheckpoint,
)
from steward.wire._base import (
    Out,
)

# -- the verifiable ledger and the read access log ---------------------------------------------
# Hashes are standard base64 (as on a checkpoint's root line); checkpoints carry their signed note.


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


class CheckpointOut(BaseModel):
    """A signed checkpoint: the tree of ``size`` events has root ``root``; ``note`` is the C2SP
    signed note (what ``GET /ledger/checkpoint`` answers as ``text/plain``)."""

    origin: str
    size: int
    root: str
    time: datetime
    key_id: str
    note: str

    @classmethod
    def of(cls, checkpoint: StoredCheckpoint) -> CheckpointOut:
        return cls(
            origin=checkpoint.note.split("\n", 1)[0],
            size=checkpoint.size,
            root=b64(checkpoint.root),
            time=checkpoint.time,
            key_id=checkpoint.key_id,
            note=checkpoint.note,
        )


class LedgerKeyOut(Out):
    """A key that signs (or signed) checkpoints; ``vkey`` is the verifier key text."""

    key_id: str
    name: str
    vkey: str
    valid_from: datetime
    retired_at: datetime | None
    active: bool


class InclusionProofOut(BaseModel):
    """The answer of ``GET /ledger/proofs/inclusion``: the audit path of event ``seq`` (leaf
    ``seq - 1``) in the tree of ``tree_size``."""

    seq: int
    leaf_index: int
    tree_size: int
    leaf_hash: str
    root: str
    hashes: list[str]
    checkpoint: CheckpointOut | None = None

    @classmethod
    def of(cls, proof: InclusionProof) -> InclusionProofOut:
        return cls(
            seq=proof.seq,
            leaf_index=proof.leaf_index,
            tree_size=proof.tree_size,
            leaf_hash=b64(proof.leaf_hash),
            root=b64(proof.root),
            hashes=[b64(h) for h in proof.hashes],
            checkpoint=None if proof.checkpoint is None else CheckpointOut.of(proof.checkpoint),
        )


class ConsistencyProofOut(BaseModel):
    """The answer of ``GET /ledger/proofs/consistency``: a proof that the tree of ``old_size``
    is a prefix of the tree of ``new_size``."""

    old_size: int
    new_size: int
    old_root: str
    new_root: str
    hashes: list[str]
    old_checkpoint: CheckpointOut | None = None
    new_checkpoint: CheckpointOut | None = None

    @classmethod
    def of(cls, proof: ConsistencyProof) -> ConsistencyProofOut:
        return cls(
            old_size=proof.old_size,
            new_size=proof.new_size,
            old_root=b64(proof.old_root),
            new_root=b64(proof.new_root),
            hashes=[b64(h) for h in proof.hashes],
            old_checkpoint=None if proof.old_checkpoint is None else CheckpointOut.of(proof.old_checkpoint),
            new_checkpoint=None if proof.new_checkpoint is None else CheckpointOut.of(proof.new_checkpoint),
        )


class ReadAccessOut(Out):
    """One read of a record or evidence through the server."""

    id: int
    time: datetime
    principal: str
    action: str
    subject_type: str
    subject_id: str
    path: str
    request_id: str
    client_address: str
    user_agent: str
