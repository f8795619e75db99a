"""The governance records: frozen dataclasses, no I/O.

Rows become these records in ``steward.storage`` only; the wire schemas are built from them.
``revision`` counts updates and drives optimistic concurrency: an update names the revision it read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from steward.domain._values import (
    DatasetRole,
    DeploymentState,
    ModelState,
    PrincipalKind,
    RiskTier,
    Role,
    VersionState,
)

JSON = dict[str, Any]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Model:
    """The governance record of one model."""

    name: str
    owner: str
    risk_tier: RiskTier
    description: str = ""
    use_case: str = ""
    intended_use: str = ""
    limitations: str = ""
    regulatory_scopes: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    state: ModelState = ModelState.ACTIVE
    review_cadence_months: int | None = None
    source_links: dict[str, str] = field(default_factory=dict)
    created_by: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    revision: int = 1


@dataclass(frozen=True, slots=True)
class DatasetUse:
    """A dataset version used by a model version, in one role."""

    dataset: str
    version: str
    role: DatasetRole


@dataclass(frozen=True, slots=True)
class Environment:
    """Where a version was trained: enough to rebuild it."""

    python_version: str | None = None
    dependency_lock_digest: str | None = None
    container_image_digest: str | None = None


@dataclass(frozen=True, slots=True)
class SourceLink:
    """Where a version also lives: a platform's own id for the same artefact (same digest).

    ``digest_method`` says how the artefact digest was obtained there (``files``: hashed from the
    artefact's files; ``metadata``: from the platform's metadata, when the files were unreachable).
    ``attributes`` holds what the platform says about it (status, aliases, run id).
    """

    platform: str
    external_id: str
    uri: str
    digest_method: str = "given"
    attributes: JSON = field(default_factory=dict)
    linked_by: str = ""
    linked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """One trained artefact of a model."""

    model: str
    version: int
    artifact_uri: str
    artifact_digest: str
    source_platform: str = "manual"
    external_id: str | None = None
    training_run: str | None = None
    description: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    datasets: tuple[DatasetUse, ...] = ()
    code_repository: str | None = None
    code_commit: str | None = None
    environment: Environment = field(default_factory=Environment)
    state: VersionState = VersionState.REGISTERED
    registered_by: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    revision: int = 1
    sources: tuple[SourceLink, ...] = ()


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str
    description: str = ""
    source: str = ""
    owner: str = ""
    approved: bool = False
    created_by: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    revision: int = 1


@dataclass(frozen=True, slots=True)
class DatasetVersion:
    dataset: str
    version: str
    uri: str
    digest: str
    schema_digest: str | None = None
    row_count: int | None = None
    created_by: str = ""
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TrainingRun:
    """A training run on its platform; ``run_id`` is unique across platforms in Steward."""

    run_id: str
    platform: str = "manual"
    experiment: str = ""
    user: str = ""
    parameters: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    parent_run_id: str | None = None
    code_commit: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    created_by: str = ""
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Deployment:
    """A version placed in an environment on a target; ``replaces`` points at what it replaced."""

    id: int
    model: str
    version: int
    environment: str
    target: str
    deployed_by: str
    deployed_at: datetime
    state: DeploymentState = DeploymentState.ACTIVE
    replaces: int | None = None
    reason: str = ""
    ended_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One entry of the audit log; ``hash`` chains it to ``prev_hash``."""

    seq: int
    time: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    before: JSON | None
    after: JSON | None
    reason: str
    request_id: str
    client_address: str
    user_agent: str
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class Principal:
    """A user or service account and its roles."""

    name: str
    roles: frozenset[Role]
    kind: PrincipalKind = PrincipalKind.USER
    display_name: str = ""
    disabled: bool = False
    created_at: datetime | None = None

    def has_role(self, role: Role) -> bool:
        return role in self.roles


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A credential of a principal; only its SHA-256 hash is stored."""

    id: int
    principal: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class LineageNode:
    id: str
    kind: str
    label: str
    attributes: JSON = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LineageEdge:
    source: str
    target: str
    relation: str


@dataclass(frozen=True, slots=True)
class Lineage:
    """Upstream (data, run, code, environment) and downstream (deployments) of one version."""

    root: str
    nodes: tuple[LineageNode, ...]
    edges: tuple[LineageEdge, ...]


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing; ``next_token`` is ``None`` on the last page."""

    items: tuple[T, ...]
    next_token: str | None = None
