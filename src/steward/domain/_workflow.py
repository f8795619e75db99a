"""The approval workflow: stages, decisions, the tier → stages table, and its pure rules.

A version reaches an environment only after the stages its model's risk tier needs there are
signed off (:class:`Workflow`, defaults in DESIGN.md). Stages run in the order of
:data:`STAGE_ORDER`: a stage can be approved once every earlier stage it needs is approved (a
rejection can come at any time). The newest review of a stage is its decision; a rejection after an
approval revokes it. Who may sign what (separation of duties) is a policy of the bundle, not a rule
here (``steward/policy/builtin/separation.rego``); :data:`DEFAULT_STAGE_ROLES` is its default.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from steward.domain._values import RiskTier, Role, VersionState
from steward.errors import InvalidInput


class ReviewStage(StrEnum):
    """The stages of the approval workflow, in the order they are signed."""

    AUTOMATED_GATES = "automated_gates"
    INDEPENDENT_VALIDATION = "independent_validation"
    COMPLIANCE_REVIEW = "compliance_review"
    BUSINESS_SIGNOFF = "business_signoff"


class ReviewDecision(StrEnum):
    """A reviewer's decision on one stage; ``approved_with_conditions`` approves and records open
    conditions."""

    APPROVED = "approved"
    REJECTED = "rejected"
    APPROVED_WITH_CONDITIONS = "approved_with_conditions"

    @property
    def approves(self) -> bool:
        return self is not ReviewDecision.REJECTED


class PromotionKind(StrEnum):
    """Whether a deployment came from a promotion or from a rollback to an earlier version."""

    PROMOTION = "promotion"
    ROLLBACK = "rollback"


STAGE_ORDER: tuple[ReviewStage, ...] = tuple(ReviewStage)
"""The order stages are signed in."""

STAGE_LABELS: Mapping[ReviewStage, str] = MappingProxyType(
    {
        ReviewStage.AUTOMATED_GATES: "automated gates",
        ReviewStage.INDEPENDENT_VALIDATION: "independent validation",
        ReviewStage.COMPLIANCE_REVIEW: "compliance review",
        ReviewStage.BUSINESS_SIGNOFF: "business sign-off",
    }
)

DEFAULT_STAGE_ROLES: Mapping[ReviewStage, tuple[Role, ...]] = MappingProxyType(
    {
        ReviewStage.AUTOMATED_GATES: (Role.ML_ENGINEER,),
        ReviewStage.INDEPENDENT_VALIDATION: (Role.VALIDATOR,),
        ReviewStage.COMPLIANCE_REVIEW: (Role.COMPLIANCE_OFFICER,),
        ReviewStage.BUSINESS_SIGNOFF: (Role.BUSINESS_OWNER,),
    }
)
"""The role each stage needs, as the built-in policy bundle has it (``data.workflow.stage_roles``)."""

_S = ReviewStage
DEFAULT_PRODUCTION_STAGES: Mapping[RiskTier, tuple[ReviewStage, ...]] = MappingProxyType(
    {
        RiskTier.HIGH: STAGE_ORDER,
        RiskTier.MEDIUM: (_S.AUTOMATED_GATES, _S.COMPLIANCE_REVIEW),
        RiskTier.LOW: (_S.AUTOMATED_GATES,),
    }
)
DEFAULT_STAGING_STAGES: Mapping[RiskTier, tuple[ReviewStage, ...]] = MappingProxyType(
    {
        RiskTier.HIGH: (_S.AUTOMATED_GATES, _S.INDEPENDENT_VALIDATION),
        RiskTier.MEDIUM: (_S.AUTOMATED_GATES,),
        RiskTier.LOW: (),
    }
)
DEFAULT_REVIEW_CADENCE_MONTHS: Mapping[RiskTier, int] = MappingProxyType(
    {RiskTier.HIGH: 6, RiskTier.MEDIUM: 12, RiskTier.LOW: 24}
)

WAITING_STATES = frozenset({VersionState.REGISTERED, VersionState.VALIDATED, VersionState.DEPLOYED_STAGING})
"""Version states in which stages may still be waiting for a sign-off."""
CLOSED_STATES = frozenset({VersionState.REJECTED, VersionState.DEPRECATED, VersionState.ARCHIVED})
"""Version states in which nothing more is signed or deployed."""

StageTable = Mapping[RiskTier, tuple[ReviewStage, ...]]


def _stage_table(name: str, given: Mapping[str, Sequence[str]], default: StageTable) -> StageTable:
    table = dict(default)
    for tier_name, stages in given.items():
        try:
            tier = RiskTier(tier_name)
        except ValueError:
            raise InvalidInput.field(
                f"{name}.{tier_name}", "choice", f"unknown risk tier; use one of {', '.join(RiskTier)}"
            ) from None
        chosen: list[ReviewStage] = []
        for stage_name in stages:
            try:
                chosen.append(ReviewStage(stage_name))
            except ValueError:
                raise InvalidInput.field(
                    f"{name}.{tier_name}",
                    "choice",
                    f"unknown stage {stage_name!r}; use one of {', '.join(ReviewStage)}",
                ) from None
        if len(set(chosen)) != len(chosen):
            raise InvalidInput.field(f"{name}.{tier_name}", "unique", "a stage is named twice")
        table[tier] = tuple(s for s in STAGE_ORDER if s in chosen)
    return MappingProxyType(table)


@dataclass(frozen=True, slots=True)
class Workflow:
    """Which stages each risk tier needs per environment, and how often a model is re-reviewed.

    ``staging`` applies to the ``staging`` environment; ``production`` to production and to any
    other environment (an environment Steward does not know gets the strict table).
    """

    production: StageTable = field(default_factory=lambda: DEFAULT_PRODUCTION_STAGES)
    staging: StageTable = field(default_factory=lambda: DEFAULT_STAGING_STAGES)
    cadence_months: Mapping[RiskTier, int] = field(default_factory=lambda: DEFAULT_REVIEW_CADENCE_MONTHS)

    @classmethod
    def from_tables(
        cls,
        production: Mapping[str, Sequence[str]] | None = None,
        staging: Mapping[str, Sequence[str]] | None = None,
        cadence_months: Mapping[str, int] | None = None,
    ) -> Workflow:
        """A workflow from plain tables (settings); tiers left out keep their defaults, and the
        stages of a tier are put in :data:`STAGE_ORDER`."""
        cadence = dict(DEFAULT_REVIEW_CADENCE_MONTHS)
        for tier_name, months in (cadence_months or {}).items():
            try:
                tier = RiskTier(tier_name)
            except ValueError:
                raise InvalidInput.field(
                    f"review_cadence_months.{tier_name}", "choice", "unknown risk tier"
                ) from None
            if not 1 <= int(months) <= 120:
                raise InvalidInput.field(
                    f"review_cadence_months.{tier_name}", "range", "must be 1 to 120 months"
                )
            cadence[tier] = int(months)
        return cls(
            production=_stage_table("workflow_production", production or {}, DEFAULT_PRODUCTION_STAGES),
            staging=_stage_table("workflow_staging", staging or {}, DEFAULT_STAGING_STAGES),
            cadence_months=MappingProxyType(cadence),
        )

    def stages_for(self, tier: RiskTier, environment: str) -> tuple[ReviewStage, ...]:
        table = self.staging if environment == "staging" else self.production
        return table.get(tier, STAGE_ORDER)

    def cadence_for(self, tier: RiskTier, own: int | None = None) -> int:
        """The model's own review cadence, else its tier's."""
        return own if own is not None else self.cadence_months.get(tier, 12)

    def to_dict(self) -> dict[str, Any]:
        return {
            "production": {t.value: [s.value for s in st] for t, st in self.production.items()},
            "staging": {t.value: [s.value for s in st] for t, st in self.staging.items()},
            "review_cadence_months": {t.value: m for t, m in self.cadence_months.items()},
        }


@dataclass(frozen=True, slots=True)
class Reason:
    """Why something was refused or warned about: the rule, what was measured, what was needed."""

    rule: str
    message: str
    measured: Any = None
    required: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "message": self.message,
            "measured": self.measured,
            "required": self.required,
        }

    @classmethod
    def of(cls, rule: str, message: str, measured: Any = None, required: Any = None) -> Reason:
        """A reason whose message starts with its rule, as the policy findings do."""
        return cls(rule, f"{rule}: {message}", measured, required)


@dataclass(frozen=True, slots=True)
class Signed:
    """One review reduced to what the rules need (a review record, or a row of the queue)."""

    stage: ReviewStage
    decision: ReviewDecision
    reviewer: str
    at: datetime
    id: int = 0


def current_decisions(reviews: Iterable[Signed]) -> dict[ReviewStage, Signed]:
    """The newest review of each stage (by time, then id)."""
    newest: dict[ReviewStage, Signed] = {}
    for review in sorted(reviews, key=lambda r: (r.at, r.id)):
        newest[review.stage] = review
    return newest


def _approved_before(reviews: Iterable[Signed], stage: ReviewStage, review: Signed) -> Signed | None:
    earlier = [
        r
        for r in reviews
        if r.stage is stage and r.decision.approves and (r.at, r.id) < (review.at, review.id)
    ]
    return max(earlier, key=lambda r: (r.at, r.id)) if earlier else None


def signoff_reasons(
    stages: Sequence[ReviewStage], reviews: Sequence[Signed], roles: Mapping[ReviewStage, Sequence[Role]]
) -> list[Reason]:
    """Why the sign-offs ``stages`` need are not all in place (empty: they are)."""
    current = current_decisions(reviews)
    reasons = []
    for stage in stages:
        found = current.get(stage)
        who = ", ".join(r.value for r in roles.get(stage, ())) or "no role"
        if found is None:
            reasons.append(
                Reason.of(
                    "signoff.missing",
                    f"stage {stage.value} has no sign-off; required an approval by {who}",
                    None,
                    "approved",
                )
            )
        elif not found.decision.approves:
            revoked = _approved_before(reviews, stage, found)
            text = (
                f"the approval of stage {stage.value} by {revoked.reviewer} was revoked by "
                f"{found.reviewer} ({found.at:%Y-%m-%d %H:%M} UTC); required an approval in force"
                if revoked
                else f"stage {stage.value} was rejected by {found.reviewer} "
                f"({found.at:%Y-%m-%d %H:%M} UTC); required an approval"
            )
            rule = "signoff.revoked" if revoked else "signoff.rejected"
            reasons.append(Reason.of(rule, text, found.decision.value, "approved"))
    return reasons


def waiting_for(
    stages: Sequence[ReviewStage], stage: ReviewStage, reviews: Sequence[Signed]
) -> list[ReviewStage]:
    """The stages before ``stage`` (of ``stages``) that are not approved now."""
    current = current_decisions(reviews)
    before = stages[: stages.index(stage)] if stage in stages else ()
    return [s for s in before if s not in current or not current[s].decision.approves]


def next_stage(stages: Sequence[ReviewStage], reviews: Sequence[Signed]) -> ReviewStage | None:
    """The stage waiting for a sign-off: the first of ``stages`` nobody has signed, provided every
    stage before it is approved (``None``: nothing waits, or a stage was rejected)."""
    current = current_decisions(reviews)
    for stage in stages:
        found = current.get(stage)
        if found is None:
            return stage
        if not found.decision.approves:
            return None
    return None


def effective_at(reviews: Sequence[Signed], at: datetime) -> dict[ReviewStage, Signed]:
    """The decision of each stage as it stood at ``at``."""
    return current_decisions(r for r in reviews if r.at <= at)


def promotion_path(state: VersionState, environment: str) -> list[VersionState]:
    """The lifecycle moves that take a version in ``state`` to ``environment`` (each one allowed by
    :data:`~steward.domain.VERSION_TRANSITIONS`); empty when nothing changes (a version in
    production stays ``deployed_production`` when it is also placed in staging, and
    environments other than staging and production leave the state alone)."""
    V = VersionState
    if environment == "production":
        steps = {
            V.REGISTERED: [V.VALIDATED, V.APPROVED, V.DEPLOYED_PRODUCTION],
            V.VALIDATED: [V.APPROVED, V.DEPLOYED_PRODUCTION],
            V.APPROVED: [V.DEPLOYED_PRODUCTION],
            V.DEPLOYED_STAGING: [V.DEPLOYED_PRODUCTION],
        }
        return steps.get(state, [V.DEPLOYED_PRODUCTION] if state is not V.DEPLOYED_PRODUCTION else [])
    if environment == "staging":
        if state in (V.REGISTERED, V.VALIDATED, V.APPROVED):
            return [V.DEPLOYED_STAGING]
        return [] if state in (V.DEPLOYED_STAGING, V.DEPLOYED_PRODUCTION) else [V.DEPLOYED_STAGING]
    return []


def after_replaced(state: VersionState, environment: str, approved: bool) -> VersionState | None:
    """The state of a version whose deployment in ``environment`` was replaced (``None``: keep)."""
    if environment == "production" and state is VersionState.DEPLOYED_PRODUCTION:
        return VersionState.APPROVED
    if environment == "staging" and state is VersionState.DEPLOYED_STAGING:
        return VersionState.APPROVED if approved else VersionState.VALIDATED
    return None


def after_review(state: VersionState, decision: ReviewDecision, all_approved: bool) -> list[VersionState]:
    """The lifecycle moves a review causes: the first approval validates a registered version,
    approval of every production stage approves it, a rejection ends a version not in production."""
    V = VersionState
    if not decision.approves:
        return [V.REJECTED] if state in (V.REGISTERED, V.VALIDATED, V.APPROVED, V.DEPLOYED_STAGING) else []
    moves: list[VersionState] = []
    if state is V.REGISTERED:
        moves.append(V.VALIDATED)
        state = V.VALIDATED
    if all_approved and state is V.VALIDATED:
        moves.append(V.APPROVED)
    return moves


def add_months(at: datetime, months: int) -> datetime:
    """``at`` plus calendar months (the day clamped to the month's length)."""
    index = at.month - 1 + months
    year, month = at.year + index // 12, index % 12 + 1
    return at.replace(year=year, month=month, day=min(at.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True, slots=True)
class PeriodicStatus:
    """When a model was last reviewed and attested, and when each is due again."""

    cadence_months: int
    last_reviewed_at: datetime | None
    review_due_at: datetime
    last_attested_at: datetime | None
    attestation_due_at: datetime
    review_overdue: bool
    attestation_overdue: bool

    @property
    def overdue(self) -> bool:
        return self.review_overdue or self.attestation_overdue


def periodic_status(
    cadence_months: int,
    created_at: datetime,
    last_reviewed_at: datetime | None,
    last_attested_at: datetime | None,
    now: datetime,
) -> PeriodicStatus:
    """A model's periodic review is due ``cadence_months`` after its last approving review (of any
    version), its owner's attestation the same time after the last attestation; both clocks start
    when the record was created."""
    review_due = add_months(last_reviewed_at or created_at, cadence_months)
    attestation_due = add_months(last_attested_at or created_at, cadence_months)
    return PeriodicStatus(
        cadence_months=cadence_months,
        last_reviewed_at=last_reviewed_at,
        review_due_at=review_due,
        last_attested_at=last_attested_at,
        attestation_due_at=attestation_due,
        review_overdue=now > review_due,
        attestation_overdue=now > attestation_due,
    )


@dataclass(frozen=True, slots=True)
class Traceable:
    """What a version must name to be traced: its training run, code commit and training data."""

    training_run: str | None
    code_commit: str | None
    training_datasets: tuple[str, ...] = field(default_factory=tuple)


def traceability_reasons(trace: Traceable) -> list[Reason]:
    """Why a version cannot be traced to its run, code commit and training data (empty: it can)."""
    reasons = []
    if not trace.training_run:
        reasons.append(
            Reason.of(
                "traceability.training_run",
                "the version names no training run; required the run that produced it",
                None,
                "training run",
            )
        )
    if not trace.code_commit:
        reasons.append(
            Reason.of(
                "traceability.code_commit",
                "the version names no code commit; required the commit it was trained from",
                None,
                "code commit",
            )
        )
    if not trace.training_datasets:
        reasons.append(
            Reason.of(
                "traceability.training_data",
                "the version names no training dataset version; required the data it was trained on",
                [],
                "a dataset version with role training",
            )
        )
    return reasons
