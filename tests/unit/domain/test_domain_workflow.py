"""The approval workflow's pure rules: the tier table, sign-offs, order, revocation, the lifecycle
moves of promotion and review, periodic reviews and traceability."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from steward.domain import (
    DEFAULT_PRODUCTION_STAGES,
    DEFAULT_STAGE_ROLES,
    DEFAULT_STAGING_STAGES,
    STAGE_ORDER,
    VERSION_TRANSITIONS,
    ReviewDecision,
    ReviewStage,
    RiskTier,
    Role,
    Signed,
    Traceable,
    VersionState,
    Workflow,
    after_replaced,
    after_review,
    current_decisions,
    effective_at,
    next_stage,
    periodic_status,
    promotion_path,
    signoff_reasons,
    traceability_reasons,
    waiting_for,
)
from steward.errors import InvalidInput

S = ReviewStage
D = ReviewDecision
V = VersionState
T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


def signed(stage: ReviewStage, decision: ReviewDecision, who: str, minutes: int, id: int = 0) -> Signed:
    return Signed(stage, decision, who, T0 + timedelta(minutes=minutes), id or minutes + 1)


HIGH = DEFAULT_PRODUCTION_STAGES[RiskTier.HIGH]
ALL_APPROVED = [
    signed(S.AUTOMATED_GATES, D.APPROVED, "eli", 1),
    signed(S.INDEPENDENT_VALIDATION, D.APPROVED_WITH_CONDITIONS, "vera", 2),
    signed(S.COMPLIANCE_REVIEW, D.APPROVED, "carl", 3),
    signed(S.BUSINESS_SIGNOFF, D.APPROVED, "bo", 4),
]


# -- the table ---------------------------------------------------------------------------------


def test_default_tiers_follow_the_design() -> None:
    assert DEFAULT_PRODUCTION_STAGES == {
        RiskTier.HIGH: (S.AUTOMATED_GATES, S.INDEPENDENT_VALIDATION, S.COMPLIANCE_REVIEW, S.BUSINESS_SIGNOFF),
        RiskTier.MEDIUM: (S.AUTOMATED_GATES, S.COMPLIANCE_REVIEW),
        RiskTier.LOW: (S.AUTOMATED_GATES,),
    }
    for tier in RiskTier:  # staging asks for less, never more
        assert set(DEFAULT_STAGING_STAGES[tier]) <= set(DEFAULT_PRODUCTION_STAGES[tier])
    assert DEFAULT_STAGE_ROLES[S.INDEPENDENT_VALIDATION] == (Role.VALIDATOR,)


def test_workflow_picks_the_table_by_environment() -> None:
    workflow = Workflow()
    assert workflow.stages_for(RiskTier.HIGH, "production") == HIGH
    assert workflow.stages_for(RiskTier.HIGH, "staging") == (S.AUTOMATED_GATES, S.INDEPENDENT_VALIDATION)
    assert workflow.stages_for(RiskTier.LOW, "staging") == ()
    assert workflow.stages_for(RiskTier.MEDIUM, "canary") == DEFAULT_PRODUCTION_STAGES[RiskTier.MEDIUM]
    assert workflow.cadence_for(RiskTier.HIGH) == 6
    assert workflow.cadence_for(RiskTier.LOW) == 24
    assert workflow.cadence_for(RiskTier.LOW, own=3) == 3


def test_workflow_from_settings_orders_stages_and_keeps_other_tiers() -> None:
    workflow = Workflow.from_tables(
        production={"medium": ["compliance_review", "automated_gates", "independent_validation"]},
        cadence_months={"high": 3},
    )
    assert workflow.stages_for(RiskTier.MEDIUM, "production") == (
        S.AUTOMATED_GATES,
        S.INDEPENDENT_VALIDATION,
        S.COMPLIANCE_REVIEW,
    )
    assert workflow.stages_for(RiskTier.HIGH, "production") == HIGH
    assert workflow.cadence_months[RiskTier.HIGH] == 3
    assert workflow.cadence_months[RiskTier.MEDIUM] == 12


@pytest.mark.parametrize(
    ("tables", "field"),
    [
        ({"production": {"extreme": []}}, "workflow_production.extreme"),
        ({"staging": {"high": ["vibe_check"]}}, "workflow_staging.high"),
        ({"production": {"low": ["automated_gates", "automated_gates"]}}, "workflow_production.low"),
        ({"cadence_months": {"high": 0}}, "review_cadence_months.high"),
    ],
)
def test_workflow_from_settings_refuses_what_it_does_not_know(tables: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Workflow.from_tables(**tables)
    assert caught.value.details["errors"][0]["field"] == field


# -- sign-offs ---------------------------------------------------------------------------------


def test_all_stages_approved_means_no_reason() -> None:
    assert signoff_reasons(HIGH, ALL_APPROVED, DEFAULT_STAGE_ROLES) == []


def test_each_missing_stage_is_a_reason_naming_its_role() -> None:
    reasons = signoff_reasons(HIGH, ALL_APPROVED[:1], DEFAULT_STAGE_ROLES)
    assert [r.rule for r in reasons] == ["signoff.missing"] * 3
    assert reasons[0].message == (
        "signoff.missing: stage independent_validation has no sign-off; required an approval by validator"
    )
    assert (reasons[0].measured, reasons[0].required) == (None, "approved")


def test_the_newest_review_of_a_stage_decides_and_a_rejection_revokes() -> None:
    revoked = [*ALL_APPROVED, signed(S.COMPLIANCE_REVIEW, D.REJECTED, "cora", 10)]
    assert current_decisions(revoked)[S.COMPLIANCE_REVIEW].reviewer == "cora"
    reasons = signoff_reasons(HIGH, revoked, DEFAULT_STAGE_ROLES)
    assert [r.rule for r in reasons] == ["signoff.revoked"]
    assert "the approval of stage compliance_review by carl was revoked by cora" in reasons[0].message
    rejected = signoff_reasons(HIGH, [signed(S.AUTOMATED_GATES, D.REJECTED, "eli", 1)], DEFAULT_STAGE_ROLES)
    assert rejected[0].rule == "signoff.rejected"
    approved_again = [*revoked, signed(S.COMPLIANCE_REVIEW, D.APPROVED, "cora", 20)]
    assert signoff_reasons(HIGH, approved_again, DEFAULT_STAGE_ROLES) == []


def test_stages_are_signed_in_order() -> None:
    assert waiting_for(HIGH, S.AUTOMATED_GATES, []) == []
    assert waiting_for(HIGH, S.COMPLIANCE_REVIEW, ALL_APPROVED[:1]) == [S.INDEPENDENT_VALIDATION]
    assert waiting_for(HIGH, S.BUSINESS_SIGNOFF, ALL_APPROVED[:3]) == []
    medium = DEFAULT_PRODUCTION_STAGES[RiskTier.MEDIUM]
    assert waiting_for(medium, S.COMPLIANCE_REVIEW, ALL_APPROVED[:1]) == []  # no validation in medium


def test_next_stage_waits_for_the_first_unsigned_stage_and_stops_at_a_rejection() -> None:
    assert next_stage(HIGH, []) is S.AUTOMATED_GATES
    assert next_stage(HIGH, ALL_APPROVED[:2]) is S.COMPLIANCE_REVIEW
    assert next_stage(HIGH, ALL_APPROVED) is None
    assert next_stage(HIGH, [signed(S.AUTOMATED_GATES, D.REJECTED, "eli", 1)]) is None


def test_decisions_as_they_stood_at_a_time() -> None:
    revoked = [*ALL_APPROVED, signed(S.COMPLIANCE_REVIEW, D.REJECTED, "cora", 10)]
    before = effective_at(revoked, T0 + timedelta(minutes=5))
    after = effective_at(revoked, T0 + timedelta(minutes=11))
    assert before[S.COMPLIANCE_REVIEW].decision is D.APPROVED
    assert after[S.COMPLIANCE_REVIEW].decision is D.REJECTED
    assert effective_at(revoked, T0) == {}


# -- lifecycle moves ---------------------------------------------------------------------------


def _walk(state: VersionState, moves: list[VersionState]) -> VersionState:
    for move in moves:
        assert move in VERSION_TRANSITIONS[state], (state, move)
        state = move
    return state


@pytest.mark.parametrize("start", [V.REGISTERED, V.VALIDATED, V.APPROVED, V.DEPLOYED_STAGING])
def test_promotion_paths_are_allowed_transitions(start: VersionState) -> None:
    assert _walk(start, promotion_path(start, "production")) is V.DEPLOYED_PRODUCTION
    staged = _walk(start, promotion_path(start, "staging"))
    assert staged is V.DEPLOYED_STAGING


def test_a_version_in_production_stays_there_when_also_staged() -> None:
    assert promotion_path(V.DEPLOYED_PRODUCTION, "staging") == []
    assert promotion_path(V.DEPLOYED_PRODUCTION, "production") == []
    assert promotion_path(V.APPROVED, "canary") == []


def test_a_closed_version_has_no_path_the_lifecycle_allows() -> None:
    for closed in (V.DEPRECATED, V.REJECTED, V.ARCHIVED):
        path = promotion_path(closed, "production")
        assert path and path[0] not in VERSION_TRANSITIONS[closed]


def test_replaced_versions_go_back_to_approved() -> None:
    assert after_replaced(V.DEPLOYED_PRODUCTION, "production", approved=True) is V.APPROVED
    assert after_replaced(V.DEPLOYED_STAGING, "staging", approved=False) is V.VALIDATED
    assert after_replaced(V.DEPLOYED_STAGING, "staging", approved=True) is V.APPROVED
    assert after_replaced(V.DEPLOYED_PRODUCTION, "staging", approved=True) is None


def test_reviews_move_the_lifecycle() -> None:
    assert after_review(V.REGISTERED, D.APPROVED, all_approved=False) == [V.VALIDATED]
    assert _walk(V.REGISTERED, after_review(V.REGISTERED, D.APPROVED, all_approved=True)) is V.APPROVED
    assert after_review(V.VALIDATED, D.APPROVED_WITH_CONDITIONS, all_approved=True) == [V.APPROVED]
    assert after_review(V.DEPLOYED_STAGING, D.APPROVED, all_approved=True) == []
    assert after_review(V.VALIDATED, D.REJECTED, all_approved=False) == [V.REJECTED]
    assert after_review(V.DEPLOYED_PRODUCTION, D.REJECTED, all_approved=False) == []  # revoked, still running


# -- periodic review and traceability ----------------------------------------------------------


def test_periodic_review_and_attestation_clocks() -> None:
    created = datetime(2026, 1, 31, tzinfo=UTC)
    fresh = periodic_status(6, created, None, None, datetime(2026, 7, 30, tzinfo=UTC))
    assert fresh.review_due_at == datetime(2026, 7, 31, tzinfo=UTC)
    assert not fresh.overdue
    late = periodic_status(6, created, None, None, datetime(2026, 8, 1, tzinfo=UTC))
    assert late.review_overdue and late.attestation_overdue
    reviewed = periodic_status(
        6, created, datetime(2026, 6, 1, tzinfo=UTC), None, datetime(2026, 8, 1, tzinfo=UTC)
    )
    assert not reviewed.review_overdue and reviewed.attestation_overdue and reviewed.overdue
    assert periodic_status(
        1, datetime(2026, 1, 31, tzinfo=UTC), None, None, created
    ).review_due_at == datetime(2026, 2, 28, tzinfo=UTC)


def test_traceability_needs_run_commit_and_training_data() -> None:
    assert traceability_reasons(Traceable("run-1", "4f2a9c1", ("loans@v1",))) == []
    gaps = traceability_reasons(Traceable(None, "", ()))
    assert [r.rule for r in gaps] == [
        "traceability.training_run",
        "traceability.code_commit",
        "traceability.training_data",
    ]
    assert all(r.message.startswith(r.rule + ": ") for r in gaps)


def test_stage_order_is_the_enum_order() -> None:
    assert tuple(ReviewStage) == STAGE_ORDER
