"""The governed path for the benchmarks' deployments: nothing is deployed outside the workflow.

A benchmark that needs a version running in an environment takes it there the way Steward
allows, through the service's use cases: a fairness check where the risk tier needs one, the gate
decision for the target, each stage the tier needs there signed by its own person in the stage's
role, then the promotion (which records the deployment and replaces the one there). The versions
must pass the built-in gates; :data:`FAIR` is the fairness values of a model that treats both
groups alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from steward import wire
from steward.checks import fairness_check
from steward.domain import DEFAULT_STAGE_ROLES, Deployment, Origin, ReviewDecision, RiskTier, Role
from steward.service import Caller, Steward, local_operator


def _fair() -> dict[str, Any]:
    labels = np.tile([1, 0, 1, 0], 50)
    groups = np.repeat(np.array(["F", "M"]), 100)
    return dict(fairness_check(labels, labels.copy(), {"sex": groups}).values)


FAIR = _fair()
SIGNER_NAMES = {
    Role.ML_ENGINEER: "bench-ml-engineer",
    Role.VALIDATOR: "bench-validator",
    Role.COMPLIANCE_OFFICER: "bench-compliance",
    Role.BUSINESS_OWNER: "bench-business-owner",
}


@dataclass
class Signers:
    """One person per signing role (none of them registers or trains a benchmark version)."""

    by_role: Mapping[Role, Caller]

    @classmethod
    def create(cls, steward: Steward) -> Signers:
        operator = local_operator(name="bench-setup")
        made = {}
        for role, name in SIGNER_NAMES.items():
            principal = steward.identity.create_principal(
                operator, wire.PrincipalCreate(name=name, roles=[role])
            )
            made[role] = Caller(principal, Origin(actor=name, client_address="10.1.2.4", user_agent="bench"))
        return cls(made)


def promote(
    steward: Steward,
    signers: Signers,
    model: str,
    version: int,
    environment: str,
    tier: RiskTier,
    *,
    endpoint: str | None = None,
    reason: str = "release",
) -> Deployment:
    """Take ``version`` to ``environment`` through the workflow; returns the deployment made.

    Raises ``SystemExit`` naming the gates' reasons when they deny: a benchmark's data must be
    governable."""
    validator, engineer = signers.by_role[Role.VALIDATOR], signers.by_role[Role.ML_ENGINEER]
    if tier is RiskTier.HIGH and environment == "production":
        steward.checks.record(validator, model, version, "fairness", "pass", FAIR)
    decision = steward.gates.evaluate(engineer, model, version, environment)
    if not decision.allow:
        raise SystemExit(f"the gates deny {model} v{version} for {environment}: {decision.denies}")
    signed = {r.stage for r in steward.reviews.list_reviews(engineer, model, version, 1000).items}
    for stage in steward.workflow.stages_for(tier, environment):
        if stage in signed:
            continue
        steward.reviews.review(
            signers.by_role[DEFAULT_STAGE_ROLES[stage][0]],
            model,
            version,
            wire.ReviewCreate(stage=stage, decision=ReviewDecision.APPROVED, comment=f"{stage.value} ok"),
        )
    done = steward.promotions.promote(
        engineer, model, version, wire.PromotionCreate(target=environment, reason=reason, endpoint=endpoint)
    )
    assert done.deployment is not None
    return done.deployment
