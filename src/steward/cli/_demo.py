"""The demo inventory: what a regulated ML team's registry looks like after a few months.

Seven models across the three risk tiers and five owners, 2 to 5 versions each, trained on
versioned datasets with digests, by recorded runs with metrics and commits; two models run in
production and others in staging. Every record is written through the service by a named
person, so the audit trail reads like a real one. What runs in production and staging got there
through the approval workflow (gate decisions, each sign-off by its own person, the promotion);
one staging promotion is refused by the gates, and newer versions wait in the review queue with
something for each reviewer to sign: the validator, the compliance officer (one approval with
conditions is already in), the business owner and the ML engineer, who also registered one
version himself and so may not sign that one (separation of duties).
"""

from __future__ import annotations

import csv
import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from steward import wire
from steward.checks import CheckOutcome
from steward.cli._checks import fairness_from_file
from steward.domain import DatasetRole, Origin, ReviewDecision, ReviewStage, RiskTier, Role
from steward.errors import PolicyViolation
from steward.service import Caller, Steward, local_operator

USERS: list[tuple[str, Role, str]] = [
    ("admin", Role.ADMIN, "Platform Admin"),
    ("dana", Role.DATA_SCIENTIST, "Dana Okafor"),
    ("eli", Role.ML_ENGINEER, "Eli Brandt"),
    ("vera", Role.VALIDATOR, "Vera Lind"),
    ("carl", Role.COMPLIANCE_OFFICER, "Carl Mendes"),
    ("bo", Role.BUSINESS_OWNER, "Bo Tanaka"),
    ("audrey", Role.AUDITOR, "Audrey Klein"),
]

DATASETS: list[tuple[str, str, str, bool, list[str]]] = [
    (
        "loan-applications",
        "Retail loan applications with repayment outcome",
        "warehouse://risk/loans",
        True,
        ["2025-q4", "2026-q1", "2026-q2"],
    ),
    (
        "card-transactions",
        "Card transactions labelled by the fraud desk",
        "warehouse://payments/cards",
        True,
        ["2026-05", "2026-08", "2026-10"],
    ),
    (
        "claims-history",
        "Motor and home insurance claims, 2019-2026",
        "s3://insure-data/claims",
        True,
        ["v7", "v8"],
    ),
    (
        "patient-encounters",
        "De-identified inpatient encounters (HIPAA limited data set)",
        "s3://clinical-lake/encounters",
        True,
        ["2026-03", "2026-09"],
    ),
    (
        "web-sessions",
        "Anonymised web sessions for churn signals",
        "gs://marketing/sessions",
        False,
        ["2026-w30", "2026-w40"],
    ),
    (
        "support-tickets",
        "Customer support tickets with resolution codes",
        "warehouse://cx/tickets",
        True,
        ["2026-06"],
    ),
]


@dataclass(frozen=True)
class DemoModel:
    name: str
    owner: str
    risk_tier: str
    use_case: str
    intended_use: str
    limitations: str
    scopes: list[str]
    dataset: str
    metric: str
    base: float
    versions: int
    prod: int | None
    staging: int | None
    cadence: int
    registrant: str = "dana"  # who registers the newest version


