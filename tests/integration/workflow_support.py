"""Deployments the governed way, for tests that need a version running somewhere.

Nothing records a deployment directly: a version reaches an environment through the approval
workflow, and so do the tests' versions. :func:`deploy` drives the real workflow through the
service: it evaluates the gates for the target (they must allow), has each stage the model's risk
tier needs there signed by its own principal in the stage's role (``workflow-<role>``, made on
first use, so none of them registered or trained the version), and promotes the version as
``workflow-deployer`` (an ML engineer). Every step writes its records and audit events as in
production. :func:`passing_version` registers a version the built-in gates let through.
"""

from __future__ import annotations

from typing import Any

from steward import wire
from steward.domain import DEFAULT_STAGE_ROLES, Deployment, Origin, Role
from steward.errors import NotFound
from steward.service import Caller, Steward, local_operator
from tests.integration.gates_support import computed, passing_fairness
from tests.integration.support import digest

DEPLOYER = "workflow-deployer"
PASSING_METRICS = {"accuracy": 0.95, "auc": 0.93}  # above every tier's floors


def workflow_caller(steward: Steward, name: str, role: Role) -> Caller:
    """The stored principal ``name`` (made with ``role`` the first time) as a caller."""
    operator = local_operator(name="local:workflow-support")
    try:
        principal = steward.identity.get_principal(operator, name)
    except NotFound:
        principal = steward.identity.create_principal(operator, wire.PrincipalCreate(name=name, roles=[role]))
    return Caller(principal, Origin(actor=name, client_address="10.0.0.7", user_agent="pytest"))


def signer(steward: Steward, role: Role) -> Caller:
    return workflow_caller(steward, f"workflow-{role.value.replace('_', '-')}", role)


def deploy(
    steward: Steward,
    model: str,
    version: int,
    environment: str = "production",
    *,
    endpoint: str | None = None,
    reason: str = "release",
    by: Caller | None = None,
) -> Deployment:
    """Take ``version`` to ``environment`` through the workflow (see the module doc); returns
    the deployment the promotion made. A gate that denies, or a promotion refused, fails loudly."""
    deployer = by or workflow_caller(steward, DEPLOYER, Role.ML_ENGINEER)
    sign_offs(steward, deployer, model, version, environment)
    done = steward.promotions.promote(
        deployer, model, version, wire.PromotionCreate(target=environment, reason=reason, endpoint=endpoint)
    )
    assert done.deployment is not None
    return done.deployment


def sign_offs(steward: Steward, deployer: Caller, model: str, version: int, environment: str) -> None:
    """Evaluate the gates (they must allow) and sign each stage ``environment`` still needs, each by
    its own person in its role: what a promotion there waits for."""
    decision = steward.gates.evaluate(deployer, model, version, environment)
    assert decision.allow, f"the gates deny {model}/{version} for {environment}: {decision.denies}"
    tier = steward.registry.get_model(deployer, model).risk_tier
    signed = steward.reviews.list_reviews(deployer, model, version, page_size=1000).items
    current = {r.stage: r for r in signed}  # oldest first: the newest review of each stage wins
    for stage in steward.workflow.stages_for(tier, environment):
        if stage in current and current[stage].decision.approves:
            continue
        steward.reviews.review(
            signer(steward, DEFAULT_STAGE_ROLES[stage][0]),
            model,
            version,
            wire.ReviewCreate(stage=stage, decision="approved", comment=f"{stage.value} signed for the test"),
        )


def documented(name: str, **fields: Any) -> wire.ModelCreate:
    """A model record with everything the documentation rules ask for (medium risk by default)."""
    return wire.ModelCreate(
        **{
            "name": name,
            "owner": "team-risk",
            "risk_tier": "medium",
            "use_case": "consumer lending",
            "intended_use": "Rank applications for manual underwriting review.",
            "limitations": "Not validated for small-business lending.",
            "regulatory_scopes": ["eu-ai-act-high-risk"],
            **fields,
        }
    )


def passing_version(steward: Steward, caller: Caller, model: str, seed: object = 1, **fields: Any) -> int:
    """Register a version of ``model`` that the built-in gates allow everywhere: traceable (a run,
    a code commit, approved training data), metrics above the floors, its environment captured,
    and a fair fairness check computed from a file. Returns its number."""
    dataset = f"{model}-data"
    try:
        steward.registry.get_dataset(caller, dataset)
    except NotFound:
        steward.registry.create_dataset(
            caller, wire.DatasetCreate(name=dataset, source="warehouse", approved=True)
        )
        steward.registry.add_dataset_version(
            caller,
            dataset,
            wire.DatasetVersionCreate(version="v1", uri=f"s3://data/{dataset}", digest=digest(dataset)),
        )
    run = f"{model}-run-{seed}"
    steward.registry.record_run(
        caller, wire.TrainingRunCreate(run_id=run, platform="mlflow", code_commit="4f2a9c1")
    )
    spec = {
        "artifact_uri": f"s3://models/{model}/{seed}/model.pkl",
        "artifact_digest": digest(f"{model}-{seed}"),
        "training_run": run,
        "metrics": PASSING_METRICS,
        "code_repository": "https://git.example.com/risk/credit",
        "code_commit": "4f2a9c1",
        "environment": {"python_version": "3.11.7", "dependency_lock_digest": digest(f"{model}-{seed}-lock")},
        "datasets": [{"dataset": dataset, "version": "v1", "role": "training"}],
        **fields,
    }
    number = steward.registry.register_version(caller, model, wire.VersionCreate(**spec)).version
    fairness = passing_fairness()
    steward.checks.record(
        caller, model, number, "fairness", "pass", fairness, (), computed("fairness", fairness)
    )
    return number
