"""Automated gates: checks, policy bundles and their assignment, decisions, simulations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Field,
    StringConstraints,
    model_validator,
)

from steward.domain import (
    CHECK_KIND_PATTERN,
    CheckProvenance,
    SourceFile,
)
from steward.wire._base import (
    Digest,
    EnvironmentName,
    In,
    LongText,
    Out,
    ShortText,
)

# -- automated gates: checks, policy bundles and their assignment, decisions -------------------

CheckKind = Annotated[str, StringConstraints(pattern=CHECK_KIND_PATTERN)]
BundlePath = Annotated[str, StringConstraints(min_length=1, max_length=512)]
BundleFiles = Annotated[dict[BundlePath, str], Field(min_length=1, max_length=1000)]
AssignTier = Literal["high", "medium", "low", "*"]
AssignEnvironment = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^(\*|[a-z][a-z0-9_-]*)$")
]


class SourceFileIn(In):
    """The file a check was computed from: ``sha256:`` + SHA-256 of its bytes, rows, format."""

    sha256: Digest
    rows: Annotated[int, Field(ge=0)]
    format: Literal["csv", "parquet"]
    name: Annotated[str, StringConstraints(max_length=256)] = ""


class CheckProvenanceIn(In):
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


class CheckCreate(In):
    """A check result of a model or dataset version. ``documentation`` and ``lineage`` are
    computed by Steward from its records: send the kind alone. Other kinds carry their status,
    the values they measured and a message per failure, and are stored as ``reported`` unless
    ``provenance`` says ``steward check`` computed them from a file."""

    kind: CheckKind
    status: Literal["pass", "fail", "error"] | None = None
    values: dict[str, Any] = {}
    messages: Annotated[list[LongText], Field(max_length=1000)] = []
    provenance: CheckProvenanceIn | None = None


class SourceFileOut(Out):
    """The file a check was computed from: ``sha256:`` + SHA-256 of its bytes, rows, format."""

    sha256: str
    rows: int
    format: str
    name: str


class CheckProvenanceOut(Out):
    """``computed`` (by Steward: from the record, or from ``file``) or ``reported``."""

    method: Literal["computed", "reported"]
    tool: str
    file: SourceFileOut | None
    columns: dict[str, Any]


class CheckResultOut(Out):
    """A check result of a model version or a dataset version (``subject_type``), as the API
    answers it."""

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


class EvaluationCreate(In):
    """Evaluate the policy bundle for promoting the version to ``target``."""

    target: EnvironmentName = "production"


class FindingOut(Out):
    """One denial or warning: the rule, a message naming what was measured and what was required."""

    rule: str
    message: str
    measured: Any = None
    required: Any = None


class DecisionOut(Out):
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


class ReplayOut(Out):
    """A stored decision and the same bundle evaluated again on its stored input document."""

    decision: PolicyDecisionOut
    replayed: DecisionOut
    same: bool


class PolicyBundleCreate(In):
    """A bundle's files by relative path: ``manifest.json``, ``data.json`` and ``*.rego``."""

    files: BundleFiles


class PolicyBundleOut(Out):
    """A policy bundle as the API answers it; ``files`` is empty in ``GET /policy/bundles``."""

    name: str
    version: str
    digest: str
    description: str
    builtin: bool
    registered_by: str
    registered_at: datetime | None
    files: dict[str, str] = {}


class BundleRefOut(Out):
    """A policy bundle by name, version and content digest."""

    name: str
    version: str
    digest: str


class RegoTestOut(Out):
    """One Rego unit test of a bundle (a rule named ``test_*``) and whether it passed."""

    file: str
    package: str
    name: str
    passed: bool
    message: str


class PolicyTestReportOut(BaseModel):
    """The answer of ``GET /policy/bundles/{name}/{version}/tests``: every Rego unit test's
    result, and how many passed and failed."""

    bundle: BundleRefOut
    passed: int
    failed: int
    results: list[RegoTestOut]


class BundleRef(In):
    """A registered bundle by name and version (``SimulationCreate.bundle``)."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    version: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class SimulationCreate(In):
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


class SimulationItemOut(Out):
    """One version evaluated with the bundle in force (``current``) and with the candidate;
    ``reason`` says why it was evaluated."""

    model: str
    version: int
    environment: str
    reason: Literal["deployed", "awaiting_review", "awaiting_deployment"]
    changed: bool
    current: DecisionOut
    candidate: DecisionOut
    added_denies: list[FindingOut]
    removed_denies: list[FindingOut]


class SimulationOut(Out):
    """The answer of ``POST /policy/simulate``: what switching to ``candidate`` would change
    (nothing is stored)."""

    candidate: BundleRefOut
    evaluated: int
    would_change: int
    items: list[SimulationItemOut]


class AssignmentIn(In):
    """One row of the table sent to ``PUT /policy/assignments``: the bundle for a risk tier and a
    target environment (``*``: any)."""

    risk_tier: AssignTier
    environment: AssignEnvironment
    bundle_name: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    bundle_version: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class AssignmentsUpdate(In):
    """The whole assignment table (it replaces the one in force). ``revision`` is the one the
    caller read (``GET /policy/assignments``); a stale one is refused with 409 ``conflict``."""

    assignments: Annotated[list[AssignmentIn], Field(max_length=200)]
    revision: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    reason: ShortText = ""


class AssignmentOut(Out):
    """One row of the assignment table: the bundle that applies to a risk tier and a target
    environment (``*``: any)."""

    risk_tier: str
    environment: str
    bundle_name: str
    bundle_version: str
    bundle_digest: str
    assigned_by: str
    assigned_at: datetime | None


class AssignmentsOut(Out):
    """The assignment table; where no row matches, ``default`` (the built-in bundle) applies.
    ``revision`` changes with every change of the table: send it back to change it."""

    assignments: list[AssignmentOut]
    default: BundleRefOut
    revision: str
