"""Incident rows and their queries (used through ``SqlTransaction.incidents``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from steward.domain import Incident, IncidentAction, IncidentState, Page, Severity
from steward.errors import Conflict, NotFound
from steward.storage._pages import check_page_size, decode_token, encode_token
from steward.storage._subjects import model_id
from steward.storage._tables import Base, SqlModel, UTCDateTime


class SqlIncident(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"), index=True)
    version: Mapped[int | None] = mapped_column(Integer)
    severity: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(256))
    description: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), index=True)
    source: Mapped[str] = mapped_column(String(64))
    actions: Mapped[list[Any]] = mapped_column(JSON)
    audit_seqs: Mapped[list[Any]] = mapped_column(JSON)
    opened_by: Mapped[str] = mapped_column(String(256))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(256))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer)


def _action_json(action: IncidentAction) -> dict[str, Any]:
    return {
        "at": action.at.isoformat(),
        "actor": action.actor,
        "action": action.action,
        "detail": action.detail,
    }


def to_incident(row: SqlIncident, model: str) -> Incident:
    return Incident(
        id=row.id,
        model=model,
        severity=Severity(row.severity),
        title=row.title,
        description=row.description,
        version=row.version,
        state=IncidentState(row.state),
        source=row.source,
        actions=tuple(
            IncidentAction(
                at=datetime.fromisoformat(a["at"]), actor=a["actor"], action=a["action"], detail=a["detail"]
            )
            for a in row.actions
        ),
        audit_seqs=tuple(int(s) for s in row.audit_seqs),
        opened_by=row.opened_by,
        opened_at=row.opened_at,
        resolved_by=row.resolved_by,
        resolved_at=row.resolved_at,
        resolution=row.resolution,
        revision=row.revision,
    )


class SqlIncidents:
    """Incident queries inside one transaction."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def _model_id(self, name: str) -> int:
        return model_id(self.s, name)

    def insert(self, incident: Incident) -> Incident:
        row = SqlIncident(
            model_id=self._model_id(incident.model),
            version=incident.version,
            severity=incident.severity.value,
            title=incident.title,
            description=incident.description,
            state=incident.state.value,
            source=incident.source,
            actions=[_action_json(a) for a in incident.actions],
            audit_seqs=list(incident.audit_seqs),
            opened_by=incident.opened_by,
            opened_at=incident.opened_at,
            resolved_by=incident.resolved_by,
            resolved_at=incident.resolved_at,
            resolution=incident.resolution,
            revision=incident.revision,
        )
        self.s.add(row)
        self.s.flush()
        return to_incident(row, incident.model)

    def find(self, incident_id: int) -> Incident | None:
        found = self.s.execute(
            select(SqlIncident, SqlModel.name)
            .join(SqlModel, SqlModel.id == SqlIncident.model_id)
            .where(SqlIncident.id == incident_id)
        ).one_or_none()
        return None if found is None else to_incident(found[0], found[1])

    def save(self, incident: Incident, expected_revision: int) -> Incident:
        """Write the mutable fields if the stored revision is still ``expected_revision``."""
        result = self.s.execute(
            update(SqlIncident)
            .where(SqlIncident.id == incident.id, SqlIncident.revision == expected_revision)
            .values(
                state=incident.state.value,
                actions=[_action_json(a) for a in incident.actions],
                audit_seqs=list(incident.audit_seqs),
                resolved_by=incident.resolved_by,
                resolved_at=incident.resolved_at,
                resolution=incident.resolution,
                revision=expected_revision + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(
                f"incident {incident.id} changed since revision {expected_revision} was read",
                {"incident": incident.id, "expected_revision": expected_revision},
            )
        self.s.expire_all()
        stored = self.find(incident.id)
        if stored is None:  # pragma: no cover (it was just written)
            raise NotFound(f"incident {incident.id} does not exist", {"incident": incident.id})
        return stored

    def list(self, model: str | None, state: str | None, page_size: int, token: str | None) -> Page[Incident]:
        """Newest first."""
        check_page_size(page_size)
        position = decode_token(token, "id")
        stmt = select(SqlIncident, SqlModel.name).join(SqlModel, SqlModel.id == SqlIncident.model_id)
        if model is not None:
            stmt = stmt.where(SqlIncident.model_id == self._model_id(model))
        if state is not None:
            stmt = stmt.where(SqlIncident.state == state)
        if position:
            stmt = stmt.where(SqlIncident.id < position["id"])
        rows = self.s.execute(stmt.order_by(SqlIncident.id.desc()).limit(page_size + 1)).all()
        next_token = encode_token({"id": rows[page_size - 1][0].id}) if len(rows) > page_size else None
        return Page(tuple(to_incident(r, name) for r, name in rows[:page_size]), next_token)
