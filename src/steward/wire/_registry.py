"""Models, versions, datasets and runs, deployments, lineage, the audit trail, identity."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    Field,
    StringConstraints,
    field_validator,
)

from steward.domain import (
    SHORT_TEXT_MAX,
    URI_MAX,
    DatasetRole,
    DeploymentState,
    ModelState,
    PrincipalKind,
    RiskTier,
    Role,
    VersionState,
)
from steward.wire._base import (
    Commit,
    Digest,
    In,
    LongText,
    Metrics,
    Name,
    Out,
    Owner,
    Params,
    Scope,
    ShortText,
    TagKey,
    Tags,
    Uri,
    not_null,
)

# -- models ------------------------------------------------------------------------------------


class ModelCreate(In):
    """The body of ``POST /models``: a new model's governance record."""

    name: Name
    owner: Owner
    risk_tier: RiskTier
    description: LongText = ""
    use_case: LongText = ""
    intended_use: LongText = ""
    limitations: LongText = ""
    regulatory_scopes: Annotated[list[Scope], Field(max_length=32)] = []
    tags: Tags = {}
    review_cadence_months: Annotated[int, Field(ge=1, le=120)] | None = None
    source_links: Annotated[dict[TagKey, Uri], Field(max_length=32)] = {}


class ModelUpdate(In):
    """Fields to change; ``revision`` is the one the caller read (stale → 409 ``conflict``)."""

    revision: Annotated[int, Field(ge=1)]
    owner: Owner | None = None
    risk_tier: RiskTier | None = None
    description: LongText | None = None
    use_case: LongText | None = None
    intended_use: LongText | None = None
    limitations: LongText | None = None
    regulatory_scopes: Annotated[list[Scope], Field(max_length=32)] | None = None
    tags: Tags | None = None
    review_cadence_months: Annotated[int, Field(ge=1, le=120)] | None = None
    source_links: Annotated[dict[TagKey, Uri], Field(max_length=32)] | None = None
    reason: ShortText = ""

    # review_cadence_months alone may be null: it clears the cadence.
    _present = field_validator(
        "owner",
        "risk_tier",
        "description",
        "use_case",
        "intended_use",
        "limitations",
        "regulatory_scopes",
        "tags",
        "source_links",
        mode="after",
    )(not_null)


class ModelOut(Out):
    """A model's governance record as the API answers it; ``revision`` is what a ``PATCH`` sends back."""

    name: str
    owner: str
    risk_tier: RiskTier
    description: str
    use_case: str
    intended_use: str
    limitations: str
    regulatory_scopes: list[str]
    tags: dict[str, str]
    state: ModelState
    review_cadence_months: int | None
    source_links: dict[str, str]
    created_by: str
    created_at: datetime
    updated_at: datetime
    revision: int


# -- versions ----------------------------------------------------------------------------------


class DatasetUseIn(In):
    """A dataset version the new version used, and in which role (``VersionCreate.datasets``)."""

    dataset: Name
    version: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    role: DatasetRole


class EnvironmentIn(In):
    """Where the new version was trained: enough to rebuild it (``VersionCreate.environment``)."""

    python_version: Annotated[str, StringConstraints(max_length=64, pattern=r"^\d+\.\d+(\.\d+)?")] | None = (
        None
    )
    dependency_lock_digest: Digest | None = None
    container_image_digest: Digest | None = None


class VersionCreate(In):
    """The body of ``POST /models/{name}/versions``: a trained artefact to register as the model's next
    version."""

    artifact_uri: Uri
    artifact_digest: Digest
    source_platform: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "manual"
    external_id: Annotated[str, StringConstraints(max_length=512)] | None = None
    training_run: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    description: LongText = ""
    metrics: Metrics = {}
    parameters: Params = {}
    tags: Tags = {}
    datasets: Annotated[list[DatasetUseIn], Field(max_length=64)] = []
    code_repository: Uri | None = None
    code_commit: Commit | None = None
    environment: EnvironmentIn = EnvironmentIn()

    @field_validator("metrics")
    @classmethod
    def _finite(cls, value: dict[str, float]) -> dict[str, float]:
        for key, number in value.items():
            if number != number or number in (float("inf"), float("-inf")):
                raise ValueError(f"metric {key!r} must be a finite number")
        return value


class DatasetUseOut(Out):
    """A dataset version the version used, and in which role."""

    dataset: str
    version: str
    role: DatasetRole


class EnvironmentOut(Out):
    """Where the version was trained: Python version, dependency lock and container image digests."""

    python_version: str | None
    dependency_lock_digest: str | None
    container_image_digest: str | None


class SourceLinkOut(Out):
    """Where the version also lives: a platform's own id for the same artefact (same digest), and
    how the digest was obtained there (``digest_method``)."""

    platform: str
    external_id: str
    uri: str
    digest_method: str
    attributes: dict[str, Any]
    linked_by: str
    linked_at: datetime | None


class VersionOut(Out):
    """A model version as the API answers it, with the platforms it also lives on (``sources``)."""

    model: str
    version: int
    artifact_uri: str
    artifact_digest: str
    source_platform: str
    external_id: str | None
    training_run: str | None
    description: str
    metrics: dict[str, float]
    parameters: dict[str, str]
    tags: dict[str, str]
    datasets: list[DatasetUseOut]
    code_repository: str | None
    code_commit: str | None
    environment: EnvironmentOut
    state: VersionState
    registered_by: str
    created_at: datetime
    updated_at: datetime
    revision: int
    sources: list[SourceLinkOut] = []


# -- datasets and runs -------------------------------------------------------------------------


