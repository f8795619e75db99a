"""Incidents on models in use."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from steward import wire
from steward.domain import Action, IncidentState
from steward.server.deps import CallerDep, StewardDep, action
from steward.server.routes._common import PageSize, PageToken
from steward.wire import page_out

router = APIRouter(tags=["incidents"])
IncidentId = Annotated[int, Path(ge=1)]


@router.get(
    "/incidents", response_model=wire.Page[wire.IncidentOut], openapi_extra=action(Action.INCIDENT_READ)
)
def list_incidents(
    caller: CallerDep,
    steward: StewardDep,
    model: Annotated[str | None, Query(max_length=128, description="Only this model's incidents.")] = None,
    state: IncidentState | None = None,
    page_size: PageSize = 50,
    page_token: PageToken = None,
) -> wire.Page[wire.IncidentOut]:
    """Incidents, newest first."""
    page = steward.incidents.list(caller, model, state, page_size, page_token)
    return page_out(wire.IncidentOut, page)


@router.post(
    "/incidents",
    status_code=201,
    response_model=wire.IncidentOut,
    openapi_extra=action(Action.INCIDENT_OPEN),
)
def open_incident(body: wire.IncidentCreate, caller: CallerDep, steward: StewardDep) -> wire.IncidentOut:
    """Open an incident on a model (and one of its versions)."""
    return wire.IncidentOut.model_validate(steward.incidents.open(caller, body))


@router.get(
    "/incidents/{incident_id}", response_model=wire.IncidentOut, openapi_extra=action(Action.INCIDENT_READ)
)
def get_incident(incident_id: IncidentId, caller: CallerDep, steward: StewardDep) -> wire.IncidentOut:
    """One incident, with what was done about it and its audit event numbers."""
    return wire.IncidentOut.model_validate(steward.incidents.get(caller, incident_id))


@router.post(
    "/incidents/{incident_id}/resolve",
    response_model=wire.IncidentOut,
    openapi_extra=action(Action.INCIDENT_RESOLVE),
)
def resolve_incident(
    incident_id: IncidentId, body: wire.IncidentResolve, caller: CallerDep, steward: StewardDep
) -> wire.IncidentOut:
    """Resolve an open incident, saying how."""
    return wire.IncidentOut.model_validate(steward.incidents.resolve(caller, incident_id, body))
