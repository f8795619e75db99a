"""Records of the approval workflow: reviews and their conditions, promotions and rollbacks,
retirements, deprecations, owner attestations, the review queue, periodic reviews and history."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from steward.domain._gates import PolicyDecision
from steward.domain._records import Deployment
from steward.domain._values import RiskTier, Role, VersionState
from steward.domain._workflow import PromotionKind, Reason, ReviewDecision, ReviewStage, Signed


@dataclass(frozen=True, slots=True)
class ReviewCondition:
    """A condition an approval was given under; open until someone marks it met."""

    id: int
    review_id: int
    text: str
    model: str = ""
    version: int = 0
    stage: ReviewStage | None = None
    met_by: str | None = None
    met_at: datetime | None = None
    note: str = ""

    @property
    def open(self) -> bool:
        return self.met_at is None


@dataclass(frozen=True, slots=True)
class Review:
    """A sign-off of one stage of one version.

    ``role`` is the role the reviewer signed in; ``gate_decision`` is the policy decision an
    ``automated_gates`` sign-off looked at; ``evidence`` holds links to what the reviewer relied on.
    """

    id: int
    model: str
    version: int
    stage: ReviewStage
    decision: ReviewDecision
    reviewer: str
    role: Role
    created_at: datetime
    comment: str = ""
    conditions: tuple[ReviewCondition, ...] = ()
    evidence: tuple[str, ...] = ()
    gate_decision: int | None = None
    audit_seq: int | None = None

    def signed(self) -> Signed:
        return Signed(self.stage, self.decision, self.reviewer, self.created_at, self.id)


@dataclass(frozen=True, slots=True)
class Promotion:
    """One request to place a version in an environment (a promotion or a rollback), allowed or
    denied, with every reason and the deployment it made."""

    id: int
    model: str
    version: int
    environment: str
    kind: PromotionKind
    allowed: bool
    requested_by: str
    requested_at: datetime
    reason: str = ""
    reasons: tuple[Reason, ...] = ()
    warnings: tuple[Reason, ...] = ()
    gate_decision: int | None = None
    deployment: Deployment | None = None
    replaced: Deployment | None = None
    audit_seq: int | None = None


@dataclass(frozen=True, slots=True)
class Retirement:
    """A model taken out of use for good: every deployment ended, the record read-only."""

    model: str
    retired_by: str
    retired_at: datetime
    reason: str
    ended_deployments: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Deprecation:
    model: str
    version: int
    deprecated_by: str
    deprecated_at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class Attestation:
    """The owner's statement that a model's record is current."""

    id: int
    model: str
    attested_by: str
    attested_at: datetime
    statement: str = ""


@dataclass(frozen=True, slots=True)
class PendingReview:
    """One stage of one version waiting for a sign-off, and since when."""

    model: str
    version: int
    risk_tier: RiskTier
    stage: ReviewStage
    roles: tuple[Role, ...]
    version_state: VersionState
    registered_by: str
    waiting_since: datetime
    waited_seconds: int = 0


@dataclass(frozen=True, slots=True)
class SignoffStatus:
    """A version's reviews, and what its model's workflow still needs before each environment.

    ``stages`` holds the stages each environment needs (``staging``, ``production``), ``missing``
    why its sign-offs are not in place (the reasons a promotion would give; empty: they are),
    ``roles`` who signs each stage.
    """

    model: str
    version: int
    risk_tier: RiskTier
    version_state: VersionState
    reviews: tuple[Review, ...]
    roles: Mapping[ReviewStage, tuple[Role, ...]]
    stages: Mapping[str, tuple[ReviewStage, ...]]
    missing: Mapping[str, tuple[Reason, ...]]


@dataclass(frozen=True, slots=True)
class PromotionLog:
    """A model's newest promotion and rollback requests (every version, allowed and denied, newest
    first; ``more`` when older ones exist) and its retirement, if it was retired."""

    model: str
    promotions: tuple[Promotion, ...]
    more: bool = False
    retirement: Retirement | None = None


@dataclass(frozen=True, slots=True)
class ReviewDue:
    """When a model's periodic review and owner attestation were done and are due."""

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
    production_version: int | None = None

    @property
    def overdue(self) -> bool:
        return self.review_overdue or self.attestation_overdue


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One deployment of the history: what was placed, how, who approved it and on what evidence.

    ``approvals`` are the sign-offs in force when it was deployed; ``gate_decision`` the policy
    decision the promotion was granted on (``None`` for a rollback or a recorded deployment).
    """

    deployment: Deployment
    kind: str
    requested_by: str
    reason: str
    approvals: tuple[Review, ...] = ()
    gate_decision: PolicyDecision | None = None
    promotion: int | None = None
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ModelHistory:
    model: str
    environment: str
    at: datetime | None
    entries: tuple[HistoryEntry, ...]
    retirement: Retirement | None = None
