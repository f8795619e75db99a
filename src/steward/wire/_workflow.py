"""The approval workflow: reviews and conditions, attestations, promotions, retirements, history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from steward.domain import (
    LONG_TEXT_MAX,
    SHORT_TEXT_MAX,
    URI_MAX,
    PromotionKind,
    ReviewDecision,
    ReviewStage,
    RiskTier,
    Role,
    VersionState,
)
from steward.errors import InvalidInput
from steward.wire._base import (
    EnvironmentName,
    In,
    LongText,
    Out,
)
from steward.wire._gates import (
    FindingOut,
    PolicyDecisionOut,
)
from steward.wire._registry import (
    DeploymentOut,
)

# -- the approval workflow ---------------------------------------------------------------------

Said = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=SHORT_TEXT_MAX)]
"""A reason that must say something (a promotion's, a rollback's, a retirement's)."""
Comment = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=LONG_TEXT_MAX)]
EvidenceLink = Annotated[
    str,
    StringConstraints(min_length=1, max_length=URI_MAX, pattern=r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$"),
]
Endpoint = Annotated[str, StringConstraints(min_length=1, max_length=512)]


class ReviewCreate(In):
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


class ReviewConditionOut(Out):
    """A condition an approval was given under; ``open`` until someone marks it met."""

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


class ReviewOut(Out):
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


class ConditionMeet(In):
    """How the condition was met."""

    note: Comment


class PendingReviewOut(Out):
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


class ReviewDueOut(Out):
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


class AttestationCreate(In):
    """The owner's statement that the model's record is current."""

    statement: LongText = ""


class AttestationOut(Out):
    """The answer of ``POST /models/{name}/attestations``: the owner's statement, as recorded."""

    id: int
    model: str
    attested_by: str
    attested_at: datetime
    statement: str


class PromotionCreate(In):
    """Promote the version to ``target``; ``endpoint`` is where it runs there (default: where the
    version it replaces runs, else the environment's name)."""

    target: EnvironmentName
    reason: Said
    endpoint: Endpoint | None = None


class RollbackCreate(In):
    """Put back the version deployed before the current one (``previous``) or a named version that
    was deployed to ``environment`` before."""

    to: Annotated[int, Field(ge=1)] | Literal["previous"] = "previous"
    environment: EnvironmentName = "production"
    reason: Said


class PromotionOut(Out):
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


class RetirementCreate(In):
    """The body of ``POST /models/{name}/retirement``: why the model is retired."""

    reason: Said


class RetirementOut(Out):
    """A model's retirement: who retired it, when, why, and the deployments it ended."""

    model: str
    retired_by: str
    retired_at: datetime
    reason: str
    ended_deployments: list[int]


class DeprecationCreate(In):
    """The body of ``POST /models/{name}/versions/{version}/deprecation``: why the version is
    deprecated."""

    reason: Said


class HistoryEntryOut(Out):
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


class ModelHistoryOut(Out):
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
