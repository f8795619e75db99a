"""Opaque page tokens: a keyset position, base64url-encoded JSON."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from steward.errors import InvalidInput

MAX_PAGE_SIZE = 1000


def encode_token(position: dict[str, Any]) -> str:
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str | None, *keys: str) -> dict[str, Any] | None:
    """The position in ``token`` (``None`` for the first page); a malformed token is 422."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        position = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput.field("page_token", "page_token", "is not a token this server issued") from exc
    if not isinstance(position, dict) or any(k not in position for k in keys):
        raise InvalidInput.field("page_token", "page_token", "is not a token this server issued")
    return position


def check_page_size(size: int) -> int:
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise InvalidInput.field("page_size", "range", f"must be between 1 and {MAX_PAGE_SIZE}")
    return size
