"""The wire's building blocks: field types, the request and response bases, pages, errors, and
the field paths of validation errors."""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from steward.domain import (
    COMMIT_PATTERN,
    DIGEST_PATTERN,
    ENVIRONMENT_PATTERN,
    LONG_TEXT_MAX,
    NAME_MAX,
    NAME_PATTERN,
    SHORT_TEXT_MAX,
    TAG_KEY_MAX,
    TAG_VALUE_MAX,
    TAGS_MAX,
    URI_MAX,
)
from steward.domain import Page as RecordPage
from steward.errors import InvalidInput

T = TypeVar("T")

Name = Annotated[str, StringConstraints(min_length=1, max_length=NAME_MAX, pattern=NAME_PATTERN)]
ShortText = Annotated[str, StringConstraints(max_length=SHORT_TEXT_MAX)]
LongText = Annotated[str, StringConstraints(max_length=LONG_TEXT_MAX)]
Uri = Annotated[str, StringConstraints(min_length=1, max_length=URI_MAX)]
Digest = Annotated[str, StringConstraints(pattern=DIGEST_PATTERN)]
Commit = Annotated[str, StringConstraints(pattern=COMMIT_PATTERN)]
EnvironmentName = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=ENVIRONMENT_PATTERN)]
Owner = Annotated[str, StringConstraints(min_length=1, max_length=SHORT_TEXT_MAX)]
Scope = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[a-z0-9][a-z0-9._-]*$")]
TagKey = Annotated[str, StringConstraints(min_length=1, max_length=TAG_KEY_MAX)]
TagValue = Annotated[str, StringConstraints(max_length=TAG_VALUE_MAX)]
Tags = Annotated[dict[TagKey, TagValue], Field(max_length=TAGS_MAX)]
Metrics = Annotated[dict[TagKey, float], Field(max_length=256)]
Params = Annotated[dict[TagKey, TagValue], Field(max_length=512)]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def not_null(value: Any) -> Any:
    """For an update's optional fields: leaving one out keeps the value; ``null`` is refused
    (validators run only on the fields sent, so this sees explicit nulls alone)."""
    if value is None:
        raise PydanticCustomError(
            "not_null", "must not be null: send a value, or leave the field out to keep the current one"
        )
    return value


# -- shared ------------------------------------------------------------------------------------


def _describe_page(schema: dict[str, Any], cls: type[BaseModel]) -> None:
    """Name the item schema in each ``Page[X]``'s description: pydantic gives a parametrized class
    no docstring of its own, so its OpenAPI component would have none. The text is ``Page``'s."""
    args = cls.__pydantic_generic_metadata__["args"]
    if args:
        text = " ".join((Page.__doc__ or "").split())
        schema["description"] = text.replace("a listing", f"``{args[0].__name__}`` items", 1)


class Page(BaseModel, Generic[T]):
    """One page of a listing; ``next_page_token`` (``null`` on the last page) is sent back as
    ``page_token`` for the next."""

    model_config = ConfigDict(json_schema_extra=_describe_page)

    items: list[T]
    next_page_token: str | None = None


M = TypeVar("M", bound=BaseModel)


def page_out(schema: type[M], page: RecordPage[Any]) -> Page[M]:
    """A page of records as the wire's ``Page`` of ``schema``, with its next token (what the API
    answers, and what the CLI prints from either backend)."""
    return Page[schema](  # type: ignore[valid-type]
        items=[schema.model_validate(item) for item in page.items], next_page_token=page.next_token
    )


class ErrorBody(BaseModel):
    """The ``error`` of the error shape: a stable ``code``, a ``message`` for people, and the code's
    ``details``."""

    code: str
    message: str
    details: dict[str, Any] = {}


class ErrorOut(BaseModel):
    """The one error shape: ``{"error": {"code", "message", "details"}}``."""

    error: ErrorBody


class Health(BaseModel):
    """What ``GET /health`` answers: the version, the database backend, the schema revision it is at
    and the one this release needs (``schema_head``), the number of principals, and, while there is
    none, how to create the first admin (``first_run``)."""

    status: Literal["ok"]
    version: str
    database: str
    schema_revision: str | None
    schema_head: str | None
    principals: int
    first_run: str | None = Field(default=None, description="Sent only while there are no principals.")


# -- validation errors -------------------------------------------------------------------------

_LOCATIONS = {"body", "query", "path", "header"}


def field_path(loc: tuple[Any, ...]) -> str:
    """pydantic's error location as a dotted path with list indexes: ``datasets[0].role``."""
    path = ""
    for part in (p for p in loc if p not in _LOCATIONS):
        text = str(part)
        path += f"[{text}]" if isinstance(part, int) else (f".{text}" if path else text)
    return path or ".".join(str(p) for p in loc)


def _detail(error: Any) -> dict[str, str]:
    loc = tuple(error.get("loc", ()))
    rule = error.get("type", "invalid")
    if rule == "json_invalid":  # the location is ("body", offset): the body is what is broken
        reason = (error.get("ctx") or {}).get("error")
        where = f" at character {loc[-1]}" if loc and isinstance(loc[-1], int) else ""
        message = f"is not valid JSON: {reason}{where}" if reason else "is not valid JSON"
        return {"field": "body", "rule": rule, "message": message}
    return {"field": field_path(loc), "rule": rule, "message": error.get("msg", "invalid")}


def invalid_input(errors: list[Any]) -> InvalidInput:
    """One :class:`InvalidInput` naming every field and the rule it broke."""
    details = [_detail(e) for e in errors]
    first = details[0] if details else {"field": "body", "message": "invalid"}
    more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
    return InvalidInput(f"{first['field']}: {first['message']}{more}", {"errors": details})


def parse(schema: type[BaseModel], data: dict[str, Any]) -> Any:
    """Build a request schema, turning pydantic's error into :class:`InvalidInput`."""
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise invalid_input(list(exc.errors())) from exc
