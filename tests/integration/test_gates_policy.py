"""Policy bundles through the service and the REST API: register, test, assign, replay, simulate,
and bad policy input (a bundle that does not parse, a rule that errors, a missing data key)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from steward import wire
from steward.domain import RegisteredBundle
from steward.errors import AlreadyExists, Conflict, IntegrityError, InvalidInput, NotFound
from steward.policy import ENGINE_NAMES, REQUIRED_DATA, PolicyBundle
from steward.service import AssignmentSpec, Caller, GateService, PolicyService, SimulationProgress, Steward
from tests.integration.gates_support import (
    BUILTIN,
    Governed,
    assign,
    builtin_data,
    bundle_files,
    governed,
)
from tests.integration.support import db_state
from tests.integration.workflow_support import deploy

API = "/api/v1"

DIVIDING_RULE = """package steward.gates.rules.acme

import data.steward.lib

violation contains f if {
	divisor := to_number(input.version.parameters.divisor)
	input.version.metrics.accuracy / divisor > 1
	f := lib.finding("acme.ratio", "too high; required lower", divisor, 1)
}
"""
WIRED_GATES = (
    BUILTIN.files["gates.rego"]
    .decode()
    .replace(
        '"incidents": rules.incidents.violation,',
        '"incidents": rules.incidents.violation,\n\t"acme": rules.acme.violation,',
    )
)


def _floors(accuracy: float, auc: float) -> dict[str, Any]:
    data = builtin_data()
    data["gates"]["metric_floors"]["high"] = {"accuracy": accuracy, "auc": auc}
    return data


# -- bundles -----------------------------------------------------------------------------------


def test_register_list_show_and_test_a_bundle(steward: Steward, admin: Caller, admin_api: TestClient) -> None:
    files = bundle_files("acme", "1.0.0", data=_floors(0.7, 0.6))
    created = admin_api.post(f"{API}/policy/bundles", json={"files": files})
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["name"], body["version"], body["builtin"]) == ("acme", "1.0.0", False)
    assert body["digest"] == PolicyBundle.from_files(files).digest
    assert body["registered_by"] == "root"

    listed = admin_api.get(f"{API}/policy/bundles").json()
    assert [(b["name"], b["builtin"]) for b in listed] == [("steward-builtin", True), ("acme", False)]
    assert all(b["files"] == {} for b in listed)
    shown = admin_api.get(f"{API}/policy/bundles/acme/1.0.0").json()
    assert shown["files"] == dict(sorted(files.items()))
    builtin = admin_api.get(f"{API}/policy/bundles/steward-builtin/{BUILTIN.version}").json()
    assert builtin["digest"] == BUILTIN.digest and builtin["builtin"] is True
    assert admin_api.get(f"{API}/policy/bundles/acme/9").status_code == 404

    report = admin_api.get(f"{API}/policy/bundles/acme/1.0.0/tests").json()
    assert report["bundle"]["digest"] == body["digest"]
    assert report["failed"] >= 1  # the built-in tests expect the built-in floors
    failed = [r["name"] for r in report["results"] if not r["passed"]]
    assert all(name.startswith("test_") for name in failed)
    builtin_report = admin_api.get(f"{API}/policy/bundles/steward-builtin/{BUILTIN.version}/tests").json()
    assert builtin_report["failed"] == 0 and builtin_report["passed"] >= 46

    events = steward.audit.list_events(admin, _where("policy_bundle.registered")).items
    assert [e.subject_id for e in events] == ["acme@1.0.0"]
    assert events[0].after is not None and events[0].after["digest"] == body["digest"]


def _where(action: str) -> Any:
    from steward.storage import AuditFilter

    return AuditFilter(action=action)


def test_bundles_are_never_edited_in_place(steward: Steward, admin: Caller, admin_api: TestClient) -> None:
    steward.policies.register(admin, bundle_files("acme", "1.0.0"))
    with pytest.raises(AlreadyExists, match="same files"):
        steward.policies.register(admin, bundle_files("acme", "1.0.0"))
    changed = admin_api.post(
        f"{API}/policy/bundles", json={"files": bundle_files("acme", "1.0.0", data=_floors(0.5, 0.5))}
    )
    assert changed.status_code == 409
    assert "give the new one a new version" in changed.json()["error"]["message"]
    assert changed.json()["error"]["details"]["same_files"] is False
    reserved = admin_api.post(
        f"{API}/policy/bundles", json={"files": bundle_files("steward-builtin", "9.9.9")}
    )
    assert reserved.status_code == 422 and "built-in" in reserved.json()["error"]["message"]


def test_the_builtin_bundle_is_stored_on_first_use(steward: Steward, admin: Caller) -> None:
    number = governed(steward, admin, "m")
    steward.gates.evaluate(admin, "m", number)
    steward.gates.evaluate(admin, "m", number)
    events = steward.audit.list_events(admin, _where("policy_bundle.registered")).items
    assert [e.subject_id for e in events] == [f"steward-builtin@{BUILTIN.version}"]
    stored = steward.policies.get_bundle(admin, "steward-builtin", BUILTIN.version)
    assert stored.registered_at is not None and stored.files == {
        path: content.decode() for path, content in sorted(BUILTIN.files.items())
    }


# -- assignments -------------------------------------------------------------------------------


def test_assignments_pick_the_most_specific_bundle_and_are_audited(
    steward: Steward, admin: Caller, admin_api: TestClient
) -> None:
    number = governed(steward, admin, "m", Governed(version={"metrics": {"accuracy": 0.78, "auc": 0.87}}))
    assert steward.gates.evaluate(admin, "m", number).allow is False  # built-in floor 0.8
    steward.policies.register(admin, bundle_files("lenient", "1", data=_floors(0.75, 0.7)))
    steward.policies.register(admin, bundle_files("strict", "1", data=_floors(0.95, 0.9)))
    table = {
        "assignments": [
            {"risk_tier": "*", "environment": "*", "bundle_name": "strict", "bundle_version": "1"},
            {
                "risk_tier": "high",
                "environment": "production",
                "bundle_name": "lenient",
                "bundle_version": "1",
            },
        ],
        "reason": "model risk committee 2024-07",
        "revision": admin_api.get(f"{API}/policy/assignments").json()["revision"],
    }
    put = admin_api.put(f"{API}/policy/assignments", json=table)
    assert put.status_code == 200, put.text
    assert [(a["risk_tier"], a["environment"], a["bundle_name"]) for a in put.json()["assignments"]] == [
        ("*", "*", "strict"),
        ("high", "production", "lenient"),
    ]
    assert put.json()["default"]["name"] == "steward-builtin"
    production = steward.gates.evaluate(admin, "m", number, "production")
    assert (production.allow, production.bundle_name) == (True, "lenient")
    staging = steward.gates.evaluate(admin, "m", number, "staging")
    assert (staging.allow, staging.bundle_name) == (False, "strict")
    assert admin_api.get(f"{API}/policy/assignments").json() == put.json()

    events = steward.audit.list_events(admin, _where("policy_assignment.changed")).items
    assert len(events) == 1 and events[0].reason == "model risk committee 2024-07"
    assert events[0].before == {"assignments": [], "revision": table["revision"]}
    assert events[0].after is not None and events[0].after["revision"] == put.json()["revision"]
    assert events[0].after is not None
    assert [a["bundle"] for a in events[0].after["assignments"]] == ["strict", "lenient"]

    cleared = steward.policies.set_assignments(
        admin, [], "back to the defaults", revision=put.json()["revision"]
    )
    assert cleared.assignments == ()
    assert steward.gates.evaluate(admin, "m", number).bundle_name == "steward-builtin"


@pytest.mark.parametrize(
    ("row", "error", "status"),
    [
        ({"risk_tier": "extreme", "environment": "*"}, "risk_tier", 422),
        ({"risk_tier": "high", "environment": "Prod"}, "environment", 422),
        ({"risk_tier": "high", "environment": "*", "bundle_name": "nope"}, "not registered", 404),
    ],
)
def test_bad_assignments_are_refused(
    admin_api: TestClient, row: dict[str, str], error: str, status: int
) -> None:
    full = {"bundle_name": "steward-builtin", "bundle_version": BUILTIN.version, **row}
    revision = admin_api.get(f"{API}/policy/assignments").json()["revision"]
    response = admin_api.put(f"{API}/policy/assignments", json={"assignments": [full], "revision": revision})
    assert response.status_code == status, response.text
    assert error in response.text


def test_an_assignment_twice_is_refused(steward: Steward, admin: Caller) -> None:
    spec = AssignmentSpec("high", "production", "steward-builtin", BUILTIN.version)
    with pytest.raises(InvalidInput, match="assigned twice"):
        assign(steward, admin, [spec, spec])


def test_a_stale_assignment_revision_is_a_conflict(
    steward: Steward, admin: Caller, admin_api: TestClient
) -> None:
    steward.policies.register(admin, bundle_files("lenient", "1", data=_floors(0.75, 0.7)))
    steward.policies.register(admin, bundle_files("strict", "1", data=_floors(0.95, 0.9)))
    read = admin_api.get(f"{API}/policy/assignments")
    seen = read.json()["revision"]
    assert read.headers["ETag"] == f'"{seen}"'
    assert seen == steward.policies.assignments(admin).revision
    # two administrators read the same table; the first change wins ...
    first = steward.policies.set_assignments(
        admin, [AssignmentSpec("high", "*", "lenient", "1")], "pilot", revision=seen
    )
    assert first.revision != seen
    # ... and the second, based on what it read before, is refused over REST, leaving all as it was
    before = db_state(steward)
    row = {"risk_tier": "*", "environment": "*", "bundle_name": "strict", "bundle_version": "1"}
    stale = admin_api.put(f"{API}/policy/assignments", json={"assignments": [row], "revision": seen})
    assert stale.status_code == 409, stale.text
    error = stale.json()["error"]
    assert error["code"] == "conflict" and "read them again" in error["message"]
    assert error["details"] == {"expected_revision": seen, "current_revision": first.revision}
    assert db_state(steward) == before
    with pytest.raises(Conflict):
        steward.policies.set_assignments(admin, [], revision=seen)
    missing = admin_api.put(f"{API}/policy/assignments", json={"assignments": [row]})
    assert missing.status_code == 422 and "revision" in missing.text
    # read again, and the change goes through
    again = admin_api.put(
        f"{API}/policy/assignments", json={"assignments": [row], "revision": first.revision}
    )
    assert again.status_code == 200, again.text
    assert [a["bundle_name"] for a in again.json()["assignments"]] == ["strict"]
    assert again.json()["revision"] not in (seen, first.revision)


def test_approved_sources_come_from_the_assigned_bundle(steward: Steward, admin: Caller) -> None:
    number = governed(steward, admin, "m", Governed(dataset={"source": "scraped-web"}))
    data = builtin_data()
    data["gates"]["lineage"]["approved_sources"] = ["warehouse", "crm"]
    steward.policies.register(admin, bundle_files("sourced", "1", data=data))
    assign(steward, admin, [AssignmentSpec("*", "*", "sourced", "1")])
    decision = steward.gates.evaluate(admin, "m", number)
    assert [(f["rule"], f["measured"], f["required"]) for f in decision.denies] == [
        ("lineage.dataset_source", "scraped-web", ["warehouse", "crm"])
    ]
    lineage = steward.checks.record(admin, "m", number, "lineage")
    assert lineage.status == "fail" and lineage.values["unlisted_sources"] == ["m-applications@2024-06"]


# -- replay ------------------------------------------------------------------------------------


def test_a_decision_replays_to_the_same_answer(
    steward: Steward, admin: Caller, admin_api: TestClient
) -> None:
    number = governed(steward, admin, "m", Governed(model={"limitations": ""}))
    decision = steward.gates.evaluate(admin, "m", number)
    replay = steward.gates.replay(admin, "m", number, decision.id)
    assert replay.same and replay.replayed.allow is False
    assert replay.replayed.input_digest == decision.input_digest
    assert replay.replayed.bundle_digest == decision.bundle_digest
    # the world moves on; the decision still replays from what it recorded
    steward.registry.update_model(admin, "m", wire.ModelUpdate(revision=1, limitations="Known limits."))
    assert steward.gates.evaluate(admin, "m", number).allow is True
    body = admin_api.get(f"{API}/models/m/versions/{number}/evaluations/{decision.id}/replay").json()
    assert body["same"] is True
    assert body["replayed"]["allow"] is False
    assert body["decision"]["input"]["model"]["limitations"] is None


def test_a_registered_bundle_replays_after_the_assignment_changes(steward: Steward, admin: Caller) -> None:
    number = governed(steward, admin, "m")
    steward.policies.register(admin, bundle_files("strict", "1", data=_floors(0.95, 0.9)))
    assign(steward, admin, [AssignmentSpec("*", "*", "strict", "1")])
    decision = steward.gates.evaluate(admin, "m", number)
    assign(steward, admin, [])
    fresh = Steward(steward.store)  # a new process: no compiled bundle, no cache
    replay = fresh.gates.replay(admin, "m", number, decision.id)
    assert replay.same and replay.replayed.bundle_name == "strict" and not replay.replayed.allow


def test_a_tampered_input_document_does_not_replay(steward: Steward, admin: Caller) -> None:
    number = governed(steward, admin, "m")
    decision = steward.gates.evaluate(admin, "m", number)
    with steward.store.engine.begin() as conn:
        doc = steward.gates.get_decision(admin, "m", number, decision.id).input or {}
        doc["version"]["metrics"]["accuracy"] = 0.99
        import json

        conn.execute(
            text("UPDATE policy_decisions SET input_document = :doc WHERE id = :id"),
            {"doc": json.dumps(doc), "id": decision.id},
        )
    with pytest.raises(IntegrityError, match="does not hash to its input digest"):
        steward.gates.replay(admin, "m", number, decision.id)


# -- bad policy input --------------------------------------------------------------------------


def test_a_bundle_that_does_not_parse_names_file_and_line(
    steward: Steward, admin: Caller, admin_api: TestClient
) -> None:
    broken = bundle_files(
        "acme",
        "1",
        extra={
            "acme/broken.rego": "package steward.gates.rules.acme\n\nviolation contains f if {\n\tf := \n}\n"
        },
    )
    with pytest.raises(InvalidInput) as caught:
        steward.policies.register(admin, broken)
    error = caught.value.details["errors"][0]
    assert (error["file"], error["line"]) == ("acme/broken.rego", 4)
    assert str(caught.value).startswith("acme/broken.rego:4:")
    response = admin_api.post(f"{API}/policy/bundles", json={"files": broken})
    assert response.status_code == 422
    assert response.json()["error"]["details"]["errors"][0]["file"] == "acme/broken.rego"
    assert response.json()["error"]["details"]["errors"][0]["line"] == 4
    bad_json = admin_api.post(
        f"{API}/policy/bundles", json={"files": {**bundle_files("acme", "1"), "data.json": '{"gates": \n ,}'}}
    )
    assert bad_json.status_code == 422
    assert bad_json.json()["error"]["message"].startswith("policy bundle: data.json:2:")
    assert admin_api.get(f"{API}/policy/bundles").json()[1:] == []


def test_a_rule_that_errors_never_allows(steward: Steward, admin: Caller, admin_api: TestClient) -> None:
    files = bundle_files("acme", "1", extra={"acme/ratio.rego": DIVIDING_RULE, "gates.rego": WIRED_GATES})
    steward.policies.register(admin, files)
    assign(steward, admin, [AssignmentSpec("high", "*", "acme", "1")])
    fine = governed(steward, admin, "fine")
    assert steward.gates.evaluate(admin, "fine", fine).allow is True  # the rule is undefined there
    number = governed(steward, admin, "m", Governed(version={"parameters": {"divisor": "0"}}))
    decision = steward.gates.evaluate(admin, "m", number)
    assert decision.allow is False
    [denial] = decision.denies
    assert denial["rule"] == "policy.error"
    assert "acme/ratio.rego:7:" in denial["message"] and "divide by zero" in denial["message"]
    assert denial["measured"][0]["file"] == "acme/ratio.rego" and denial["measured"][0]["line"] == 7
    assert denial["required"] == "an evaluation without errors"
    body = admin_api.post(f"{API}/models/m/versions/{number}/evaluations", json={}).json()
    assert body["allow"] is False and body["denies"][0]["rule"] == "policy.error"
    assert steward.gates.replay(admin, "m", number, decision.id).same  # it fails the same way again


def _without(data: dict[str, Any], path: str) -> dict[str, Any]:
    *parents, last = path.split(".")
    parent = data
    for key in parents:
        parent = parent[key]
    del parent[last]
    return data


@pytest.mark.parametrize("engine", ENGINE_NAMES)
def test_a_missing_data_key_never_allows(
    steward: Steward, admin: Caller, admin_api: TestClient, engine: str
) -> None:
    policies = PolicyService(steward.store, steward.bus, steward.clock, engine, steward.workflow)
    gates = GateService(steward.store, steward.bus, steward.clock, policies, steward.workflow)
    number = governed(steward, admin, "m")
    for key in REQUIRED_DATA:  # every key a built-in family reads, the separation rules' too
        files = bundle_files("lacking", "1", data=_without(builtin_data(), key.path))
        # registration refuses the bundle, naming the key ...
        with pytest.raises(InvalidInput) as caught:
            policies.register(admin, files)
        assert str(caught.value).startswith(f"policy bundle: data.json: {key.path} is missing; ")
        assert caught.value.details["errors"][0]["key"] == key.path
        if not key.package.startswith("steward.gates"):
            continue
        # ... and a candidate that lacks it denies in a simulation (fail closed), naming it too
        [item] = policies.simulate_files(admin, files, ["production", "staging"]).items[:1]
        family = key.package.rsplit(".", 1)[-1]
        named = f"data.{key.path}" + (".default" if family == "gates" else "")
        assert (item.current.allow, item.candidate.allow) == (True, False)
        assert [(f.rule, f.required) for f in item.added_denies] == [(f"{family}.config_missing", named)]
        assert named in item.added_denies[0].message
    refused = admin_api.post(
        f"{API}/policy/bundles",
        json={"files": bundle_files("nofloors", "1", data=_without(builtin_data(), "gates.metric_floors"))},
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["errors"][0]["key"] == "gates.metric_floors"
    assert admin_api.get(f"{API}/policy/bundles").json()[1:] == []

    # a bundle stored before registration checked its data still denies rather than allows
    data = _without(_without(builtin_data(), "gates.fairness.min_ratio"), "gates.lineage")
    old = PolicyBundle.from_files(bundle_files("old", "1", data=data))
    with steward.store.write() as tx:
        tx.gates.insert_bundle(
            RegisteredBundle(
                name=old.name,
                version=old.version,
                digest=old.digest,
                files={p: c.decode() for p, c in old.files.items()},
                registered_by="root",
                registered_at=steward.clock(),
            )
        )
    policies.set_assignments(
        admin, [AssignmentSpec("*", "*", "old", "1")], revision=policies.assignments(admin).revision
    )
    for target in ("production", "staging"):
        decision = gates.evaluate(admin, "m", number, target)
        assert decision.allow is False
        assert [(f["rule"], f["required"]) for f in decision.denies] == [
            ("fairness.config_missing", "data.gates.fairness.min_ratio"),
            ("lineage.config_missing", "data.gates.lineage.approved_sources"),
        ]
    over_rest = admin_api.post(f"{API}/models/m/versions/{number}/evaluations", json={}).json()
    assert over_rest["allow"] is False
    assert {f["rule"] for f in over_rest["denies"]} == {"fairness.config_missing", "lineage.config_missing"}


def test_unknown_records_are_not_found(steward: Steward, admin: Caller) -> None:
    with pytest.raises(NotFound):
        steward.gates.evaluate(admin, "ghost", 1)
    governed(steward, admin, "m")
    with pytest.raises(NotFound, match="no version 7"):
        steward.gates.gate_input(admin, "m", 7)


# -- simulation --------------------------------------------------------------------------------


def test_simulate_reports_the_decisions_that_would_change(
    steward: Steward, admin: Caller, admin_api: TestClient
) -> None:
    deployed = governed(steward, admin, "live")  # accuracy 0.91, auc 0.87
    deploy(steward, "live", deployed, endpoint="ep")  # through the workflow: four sign-offs
    waiting = governed(steward, admin, "next", Governed(version={"metrics": {"accuracy": 0.78, "auc": 0.95}}))
    steady = governed(
        steward,
        admin,
        "steady",
        Governed(model={"risk_tier": "medium"}, version={"metrics": {"accuracy": 0.99, "auc": 0.99}}),
    )
    candidate = bundle_files("tuned", "2", data=_floors(0.75, 0.9))  # lower accuracy, higher auc floor

    before = db_state(steward)
    report = steward.policies.simulate_files(admin, candidate)
    assert db_state(steward) == before  # nothing written, not even an audit event
    by_model = {i.model: i for i in report.items}
    assert sorted(by_model) == ["live", "next", "steady"]
    assert report.evaluated == 3 and report.would_change == 2
    live, following = by_model["live"], by_model["next"]
    assert (live.reason, live.environment, live.version) == ("deployed", "production", deployed)
    assert (live.current.allow, live.candidate.allow, live.changed) == (True, False, True)
    assert [(f.rule, f.measured, f.required) for f in live.added_denies] == [("metrics.floor", 0.87, 0.9)]
    assert (following.reason, following.version) == ("awaiting_review", waiting)
    assert (following.current.allow, following.candidate.allow) == (False, True)
    assert [(f.rule, f.measured) for f in following.removed_denies] == [("metrics.floor", 0.78)]
    assert by_model["steady"].changed is False and steady == 1

    response = admin_api.post(
        f"{API}/policy/simulate", json={"files": candidate, "environments": ["production", "staging"]}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["candidate"]["name"] == "tuned"
    # the others are still in state registered: each is awaiting review for both environments;
    # the live one is deployed in production (and awaits nothing)
    assert body["evaluated"] == 5
    assert {(i["model"], i["environment"], i["reason"]) for i in body["items"] if i["changed"]} == {
        ("live", "production", "deployed"),
        ("next", "production", "awaiting_review"),
        ("next", "staging", "awaiting_review"),
    }
    steward.policies.register(admin, candidate)
    registered = admin_api.post(
        f"{API}/policy/simulate", json={"bundle": {"name": "tuned", "version": "2"}}
    ).json()
    assert registered["would_change"] == 2
    both = admin_api.post(
        f"{API}/policy/simulate", json={"files": candidate, "bundle": {"name": "tuned", "version": "2"}}
    )
    assert both.status_code == 422


def test_simulate_pages_through_the_versions(steward: Steward, admin: Caller, admin_api: TestClient) -> None:
    for name in ("a", "b", "c", "d", "e"):
        governed(steward, admin, name, Governed(version={"metrics": {"accuracy": 0.78, "auc": 0.87}}))
    live = governed(steward, admin, "f")
    deploy(steward, "f", live, "staging", endpoint="ep")
    candidate = bundle_files("tuned", "2", data=_floors(0.75, 0.7))
    whole = steward.policies.simulate_files(admin, candidate, ["production"])
    seen: list[SimulationProgress] = []
    paged = steward.policies.simulate_files(
        admin, candidate, ["production"], page_size=2, progress=seen.append
    )
    assert [(i.model, i.environment, i.reason, i.changed) for i in paged.items] == [
        (i.model, i.environment, i.reason, i.changed) for i in whole.items
    ]
    # f is awaiting review for production and deployed in staging: two decisions for one version
    assert [(i.model, i.environment) for i in paged.items][-2:] == [("f", "production"), ("f", "staging")]
    assert (paged.evaluated, paged.would_change) == (7, 5)
    assert [(p.versions, p.total, p.evaluated, p.pages) for p in seen] == [
        (2, 6, 2, 1),
        (4, 6, 4, 2),
        (6, 6, 7, 3),
    ]
    assert seen[-1].would_change == 5
    changed = steward.policies.simulate_files(admin, candidate, ["production"], changed_only=True)
    assert (changed.evaluated, changed.would_change, len(changed.items)) == (7, 5, 5)
    with pytest.raises(InvalidInput, match="page_size"):
        steward.policies.simulate_files(admin, candidate, page_size=0)

    # a registered candidate by its digest, over REST, with only the changes listed
    registered = steward.policies.register(admin, candidate)
    body = admin_api.post(
        f"{API}/policy/simulate", json={"digest": registered.digest, "changed_only": True}
    ).json()
    assert (body["candidate"]["digest"], body["evaluated"], body["would_change"]) == (registered.digest, 7, 5)
    assert len(body["items"]) == 5 and all(i["changed"] for i in body["items"])
    unknown = admin_api.post(f"{API}/policy/simulate", json={"digest": "sha256:" + "0" * 64})
    assert unknown.status_code == 404
    assert admin_api.post(f"{API}/policy/simulate", json={}).status_code == 422
