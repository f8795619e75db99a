"""Request and response schemas shared by the server, the SDK and the CLI (pydantic).

Requests (``*Create``/``*Update``) carry every field rule, so a bad value is refused with the
field's path and the rule it broke before anything is written. Responses (``*Out``) are built
from domain records.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from steward.domain import (
    CHECK_KIND_PATTERN,
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
    CheckProvenance,
    ConsistencyProof,
    DatasetRole,
    DeploymentState,
    IncidentState,
    InclusionProof,
    ModelState,
    PrincipalKind,
    PromotionKind,
    ReviewDecision,
    ReviewStage,
    RiskTier,
    Role,
    Severity,
    SourceFile,
    StoredCheckpoint,
    VersionState,
)
from steward.domain import Page as RecordPage
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


def _not_null(value: Any) -> Any:
    """For an update's optional fields: leaving one out keeps the value; ``null`` is refused
    (validators run only on the fields sent, so this sees explicit nulls alone)."""
    if value is None:
        raise PydanticCustomError(
            "not_null", "must not be null: send a value, or leave the field out to keep the current one"
        )
    return value


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
    )(_not_null)


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


class SourceLinkOut(_Out):
    platform: str
    external_id: str
    uri: str
    digest_method: str
    attributes: dict[str, Any]
    linked_by: str
    linked_at: datetime | None


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
    sources: list[SourceLinkOut] = []


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

    _present = field_validator("description", "source", "owner", "approved", mode="after")(_not_null)


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
    started_at: AwareDatetime | None = None
    ended_at: AwareDatetime | None = None


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
    expires_at: AwareDatetime | None = None


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


M = TypeVar("M", bound=BaseModel)


def page_out(schema: type[M], page: RecordPage[Any]) -> Page[M]:
    """A page of records as the wire's ``Page`` of ``schema``, with its next token (what the API
    answers, and what the CLI prints from either backend)."""
    return Page[schema](  # type: ignore[valid-type]
        items=[schema.model_validate(item) for item in page.items], next_page_token=page.next_token
    )


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


def _detail(error: Any) -> dict[str, str]:
    loc = tuple(error.get("loc", ()))
    rule = error.get("type", "invalid")
    if rule == "json_invalid":  # the location is ("body", offset): the body is what is broken
        reason = (error.get("ctx") or {}).get("error")
        where = f" at character {loc[-1]}" if loc and isinstance(loc[-1], int) else ""
        message = f"is not valid JSON: {reason}{where}" if reason else "is not valid JSON"
        return {"field": "body", "rule": rule, "message": message}
    return {"field": field_path(loc), "rule": rule, "message": error.get("msg", "invalid")}


def invalid_input(errors: list[Any]) -> InvalidInput:
    """One :class:`InvalidInput` naming every field and the rule it broke."""
    details = [_detail(e) for e in errors]
    first = details[0] if details else {"field": "body", "message": "invalid"}
    more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
    return InvalidInput(f"{first['field']}: {first['message']}{more}", {"errors": details})


def parse(schema: type[BaseModel], data: dict[str, Any]) -> Any:
    """Build a request schema, turning pydantic's error into :class:`InvalidInput`."""
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise invalid_input(list(exc.errors())) from exc


# -- the verifiable ledger and the read access log ---------------------------------------------
# Hashes are standard base64 (as on a checkpoint's root line); checkpoints carry their signed note.


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


class CheckpointOut(BaseModel):
    """A signed checkpoint: the tree of ``size`` events has root ``root``; ``note`` is the C2SP
    signed note (what ``GET /ledger/checkpoint`` answers as ``text/plain``)."""

    origin: str
    size: int
    root: str
    time: datetime
    key_id: str
    note: str

    @classmethod
    def of(cls, checkpoint: StoredCheckpoint) -> CheckpointOut:
        return cls(
            origin=checkpoint.note.split("\n", 1)[0],
            size=checkpoint.size,
            root=b64(checkpoint.root),
            time=checkpoint.time,
            key_id=checkpoint.key_id,
            note=checkpoint.note,
        )


class LedgerKeyOut(_Out):
    """A key that signs (or signed) checkpoints; ``vkey`` is the verifier key text."""

    key_id: str
    name: str
    vkey: str
    valid_from: datetime
    retired_at: datetime | None
    active: bool


