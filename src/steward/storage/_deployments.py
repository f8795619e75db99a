"""Deployments: which version is active in each environment, and the history of what replaced what."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.orm import Session

from steward.domain import Deployment, Page
from steward.storage import _convert as convert
from steward.storage._pages import check_page_size, decode_token, page_of
from steward.storage._subjects import model_id, version_ids
from steward.storage._tables import SqlDeployment, SqlModel, SqlModelVersion


class SqlDeployments:
    """Deployment rows, read as records with their model's name and version number."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def _rows(self, stmt: Select[Any], values: dict[str, Any] | None = None) -> list[Deployment]:
        rows = convert.plain_rows(self.s.connection().execute(stmt, values or {}))
        return [convert.to_deployment(r, r.model_name, r.version_number) for r in rows]

    def matching(self, *conditions: Any) -> list[Deployment]:
        """The deployments that meet every SQL condition of ``conditions``, oldest first."""
        return self._rows(_DEPLOYMENTS.where(*conditions).order_by(SqlDeployment.id))

    def active_deployment(self, model: str, environment: str) -> Deployment | None:
        found = self.matching(
            SqlModel.name == model,
            SqlDeployment.environment == environment,
            SqlDeployment.state == "active",
        )
        return found[-1] if found else None

    def active_deployments(self, models: Iterable[str]) -> dict[tuple[str, str], Deployment]:
        """The active deployment of each ``(model, environment)`` of ``models``, in one query."""
        names = list(models)
        if not names:
            return {}
        found = self.matching(SqlModel.name.in_(names), SqlDeployment.state == "active")
        return {(d.model, d.environment): d for d in found}  # by id: the newest of any two wins

    def insert_deployment(self, deployment: Deployment) -> Deployment:
        ids = version_ids(self.s, deployment.model, deployment.version)
        row = SqlDeployment(
            model_id=ids.model,
            version_id=ids.version,
            environment=deployment.environment,
            target=deployment.target,
            deployed_by=deployment.deployed_by,
            deployed_at=deployment.deployed_at,
            state=deployment.state.value,
            replaces_id=deployment.replaces,
            reason=deployment.reason,
            ended_at=deployment.ended_at,
        )
        self.s.add(row)
        self.s.flush()
        return convert.to_deployment(row, deployment.model, deployment.version)

    def end_deployment(self, deployment_id: int, state: str, at: datetime) -> None:
        self.s.execute(
            update(SqlDeployment)
            .where(SqlDeployment.id == deployment_id)
            .values(state=state, ended_at=at)
            .execution_options(synchronize_session=False)
        )

    def deployments_of(
        self, model: str, version: int | None = None, environment: str | None = None
    ) -> list[Deployment]:
        """Every deployment of ``model`` (of one version, in one environment), oldest first: what
        the use cases read whole (rollback, retirement, the history)."""
        conditions = [SqlDeployment.model_id == model_id(self.s, model)]
        if version is not None:
            conditions.append(SqlModelVersion.version == version)
        if environment is not None:
            conditions.append(SqlDeployment.environment == environment)
        return self.matching(*conditions)

    def list_deployments(
        self,
        page_size: int,
        token: str | None,
        model: str | None = None,
        environment: str | None = None,
    ) -> Page[Deployment]:
        """Deployments (of one model, in one environment), oldest first."""
        check_page_size(page_size)
        position = decode_token(token, "id")
        after = position["id"] if position else None
        stmt = _deployment_page(model is not None, environment is not None, after is not None)
        values = {"model": model, "environment": environment, "after": after, "limit": page_size + 1}
        rows = self._rows(stmt, values)
        if model is not None and not rows:
            model_id(self.s, model)  # a missing model says so
        kept, next_token = page_of(rows, page_size, lambda d: {"id": d.id})
        return Page(tuple(kept), next_token)


_DEPLOYMENTS = (
    select(
        *SqlDeployment.__table__.c,
        SqlModel.name.label("model_name"),
        SqlModelVersion.version.label("version_number"),
    )
    .join(SqlModel, SqlModel.id == SqlDeployment.model_id)
    .join(SqlModelVersion, SqlModelVersion.id == SqlDeployment.version_id)
)


@functools.cache
def _deployment_page(by_model: bool, by_environment: bool, after: bool) -> Select[Any]:
    """The statement of one page of deployments for the filters given (built once per shape:
    building it is most of what answering costs); values are bound as ``model``,
    ``environment``, ``after`` (the last id of the previous page) and ``limit``."""
    stmt = _DEPLOYMENTS
    if by_model:
        stmt = stmt.where(SqlModel.name == bindparam("model"))
    if by_environment:
        stmt = stmt.where(SqlDeployment.environment == bindparam("environment"))
    if after:
        stmt = stmt.where(SqlDeployment.id > bindparam("after"))
    return stmt.order_by(SqlDeployment.id).limit(bindparam("limit"))
