"""Incidents, harvests and source platforms (MLflow's connector, its webhook deliveries, alias guards)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Field,
    StringConstraints,
)

from steward.domain import (
    LONG_TEXT_MAX,
    SHORT_TEXT_MAX,
    URI_MAX,
    IncidentState,
    Severity,
)
from steward.wire._base import (
    EnvironmentName,
    In,
    LongText,
    Name,
    Out,
)

# -- incidents, harvests and source platforms ---------------------------------------------------


class IncidentCreate(In):
    """The body of ``POST /incidents``: an incident to open on a model (and one of its versions)."""

    model: Name
    version: Annotated[int, Field(ge=1)] | None = None
    severity: Severity
    title: Annotated[str, StringConstraints(min_length=1, max_length=SHORT_TEXT_MAX)]
    description: LongText = ""


class IncidentResolve(In):
    """The body of ``POST /incidents/{incident_id}/resolve``: how the incident was resolved."""

    resolution: Annotated[str, StringConstraints(min_length=1, max_length=LONG_TEXT_MAX)]


class IncidentActionOut(Out):
    """One thing done about an incident (an alias moved back, a rollback, a retrain, a note)."""

    at: datetime
    actor: str
    action: str
    detail: str


class IncidentOut(Out):
    """An incident as the API answers it; ``audit_seqs`` are the audit events that record it."""

    id: int
    model: str
    version: int | None
    severity: Severity
    title: str
    description: str
    state: IncidentState
    source: str
    actions: list[IncidentActionOut]
    audit_seqs: list[int]
    opened_by: str
    opened_at: datetime
    resolved_by: str | None
    resolved_at: datetime | None
    resolution: str
    revision: int


class HarvestCreate(In):
    """A harvest of an MLflow tracking server, run in the background by the server."""

    tracking_uri: Annotated[str, StringConstraints(min_length=1, max_length=URI_MAX, pattern=r"^https?://")]
    experiments: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=256)]], Field(max_length=100)
    ] = []
    models: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=256)]], Field(max_length=100)
    ] = []
    digest: Literal["auto", "files", "metadata"] = "auto"


class HarvestOut(Out):
    """A harvest job as ``POST /harvests`` and ``GET /harvests/{harvest_id}`` answer it;
    ``summary`` is filled as it runs."""

    id: int
    platform: str
    location: str
    experiments: list[str]
    models: list[str]
    state: Literal["queued", "running", "succeeded", "failed"]
    summary: dict[str, Any]
    error: str
    requested_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class AliasGuardsUpdate(In):
    """Aliases to guard for one model, each with the environment a version must be deployed to;
    ``null`` goes back to the defaults, ``{}`` guards nothing."""

    guards: (
        Annotated[
            dict[Annotated[str, StringConstraints(min_length=1, max_length=128)], EnvironmentName],
            Field(max_length=32),
        ]
        | None
    )


class AliasGuardsOut(BaseModel):
    """The aliases Steward guards for ``model``, each with its environment; ``defaults`` when
    these are the default guards."""

    model: str
    guards: dict[str, str]
    defaults: bool


class ConnectorEventOut(BaseModel):
    """What the receiver did with one platform event."""

    accepted: bool
    event: str
    outcome: str


class DeliveryOut(BaseModel):
    """One delivery the receiver accepted: MLflow's send stamp and its arrival (``delivery_seconds``
    between them), the seconds from its arrival to the first commit of what it changed
    (``commit_seconds``; ``null`` when it changed nothing) and to Steward's answer
    (``processing_seconds``: Steward's own calls back to MLflow done too)."""

    event: str
    model: str
    sent_at: datetime
    received_at: datetime
    delivery_seconds: float
    commit_seconds: float | None
    processing_seconds: float
    outcome: str


class DeliveriesOut(BaseModel):
    """What this server process's receiver did since ``since``: deliveries accepted by event,
    refused by reason (``missing_headers``, ``bad_signature``, ``bad_timestamp``, ``stale``, ``replay``,
    ``malformed``, ``no_secret``, ``unauthenticated``, ``forbidden``), failed by error code; timing
    percentiles (``p50``, ``p95``, ``max``, ``last``) over the recent deliveries, listed oldest first."""

    since: datetime
    accepted: dict[str, int]
    refused: dict[str, int]
    failed: dict[str, int]
    commit_seconds: dict[str, float]
    processing_seconds: dict[str, float]
    delivery_seconds: dict[str, float]
    recent: list[DeliveryOut]


class MlflowConnectorOut(BaseModel):
    """The MLflow connector of this server: the tracking server it is connected to, the ones REST
    harvests may reach, whether it can verify signed deliveries, and what its receiver did."""

    tracking_uri: str | None
    harvest_tracking_uris: list[str]
    webhook_secret_set: bool
    deliveries: DeliveriesOut