class InclusionProofOut(BaseModel):
    seq: int
    leaf_index: int
    tree_size: int
    leaf_hash: str
    root: str
    hashes: list[str]
    checkpoint: CheckpointOut | None = None

    @classmethod
    def of(cls, proof: InclusionProof) -> InclusionProofOut:
        return cls(
            seq=proof.seq,
            leaf_index=proof.leaf_index,
            tree_size=proof.tree_size,
            leaf_hash=b64(proof.leaf_hash),
            root=b64(proof.root),
            hashes=[b64(h) for h in proof.hashes],
            checkpoint=None if proof.checkpoint is None else CheckpointOut.of(proof.checkpoint),
        )


class ConsistencyProofOut(BaseModel):
    old_size: int
    new_size: int
    old_root: str
    new_root: str
    hashes: list[str]
    old_checkpoint: CheckpointOut | None = None
    new_checkpoint: CheckpointOut | None = None

    @classmethod
    def of(cls, proof: ConsistencyProof) -> ConsistencyProofOut:
        return cls(
            old_size=proof.old_size,
            new_size=proof.new_size,
            old_root=b64(proof.old_root),
            new_root=b64(proof.new_root),
            hashes=[b64(h) for h in proof.hashes],
            old_checkpoint=None if proof.old_checkpoint is None else CheckpointOut.of(proof.old_checkpoint),
            new_checkpoint=None if proof.new_checkpoint is None else CheckpointOut.of(proof.new_checkpoint),
        )


class ReadAccessOut(_Out):
    """One read of a record or evidence through the server."""

    id: int
    time: datetime
    principal: str
    action: str
    subject_type: str
    subject_id: str
    path: str
    request_id: str
    client_address: str
    user_agent: str


# -- incidents, harvests and source platforms ---------------------------------------------------


class IncidentCreate(_In):
    model: Name
    version: Annotated[int, Field(ge=1)] | None = None
    severity: Severity
    title: Annotated[str, StringConstraints(min_length=1, max_length=SHORT_TEXT_MAX)]
    description: LongText = ""


class IncidentResolve(_In):
    resolution: Annotated[str, StringConstraints(min_length=1, max_length=LONG_TEXT_MAX)]


class IncidentActionOut(_Out):
    at: datetime
    actor: str
    action: str
    detail: str


class IncidentOut(_Out):
    id: int
    model: str
    version: int | None
    severity: Severity
    title: str
    description: str
    state: IncidentState
    source: str
    actions: list[IncidentActionOut]
    audit_seqs: list[int]
    opened_by: str
    opened_at: datetime
    resolved_by: str | None
    resolved_at: datetime | None
    resolution: str
    revision: int


class HarvestCreate(_In):
    """A harvest of an MLflow tracking server, run in the background by the server."""

    tracking_uri: Annotated[str, StringConstraints(min_length=1, max_length=URI_MAX, pattern=r"^https?://")]
    experiments: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=256)]], Field(max_length=100)
    ] = []
    models: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=256)]], Field(max_length=100)
    ] = []
    digest: Literal["auto", "files", "metadata"] = "auto"


class HarvestOut(_Out):
    id: int
    platform: str
    location: str
    experiments: list[str]
    models: list[str]
    state: Literal["queued", "running", "succeeded", "failed"]
    summary: dict[str, Any]
    error: str
    requested_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class AliasGuardsUpdate(_In):
    """Aliases to guard for one model, each with the environment a version must be deployed to;
    ``null`` goes back to the defaults, ``{}`` guards nothing."""

    guards: (
        Annotated[
            dict[Annotated[str, StringConstraints(min_length=1, max_length=128)], EnvironmentName],
            Field(max_length=32),
        ]
        | None
    )


class AliasGuardsOut(BaseModel):
    model: str
    guards: dict[str, str]
    defaults: bool


class ConnectorEventOut(BaseModel):
    """What the receiver did with one platform event."""

    accepted: bool
    event: str
    outcome: str


class DeliveryOut(BaseModel):
    """One delivery the receiver accepted: MLflow's send stamp and its arrival (``delivery_seconds``
    between them), the seconds from its arrival to the first commit of what it changed
    (``commit_seconds``; ``null`` when it changed nothing) and to Steward's answer
    (``processing_seconds``: Steward's own calls back to MLflow done too)."""

    event: str
    model: str
    sent_at: datetime
    received_at: datetime
    delivery_seconds: float
    commit_seconds: float | None
    processing_seconds: float
    outcome: str


