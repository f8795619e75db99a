"""Opaque page tokens: a keyset position, base64url-encoded JSON."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from steward.errors import InvalidInput

MAX_PAGE_SIZE = 1000

_INT_MAX = 2**63 - 1  # the widest integer key a row has (BIGINT on PostgreSQL, INTEGER on SQLite)
_TEXT_MAX = 1024


def _row_number(value: Any) -> bool:
    return type(value) is int and 0 <= value <= _INT_MAX  # not bool, float or a huge int


def _row_text(value: Any) -> bool:
    if type(value) is not str or len(value) > _TEXT_MAX or "\x00" in value:
        return False
    try:
        value.encode("utf-8")  # JSON may carry lone surrogates, which no database takes
    except UnicodeEncodeError:
        return False
    return True


# The keys a position may hold and what each must be; a listing names the ones its position has.
_KEYS = {"id": _row_number, "seq": _row_number, "name": _row_text}


def encode_token(position: dict[str, Any]) -> str:
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str | None, *keys: str) -> dict[str, Any] | None:
    """The position in ``token`` (``None`` for the first page): exactly ``keys``, each of the type
    this server writes. Anything else (not base64, not JSON, other keys, a key of the wrong type
    or out of range) is :class:`InvalidInput` naming ``page_token``, before any SQL sees it."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        position = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError) as exc:
        raise _not_ours() from exc
    if not isinstance(position, dict) or set(position) != set(keys):
        raise _not_ours()
    if not all(_KEYS[key](position[key]) for key in keys):
        raise _not_ours()
    return position


def _not_ours() -> InvalidInput:
    return InvalidInput.field("page_token", "page_token", "is not a token this server issued")


def check_page_size(size: int) -> int:
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise InvalidInput.field("page_size", "range", f"must be between 1 and {MAX_PAGE_SIZE}")
    return size
