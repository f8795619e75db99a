"""Records of the verifiable ledger and the read access log: frozen dataclasses, no I/O.

Hashes are raw bytes here; the wire schemas encode them (base64, like the checkpoint's root line).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class LedgerKey:
    """A public key the ledger signs (or signed) checkpoints with, as published.

    ``vkey`` is the verifier key text ``<name>+<key id>+<base64 key>``; ``name`` is the log's origin.
    """

    key_id: str
    name: str
    vkey: str
    valid_from: datetime
    retired_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.retired_at is None


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """A signed checkpoint the server issued and kept: the tree at ``size`` had root ``root``."""

    size: int
    root: bytes
    time: datetime
    note: str
    key_id: str


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """The audit path of event ``seq`` (leaf ``seq - 1``) in the tree of ``tree_size``."""

    seq: int
    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    root: bytes
    hashes: tuple[bytes, ...]
    checkpoint: StoredCheckpoint | None = None


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    """A proof that the tree of ``old_size`` is a prefix of the tree of ``new_size``."""

    old_size: int
    new_size: int
    old_root: bytes
    new_root: bytes
    hashes: tuple[bytes, ...]
    old_checkpoint: StoredCheckpoint | None = None
    new_checkpoint: StoredCheckpoint | None = None


@dataclass(frozen=True, slots=True)
class ReadAccess:
    """One read of a record or evidence through the server: who, what, when, from where."""

    id: int
    time: datetime
    principal: str
    action: str
    subject_type: str
    subject_id: str
    path: str
    request_id: str = ""
    client_address: str = ""
    user_agent: str = ""