class DeliveriesOut(BaseModel):
    """What this server process's receiver did since ``since``: deliveries accepted by event,
    refused by reason (``missing_headers``, ``bad_signature``, ``bad_timestamp``, ``stale``, ``replay``,
    ``malformed``, ``no_secret``, ``unauthenticated``, ``forbidden``), failed by error code; timing
    percentiles (``p50``, ``p95``, ``max``, ``last``) over the recent deliveries, listed oldest first."""

    since: datetime
    accepted: dict[str, int]
    refused: dict[str, int]
    failed: dict[str, int]
    commit_seconds: dict[str, float]
    processing_seconds: dict[str, float]
    delivery_seconds: dict[str, float]
    recent: list[DeliveryOut]


class MlflowConnectorOut(BaseModel):
    """The MLflow connector of this server: the tracking server it is connected to, the ones REST
    harvests may reach, whether it can verify signed deliveries, and what its receiver did."""

    tracking_uri: str | None
    harvest_tracking_uris: list[str]
    webhook_secret_set: bool
    deliveries: DeliveriesOut


# -- automated gates: checks, policy bundles and their assignment, decisions -------------------

CheckKind = Annotated[str, StringConstraints(pattern=CHECK_KIND_PATTERN)]
BundlePath = Annotated[str, StringConstraints(min_length=1, max_length=512)]
BundleFiles = Annotated[dict[BundlePath, str], Field(min_length=1, max_length=1000)]
AssignTier = Literal["high", "medium", "low", "*"]
AssignEnvironment = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^(\*|[a-z][a-z0-9_-]*)$")
]


class SourceFileIn(_In):
    """The file a check was computed from: ``sha256:`` + SHA-256 of its bytes, rows, format."""

    sha256: Digest
    rows: Annotated[int, Field(ge=0)]
    format: Literal["csv", "parquet"]
    name: Annotated[str, StringConstraints(max_length=256)] = ""


class CheckProvenanceIn(_In):
    """How a check came to be: ``computed`` by ``steward check fairness|data-quality`` from
    ``file`` through ``columns`` (fairness: ``label``, ``prediction``, ``sensitive``, ``positive``;
    data quality: ``columns``), checked against the values; or ``reported`` by the caller."""

    method: Literal["computed", "reported"] = "reported"
    tool: ShortText = ""
    file: SourceFileIn | None = None
    columns: dict[str, Any] = {}

    def to_record(self) -> CheckProvenance:
        file = self.file
        return CheckProvenance(
            method=self.method,
            tool=self.tool,
            file=None if file is None else SourceFile(file.sha256, file.rows, file.format, file.name),
            columns=dict(self.columns),
        )


def provenance_of(spec: CheckProvenanceIn | None) -> CheckProvenance | None:
    """The domain record of a request's provenance (``None`` when it sent none)."""
    return None if spec is None else spec.to_record()


class CheckCreate(_In):
    """A check result of a model or dataset version. ``documentation`` and ``lineage`` are
    computed by Steward from its records: send the kind alone. Other kinds carry their status,
    the values they measured and a message per failure, and are stored as ``reported`` unless
    ``provenance`` says ``steward check`` computed them from a file."""

    kind: CheckKind
    status: Literal["pass", "fail", "error"] | None = None
    values: dict[str, Any] = {}
    messages: Annotated[list[LongText], Field(max_length=1000)] = []
    provenance: CheckProvenanceIn | None = None


class SourceFileOut(_Out):
    sha256: str
    rows: int
    format: str
    name: str


class CheckProvenanceOut(_Out):
    """``computed`` (by Steward: from the record, or from ``file``) or ``reported``."""

    method: Literal["computed", "reported"]
    tool: str
    file: SourceFileOut | None
    columns: dict[str, Any]


class CheckResultOut(_Out):
    id: int
    kind: str
    status: Literal["pass", "fail", "error"]
    values: dict[str, Any]
    messages: list[str]
    provenance: CheckProvenanceOut
    subject_type: Literal["model_version", "dataset_version"]
    model: str | None
    version: int | None
    dataset: str | None
    dataset_version: str | None
    created_by: str
    created_at: datetime


class EvaluationCreate(_In):
    """Evaluate the policy bundle for promoting the version to ``target``."""

    target: EnvironmentName = "production"


class FindingOut(_Out):
    """One denial or warning: the rule, a message naming what was measured and what was required."""

    rule: str
    message: str
    measured: Any = None
    required: Any = None


class DecisionOut(_Out):
    """The outcome of evaluating a bundle on one input document."""

    allow: bool
    denies: list[FindingOut]
    warnings: list[FindingOut]
    bundle_name: str
    bundle_version: str
    bundle_digest: str
    input_digest: str
    engine: str
    engine_version: str


