"""What the listings of models, versions and audit events are narrowed by, and the SQL of a model filter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select

from steward.storage._engine import contains
from steward.storage._tables import SqlModel, SqlModelScope, SqlModelTag


@dataclass(frozen=True, slots=True)
class ModelFilter:
    """Models by owner, tier, state, regulatory scope, tags (all must match) and text in the name,
    description or use case (any script's case ignored)."""

    owner: str | None = None
    risk_tier: str | None = None
    state: str | None = None
    scope: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    text: str | None = None


@dataclass(frozen=True, slots=True)
class VersionFilter:
    """Versions of one model or of any, by their model's owner, state, source platform, artefact
    digest and tags (all must match)."""

    model: str | None = None
    owner: str | None = None
    state: str | None = None
    source_platform: str | None = None
    artifact_digest: str | None = None
    tags: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Audit events by subject, actor, action and a time range (``since`` included, ``until`` not)."""

    subject_type: str | None = None
    subject_id: str | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def model_conditions(where: ModelFilter) -> list[ColumnElement[bool]]:
    """The SQL conditions of a :class:`ModelFilter` (the same rules as ``list_models``)."""
    conditions: list[ColumnElement[bool]] = []
    if where.owner:
        conditions.append(SqlModel.owner == where.owner)
    if where.risk_tier:
        conditions.append(SqlModel.risk_tier == where.risk_tier)
    if where.state:
        conditions.append(SqlModel.state == where.state)
    if where.scope:
        conditions.append(
            SqlModel.id.in_(select(SqlModelScope.model_id).where(SqlModelScope.scope == where.scope))
        )
    for key, value in where.tags:
        conditions.append(
            SqlModel.id.in_(
                select(SqlModelTag.model_id).where(SqlModelTag.key == key, SqlModelTag.value == value)
            )
        )
    if where.text:
        conditions.append(contains(where.text, SqlModel.name, SqlModel.description, SqlModel.use_case))
    return conditions