MODELS: list[DemoModel] = [
    DemoModel(
        name="credit-default-scorer",
        owner="credit-risk-analytics",
        risk_tier="high",
        use_case="Probability of default for retail loan decisions",
        intended_use="Rank applicants for manual underwriting; never auto-decline.",
        limitations="Not validated for applicants under 21 or thin-file customers.",
        scopes=["sr-11-7", "eu-ai-act-high-risk"],
        dataset="loan-applications",
        metric="auc",
        base=0.78,
        versions=5,
        prod=4,
        staging=5,
        cadence=6,
    ),
    DemoModel(
        name="card-fraud-detector",
        owner="payments-ml",
        risk_tier="high",
        use_case="Real-time card fraud scoring",
        intended_use="Flag transactions for step-up authentication.",
        limitations="Degrades on merchant categories unseen in training.",
        scopes=["pci-dss", "sr-11-7"],
        dataset="card-transactions",
        metric="recall",
        base=0.81,
        versions=4,
        prod=3,
        staging=4,
        cadence=6,
    ),
    DemoModel(
        name="claims-triage",
        owner="claims-data-science",
        risk_tier="medium",
        use_case="Route insurance claims to fast-track or specialist review",
        intended_use="Suggest a queue; adjusters decide.",
        limitations="Home claims after floods are under-represented.",
        scopes=["solvency-ii"],
        dataset="claims-history",
        metric="f1",
        base=0.71,
        versions=3,
        prod=None,
        staging=3,
        cadence=12,
    ),
    DemoModel(
        name="readmission-risk",
        owner="clinical-ai",
        risk_tier="high",
        use_case="30-day readmission risk for discharge planning",
        intended_use="Prioritise follow-up calls by care coordinators.",
        limitations="Trained on adult inpatients of three hospitals only.",
        scopes=["hipaa", "eu-ai-act-high-risk"],
        dataset="patient-encounters",
        metric="auc",
        base=0.74,
        versions=2,
        prod=None,
        staging=2,
        cadence=6,
    ),
    DemoModel(
        name="churn-propensity",
        owner="growth-analytics",
        risk_tier="low",
        use_case="Monthly churn propensity for retention campaigns",
        intended_use="Select customers for retention offers.",
        limitations="No causal meaning; do not use for pricing.",
        scopes=[],
        dataset="web-sessions",
        metric="auc",
        base=0.69,
        versions=4,
        prod=None,
        staging=None,
        cadence=24,
    ),
    DemoModel(
        name="ticket-router",
        owner="cx-platform",
        risk_tier="low",
        use_case="Route support tickets to the right team",
        intended_use="Suggest a team; agents can override.",
        limitations="English tickets only.",
        scopes=[],
        dataset="support-tickets",
        metric="accuracy",
        base=0.86,
        versions=2,
        prod=None,
        staging=2,
        cadence=24,
        registrant="eli",  # registered from CI by the ML engineer: he may not sign it
    ),
    DemoModel(
        name="aml-transaction-monitor",
        owner="financial-crime-analytics",
        risk_tier="high",
        use_case="Detect suspicious transaction patterns for AML alerts",
        intended_use="Generate alerts for investigators.",
        limitations="Cross-border wires under-sampled; thresholds tuned for EUR accounts.",
        scopes=["amld6", "sr-11-7"],
        dataset="card-transactions",
        metric="precision",
        base=0.74,
        versions=3,
        prod=None,
        staging=None,
        cadence=6,
    ),
]


@dataclass
class Summary:
    models: int = 0
    versions: int = 0
    datasets: int = 0
    deployments: int = 0
    events: int = 0
    tokens: list[tuple[str, str, str]] = field(default_factory=list)