class PolicyDecisionOut(DecisionOut):
    """A stored decision; ``input`` (the document evaluated) is sent when one decision is read."""

    id: int
    model: str
    version: int
    environment: str
    audit_seq: int | None
    created_by: str
    created_at: datetime
    input: dict[str, Any] | None = None


class ReplayOut(_Out):
    """A stored decision and the same bundle evaluated again on its stored input document."""

    decision: PolicyDecisionOut
    replayed: DecisionOut
    same: bool


class PolicyBundleCreate(_In):
    """A bundle's files by relative path: ``manifest.json``, ``data.json`` and ``*.rego``."""

    files: BundleFiles


class PolicyBundleOut(_Out):
    name: str
    version: str
    digest: str
    description: str
    builtin: bool
    registered_by: str
    registered_at: datetime | None
    files: dict[str, str] = {}


class BundleRefOut(_Out):
    name: str
    version: str
    digest: str


class RegoTestOut(_Out):
    file: str
    package: str
    name: str
    passed: bool
    message: str


class PolicyTestReportOut(BaseModel):
    bundle: BundleRefOut
    passed: int
    failed: int
    results: list[RegoTestOut]


class BundleRef(_In):
    name: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    version: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class SimulationCreate(_In):
    """A candidate bundle, as files, as a registered bundle (name and version) or as the digest
    of one, and the environments versions that are not deployed yet are evaluated for. With
    ``changed_only`` the answer lists only the decisions that would change (counts cover all)."""

    files: BundleFiles | None = None
    bundle: BundleRef | None = None
    digest: Digest | None = None
    environments: Annotated[list[EnvironmentName], Field(min_length=1, max_length=16)] = ["production"]
    changed_only: bool = False

    @model_validator(mode="after")
    def _one_candidate(self) -> SimulationCreate:
        if sum(given is not None for given in (self.files, self.bundle, self.digest)) != 1:
            raise ValueError(
                "give the candidate bundle as files, as a registered bundle or as a digest: one of them"
            )
        return self


class SimulationItemOut(_Out):
    model: str
    version: int
    environment: str
    reason: Literal["deployed", "awaiting_review", "awaiting_deployment"]
    changed: bool
    current: DecisionOut
    candidate: DecisionOut
    added_denies: list[FindingOut]
    removed_denies: list[FindingOut]


class SimulationOut(_Out):
    candidate: BundleRefOut
    evaluated: int
    would_change: int
    items: list[SimulationItemOut]


class AssignmentIn(_In):
    risk_tier: AssignTier
    environment: AssignEnvironment
    bundle_name: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    bundle_version: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class AssignmentsUpdate(_In):
    """The whole assignment table (it replaces the one in force). ``revision`` is the one the
    caller read (``GET /policy/assignments``); a stale one is refused with 409 ``conflict``."""

    assignments: Annotated[list[AssignmentIn], Field(max_length=200)]
    revision: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    reason: ShortText = ""


class AssignmentOut(_Out):
    risk_tier: str
    environment: str
    bundle_name: str
    bundle_version: str
    bundle_digest: str
    assigned_by: str
    assigned_at: datetime | None


class AssignmentsOut(_Out):
    """The assignment table; where no row matches, ``default`` (the built-in bundle) applies.
    ``revision`` changes with every change of the table: send it back to change it."""

    assignments: list[AssignmentOut]
    default: BundleRefOut
    revision: str


# -- the approval workflow ---------------------------------------------------------------------