class DatasetCreate(In):
    """The body of ``POST /datasets``: a new dataset's record."""

    name: Name
    description: LongText = ""
    source: Annotated[str, StringConstraints(max_length=URI_MAX)] = ""
    owner: Annotated[str, StringConstraints(max_length=SHORT_TEXT_MAX)] = ""
    approved: bool = False


class DatasetUpdate(In):
    """The body of ``PATCH /datasets/{name}``: fields to change; ``revision`` is the one the caller
    read (stale → 409 ``conflict``)."""

    revision: Annotated[int, Field(ge=1)]
    description: LongText | None = None
    source: Annotated[str, StringConstraints(max_length=URI_MAX)] | None = None
    owner: Annotated[str, StringConstraints(max_length=SHORT_TEXT_MAX)] | None = None
    approved: bool | None = None
    reason: ShortText = ""

    _present = field_validator("description", "source", "owner", "approved", mode="after")(not_null)


class DatasetOut(Out):
    """A dataset's record as the API answers it; ``approved`` marks it an approved source."""

    name: str
    description: str
    source: str
    owner: str
    approved: bool
    created_by: str
    created_at: datetime
    updated_at: datetime
    revision: int


class DatasetVersionCreate(In):
    """The body of ``POST /datasets/{name}/versions``: one version of the dataset and its digest."""

    version: Annotated[
        str,
        StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"),
    ]
    uri: Uri
    digest: Digest
    schema_digest: Digest | None = None
    row_count: Annotated[int, Field(ge=0)] | None = None


class DatasetVersionOut(Out):
    """A dataset version as the API answers it."""

    dataset: str
    version: str
    uri: str
    digest: str
    schema_digest: str | None
    row_count: int | None
    created_by: str
    created_at: datetime


class TrainingRunCreate(In):
    """The body of ``POST /runs``: a training run on its platform (``run_id`` is unique across
    platforms)."""

    run_id: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    platform: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "manual"
    experiment: ShortText = ""
    user: ShortText = ""
    parameters: Params = {}
    metrics: Metrics = {}
    parent_run_id: Annotated[str, StringConstraints(max_length=256)] | None = None
    code_commit: Commit | None = None
    started_at: AwareDatetime | None = None
    ended_at: AwareDatetime | None = None


class TrainingRunOut(Out):
    """A training run as the API answers it."""

    run_id: str
    platform: str
    experiment: str
    user: str
    parameters: dict[str, str]
    metrics: dict[str, float]
    parent_run_id: str | None
    code_commit: str | None
    started_at: datetime | None
    ended_at: datetime | None
    created_by: str
    created_at: datetime


# -- deployments, lineage, audit ---------------------------------------------------------------


class DeploymentOut(Out):
    """A version placed in an environment on a target, by a promotion or a rollback; ``replaces``
    is the deployment it replaced."""

    id: int
    model: str
    version: int
    environment: str
    target: str
    deployed_by: str
    deployed_at: datetime
    state: DeploymentState
    replaces: int | None
    reason: str
    ended_at: datetime | None


class LineageNodeOut(Out):
    """A node of a version's lineage: the version, a dataset version, its run, code, environment or a
    deployment (``kind``)."""

    id: str
    kind: str
    label: str
    attributes: dict[str, Any]


class LineageEdgeOut(Out):
    """An edge of a version's lineage, from node ``source`` to node ``target`` (``relation``:
    ``produced``, ``training_data``, ``deployed_as``…)."""

    source: str
    target: str
    relation: str


class LineageOut(Out):
    """The answer of ``GET /models/{name}/versions/{version}/lineage``: upstream and downstream of the
    version (node ``root``) as nodes and edges."""

    root: str
    nodes: list[LineageNodeOut]
    edges: list[LineageEdgeOut]


class AuditEventOut(Out):
    """One audit event as ``GET /audit/events`` answers it; ``hash`` chains it to ``prev_hash``."""

    seq: int
    time: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str
    request_id: str
    client_address: str
    user_agent: str
    prev_hash: str
    hash: str


class VerificationOut(BaseModel):
    """The answer of ``GET /audit/verify``: whether the hash chain, the tree and the checkpoints
    hold; if not, the first event that fails and the ``problem``."""

    ok: bool
    events: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None


# -- identity ----------------------------------------------------------------------------------


class PrincipalCreate(In):
    """The body of ``POST /principals``: a new user or service account and its roles."""

    name: Name
    roles: Annotated[list[Role], Field(min_length=1, max_length=len(Role))]
    kind: PrincipalKind = PrincipalKind.USER
    display_name: ShortText = ""


class PrincipalOut(Out):
    """A user or service account and its roles, as the API answers it."""

    name: str
    roles: list[Role]
    kind: PrincipalKind
    display_name: str
    disabled: bool
    created_at: datetime

    @field_validator("roles", mode="before")
    @classmethod
    def _sorted(cls, value: Any) -> list[Any]:
        return sorted(value)


class TokenCreate(In):
    """The body of ``POST /tokens``: a token to issue to ``principal``."""

    principal: Name
    name: Annotated[str, StringConstraints(min_length=1, max_length=128)] = "default"
    expires_at: AwareDatetime | None = None


class TokenOut(Out):
    """A token as the API answers it: never its secret, only its ``prefix``."""

    id: int
    principal: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    """The one answer that carries the secret; it is not stored and cannot be shown again."""

    token: str


class WhoAmIOut(BaseModel):
    """The answer of ``GET /me``: the caller's principal and every action its roles allow."""

    principal: PrincipalOut
    actions: list[str]
