"""Incidents: something wrong with a model in use, what was done about it, and its audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Severity(StrEnum):
    """How bad an incident is."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class IncidentState(StrEnum):
    """An incident is ``open`` until someone resolves it."""

    OPEN = "open"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class IncidentAction:
    """One thing done about an incident (an alias moved back, a rollback, a retrain, a note)."""

    at: datetime
    actor: str
    action: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Incident:
    """An incident on a model (and, when known, one version of it).

    ``audit_seqs`` are the sequence numbers of the audit events that record it: what provoked it,
    what was done, its opening and its resolution. ``source`` names who opened it (``manual``,
    ``guard:mlflow``, later ``monitoring``).
    """

    id: int
    model: str
    severity: Severity
    title: str
    description: str = ""
    version: int | None = None
    state: IncidentState = IncidentState.OPEN
    source: str = "manual"
    actions: tuple[IncidentAction, ...] = ()
    audit_seqs: tuple[int, ...] = ()
    opened_by: str = ""
    opened_at: datetime | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    resolution: str = ""
    revision: int = 1
