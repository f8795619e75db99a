"""Read-only figures over many records at once: the inventory's lines and the dashboard's counts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Text, and_, func, select, type_coerce
from sqlalchemy.orm import Session

from steward.domain import ModelState, RiskTier
from steward.storage._filters import ModelFilter, model_conditions
from steward.storage._tables import SqlDeployment, SqlModel, SqlModelVersion


@dataclass(frozen=True, slots=True)
class ModelSummary:
    """One line of the inventory: a model's headline fields and the version active in production."""

    name: str
    owner: str
    risk_tier: RiskTier
    state: ModelState
    regulatory_scopes: tuple[str, ...]
    review_cadence_months: int | None
    created_at: datetime  # the periodic review clock starts when the record was created
    production_version: int | None


class SqlOverview:
    """Queries that read a table whole or count it, each in one statement."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def model_summaries(self, where: ModelFilter) -> list[ModelSummary]:
        """Every model matching ``where`` (by name), with its active production version, in one query."""
        production = (
            select(
                SqlDeployment.model_id.label("model_id"),
                func.max(SqlModelVersion.version).label("version"),
            )
            .join(SqlModelVersion, SqlModelVersion.id == SqlDeployment.version_id)
            .where(SqlDeployment.environment == "production", SqlDeployment.state == "active")
            .group_by(SqlDeployment.model_id)
            .subquery()
        )
        stmt = (
            select(
                SqlModel.name,
                SqlModel.owner,
                SqlModel.risk_tier,
                SqlModel.state,
                type_coerce(SqlModel.regulatory_scopes, Text),  # JSON text, decoded below unless empty
                SqlModel.review_cadence_months,
                type_coerce(SqlModel.created_at, Text),  # parsed below, faster than the column type
                production.c.version,
            )
            .outerjoin(production, production.c.model_id == SqlModel.id)
            .where(and_(True, *model_conditions(where)))
            .order_by(SqlModel.name)
        )
        # This reads every model at once, so it skips what cost most: ORM row loading (Core
        # execution, one fetch) and decoding empty JSON lists.
        rows = self.s.connection().execute(stmt).all()
        return [
            ModelSummary(
                name=name,
                owner=owner,
                risk_tier=_TIERS[tier],
                state=_MODEL_STATES[state],
                regulatory_scopes=_scopes(scopes),
                review_cadence_months=cadence,
                created_at=_as_utc(created),
                production_version=version,
            )
            for name, owner, tier, state, scopes, cadence, created, version in rows
        ]

    def _utc_day(self, column: Any) -> Any:
        """SQL for the UTC calendar day of a timestamp column (SQLite keeps naive UTC text)."""
        if self.s.get_bind().dialect.name == "sqlite":
            return func.date(column)
        return func.date(func.timezone("UTC", column))

    def count_versions_by_day(self, since: datetime | None = None) -> list[tuple[date, int]]:
        """How many versions were registered on each UTC day (from ``since``), oldest day first."""
        column = SqlModelVersion.created_at
        day = self._utc_day(column)
        stmt = select(day, func.count()).group_by(day).order_by(day)
        if since is not None:
            stmt = stmt.where(column >= since)
        return [(_as_date(value), int(count)) for value, count in self.s.execute(stmt)]

    def count_deployments(self) -> list[tuple[str, str, int]]:
        """``(environment, state, count)`` over every recorded deployment."""
        stmt = (
            select(SqlDeployment.environment, SqlDeployment.state, func.count())
            .group_by(SqlDeployment.environment, SqlDeployment.state)
            .order_by(SqlDeployment.environment, SqlDeployment.state)
        )
        return [(env, state, int(n)) for env, state, n in self.s.execute(stmt)]


_TIERS = {tier.value: tier for tier in RiskTier}
_MODEL_STATES = {state.value: state for state in ModelState}


def _scopes(value: Any) -> tuple[str, ...]:
    """Scopes from their JSON column read as text (SQLite) or already decoded (psycopg)."""
    if isinstance(value, str):
        return tuple(json.loads(value)) if value != "[]" else ()
    return tuple(value or ())


def _as_date(value: Any) -> date:
    """A SQL ``date(...)`` result: a ``date`` on PostgreSQL, ``'YYYY-MM-DD'`` text on SQLite."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _as_utc(value: Any) -> datetime:
    """A timestamp column read as text: naive UTC text on SQLite, an aware datetime on psycopg."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)
