"""Every built-in rule, allowing and denying, through the service and the REST API, on both backends.

Each case builds a fully governed high-risk version with one gap, evaluates it for production
through ``GateService.evaluate`` and through ``POST …/evaluations``, and requires the same decision
from both: the gap's rule denies (or warns) with the measured and the required value, and nothing
else fires. The version without a gap is allowed with no finding at all.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from steward import wire
from steward.domain import Role, Severity
from steward.errors import InvalidInput, PermissionDenied
from steward.policy import validate_input
from steward.service import Caller, Steward
from steward.storage import SqlStore, make_engine
from tests.integration.gates_support import Governed, governed, passing_fairness, planted_fairness
from tests.integration.support import digest
from tests.integration.workflow_support import deploy

API = "/api/v1"
PLANTED = planted_fairness()
PLANTED_RATIO = PLANTED["attributes"]["sex"]["metrics"]["selection_rate"]["ratio"]
ODDS_ONLY = {
    "rows": 200,
    "attributes": {
        "sex": {
            "metrics": {"selection_rate": {"ratio": 0.95}, "true_positive_rate": {"ratio": 0.9}},
            "equalized_odds_difference": 0.2,
        }
    },
}
LOCK = digest("lock")

# id, the gap, where it lands (deny/warn), every rule that fires, the rule checked, measured, required
CASES: list[tuple[str, Governed, str, set[str], str, Any, Any]] = [
    (
        "metrics-floor",
        Governed(version={"metrics": {"accuracy": 0.72, "auc": 0.87}}),
        "deny",
        {"metrics.floor"},
        "metrics.floor",
        0.72,
        0.8,
    ),
    (
        "metrics-missing",
        Governed(version={"metrics": {"accuracy": 0.91}}),
        "deny",
        {"metrics.missing"},
        "metrics.missing",
        None,
        0.75,
    ),
    (
        "fairness-ratio",
        Governed(fairness=PLANTED),
        "deny",
        {"fairness.disparity_ratio", "fairness.equalized_odds"},
        "fairness.disparity_ratio",
        PLANTED_RATIO,
        0.8,
    ),
    (
        "fairness-odds",
        Governed(fairness=ODDS_ONLY),
        "deny",
        {"fairness.equalized_odds"},
        "fairness.equalized_odds",
        0.2,
        0.1,
    ),
    (
        "fairness-missing",
        Governed(fairness=None),
        "deny",
        {"fairness.missing"},
        "fairness.missing",
        None,
        "fairness check",
    ),
    (
        "fairness-errored",
        Governed(fairness_status="error"),
        "deny",
        {"fairness.missing"},
        "fairness.missing",
        "error",
        "fairness check",
    ),
    (
        "fairness-missing-medium",
        Governed(model={"risk_tier": "medium"}, fairness=None),
        "warn",
        {"fairness.missing"},
        "fairness.missing",
        None,
        "fairness check",
    ),
    (
        "fairness-malformed",
        Governed(fairness={"rows": 200, "attributes": {}}),
        "deny",
        {"fairness.malformed"},
        "fairness.malformed",
        None,
        "values.attributes",
    ),
    (
        "fairness-reported",
        Governed(fairness_method="reported"),
        "warn",
        {"fairness.reported"},
        "fairness.reported",
        "reported",
        "computed",
    ),
    (
        "documentation-field",
        Governed(model={"limitations": ""}),
        "deny",
        {"documentation.missing_field"},
        "documentation.missing_field",
        None,
        "non-empty text",
    ),
    (
        "documentation-scopes",
        Governed(model={"regulatory_scopes": []}),
        "deny",
        {"documentation.regulatory_scopes"},
        "documentation.regulatory_scopes",
        [],
        "at least one regulatory scope",
    ),
    (
        "documentation-training-data",
        Governed(role="validation"),
        "deny",
        {"documentation.training_data"},
        "documentation.training_data",
        0,
        1,
    ),
    (
        "lineage-code-commit",
        Governed(version={"code_commit": None}),
        "deny",
        {"lineage.code_commit"},
        "lineage.code_commit",
        None,
        "code commit",
    ),
    (
        "lineage-unapproved-data",
        Governed(dataset={"approved": False}),
        "deny",
        {"lineage.dataset_unapproved"},
        "lineage.dataset_unapproved",
        False,
        True,
    ),
    (
        "runtime-python",
        Governed(version={"environment": {"dependency_lock_digest": LOCK}}),
        "deny",
        {"runtime.python_version"},
        "runtime.python_version",
        None,
        "Python version",
    ),
    (
        "runtime-lock",
        Governed(version={"environment": {"python_version": "3.11.7"}}),
        "deny",
        {"runtime.dependency_lock"},
        "runtime.dependency_lock",
        None,
        "dependency lock digest",
    ),
    (
        "data-quality",
        Governed(quality_passes=False),
        "deny",
        {"data_quality.failed"},
        "data_quality.failed",
        "fail",
        "pass",
    ),
    (
        "incident-high",
        Governed(incident=Severity.HIGH),
        "deny",
        {"incidents.unresolved_high"},
        "incidents.unresolved_high",
        1,
        0,
    ),
    (
        "incident-critical",
        Governed(incident=Severity.CRITICAL),
        "deny",
        {"incidents.unresolved_high"},
        "incidents.unresolved_high",
        1,
        0,
    ),
]


def _findings(body: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return list(body["denies" if kind == "deny" else "warnings"])


def test_a_governed_version_is_allowed_by_both(
    steward: Steward, admin: Caller, admin_api: TestClient
) -> None:
    number = governed(steward, admin, "clean")
    decision = steward.gates.evaluate(admin, "clean", number, "production")
    assert (decision.allow, decision.denies, decision.warnings) == (True, (), ())
    assert decision.bundle_name == "steward-builtin"
    body = admin_api.post(f"{API}/models/clean/versions/{number}/evaluations", json={"target": "production"})
    assert body.status_code == 201, body.text
    assert (body.json()["allow"], body.json()["denies"], body.json()["warnings"]) == (True, [], [])
    assert body.json()["bundle_digest"] == decision.bundle_digest
    assert body.json()["input_digest"] == decision.input_digest  # the same document both ways
    assert steward.audit.verify(admin).ok


@pytest.mark.parametrize(
    ("setup", "kind", "fired", "rule", "measured", "required"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_each_gap_is_named_by_its_rule(
    steward: Steward,
    admin: Caller,
    admin_api: TestClient,
    setup: Governed,
    kind: str,
    fired: set[str],
    rule: str,
    measured: Any,
    required: Any,
) -> None:
    number = governed(steward, admin, "gap", setup)
    decision = steward.gates.evaluate(admin, "gap", number, "production")
    found = [dict(f) for f in (decision.denies if kind == "deny" else decision.warnings)]
    assert decision.allow is (kind == "warn")
    assert {f["rule"] for f in found} == fired
    other = decision.warnings if kind == "deny" else decision.denies
    assert other == ()
    assert any(
        f["rule"] == rule and f["measured"] == measured and f["required"] == required for f in found
    ), found
    assert all(f["message"].startswith(f["rule"] + ": ") and "required" in f["message"] for f in found)

    response = admin_api.post(
        f"{API}/models/gap/versions/{number}/evaluations", json={"target": "production"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["allow"] is decision.allow
    assert _findings(body, kind) == found  # the same findings, measured and required, over REST
    assert body["input_digest"] == decision.input_digest


def test_evaluations_are_listed_read_and_audited(
    steward: Steward, admin: Caller, admin_api: TestClient
) -> None:
    number = governed(steward, admin, "m", Governed(version={"metrics": {"accuracy": 0.5, "auc": 0.9}}))
    first = steward.gates.evaluate(admin, "m", number, "production")
    second = admin_api.post(
        f"{API}/models/m/versions/{number}/evaluations", json={"target": "staging"}
    ).json()
    listed = admin_api.get(f"{API}/models/m/versions/{number}/evaluations").json()
    assert [d["id"] for d in listed["items"]] == [second["id"], first.id]
    assert all(d["input"] is None for d in listed["items"])
    one = admin_api.get(f"{API}/models/m/versions/{number}/evaluations/{first.id}").json()
    assert one["input"]["target"] == {"environment": "production"}
    assert one["audit_seq"] == first.audit_seq
    validate_input(one["input"])

    events = admin_api.get(f"{API}/audit/events", params={"action": "gate.evaluated"}).json()["items"]
    assert [e["after"]["decision"] for e in events] == [first.id, second["id"]]
    assert events[0]["seq"] == first.audit_seq
    assert events[0]["subject_id"] == f"m/{number}"
    assert events[0]["after"]["allow"] is False
    assert events[0]["after"]["denies"][0]["rule"] == "metrics.floor"
    assert events[0]["after"]["bundle"]["digest"] == first.bundle_digest
    assert events[0]["after"]["input_digest"] == first.input_digest
    assert events[1]["after"]["target"] == "staging"
    missing = admin_api.get(f"{API}/models/m/versions/{number}/evaluations/999")
    assert missing.status_code == 404


def test_staging_warns_where_production_denies(steward: Steward, admin: Caller) -> None:
    number = governed(steward, admin, "m", Governed(model={"limitations": ""}))
    production = steward.gates.evaluate(admin, "m", number, "production")
    staging = steward.gates.evaluate(admin, "m", number, "staging")
    assert production.allow is False
    assert staging.allow is True
    assert [f["rule"] for f in staging.warnings] == ["documentation.missing_field"]


def test_resolving_the_incident_lifts_the_denial(steward: Steward, admin: Caller) -> None:
    number = governed(steward, admin, "m", Governed(incident=Severity.HIGH))
    denied = steward.gates.evaluate(admin, "m", number)
    assert denied.allow is False
    incident = steward.incidents.list(admin, "m").items[0]
    assert [f["message"] for f in denied.denies] == [  # the denial names the incident, not a count only
        f"incidents.unresolved_high: 1 unresolved high-severity incident(s): incident {incident.id} "
        "(wrong scores); required 0"
    ]
    steward.incidents.resolve(admin, incident.id, wire.IncidentResolve(resolution="rolled back"))
    assert steward.gates.evaluate(admin, "m", number).allow is True


def test_approving_the_dataset_lifts_the_denial(steward: Steward, admin: Caller) -> None:
    number = governed(steward, admin, "m", Governed(dataset={"approved": False}))
    assert steward.gates.evaluate(admin, "m", number).allow is False
    dataset = steward.registry.get_dataset(admin, "m-applications")
    steward.registry.update_dataset(
        admin, "m-applications", wire.DatasetUpdate(revision=dataset.revision, approved=True)
    )
    assert steward.gates.evaluate(admin, "m", number).allow is True


def test_the_newest_check_of_each_kind_counts(steward: Steward, admin: Caller) -> None:
    number = governed(steward, admin, "m", Governed(fairness=PLANTED))
    assert steward.gates.evaluate(admin, "m", number).allow is False
    steward.checks.record(admin, "m", number, "fairness", "pass", passing_fairness())  # retrained, remeasured
    assert steward.gates.evaluate(admin, "m", number).allow is True


def test_digests_are_required_at_registration_so_their_rules_hold(
    steward: Steward, admin: Caller, admin_api: TestClient
) -> None:
    """lineage.artifact_digest and lineage.dataset_digest cannot fire on a version Steward
    registered (every artefact and dataset version has a SHA-256 digest); they deny documents
    that lack one, which the service's decide() shows on the version's own input."""
    number = governed(steward, admin, "m")
    refused = admin_api.post(
        f"{API}/models/m/versions", json={"artifact_uri": "s3://x", "artifact_digest": "md5"}
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["errors"][0]["field"] == "artifact_digest"
    refused = admin_api.post(
        f"{API}/datasets/m-applications/versions", json={"version": "v9", "uri": "s3://d"}
    )
    assert refused.status_code == 422

    doc = steward.gates.gate_input(admin, "m", number)
    bundle = steward.policies.builtin()
    broken = copy.deepcopy(doc)
    broken["version"]["artifact_digest"] = "md5:abc"
    broken["lineage"]["datasets"][0]["digest"] = None
    decision = steward.policies.decide(bundle, broken)
    assert {(f.rule, f.measured) for f in decision.denies} == {
        ("lineage.artifact_digest", "md5:abc"),
        ("lineage.dataset_digest", None),
    }
    assert steward.policies.decide(bundle, doc).allow is True


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_an_overdue_review_warns_and_never_denies(database_url: str) -> None:
    from steward.service import MemoryKeys, local_operator
    from steward.storage import upgrade

    engine = make_engine(database_url)
    upgrade(engine)
    clock = Clock(datetime(2026, 1, 15, tzinfo=UTC))
    core = Steward(SqlStore(engine), clock=clock)
    core.ledger.use_keys(MemoryKeys())
    operator = local_operator(name="local:clock")
    try:
        number = governed(core, operator, "m", Governed(model={"review_cadence_months": 3}))
        assert core.gates.evaluate(operator, "m", number).warnings == ()
        clock.now = datetime(2026, 4, 16, tzinfo=UTC)  # three months and a day later
        decision = core.gates.evaluate(operator, "m", number)
        assert decision.allow is True
        assert [(f["rule"], f["measured"], f["required"]) for f in decision.warnings] == [
            ("review.overdue", True, False)
        ]
        assert core.gates.gate_input(operator, "m", number)["model"]["review_overdue"] is True
    finally:
        core.close()


def test_gate_input_describes_the_version(steward: Steward, admin: Caller, admin_api: TestClient) -> None:
    number = governed(steward, admin, "m", Governed(incident=Severity.MEDIUM))
    deploy(steward, "m", number, "staging", endpoint="ep-1")  # the two sign-offs staging needs
    steward.checks.record(admin, "m", number, "documentation")
    doc = admin_api.get(f"{API}/models/m/versions/{number}/gate-input", params={"target": "staging"}).json()
    validate_input(doc)
    assert doc == steward.gates.gate_input(admin, "m", number, "staging")
    assert doc["target"] == {"environment": "staging"}
    assert doc["model"]["risk_tier"] == "high" and doc["model"]["description"] is None
    assert doc["version"]["metrics"] == {"accuracy": 0.91, "auc": 0.87}
    assert doc["lineage"]["training_run"]["run_id"] == "m-run"
    [dataset] = doc["lineage"]["datasets"]
    assert dataset == {
        "name": "m-applications",
        "version": "2024-06",
        "role": "training",
        "digest": digest("m-applications"),
        "schema_digest": None,
        "source": "warehouse",
        "approved": True,
        "uri": "s3://data/m-applications",
    }
    kinds = {c["kind"]: c for c in doc["checks"]}
    assert sorted(kinds) == ["data_quality", "documentation", "fairness"]
    assert list(kinds["data_quality"]["values"]["sources"]) == ["m-applications@2024-06"]
    assert all(c["created_at"].endswith("Z") for c in doc["checks"])
    assert doc["deployments"] == [{"environment": "staging", "version": number, "state": "active"}]
    [incident] = steward.incidents.list(admin, "m").items
    assert doc["incidents"] == [
        {
            "id": incident.id,
            "title": "wrong scores",
            "source": "manual",
            "severity": "medium",
            "state": "open",
        }
    ]
    assert [(r["stage"], r["decision"]) for r in doc["reviews"]] == [
        ("automated_gates", "approved"),
        ("independent_validation", "approved"),
    ]
    bad = admin_api.get(f"{API}/models/m/versions/{number}/gate-input", params={"target": "Prod!"})
    assert bad.status_code == 422
    assert admin_api.get(f"{API}/models/m/versions/9/gate-input").status_code == 404


def test_a_failing_dataset_among_several_is_not_hidden(steward: Steward, admin: Caller) -> None:
    number = governed(steward, admin, "m")
    # a second dataset version used for validation, checked later and failing
    steward.registry.add_dataset_version(
        admin, "m-applications", wire.DatasetVersionCreate(version="2024-07", uri="s3://d7", digest=digest(7))
    )
    version = steward.registry.register_version(
        admin,
        "m",
        wire.VersionCreate(
            artifact_uri="s3://m/2",
            artifact_digest=digest("m2"),
            metrics={"accuracy": 0.91, "auc": 0.87},
            code_commit="4f2a9c1",
            environment={"python_version": "3.11.7", "dependency_lock_digest": LOCK},
            datasets=[
                {"dataset": "m-applications", "version": "2024-06", "role": "training"},
                {"dataset": "m-applications", "version": "2024-07", "role": "validation"},
            ],
        ),
    ).version
    steward.checks.record(admin, "m", version, "fairness", "pass", passing_fairness())
    assert steward.gates.evaluate(admin, "m", version).allow is True
    steward.checks.record_dataset(admin, "m-applications", "2024-07", "data_quality", "fail", {}, ["bad"])
    steward.checks.record_dataset(admin, "m-applications", "2024-06", "data_quality", "pass", {}, [])
    decision = steward.gates.evaluate(admin, "m", version)
    assert [(f["rule"], f["measured"]) for f in decision.denies] == [("data_quality.failed", "fail")]
    assert number != version


def test_only_allowed_roles_evaluate(steward: Steward, admin: Caller, make_caller: Any) -> None:
    number = governed(steward, admin, "m")
    auditor = make_caller(Role.AUDITOR)
    with pytest.raises(PermissionDenied, match=r"may not gate\.evaluate"):
        steward.gates.evaluate(auditor, "m", number)
    assert steward.gates.gate_input(auditor, "m", number)["model"]["name"] == "m"
    officer = make_caller(Role.COMPLIANCE_OFFICER)
    assert steward.gates.evaluate(officer, "m", number).created_by == officer.name


def test_bad_target_is_refused(steward: Steward, admin: Caller) -> None:
    number = governed(steward, admin, "m")
    with pytest.raises(InvalidInput, match="target"):
        steward.gates.evaluate(admin, "m", number, "Production")
