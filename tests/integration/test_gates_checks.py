"""Check results over REST and the SDK (the CLI's remote path): record, compute, list; and the
gate and policy SDK methods end to end over the in-process app."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from steward import Client, wire
from steward.domain import Role
from steward.errors import AlreadyExists, Conflict, InvalidInput
from steward.service import Caller, Steward
from tests.integration.conftest import ClientFor, MakePrincipal
from tests.integration.gates_support import Governed, builtin_data, bundle_files, governed, passing_fairness
from tests.integration.support import db_state
from tests.integration.test_sdk import in_process

API = "/api/v1"


def test_checks_over_rest(steward: Steward, admin: Caller, admin_api: TestClient) -> None:
    number = governed(steward, admin, "m", Governed(fairness=None, model={"intended_use": ""}))
    base = f"{API}/models/m/versions/{number}/checks"
    recorded = admin_api.post(base, json={"kind": "fairness", "status": "pass", "values": passing_fairness()})
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["subject_type"] == "model_version"
    assert recorded.json()["created_by"] == "root"
    # sent by hand: stored as reported, and the fairness rule warns that it is only reported
    assert recorded.json()["provenance"] == {"method": "reported", "tool": "", "file": None, "columns": {}}
    evaluated = admin_api.post(f"{API}/models/m/versions/{number}/evaluations", json={}).json()
    assert [(w["rule"], w["measured"]) for w in evaluated["warnings"]] == [("fairness.reported", "reported")]

    computed = admin_api.post(base, json={"kind": "documentation"})
    assert computed.status_code == 201
    body = computed.json()
    assert body["status"] == "fail"
    assert body["values"]["fields"] == {
        "owner": True,
        "intended_use": False,
        "limitations": True,
        "risk_tier": True,
    }
    assert body["messages"] == ["documentation: model intended_use is missing; required non-empty text"]
    lineage = admin_api.post(base, json={"kind": "lineage"}).json()
    assert lineage["status"] == "pass" and lineage["values"]["training_datasets"] == 1
    assert lineage["provenance"]["method"] == "computed" and lineage["provenance"]["file"] is None

    refused = admin_api.post(base, json={"kind": "lineage", "status": "pass"})
    assert refused.status_code == 422 and "computed by Steward" in refused.json()["error"]["message"]
    assert (
        admin_api.post(base, json={"kind": "fairness"}).status_code == 422
    )  # a measured kind needs its status
    assert admin_api.post(base, json={"kind": "Fairness!", "status": "pass"}).status_code == 422
    assert admin_api.post(f"{API}/models/m/versions/9/checks", json={"kind": "lineage"}).status_code == 404

    listed = admin_api.get(base).json()["items"]
    assert [c["kind"] for c in listed] == ["lineage", "documentation", "fairness"]
    assert [c["kind"] for c in admin_api.get(base, params={"kind": "fairness"}).json()["items"]] == [
        "fairness"
    ]
    page = admin_api.get(base, params={"page_size": 2}).json()
    assert len(page["items"]) == 2 and page["next_page_token"]

    dataset = f"{API}/datasets/m-applications/versions/2024-06/checks"
    failed = admin_api.post(
        dataset, json={"kind": "data_quality", "status": "fail", "messages": ["age out of range"]}
    )
    assert failed.status_code == 201 and failed.json()["subject_type"] == "dataset_version"
    assert failed.json()["dataset_version"] == "2024-06"
    assert [c["status"] for c in admin_api.get(dataset).json()["items"]] == ["fail", "pass"]
    assert admin_api.post(dataset, json={"kind": "documentation"}).status_code == 422
    assert (
        admin_api.post(
            f"{API}/datasets/m-applications/versions/nope/checks",
            json={"kind": "data_quality", "status": "pass"},
        ).status_code
        == 404
    )

    doc = admin_api.get(f"{API}/models/m/versions/{number}/gate-input").json()
    quality = next(c for c in doc["checks"] if c["kind"] == "data_quality")
    assert quality["status"] == "fail"
    events = steward.audit.list_events(admin, _where("check.recorded")).items
    assert {(e.subject_type, e.subject_id) for e in events} == {
        ("model_version", f"m/{number}"),
        ("dataset_version", "m-applications@2024-06"),
    }


def _where(action: str):  # type: ignore[no-untyped-def]
    from steward.storage import AuditFilter

    return AuditFilter(action=action)


def test_who_may_record_checks_and_manage_policy(
    steward: Steward, admin: Caller, make_principal: MakePrincipal, client_for: ClientFor
) -> None:
    number = governed(steward, admin, "m")
    validator = client_for(make_principal(Role.VALIDATOR)[1])
    business = client_for(make_principal(Role.BUSINESS_OWNER)[1])
    officer = client_for(make_principal(Role.COMPLIANCE_OFFICER)[1])
    scientist = client_for(make_principal(Role.DATA_SCIENTIST)[1])
    check = {"kind": "fairness", "status": "pass", "values": passing_fairness()}
    assert validator.post(f"{API}/models/m/versions/{number}/checks", json=check).status_code == 201
    assert business.post(f"{API}/models/m/versions/{number}/checks", json=check).status_code == 403
    files = bundle_files("acme", "1")
    assert scientist.post(f"{API}/policy/bundles", json={"files": files}).status_code == 403
    assert officer.post(f"{API}/policy/bundles", json={"files": files}).status_code == 201
    assert business.post(f"{API}/models/m/versions/{number}/evaluations", json={}).status_code == 201


@pytest.fixture
def sdk(app: FastAPI, admin_token: str) -> Client:
    return Client("http://steward.test", admin_token, transport=in_process(app))


def test_the_sdk_covers_gates_checks_and_policies(steward: Steward, admin: Caller, sdk: Client) -> None:
    number = governed(steward, admin, "m", Governed(version={"metrics": {"accuracy": 0.78, "auc": 0.87}}))
    assert sdk.gate_input("m", number)["version"]["metrics"]["accuracy"] == 0.78
    denied = sdk.evaluate("m", number)
    assert denied.allow is False and denied.denies[0].rule == "metrics.floor"
    assert denied.denies[0].measured == 0.78 and denied.denies[0].required == 0.8
    assert [d.id for d in sdk.list_decisions("m", number).items] == [denied.id]
    assert sdk.get_decision("m", number, denied.id).input is not None
    assert sdk.replay_decision("m", number, denied.id).same is True

    recorded = sdk.record_check("m", number, wire.CheckCreate(kind="lineage"))
    assert recorded.status == "pass"
    assert [c.kind for c in sdk.list_checks("m", number, kind="lineage").items] == ["lineage"]
    quality = sdk.record_dataset_check(
        "m-applications", "2024-06", wire.CheckCreate(kind="data_quality", status="pass")
    )
    assert quality.dataset == "m-applications"
    assert len(sdk.list_dataset_checks("m-applications", "2024-06").items) == 2

    data = builtin_data()
    data["gates"]["metric_floors"]["high"] = {"accuracy": 0.75, "auc": 0.7}
    files = bundle_files("lenient", "1", data=data)
    simulated = sdk.simulate(wire.SimulationCreate(files=files))
    assert simulated.would_change == 1
    registered = sdk.register_bundle(files)
    assert [b.name for b in sdk.list_bundles()] == ["steward-builtin", "lenient"]
    assert sdk.get_bundle("lenient", "1").digest == registered.digest
    assert sdk.test_bundle("lenient", "1").failed >= 1
    with pytest.raises(AlreadyExists):
        sdk.register_bundle(files)
    with pytest.raises(InvalidInput) as bad:
        sdk.register_bundle({**files, "acme.rego": "package steward.gates.rules.acme\nx := {"})
    assert bad.value.details["errors"][0]["file"] == "acme.rego"

    stale_revision = sdk.get_assignments().revision
    updated = sdk.set_assignments(
        wire.AssignmentsUpdate(
            assignments=[
                wire.AssignmentIn(
                    risk_tier="high", environment="*", bundle_name="lenient", bundle_version="1"
                )
            ],
            reason="lower floors for the pilot",
            revision=stale_revision,
        )
    )
    assert [a.bundle_digest for a in updated.assignments] == [registered.digest]
    assert sdk.get_assignments() == updated
    with pytest.raises(Conflict) as stale:  # a change based on a table read before the last one
        sdk.set_assignments(wire.AssignmentsUpdate(assignments=[], revision=stale_revision))
    assert stale.value.details["current_revision"] == updated.revision
    assert sdk.evaluate("m", number).allow is True


def test_computed_provenance_must_agree_with_the_values(
    steward: Steward, admin: Caller, admin_api: TestClient
) -> None:
    number = governed(steward, admin, "m", Governed(fairness=None))
    base = f"{API}/models/m/versions/{number}/checks"
    values = passing_fairness()  # 200 rows, attribute sex
    source = {"sha256": "sha256:" + "a" * 64, "rows": 200, "format": "csv", "name": "p.csv"}
    columns = {"label": "y", "prediction": "p", "sensitive": ["sex"], "positive": "1"}

    def post(provenance: dict[str, object], body_values: dict[str, object] = values) -> Any:
        body = {"kind": "fairness", "status": "pass", "values": body_values, "provenance": provenance}
        return admin_api.post(base, json=body)

    before = db_state(steward)
    for bad, field in [
        ({"method": "computed", "columns": columns}, "provenance.file"),
        ({"method": "computed", "file": {**source, "rows": 199}, "columns": columns}, "provenance.file.rows"),
        (
            {"method": "computed", "file": source, "columns": {**columns, "sensitive": ["age"]}},
            "provenance.columns.sensitive",
        ),
        (
            {"method": "computed", "file": source, "columns": {"sensitive": ["sex"]}},
            "provenance.columns.label",
        ),
    ]:
        response = post(bad)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["details"]["errors"][0]["field"] == field
    assert post({"method": "computed", "file": {**source, "sha256": "md5:x"}}).status_code == 422
    reserved = post({"method": "reported"}, {**values, "__provenance__": {"method": "computed"}})
    assert reserved.status_code == 422 and "reserved" in reserved.text
    custom = admin_api.post(
        base, json={"kind": "drift", "status": "pass", "provenance": {"method": "computed", "file": source}}
    )
    assert custom.status_code == 422 and "record a drift check as reported" in custom.text
    assert db_state(steward) == before

    good = post({"method": "computed", "tool": "steward check fairness", "file": source, "columns": columns})
    assert good.status_code == 201, good.text
    assert good.json()["provenance"]["file"] == source
    assert admin_api.get(base).json()["items"][0]["provenance"] == good.json()["provenance"]
    decision = steward.gates.evaluate(admin, "m", number)
    assert (decision.allow, decision.warnings) == (True, ())
