"""JSON text for documents, canonical JSON, and the SHA-256 digests built on it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from steward.errors import InvalidInput

DIGEST_PREFIX = "sha256:"


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def json_text(value: Any, field: str = "input", *, canonical: bool = False) -> str:
    """``value`` as JSON text; any mapping counts as an object. NaN and infinities are refused."""
    try:
        if canonical:
            return json.dumps(
                value,
                sort_keys=True,
                separators=(",", ":"),
                ensure_ascii=False,
                allow_nan=False,
                default=_plain,
            )
        return json.dumps(value, separators=(",", ":"), allow_nan=False, default=_plain)
    except (TypeError, ValueError) as exc:
        raise InvalidInput.field(field, "json", f"not a JSON document: {exc}") from exc


def canonical_json(value: Any) -> bytes:
    """The one byte string a JSON value encodes to: keys sorted, no whitespace, UTF-8.

    ``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``; NaN and
    infinities are refused because JSON has no spelling for them.
    """
    return json_text(value, canonical=True).encode("utf-8")


def sha256_digest(data: bytes) -> str:
    """``sha256:<64 hex>`` of ``data``."""
    return DIGEST_PREFIX + hashlib.sha256(data).hexdigest()
