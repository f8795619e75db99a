"""Canonical bytes of an audit event, and the hashes built on them.

The encoding is specified in ``docs/reference/audit-encoding.md`` so that an outside verifier can
rebuild it: JSON with keys sorted, no insignificant whitespace, UTF-8 (non-ASCII kept as is),
integers as integers, no floats outside metrics (encoded by ``json`` as the shortest round-trip
form), ``null`` for missing values.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of the first event."""


def canonical_bytes(event: Mapping[str, Any]) -> bytes:
    """The one byte string an event hashes to; equal mappings give equal bytes."""
    return json.dumps(
        event, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962 leaf hash: SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def chain_hash(prev_hash: str, data: bytes) -> str:
    """Hash of an event in the chain: SHA-256(prev_hash hex || 0x00 || canonical bytes), as hex.

    Each event carries the hash of its predecessor, so a change, deletion or insertion anywhere
    breaks every hash after it.
    """
    return hashlib.sha256(prev_hash.encode("ascii") + b"\x00" + data).hexdigest()
