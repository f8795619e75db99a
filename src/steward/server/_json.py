"""Records written straight to the wire's JSON, for the routes that answer most often.

A route that returns a wire model makes pydantic build it from the record (every field validated
again, though the record came from the store already typed), then FastAPI checks it against the
route's response model and writes it. For a page of a hundred versions that was a third of a
millisecond. The records here (``Model``, ``ModelVersion``, ``Deployment``) have the very fields
of their wire schemas, in the same order and of the same types, so pydantic can write them as
they are, and the routes keep their wire schema as ``response_model`` for the OpenAPI document.
``WIRE`` names each pair. A record that gains or loses a field its schema lacks fails here, when
the server is imported, and ``tests/unit/test_wire_json.py`` checks that both write the same text.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from fastapi.responses import Response
from pydantic import BaseModel, TypeAdapter

from steward import wire
from steward.domain import Deployment, Model, ModelVersion
from steward.domain import Page as RecordPage

WIRE: dict[type[Any], type[BaseModel]] = {
    Model: wire.ModelOut,
    ModelVersion: wire.VersionOut,
    Deployment: wire.DeploymentOut,
}
"""Each record written as it is, and the wire schema it stands for."""

for _record, _schema in WIRE.items():
    if [f.name for f in dataclasses.fields(_record)] != list(_schema.model_fields):
        raise TypeError(f"{_record.__name__} no longer has the fields of {_schema.__name__}")

R = TypeVar("R")


@dataclasses.dataclass(frozen=True, slots=True)
class _Page(Generic[R]):  # the fields of wire.Page
    items: tuple[R, ...]
    next_page_token: str | None


_RECORDS: dict[type[Any], TypeAdapter[Any]] = {kind: TypeAdapter(kind) for kind in WIRE}
_PAGES: dict[type[Any], TypeAdapter[Any]] = {kind: TypeAdapter(_Page[kind]) for kind in WIRE}  # type: ignore[valid-type]


def record_response(record: Any, headers: Mapping[str, str] | None = None, status: int = 200) -> Response:
    """``record`` (of a type in ``WIRE``) as its wire schema's JSON."""
    body = _adapter(_RECORDS, type(record)).dump_json(record)
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def page_response(record: type[Any], page: RecordPage[Any]) -> Response:
    """A page of ``record`` records (a type in ``WIRE``) as the wire's ``Page`` of its schema."""
    body = _adapter(_PAGES, record).dump_json(_Page(page.items, page.next_token))
    return Response(body, media_type="application/json")


def _adapter(adapters: dict[type[Any], TypeAdapter[Any]], kind: type[Any]) -> TypeAdapter[Any]:
    try:
        return adapters[kind]
    except KeyError:
        raise TypeError(f"{kind.__name__} has no wire schema in steward.server._json.WIRE") from None
