from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import Query
from pydantic import AwareDatetime, BaseModel

from steward import wire
from steward.domain import Page

M = TypeVar("M", bound=BaseModel)

PageSize = Annotated[int, Query(ge=1, le=1000, description="Items per page (1 to 1000).")]
PageToken = Annotated[
    str | None, Query(max_length=512, description="`next_page_token` of the previous page.")
]
Instant = Annotated[
    AwareDatetime | None,
    Query(description="An ISO 8601 time with its zone, e.g. `2025-01-01T00:00:00Z`."),
]


def page_out(schema: type[M], page: Page[Any]) -> wire.Page[M]:
    """A page of records as the wire's ``Page`` of ``schema``, with its next token."""
    return wire.Page[schema](  # type: ignore[valid-type]
        items=[schema.model_validate(item) for item in page.items], next_page_token=page.next_token
    )


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
