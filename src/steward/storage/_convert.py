"""Rows to domain records: the only place this happens."""

from __future__ import annotations

import functools
from collections import namedtuple
from typing import Any, NamedTuple

from sqlalchemy.engine import Result, Row

from steward.domain import (
    ApiToken,
    AuditEvent,
    Dataset,
    DatasetRole,
    DatasetUse,
    DatasetVersion,
    Deployment,
    DeploymentState,
    Environment,
    Model,
    ModelState,
    ModelVersion,
    Principal,
    PrincipalKind,
    RiskTier,
    Role,
    SourceLink,
    TrainingRun,
    VersionState,
)
from steward.ledger._event import decode_json, parse_time
from steward.storage._tables import (
    SqlApiToken,
    SqlAuditEvent,
    SqlDataset,
    SqlDatasetVersion,
    SqlDeployment,
    SqlModel,
    SqlModelVersion,
    SqlPrincipal,
    SqlTrainingRun,
)


@functools.cache
def _row_shape(columns: tuple[str, ...]) -> type[NamedTuple]:
    return namedtuple("StoredRow", columns)  # type: ignore[return-value]


def plain_rows(result: Result[Any]) -> list[Any]:
    """The rows of ``result`` as named tuples of its columns. A SQLAlchemy ``Row`` looks a column
    up by name in about 300 ns, a named tuple in about 30; a version record reads 22 columns, so
    on a page of a hundred that is most of the time between the database and the record."""
    shape = _row_shape(tuple(result.keys()))
    return [shape._make(row) for row in result]


def to_model(row: SqlModel | Row[Any]) -> Model:
    return Model(
        name=row.name,
        owner=row.owner,
        risk_tier=RiskTier(row.risk_tier),
        description=row.description,
        use_case=row.use_case,
        intended_use=row.intended_use,
        limitations=row.limitations,
        regulatory_scopes=tuple(row.regulatory_scopes),
        tags=dict(row.tags),
        state=ModelState(row.state),
        review_cadence_months=row.review_cadence_months,
        source_links=dict(row.source_links),
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        revision=row.revision,
    )


def to_version(
    row: SqlModelVersion | Row[Any],
    model_name: str,
    run_id: str | None,
    datasets: tuple[DatasetUse, ...],
    sources: tuple[SourceLink, ...] = (),
) -> ModelVersion:
    return ModelVersion(
        model=model_name,
        version=row.version,
        artifact_uri=row.artifact_uri,
        artifact_digest=row.artifact_digest,
        source_platform=row.source_platform,
        external_id=row.external_id,
        training_run=run_id,
        description=row.description,
        metrics=dict(row.metrics),
        parameters=dict(row.parameters),
        tags=dict(row.tags),
        datasets=datasets,
        code_repository=row.code_repository,
        code_commit=row.code_commit,
        environment=Environment(
            python_version=row.python_version,
            dependency_lock_digest=row.dependency_lock_digest,
            container_image_digest=row.container_image_digest,
        ),
        state=VersionState(row.state),
        registered_by=row.registered_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        revision=row.revision,
        sources=sources,
    )


def to_dataset_use(dataset: str, version: str, role: str) -> DatasetUse:
    return DatasetUse(dataset=dataset, version=version, role=DatasetRole(role))


def to_dataset(row: SqlDataset) -> Dataset:
    return Dataset(
        name=row.name,
        description=row.description,
        source=row.source,
        owner=row.owner,
        approved=row.approved,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        revision=row.revision,
    )


def to_dataset_version(row: SqlDatasetVersion, dataset: str) -> DatasetVersion:
    return DatasetVersion(
        dataset=dataset,
        version=row.version,
        uri=row.uri,
        digest=row.digest,
        schema_digest=row.schema_digest,
        row_count=row.row_count,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def to_run(row: SqlTrainingRun) -> TrainingRun:
    return TrainingRun(
        run_id=row.run_id,
        platform=row.platform,
        experiment=row.experiment,
        user=row.user,
        parameters=dict(row.parameters),
        metrics=dict(row.metrics),
        parent_run_id=row.parent_run_id,
        code_commit=row.code_commit,
        started_at=row.started_at,
        ended_at=row.ended_at,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def to_deployment(row: SqlDeployment | Row[Any], model: str, version: int) -> Deployment:
    return Deployment(
        id=row.id,
        model=model,
        version=version,
        environment=row.environment,
        target=row.target,
        deployed_by=row.deployed_by,
        deployed_at=row.deployed_at,
        state=DeploymentState(row.state),
        replaces=row.replaces_id,
        reason=row.reason,
        ended_at=row.ended_at,
    )


def to_event(row: SqlAuditEvent) -> AuditEvent:
    return AuditEvent(
        seq=row.seq,
        time=parse_time(row.time),
        actor=row.actor,
        action=row.action,
        subject_type=row.subject_type,
        subject_id=row.subject_id,
        before=decode_json(row.before),
        after=decode_json(row.after),
        reason=row.reason,
        request_id=row.request_id,
        client_address=row.client_address,
        user_agent=row.user_agent,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def to_principal(row: SqlPrincipal) -> Principal:
    return Principal(
        name=row.name,
        roles=frozenset(Role(r) for r in row.roles),
        kind=PrincipalKind(row.kind),
        display_name=row.display_name,
        disabled=row.disabled,
        created_at=row.created_at,
    )


def to_token(row: SqlApiToken, principal: str) -> ApiToken:
    return ApiToken(
        id=row.id,
        principal=principal,
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )
