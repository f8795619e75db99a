"""The audit event as a document: the fields that are hashed, in their canonical form."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from steward.ledger._canonical import canonical_bytes, chain_hash

HASHED_FIELDS = (
    "seq",
    "time",
    "actor",
    "action",
    "subject_type",
    "subject_id",
    "before",
    "after",
    "reason",
    "request_id",
    "client_address",
    "user_agent",
)
"""The fields of an event that its hash covers (``prev_hash`` is chained in, ``hash`` is the result)."""


def format_time(at: datetime) -> str:
    """Canonical time text: UTC, microseconds, ``Z`` (sorts as it reads)."""
    if at.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def encode_json(value: dict[str, Any] | None) -> str | None:
    """The text stored for ``before``/``after``: canonical JSON, so stored bytes are hashed bytes."""
    return None if value is None else canonical_bytes(value).decode("utf-8")


def decode_json(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("an audit before/after value must be a JSON object")
    return value


def event_document(fields: dict[str, Any]) -> dict[str, Any]:
    """The hashed document of an event given its stored fields (time as text, JSON as dicts)."""
    return {name: fields[name] for name in HASHED_FIELDS}


def seal(prev_hash: str, fields: dict[str, Any]) -> tuple[bytes, str]:
    """Canonical bytes of the event and its chain hash."""
    data = canonical_bytes(event_document(fields))
    return data, chain_hash(prev_hash, data)


_ORDERED = tuple(sorted(HASHED_FIELDS))  # the order canonical JSON writes an event's keys in


def seal_encoded(prev_hash: str, fields: dict[str, Any]) -> tuple[bytes, str, str | None, str | None]:
    """:func:`seal`, encoding ``before`` and ``after`` once for both the hash and the stored text:
    ``(canonical bytes, chain hash, before text, after text)``. The bytes are the same as
    :func:`seal`'s: canonical JSON writes an object as its sorted keys, each with its value's own
    canonical text, so the stored texts are spliced in where the whole document would put them."""
    before, after = encode_json(fields["before"]), encode_json(fields["after"])
    texts = {"before": "null" if before is None else before, "after": "null" if after is None else after}
    parts = [f'"{name}":{texts.get(name) or _scalar(fields[name])}' for name in _ORDERED]
    data = ("{" + ",".join(parts) + "}").encode("utf-8")
    return data, chain_hash(prev_hash, data), before, after


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if type(value) is str:
        return _encode_string(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


_encode_string = json.encoder.encode_basestring  # a string as canonical_bytes writes it (ensure_ascii off)
