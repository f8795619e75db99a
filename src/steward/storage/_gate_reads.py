"""Read-only queries over the gates of many versions at once (used through ``SqlTransaction.gate_reads``).

The inventory and the model page show, for every row, the newest stored decisions and checks. Each
question is one statement over all the rows shown, never one per row: the newest decision per
target environment of a page of versions, the newest check of each kind of a page of versions, and
each model's gate status (the newest decision for one environment of the version that runs there,
else of the newest version).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, and_, bindparam, func, select
from sqlalchemy.orm import Session, aliased, defer

from steward.domain import CheckResult, PolicyDecision
from steward.storage._gates import SqlCheckResult, SqlPolicyDecision, to_check, to_decision
from steward.storage._tables import SqlDeployment, SqlModel, SqlModelVersion


@dataclass(frozen=True, slots=True)
class GateStatus:
    """The gate status of a model for one target environment: the version that runs there (else,
    when none does, the model's newest version) and the newest decision stored for that version and
    environment (``None`` when it was never evaluated for it)."""

    model: str
    version: int
    deployed: bool  # ``version`` runs in the environment (else it is the newest version)
    decision: PolicyDecision | None


@dataclass(frozen=True, slots=True)
class _Statements:
    decisions: Any  # Select statements (the rows are typed where they are read)
    checks: Any
    gate_status: Any


@functools.cache
def _statements() -> _Statements:
    """The three statements, built once with bound parameters (``model``, ``versions``,
    ``models``, ``environment``): building them costs more than running them on SQLite."""
    versions: BindParameter[Any] = bindparam("versions", expanding=True)
    newest_decisions = (
        select(func.max(SqlPolicyDecision.id))
        .join(SqlModelVersion, SqlModelVersion.id == SqlPolicyDecision.version_id)
        .join(SqlModel, SqlModel.id == SqlModelVersion.model_id)
        .where(SqlModel.name == bindparam("model"), SqlModelVersion.version.in_(versions))
        .group_by(SqlPolicyDecision.version_id, SqlPolicyDecision.environment)
    )
    newest_checks = (
        select(func.max(SqlCheckResult.id))
        .join(SqlModelVersion, SqlModelVersion.id == SqlCheckResult.version_id)
        .join(SqlModel, SqlModel.id == SqlModelVersion.model_id)
        .where(SqlModel.name == bindparam("model"), SqlModelVersion.version.in_(versions))
        .group_by(SqlCheckResult.version_id, SqlCheckResult.kind)
    )
    return _Statements(
        decisions=select(SqlPolicyDecision, SqlModelVersion.version)
        .join(SqlModelVersion, SqlModelVersion.id == SqlPolicyDecision.version_id)
        .options(defer(SqlPolicyDecision.input_document))
        .where(SqlPolicyDecision.id.in_(newest_decisions)),
        checks=select(SqlCheckResult, SqlModelVersion.version)
        .join(SqlModelVersion, SqlModelVersion.id == SqlCheckResult.version_id)
        .where(SqlCheckResult.id.in_(newest_checks))
        .order_by(SqlCheckResult.kind),
        gate_status=_gate_status_statement(),
    )


def _gate_status_statement() -> Any:
    """Per named model: the version active in the environment (its highest), else the newest
    version; then the newest decision for the environment of that version (outer-joined)."""
    models: BindParameter[Any] = bindparam("models", expanding=True)
    environment: BindParameter[Any] = bindparam("environment")
    named = select(SqlModel.id).where(SqlModel.name.in_(models))  # every subquery keeps to them
    deployed = (
        select(SqlDeployment.model_id, func.max(SqlModelVersion.version).label("version"))
        .join(SqlModelVersion, SqlModelVersion.id == SqlDeployment.version_id)
        .where(
            SqlDeployment.model_id.in_(named),
            SqlDeployment.environment == environment,
            SqlDeployment.state == "active",
        )
        .group_by(SqlDeployment.model_id)
        .subquery()
    )
    newest = (
        select(SqlModelVersion.model_id, func.max(SqlModelVersion.version).label("version"))
        .where(SqlModelVersion.model_id.in_(named))
        .group_by(SqlModelVersion.model_id)
        .subquery()
    )
    chosen = (
        select(
            SqlModel.id.label("model_id"),
            SqlModel.name,
            func.coalesce(deployed.c.version, newest.c.version).label("version"),
            deployed.c.version.is_not(None).label("deployed"),
        )
        .join(newest, newest.c.model_id == SqlModel.id)
        .outerjoin(deployed, deployed.c.model_id == SqlModel.id)
        .subquery()
    )
    heads = (
        select(
            chosen.c.name, chosen.c.deployed, SqlModelVersion.id.label("version_id"), SqlModelVersion.version
        )
        .join(
            SqlModelVersion,
            and_(SqlModelVersion.model_id == chosen.c.model_id, SqlModelVersion.version == chosen.c.version),
        )
        .subquery()
    )
    newer = aliased(SqlPolicyDecision)
    latest = (
        select(func.max(newer.id))
        .where(newer.version_id == heads.c.version_id, newer.environment == environment)
        .correlate(heads)
        .scalar_subquery()
    )
    return (
        select(heads.c.name, heads.c.version, heads.c.deployed, SqlPolicyDecision)
        .select_from(heads)
        .outerjoin(SqlPolicyDecision, SqlPolicyDecision.id == latest)
        .options(defer(SqlPolicyDecision.input_document))
    )


class SqlGateReads:
    """The newest decisions and checks of many versions, one statement per question."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def latest_decisions(self, model: str, versions: Sequence[int]) -> dict[int, list[PolicyDecision]]:
        """``{version: its newest decision per target environment}`` for ``model``'s ``versions``
        (without input documents), production first, then by environment name. Versions never
        evaluated are left out."""
        if not versions:
            return {}
        rows = self.s.execute(_statements().decisions, {"model": model, "versions": list(versions)}).all()
        found: dict[int, list[PolicyDecision]] = {}
        for row, number in sorted(rows, key=lambda r: (r[0].environment != "production", r[0].environment)):
            found.setdefault(int(number), []).append(to_decision(row, model, int(number), with_input=False))
        return found

    def latest_checks(self, model: str, versions: Sequence[int]) -> dict[int, list[CheckResult]]:
        """``{version: its newest check of each kind, by kind}`` for ``model``'s ``versions``
        (the checks recorded on the version itself: the data-quality checks of its datasets are
        not among them). Versions with no check are left out."""
        if not versions:
            return {}
        rows = self.s.execute(_statements().checks, {"model": model, "versions": list(versions)}).all()
        found: dict[int, list[CheckResult]] = {}
        for row, number in rows:
            found.setdefault(int(number), []).append(to_check(row, model=model, version=int(number)))
        return found

    def gate_status(self, models: Sequence[str], environment: str) -> dict[str, GateStatus]:
        """``{model: its gate status for environment}`` (see :class:`GateStatus`) for each of
        ``models`` that has a version, in one statement."""
        if not models:
            return {}
        rows = self.s.execute(
            _statements().gate_status, {"models": list(models), "environment": environment}
        ).all()
        return {
            name: GateStatus(
                name,
                int(number),
                bool(deployed_there),
                None if row is None else to_decision(row, name, int(number), with_input=False),
            )
            for name, number, deployed_there, row in rows
        }