Said = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=SHORT_TEXT_MAX)]
"""A reason that must say something (a promotion's, a rollback's, a retirement's)."""
Comment = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=LONG_TEXT_MAX)]
EvidenceLink = Annotated[
    str,
    StringConstraints(min_length=1, max_length=URI_MAX, pattern=r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$"),
]
Endpoint = Annotated[str, StringConstraints(min_length=1, max_length=512)]


class ReviewCreate(_In):
    """A sign-off of one workflow stage of a version. ``conditions`` go with
    ``approved_with_conditions`` and only with it; ``evidence`` links what the reviewer relied on."""

    stage: ReviewStage
    decision: ReviewDecision
    comment: Comment
    conditions: Annotated[list[Comment], Field(max_length=32, validate_default=True)] = []
    evidence: Annotated[list[EvidenceLink], Field(max_length=32)] = []

    @field_validator("conditions")
    @classmethod
    def _conditions_go_with_their_decision(cls, conditions: list[str], info: ValidationInfo) -> list[str]:
        decision = info.data.get("decision")
        if decision is ReviewDecision.APPROVED_WITH_CONDITIONS and not conditions:
            raise ValueError("approved_with_conditions needs at least one condition")
        if decision is not None and decision is not ReviewDecision.APPROVED_WITH_CONDITIONS and conditions:
            raise ValueError(f"conditions go with approved_with_conditions, not with {decision.value}")
        return conditions


class ReviewConditionOut(_Out):
    id: int
    review_id: int
    text: str
    model: str
    version: int
    stage: ReviewStage | None
    open: bool
    met_by: str | None
    met_at: datetime | None
    note: str


class ReviewOut(_Out):
    """A review: the stage, the decision, who signed it in which role, when, why, on what."""

    id: int
    model: str
    version: int
    stage: ReviewStage
    decision: ReviewDecision
    reviewer: str
    role: Role
    created_at: datetime
    comment: str
    conditions: list[ReviewConditionOut]
    evidence: list[str]
    gate_decision: int | None
    audit_seq: int | None


class ConditionMeet(_In):
    """How the condition was met."""

    note: Comment


class PendingReviewOut(_Out):
    """A stage of a version waiting for a sign-off, with how long it has waited."""

    model: str
    version: int
    risk_tier: RiskTier
    stage: ReviewStage
    roles: list[Role]
    version_state: VersionState
    registered_by: str
    waiting_since: datetime
    waited_seconds: int


class ReviewDueOut(_Out):
    """When a model's periodic review and its owner's attestation were last done and are due."""

    model: str
    owner: str
    risk_tier: RiskTier
    cadence_months: int
    last_reviewed_at: datetime | None
    review_due_at: datetime
    last_attested_at: datetime | None
    attestation_due_at: datetime
    review_overdue: bool
    attestation_overdue: bool
    overdue: bool
    production_version: int | None


class AttestationCreate(_In):
    """The owner's statement that the model's record is current."""

    statement: LongText = ""


class AttestationOut(_Out):
    id: int
    model: str
    attested_by: str
    attested_at: datetime
    statement: str


class PromotionCreate(_In):
    """Promote the version to ``target``; ``endpoint`` is where it runs there (default: where the
    version it replaces runs, else the environment's name)."""

    target: EnvironmentName
    reason: Said
    endpoint: Endpoint | None = None


class RollbackCreate(_In):
    """Put back the version deployed before the current one (``previous``) or a named version that
    was deployed to ``environment`` before."""

    to: Annotated[int, Field(ge=1)] | Literal["previous"] = "previous"
    environment: EnvironmentName = "production"
    reason: Said


class PromotionOut(_Out):
    """A promotion or rollback: allowed (with the deployment it made and the one it replaced) or
    denied (with every reason)."""

    id: int
    model: str
    version: int
    environment: str
    kind: PromotionKind
    allowed: bool
    requested_by: str
    requested_at: datetime
    reason: str
    reasons: list[FindingOut]
    warnings: list[FindingOut]
    gate_decision: int | None
    deployment: DeploymentOut | None
    replaced: DeploymentOut | None
    audit_seq: int | None


class RetirementCreate(_In):
    reason: Said


class RetirementOut(_Out):
    model: str
    retired_by: str
    retired_at: datetime
    reason: str
    ended_deployments: list[int]


class DeprecationCreate(_In):
    reason: Said


class HistoryEntryOut(_Out):
    """One deployment: how it came about, the sign-offs in force then, the gate decision and the
    evidence links the reviewers gave."""

    deployment: DeploymentOut
    kind: str
    requested_by: str
    reason: str
    approvals: list[ReviewOut]
    gate_decision: PolicyDecisionOut | None
    promotion: int | None
    evidence: list[str]


class ModelHistoryOut(_Out):
    """Deployments of a model in one environment, newest first; with ``at``, the one active then."""

    model: str
    environment: str
    at: datetime | None
    entries: list[HistoryEntryOut]
    retirement: RetirementOut | None


def history_instant(text: str, field: str = "at") -> datetime:
    """A point in time for the history: an ISO 8601 time with its zone, or a date (``2026-05-01``),
    which means the end of that day in UTC (what was in place when the day closed)."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = datetime.fromisoformat(value)
            return day.replace(hour=23, minute=59, second=59, microsecond=999999, tzinfo=UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput.field(
            field, "datetime", f"must be a date or an ISO 8601 time (got {text!r})"
        ) from None
    if parsed.tzinfo is None:
        raise InvalidInput.field(field, "timezone", f"must carry its time zone, e.g. Z (got {text!r})")
    return parsed.astimezone(UTC)