def _digest(*parts: object) -> str:
    return "sha256:" + hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def _commit(*parts: object) -> str:
    return hashlib.sha1("|".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class _Fairness:
    """The demo's fairness check, computed as ``steward check fairness`` computes it, from the
    validation predictions file the demo writes beside its database."""

    outcome: CheckOutcome
    provenance: wire.CheckProvenanceIn

    def record(self, steward: Steward, caller: Caller, model: str, version: int) -> None:
        steward.checks.record_outcome(
            caller, model, version, self.outcome, wire.provenance_of(self.provenance)
        )


def _fairness(folder: Path, rng_seed: int) -> _Fairness:
    """Write the validation predictions (400 applicants: label, prediction, sex; the model errs a
    little and about equally for both groups) and compute the fairness check from them."""
    path = folder / "validation-predictions.csv"
    rng = np.random.default_rng(rng_seed)
    labels = rng.integers(0, 2, 200)
    wrong = rng.random(200) < 0.06
    predictions = np.where(wrong, 1 - labels, labels)
    other = predictions.copy()
    other[np.flatnonzero(labels == 1)[:2]] = 0  # two more misses in the second group
    with path.open("w", newline="", encoding="utf-8") as sink:
        writer = csv.writer(sink)
        writer.writerow(["label", "prediction", "sex"])
        writer.writerows((int(y), int(p), "F") for y, p in zip(labels, predictions, strict=True))
        writer.writerows((int(y), int(p), "M") for y, p in zip(labels, other, strict=True))
    return _Fairness(*fairness_from_file(path, "label", "prediction", ["sex"]))


def _through_workflow(
    steward: Steward,
    callers: dict[str, Caller],
    fairness: _Fairness,
    spec: DemoModel,
    version: int,
    environment: str,
) -> bool:
    """Take ``version`` to ``environment`` the governed way: fairness check, gate decision, each
    sign-off the tier needs there by its own person, then the promotion. A version the gates refuse
    is left with its refused promotion in the audit trail."""
    name = spec.name
    vera, eli = callers["vera"], callers["eli"]
    fairness.record(steward, vera, name, version)
    decision = steward.gates.evaluate(eli, name, version, environment)
    signers = {
        ReviewStage.AUTOMATED_GATES: (eli, "gates pass; metrics and lineage reviewed"),
        ReviewStage.INDEPENDENT_VALIDATION: (vera, "independently validated: back-test and stability"),
        ReviewStage.COMPLIANCE_REVIEW: (callers["carl"], "documentation and regulatory scope reviewed"),
        ReviewStage.BUSINESS_SIGNOFF: (callers["bo"], "business case and limitations accepted"),
    }
    if decision.allow:
        reviews = steward.reviews.list_reviews(eli, name, version, page_size=1000).items
        done = {r.stage for r in reviews if r.decision.approves}
        for stage in steward.workflow.stages_for(RiskTier(spec.risk_tier), environment):
            if stage in done:
                continue
            who, comment = signers[stage]
            evidence = [f"https://wiki.example.com/validation/{name}/v{version}"]
            steward.reviews.review(
                who,
                name,
                version,
                wire.ReviewCreate(
                    stage=stage, decision=ReviewDecision.APPROVED, comment=comment, evidence=evidence
                ),
            )
    target = f"k8s://eu-west-1{'' if environment == 'production' else '-stg'}/{name}"
    reason = "approved for production" if environment == "production" else "initial rollout"
    try:
        steward.promotions.promote(
            eli, name, version, wire.PromotionCreate(target=environment, reason=reason, endpoint=target)
        )
    except PolicyViolation:
        return False
    return True


def _leave_waiting(steward: Steward, callers: dict[str, Caller], fairness: _Fairness) -> None:
    """Take two candidates part of the way, so the validator and the business owner each find a
    stage waiting for them (the compliance officer and the ML engineer have theirs already)."""
    vera, eli, carl = callers["vera"], callers["eli"], callers["carl"]
    aml = "aml-transaction-monitor"
    fairness.record(steward, vera, aml, 3)
    steward.gates.evaluate(eli, aml, 3, "production")
    steward.reviews.review(
        eli,
        aml,
        3,
        wire.ReviewCreate(
            stage=ReviewStage.AUTOMATED_GATES,
            decision=ReviewDecision.APPROVED,
            comment="gates pass; alert volumes back-tested on the last quarter",
            evidence=[f"https://ci.example.com/ml/{aml}/3"],
        ),
    )
    fraud = "card-fraud-detector"
    steward.reviews.review(
        carl,
        fraud,
        4,
        wire.ReviewCreate(
            stage=ReviewStage.COMPLIANCE_REVIEW,
            decision=ReviewDecision.APPROVED_WITH_CONDITIONS,
            comment="PCI DSS scope and model card reviewed; step-up rules documented",
            conditions=[
                "Report the false-positive rate on unseen merchant categories every month",
                "Re-run the fairness check after the next merchant data refresh",
            ],
            evidence=[f"https://grc.example.com/reviews/{fraud}-v4"],
        ),
    )


def seed(steward: Steward, folder: Path, rng_seed: int = 7) -> Summary:
    """Fill an empty database with the demo inventory; returns what was made and the tokens. The
    validation predictions its fairness checks are computed from are written to ``folder`` (the
    demo's, beside its database)."""
    rng = random.Random(rng_seed)  # noqa: S311 (demo data, not secrets)
    fairness = _fairness(folder, rng_seed)
    summary = Summary()
    operator = local_operator(name="demo-setup")
    callers: dict[str, Caller] = {}
    for name, role, display in USERS:
        principal = steward.identity.create_principal(
            operator, wire.PrincipalCreate(name=name, roles=[role], display_name=display)
        )
        _, secret = steward.identity.create_token(operator, wire.TokenCreate(principal=name, name="demo"))
        summary.tokens.append((name, role.value, secret))
        callers[name] = Caller(
            principal, Origin(actor=name, client_address="127.0.0.1", user_agent="steward-demo")
        )
    dana = callers["dana"]
    registry = steward.registry

    for name, description, source, approved, versions in DATASETS:
        registry.create_dataset(
            dana,
            wire.DatasetCreate(
                name=name,
                description=description,
                source=source,
                owner="data-platform",
                approved=approved,
            ),
        )
        for version in versions:
            registry.add_dataset_version(
                dana,
                name,
                wire.DatasetVersionCreate(
                    version=version,
                    uri=f"{source}/{version}",
                    digest=_digest(name, version),
                    schema_digest=_digest(name, "schema", version[:4]),
                    row_count=rng.randint(40_000, 4_000_000),
                ),
            )
        summary.datasets += 1

    started = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    for spec in MODELS:
        name = spec.name
        registry.create_model(
            dana,
            wire.ModelCreate(
                name=name,
                owner=spec.owner,
                risk_tier=RiskTier(spec.risk_tier),
                use_case=spec.use_case,
                intended_use=spec.intended_use,
                limitations=spec.limitations,
                regulatory_scopes=spec.scopes,
                description=f"{spec.use_case}. Maintained by {spec.owner}.",
                tags={
                    "business_unit": spec.owner.split("-")[0],
                    "framework": rng.choice(["sklearn", "lightgbm", "xgboost"]),
                },
                review_cadence_months=spec.cadence,
                source_links={"repository": f"https://git.example.com/ml/{name}"},
            ),
        )
        summary.models += 1
        dataset_versions = next(d[4] for d in DATASETS if d[0] == spec.dataset)
        score = spec.base
        for number in range(1, spec.versions + 1):
            when = started + timedelta(days=21 * number + rng.randint(0, 6))
            commit = _commit(name, number)
            run_id = f"run-{hashlib.md5(f'{name}{number}'.encode(), usedforsecurity=False).hexdigest()[:12]}"
            score = min(0.99, score + rng.uniform(-0.005, 0.02))
            metrics = {
                spec.metric: round(score, 4),
                "accuracy": round(min(0.99, score + 0.08), 4),
                "selection_rate_ratio": round(rng.uniform(0.78, 0.97), 3),
            }
            metrics.setdefault("auc", round(min(0.99, score + 0.04), 4))
            registry.record_run(
                dana,
                wire.TrainingRunCreate(
                    run_id=run_id,
                    platform="mlflow",
                    experiment=f"{name}-training",
                    user="dana",
                    parameters={
                        "max_depth": str(rng.choice([4, 6, 8])),
                        "learning_rate": str(rng.choice([0.03, 0.05, 0.1])),
                    },
                    metrics=metrics,
                    code_commit=commit,
                    started_at=when,
                    ended_at=when + timedelta(minutes=rng.randint(8, 95)),
                ),
            )
            data = dataset_versions[
                min(
                    len(dataset_versions) - 1,
                    (number - 1) * len(dataset_versions) // spec.versions,
                )
            ]
            registry.register_version(
                callers[spec.registrant] if number == spec.versions else dana,
                name,
                wire.VersionCreate(
                    artifact_uri=f"s3://models/{name}/{number}/model.pkl",
                    artifact_digest=_digest(name, "artifact", number),
                    source_platform="mlflow",
                    external_id=f"models:/{name}/{number}",
                    training_run=run_id,
                    metrics=metrics,
                    parameters={"features": str(rng.randint(18, 140))},
                    tags={"stage_hint": "candidate" if number == spec.versions else "superseded"},
                    datasets=[
                        wire.DatasetUseIn(dataset=spec.dataset, version=data, role=DatasetRole.TRAINING),
                        wire.DatasetUseIn(dataset=spec.dataset, version=dataset_versions[-1], role="test"),
                    ],
                    code_repository=f"https://git.example.com/ml/{name}",
                    code_commit=commit,
                    environment=wire.EnvironmentIn(
                        python_version="3.11.9",
                        dependency_lock_digest=_digest(name, "lock", number),
                        container_image_digest=_digest(name, "image", number),
                    ),
                    description=f"Retrained on {spec.dataset}@{data}.",
                ),
            )
            summary.versions += 1
        for environment, deployed in (("production", spec.prod), ("staging", spec.staging)):
            if deployed is not None and _through_workflow(
                steward, callers, fairness, spec, deployed, environment
            ):
                summary.deployments += 1
        for number in range(1, spec.versions):  # superseded and never deployed: out of the queue
            if number not in (spec.prod, spec.staging):
                steward.promotions.deprecate(
                    dana, name, number, wire.DeprecationCreate(reason=f"superseded by v{spec.versions}")
                )
    _leave_waiting(steward, callers, fairness)
    registry.update_model(
        callers["dana"],
        "churn-propensity",
        wire.ModelUpdate(
            revision=1,
            limitations="No causal meaning; do not use for pricing or credit decisions.",
            reason="clarified after compliance question",
        ),
    )
    with steward.store.read() as tx:
        summary.events = tx.ledger_head().size
    return summary
