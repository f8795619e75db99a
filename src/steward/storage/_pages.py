"""Pages of listings: opaque page tokens (a keyset position, base64url-encoded JSON) and the
helpers every listing shares to cut a page and make the next token.

A listing reads ``page_size + 1`` rows past the position in the token and hands them to
:func:`page_of`; a listing sorted by something no column holds (a computed due date) sorts in
memory and cuts with :func:`page_after`. A position of several keys (a time and an id) travels as
one text key, :func:`composite_token`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from steward.errors import InvalidInput

T = TypeVar("T")

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


def page_of(
    rows: Sequence[T], size: int, position: Callable[[T], dict[str, Any]]
) -> tuple[list[T], str | None]:
    """Trim a ``size + 1`` fetch to ``size``; the next token is the position of the last row kept
    (``None``: this is the last page)."""
    if len(rows) > size:
        kept = list(rows[:size])
        return kept, encode_token(position(kept[-1]))
    return list(rows), None


def composite_token(*keys: object) -> str:
    """The token of a position of several keys, in sort order (the last may hold any text)."""
    return encode_token({"name": "|".join(str(k) for k in keys)})


def composite_position(token: str | None, count: int) -> list[str] | None:
    """The ``count`` keys of a :func:`composite_token` as text (``None`` for the first page);
    a token that does not hold them is :class:`InvalidInput` naming ``page_token``."""
    raw = decode_token(token, "name")
    if raw is None:
        return None
    keys = str(raw["name"]).split("|", count - 1)
    if len(keys) != count:
        raise _not_ours()
    return keys


def page_after(
    items: Sequence[T],
    size: int,
    key: Callable[[T], Any],
    after: Any | None,
    token: Callable[[T], str],
) -> tuple[list[T], str | None]:
    """A page of ``items`` sorted by ``key``: the first ``size`` whose key is past ``after`` (the
    keyset of the previous page's last item; ``None`` from the start), and the next token."""
    check_page_size(size)
    ordered = sorted(items, key=key)
    rest = ordered if after is None else [i for i in ordered if key(i) > after]
    kept = rest[:size]
    return kept, token(kept[-1]) if len(rest) > size else None
