"""Request and response schemas shared by the server, the SDK and the CLI (pydantic).

Requests (``*Create``/``*Update``) carry every field rule, so a bad value is refused with the
field's path and the rule it broke before anything is written. Responses (``*Out``) are built
from domain records.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from steward.domain import (
    COMMIT_PATTERN,
    DIGEST_PATTERN,
    ENVIRONMENT_PATTERN,
    LONG_TEXT_MAX,
    NAME_MAX,
    NAME_PATTERN,
    SHORT_TEXT_MAX,
    TAG_KEY_MAX,
    TAG_VALUE_MAX,
    TAGS_MAX,
    URI_MAX,
    DatasetRole,
    DeploymentState,
    ModelState,
    PrincipalKind,
    RiskTier,
    Role,
    VersionState,
)
from steward.errors import InvalidInput

T = TypeVar("T")

Name = Annotated[str, StringConstraints(min_length=1, max_length=NAME_MAX, pattern=NAME_PATTERN)]
ShortText = Annotated[str, StringConstraints(max_length=SHORT_TEXT_MAX)]
LongText = Annotated[str, StringConstraints(max_length=LONG_TEXT_MAX)]
Uri = Annotated[str, StringConstraints(min_length=1, max_length=URI_MAX)]
Digest = Annotated[str, StringConstraints(pattern=DIGEST_PATTERN)]
Commit = Annotated[str, StringConstraints(pattern=COMMIT_PATTERN)]
EnvironmentName = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=ENVIRONMENT_PATTERN)]
Owner = Annotated[str, StringConstraints(min_length=1, max_length=SHORT_TEXT_MAX)]
Scope = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[a-z0-9][a-z0-9._-]*$")]
TagKey = Annotated[str, StringConstraints(min_length=1, max_length=TAG_KEY_MAX)]
TagValue = Annotated[str, StringConstraints(max_length=TAG_VALUE_MAX)]
Tags = Annotated[dict[TagKey, TagValue], Field(max_length=TAGS_MAX)]
Metrics = Annotated[dict[TagKey, float], Field(max_length=256)]
Params = Annotated[dict[TagKey, TagValue], Field(max_length=512)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# -- models ------------------------------------------------------------------------------------


class ModelCreate(_In):
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


class ModelUpdate(_In):
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


class ModelOut(_Out):
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


class DatasetUseIn(_In):
    dataset: Name
    version: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    role: DatasetRole


class EnvironmentIn(_In):
    python_version: Annotated[str, StringConstraints(max_length=64, pattern=r"^\d+\.\d+(\.\d+)?")] | None = (
        None
    )
    dependency_lock_digest: Digest | None = None
    container_image_digest: Digest | None = None


class VersionCreate(_In):
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


class DatasetUseOut(_Out):
    dataset: str
    version: str
    role: DatasetRole


class EnvironmentOut(_Out):
    python_version: str | None
    dependency_lock_digest: str | None
    container_image_digest: str | None


class VersionOut(_Out):
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


# -- datasets and runs -------------------------------------------------------------------------


class DatasetCreate(_In):
    name: Name
    description: LongText = ""
    source: Annotated[str, StringConstraints(max_length=URI_MAX)] = ""
    owner: Annotated[str, StringConstraints(max_length=SHORT_TEXT_MAX)] = ""
    approved: bool = False


class DatasetUpdate(_In):
    revision: Annotated[int, Field(ge=1)]
    description: LongText | None = None
    source: Annotated[str, StringConstraints(max_length=URI_MAX)] | None = None
    owner: Annotated[str, StringConstraints(max_length=SHORT_TEXT_MAX)] | None = None
    approved: bool | None = None
    reason: ShortText = ""


class DatasetOut(_Out):
    name: str
    description: str
    source: str
    owner: str
    approved: bool
    created_by: str
    created_at: datetime
    updated_at: datetime
    revision: int


class DatasetVersionCreate(_In):
    version: Annotated[
        str,
        StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"),
    ]
    uri: Uri
    digest: Digest
    schema_digest: Digest | None = None
    row_count: Annotated[int, Field(ge=0)] | None = None


class DatasetVersionOut(_Out):
    dataset: str
    version: str
    uri: str
    digest: str
    schema_digest: str | None
    row_count: int | None
    created_by: str
    created_at: datetime


class TrainingRunCreate(_In):
    run_id: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    platform: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "manual"
    experiment: ShortText = ""
    user: ShortText = ""
    parameters: Params = {}
    metrics: Metrics = {}
    parent_run_id: Annotated[str, StringConstraints(max_length=256)] | None = None
    code_commit: Commit | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None


class TrainingRunOut(_Out):
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


class DeploymentCreate(_In):
    version: Annotated[int, Field(ge=1)]
    environment: EnvironmentName
    target: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    reason: ShortText = ""


class DeploymentOut(_Out):
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


class LineageNodeOut(_Out):
    id: str
    kind: str
    label: str
    attributes: dict[str, Any]


class LineageEdgeOut(_Out):
    source: str
    target: str
    relation: str


class LineageOut(_Out):
    root: str
    nodes: list[LineageNodeOut]
    edges: list[LineageEdgeOut]


class AuditEventOut(_Out):
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
    ok: bool
    events: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None


# -- identity ----------------------------------------------------------------------------------


class PrincipalCreate(_In):
    name: Name
    roles: Annotated[list[Role], Field(min_length=1, max_length=len(Role))]
    kind: PrincipalKind = PrincipalKind.USER
    display_name: ShortText = ""


class PrincipalOut(_Out):
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


class TokenCreate(_In):
    principal: Name
    name: Annotated[str, StringConstraints(min_length=1, max_length=128)] = "default"
    expires_at: datetime | None = None


class TokenOut(_Out):
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
    principal: PrincipalOut
    actions: list[str]


# -- shared ------------------------------------------------------------------------------------


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_page_token: str | None = None


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = {}


class ErrorOut(BaseModel):
    """The one error shape: ``{"error": {"code", "message", "details"}}``."""

    error: ErrorBody


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    database: str
    schema_revision: str | None
    principals: int


# -- validation errors -------------------------------------------------------------------------

_LOCATIONS = {"body", "query", "path", "header"}


def field_path(loc: tuple[Any, ...]) -> str:
    """pydantic's error location as a dotted path with list indexes: ``datasets[0].role``."""
    path = ""
    for part in (p for p in loc if p not in _LOCATIONS):
        text = str(part)
        path += f"[{text}]" if isinstance(part, int) else (f".{text}" if path else text)
    return path or ".".join(str(p) for p in loc)


def invalid_input(errors: list[Any]) -> InvalidInput:
    """One :class:`InvalidInput` naming every field and the rule it broke."""
    details = [
        {
            "field": field_path(tuple(e.get("loc", ()))),
            "rule": e.get("type", "invalid"),
            "message": e.get("msg", "invalid"),
        }
        for e in errors
    ]
    first = details[0] if details else {"field": "body", "message": "invalid"}
    more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
    return InvalidInput(f"{first['field']}: {first['message']}{more}", {"errors": details})


def parse(schema: type[BaseModel], data: dict[str, Any]) -> Any:
    """Build a request schema, turning pydantic's error into :class:`InvalidInput`."""
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise invalid_input(list(exc.errors())) from exc
