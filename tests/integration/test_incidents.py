"""Incidents through the service, the REST API and the CLI, on each backend; alias guards config."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from steward import wire
from steward.cli import main
from steward.domain import IncidentState, Severity
from steward.errors import InvalidTransition, NotFound
from steward.service import Caller, Steward
from steward.storage import AuditFilter
from tests.integration.support import model_spec, version_spec


@pytest.fixture
def model(steward: Steward, admin: Caller) -> str:
    steward.registry.create_model(admin, model_spec("scoring"))
    steward.registry.register_version(admin, "scoring", version_spec(1))
    return "scoring"


def test_open_list_get_resolve_with_audit_events(steward: Steward, admin: Caller, model: str) -> None:
    spec = wire.IncidentCreate(
        model=model, version=1, severity=Severity.HIGH, title="drift", description="psi 0.4"
    )
    opened = steward.incidents.open(admin, spec)
    assert (opened.state, opened.opened_by, opened.version) == (IncidentState.OPEN, admin.name, 1)
    assert len(opened.audit_seqs) == 1
    other = steward.incidents.open(
        admin, wire.IncidentCreate(model=model, severity=Severity.LOW, title="note")
    )
    page = steward.incidents.list(admin, model=model)
    assert [i.id for i in page.items] == [other.id, opened.id]
    assert [i.id for i in steward.incidents.list(admin, state=IncidentState.OPEN, page_size=1).items] == [
        other.id
    ]

    resolved = steward.incidents.resolve(admin, opened.id, wire.IncidentResolve(resolution="retrained"))
    assert (resolved.state, resolved.resolution, resolved.resolved_by) == (
        IncidentState.RESOLVED,
        "retrained",
        admin.name,
    )
    assert resolved.actions[-1].action == "resolved"
    assert len(resolved.audit_seqs) == 2 and resolved.revision == opened.revision + 1
    events = steward.audit.list_events(admin, AuditFilter(subject_type="incident", subject_id=str(opened.id)))
    assert [e.action for e in events.items] == ["incident.opened", "incident.resolved"]
    assert [e.seq for e in events.items] == list(resolved.audit_seqs)
    with pytest.raises(InvalidTransition):
        steward.incidents.resolve(admin, opened.id, wire.IncidentResolve(resolution="again"))
    with pytest.raises(NotFound):
        steward.incidents.open(admin, wire.IncidentCreate(model="nope", severity=Severity.LOW, title="x"))
    with pytest.raises(NotFound):
        steward.incidents.open(
            admin, wire.IncidentCreate(model=model, version=9, severity=Severity.LOW, title="x")
        )
    assert steward.audit.verify(admin).ok


def test_incidents_over_rest(admin_api: TestClient, steward: Steward, admin: Caller, model: str) -> None:
    created = admin_api.post(
        "/api/v1/incidents", json={"model": model, "severity": "critical", "title": "outage"}
    )
    assert created.status_code == 201, created.text
    incident = created.json()
    assert admin_api.get(f"/api/v1/incidents/{incident['id']}").json()["title"] == "outage"
    listed = admin_api.get("/api/v1/incidents", params={"model": model}).json()
    assert [i["id"] for i in listed["items"]] == [incident["id"]]
    assert admin_api.get("/api/v1/incidents", params={"model": "unknown"}).status_code == 404
    assert admin_api.get("/api/v1/incidents/999").json()["error"]["code"] == "not_found"
    bad = admin_api.post("/api/v1/incidents", json={"model": model, "severity": "meh", "title": "x"})
    assert bad.status_code == 422
    done = admin_api.post(f"/api/v1/incidents/{incident['id']}/resolve", json={"resolution": "fixed"})
    assert done.json()["state"] == "resolved"
    again = admin_api.post(f"/api/v1/incidents/{incident['id']}/resolve", json={"resolution": "fixed"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"


def test_alias_guards_over_rest(admin_api: TestClient, model: str) -> None:
    url = f"/api/v1/models/{model}/alias-guards"
    assert admin_api.get(url).json() == {
        "model": model,
        "guards": {"champion": "production", "production": "production"},
        "defaults": True,
    }
    put = admin_api.put(url, json={"guards": {"live": "production", "canary": "staging"}})
    assert put.json() == {
        "model": model,
        "guards": {"canary": "staging", "live": "production"},
        "defaults": False,
    }
    assert admin_api.put(url, json={"guards": {}}).json()["guards"] == {}
    assert admin_api.put(url, json={"guards": None}).json()["defaults"] is True
    assert admin_api.put(url, json={"guards": {"x": "Not An Env"}}).status_code == 422


def test_incident_cli(
    steward: Steward, admin: Caller, model: str, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ["--db", database_url]
    assert main([*db, "incident", "open", model, "--severity", "medium", "--title", "bias", "--json"]) == 0
    opened = json.loads(capsys.readouterr().out)
    assert main([*db, "incident", "list", "--model", model, "--json"]) == 0
    assert [i["id"] for i in json.loads(capsys.readouterr().out)] == [opened["id"]]
    assert main([*db, "incident", "show", str(opened["id"])]) == 0
    assert "bias" in capsys.readouterr().out
    assert main([*db, "incident", "resolve", str(opened["id"]), "--resolution", "reweighted"]) == 0
    assert main([*db, "incident", "show", str(opened["id"]), "--json"]) == 0
    assert json.loads(capsys.readouterr().out.split("\n", 1)[1])["state"] == "resolved"
    assert main([*db, "incident", "show", "12345"]) == 3
    assert main([*db, "mlflow", "guard", model, "--alias", "live=production", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["guards"] == {"live": "production"}
