from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import AwareDatetime

PageSize = Annotated[int, Query(ge=1, le=1000, description="Items per page (1 to 1000).")]
PageToken = Annotated[
    str | None, Query(max_length=512, description="`next_page_token` of the previous page.")
]
Instant = Annotated[
    AwareDatetime | None,
    Query(description="An ISO 8601 time with its zone, e.g. `2025-01-01T00:00:00Z`."),
]


def parse_tags(tags: list[str] | None) -> tuple[tuple[str, str], ...]:
    """``key=value`` filters; a filter without ``=`` is refused naming it."""
    from steward.errors import InvalidInput

    pairs = []
    for i, tag in enumerate(tags or []):
        key, sep, value = tag.partition("=")
        if not sep or not key:
            raise InvalidInput.field(f"tag[{i}]", "key_value", f"must be KEY=VALUE (got {tag!r})")
        pairs.append((key, value))
    return tuple(pairs)
