"""The audit browser: events by subject, actor, action and time; verification of the chain."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from steward.domain import EVENT_TYPES, Action, AuditEvent, StoredCheckpoint
from steward.errors import InvalidInput, NotFound
from steward.server.ui._web import (
    PageRoute,
    Viewer,
    ViewerDep,
    is_htmx,
    model_href,
    query_string,
    reads,
    render,
    steward_of,
)
from steward.service import Verification
from steward.storage import AuditFilter

router = APIRouter(route_class=PageRoute, include_in_schema=False)

Text = Annotated[str | None, Query(max_length=512)]
SUBJECT_TYPES = (
    "incident",
    "ledger",
    "model",
    "model_version",
    "dataset",
    "dataset_version",
    "training_run",
    "deployment",
    "principal",
    "token",
)
PAGE_SIZE = 50


def parse_day(field: str, value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput.field(field, "date", f"must be a date YYYY-MM-DD (got {value!r})") from None


def subject_href(event: AuditEvent) -> str | None:
    """A link to the page that shows the event's subject, where there is one."""
    if event.subject_type == "model":
        return model_href(event.subject_id)
    if event.subject_type == "model_version":
        name, _, number = event.subject_id.rpartition("/")
        return f"{model_href(name)}?version={number}" if number.isdigit() else None
    if event.subject_type == "deployment":
        name, _, number = event.subject_id.rpartition("/")
        return f"{model_href(name.rpartition('/')[0])}#deployment-{number}" if number.isdigit() else None
    return None


def pretty(value: dict[str, Any] | None) -> str:
    return "—" if value is None else json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def _audit(
    request: Request,
    viewer: Viewer,
    *,
    subject_type: str | None,
    subject_id: str | None,
    actor: str | None,
    action: str | None,
    since: str | None,
    until: str | None,
    page_token: str | None,
    verification: Verification | None = None,
) -> Response:
    steward = steward_of(request)
    if subject_type and subject_type not in SUBJECT_TYPES:
        raise InvalidInput.field("subject_type", "choice", f"must be one of {', '.join(SUBJECT_TYPES)}")
    first, last = parse_day("since", since), parse_day("until", until)
    where = AuditFilter(
        subject_type=subject_type or None,
        subject_id=subject_id or None,
        actor=actor or None,
        action=action or None,
        since=datetime.combine(first, datetime.min.time(), UTC) if first else None,
        until=datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC) if last else None,
    )
    page = steward.audit.list_events(viewer.caller, where, PAGE_SIZE, page_token)
    filters = {
        "subject_type": subject_type,
        "subject_id": subject_id,
        "actor": actor,
        "action": action,
        "since": since,
        "until": until,
    }
    context = {
        "page": page,
        "filters": filters,
        "subject_types": SUBJECT_TYPES,
        "actions": sorted(EVENT_TYPES),
        "first_page": page_token is None,
        "first_link": "/audit" + query_string(filters),
        "next_link": "/audit" + query_string({**filters, "page_token": page.next_token}),
        "subject_href": subject_href,
        "pretty": pretty,
        "verification": verification,
        "checkpoint": latest_checkpoint(request, viewer),
        "evidence": viewer.may(Action.EVIDENCE_READ),
    }
    template = "_audit_results.html" if is_htmx(request, "audit-results") else "audit.html"
    return render(request, template, context)


def latest_checkpoint(request: Request, viewer: Viewer) -> StoredCheckpoint | None:
    """The ledger's latest signed checkpoint (``None`` before the first one is signed)."""
    try:
        return steward_of(request).ledger.checkpoint(viewer.caller)
    except NotFound:
        return None


@router.get("/audit", openapi_extra=reads(Action.AUDIT_READ))
def audit(
    request: Request,
    viewer: ViewerDep,
    subject_type: Text = None,
    subject_id: Text = None,
    actor: Text = None,
    action: Text = None,
    since: Annotated[str | None, Query(max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
    page_token: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    return _audit(
        request,
        viewer,
        subject_type=subject_type,
        subject_id=subject_id,
        actor=actor,
        action=action,
        since=since,
        until=until,
        page_token=page_token,
    )


@router.post("/audit/verify")
def verify(request: Request, viewer: ViewerDep) -> Response:
    """Walk the whole chain now and show the outcome (the same check as `steward audit verify`)."""
    result = steward_of(request).audit.verify(viewer.caller)
    if is_htmx(request, "verification"):
        return render(request, "_verification.html", {"verification": result})
    return _audit(
        request,
        viewer,
        subject_type=None,
        subject_id=None,
        actor=None,
        action=None,
        since=None,
        until=None,
        page_token=None,
        verification=result,
    )
