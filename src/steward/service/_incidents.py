"""Incidents: open, list, read, resolve. Guard mode (and, later, monitoring) opens them too."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from steward import wire
from steward.domain import (
    Action,
    DomainEvent,
    Incident,
    IncidentAction,
    IncidentState,
    Page,
    Severity,
)
from steward.errors import InvalidTransition, NotFound
from steward.service._caller import Caller
from steward.service._events import Clock, EventBus, Writer, writing
from steward.service._snapshots import snapshot
from steward.storage import SqlStore


def open_incident(
    w: Writer,
    caller: Caller,
    *,
    model: str,
    version: int | None,
    severity: Severity,
    title: str,
    description: str,
    source: str = "manual",
    actions: Sequence[IncidentAction] = (),
    audit_seqs: Sequence[int] = (),
    reason: str = "",
) -> Incident:
    """Open an incident inside a use case's transaction; its ``incident.opened`` event is linked."""
    stored = w.tx.incidents.insert(
        Incident(
            id=0,
            model=model,
            version=version,
            severity=severity,
            title=title,
            description=description,
            source=source,
            actions=tuple(actions),
            audit_seqs=tuple(audit_seqs),
            opened_by=caller.name,
            opened_at=w.at,
        )
    )
    event = w.emit(
        DomainEvent("incident.opened", "incident", str(stored.id), after=snapshot(stored), reason=reason)
    )
    return w.tx.incidents.save(replace(stored, audit_seqs=(*stored.audit_seqs, event.seq)), stored.revision)


class IncidentService:
    def __init__(self, store: SqlStore, bus: EventBus, clock: Clock) -> None:
        self.store = store
        self.bus = bus
        self.clock = clock

    def open(self, caller: Caller, spec: wire.IncidentCreate) -> Incident:
        caller.authorize(Action.INCIDENT_OPEN)
        with writing(self.store, self.bus, caller.origin, self.clock) as w:
            if w.tx.find_model(spec.model) is None:
                raise NotFound(f"model {spec.model!r} does not exist", {"model": spec.model})
            if spec.version is not None and w.tx.find_version(spec.model, spec.version) is None:
                raise NotFound(
                    f"model {spec.model!r} has no version {spec.version}",
                    {"model": spec.model, "version": spec.version},
                )
            return open_incident(
                w,
                caller,
                model=spec.model,
                version=spec.version,
                severity=spec.severity,
                title=spec.title,
                description=spec.description,
            )

    def get(self, caller: Caller, incident_id: int) -> Incident:
        caller.authorize(Action.INCIDENT_READ)
        with self.store.read() as tx:
            found = tx.incidents.find(incident_id)
        if found is None:
            raise NotFound(f"incident {incident_id} does not exist", {"incident": incident_id})
        return found

    def list(
        self,
        caller: Caller,
        model: str | None = None,
        state: IncidentState | None = None,
        page_size: int = 50,
        page_token: str | None = None,
    ) -> Page[Incident]:
        caller.authorize(Action.INCIDENT_READ)
        with self.store.read() as tx:
            return tx.incidents.list(model, state.value if state else None, page_size, page_token)

    def resolve(self, caller: Caller, incident_id: int, spec: wire.IncidentResolve) -> Incident:
        caller.authorize(Action.INCIDENT_RESOLVE)
        with writing(self.store, self.bus, caller.origin, self.clock) as w:
            current = w.tx.incidents.find(incident_id)
            if current is None:
                raise NotFound(f"incident {incident_id} does not exist", {"incident": incident_id})
            if current.state is IncidentState.RESOLVED:
                raise InvalidTransition(
                    f"incident {incident_id} is resolved already",
                    {"from": current.state.value, "to": IncidentState.RESOLVED.value, "allowed": []},
                )
            resolved = replace(
                current,
                state=IncidentState.RESOLVED,
                resolved_by=caller.name,
                resolved_at=w.at,
                resolution=spec.resolution,
                actions=(
                    *current.actions,
                    IncidentAction(w.at, caller.name, "resolved", spec.resolution),
                ),
            )
            event = w.emit(
                DomainEvent(
                    "incident.resolved",
                    "incident",
                    str(incident_id),
                    before={"state": current.state.value},
                    after={"state": IncidentState.RESOLVED.value, "resolution": spec.resolution},
                    reason=spec.resolution,
                )
            )
            return w.tx.incidents.save(
                replace(resolved, audit_seqs=(*resolved.audit_seqs, event.seq)), current.revision
            )
