"""The REST API in-process: each resource end to end over HTTP, as a client sees it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from steward.domain import Role
from steward.service import Caller, Steward
from tests.integration.conftest import ClientFor, MakePrincipal
from tests.integration.support import digest, model_body, version_body

API = "/api/v1"


def created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def walk(client: TestClient, path: str, **params: Any) -> list[list[dict[str, Any]]]:
    pages, token = [], None
    while True:
        query = dict(params, **({"page_token": token} if token else {}))
        body = ok(client.get(API + path, params=query))
        pages.append(body["items"])
        token = body["next_page_token"]
        if token is None:
            return pages


def test_health_on_first_run_and_after(
    api: TestClient, make_principal: MakePrincipal, steward: Steward
) -> None:
    first = ok(api.get(f"{API}/health"))
    current, head = steward.schema()
    assert first["status"] == "ok"
    assert first["database"] == steward.store.backend
    assert first["schema_revision"] == current == head
    assert first["principals"] == 0
    assert "steward user create" in first["first_run"]
    make_principal(Role.ADMIN)
    later = ok(api.get(f"{API}/health"))
    assert later["principals"] == 1
    assert "first_run" not in later
    doc = ok(api.get(f"{API}/openapi.json"))
    answer = doc["paths"][f"{API}/health"]["get"]["responses"]["200"]["content"]["application/json"]
    schema = doc["components"]["schemas"][answer["schema"]["$ref"].rsplit("/", 1)[-1]]
    assert set(schema["properties"]) == set(first)  # the document names every field sent


def test_model_record_over_http(admin_api: TestClient) -> None:
    body = created(
        admin_api.post(
            f"{API}/models",
            json=model_body(
                "credit-risk",
                risk_tier="high",
                description="Évaluation du risque — 信用 ✓",
                regulatory_scopes=["eu-ai-act-high-risk", "sr-11-7"],
                tags={"team": "risk"},
                review_cadence_months=6,
                source_links={"mlflow": "http://mlflow/credit-risk"},
            ),
        )
    )
    assert body["name"] == "credit-risk"
    assert body["description"] == "Évaluation du risque — 信用 ✓"
    assert body["risk_tier"] == "high"
    assert body["state"] == "active"
    assert body["regulatory_scopes"] == ["eu-ai-act-high-risk", "sr-11-7"]
    assert body["created_by"] == "root"
    assert body["revision"] == 1
    assert body["created_at"].endswith("Z") or body["created_at"].endswith("+00:00")
    fetched = admin_api.get(f"{API}/models/credit-risk")
    assert fetched.status_code == 200
    assert fetched.headers["ETag"] == '"1"'
    assert fetched.json() == body
    patched = ok(
        admin_api.patch(
            f"{API}/models/credit-risk",
            json={"revision": 1, "owner": "team-credit", "tags": {"team": "credit"}, "reason": "handover"},
        )
    )
    assert (patched["owner"], patched["tags"], patched["revision"]) == ("team-credit", {"team": "credit"}, 2)
    assert patched["description"] == body["description"]
    assert admin_api.get(f"{API}/models/credit-risk").headers["ETag"] == '"2"'


def test_model_listing_over_http(admin_api: TestClient) -> None:
    for name, fields in [
        (
            "alpha",
            {
                "owner": "team-a",
                "risk_tier": "high",
                "tags": {"team": "a", "env": "prod"},
                "regulatory_scopes": ["sr-11-7"],
                "description": "churn_rate at 100%",
            },
        ),
        (
            "beta",
            {
                "owner": "team-b",
                "risk_tier": "low",
                "tags": {"team": "b", "q": "x=y"},
                "description": "crédit",
            },
        ),
        ("gamma", {"owner": "team-a", "risk_tier": "low", "tags": {"team": "a"}}),
    ]:
        created(admin_api.post(f"{API}/models", json=model_body(name, **fields)))

    def names(**params: Any) -> list[str]:
        return [m["name"] for page in walk(admin_api, "/models", **params) for m in page]

    assert names() == ["alpha", "beta", "gamma"]
    assert names(owner="team-a") == ["alpha", "gamma"]
    assert names(risk_tier="low") == ["beta", "gamma"]
    assert names(state="active", risk_tier="high") == ["alpha"]
    assert names(scope="sr-11-7") == ["alpha"]
    assert names(tag=["team=a"]) == ["alpha", "gamma"]
    assert names(tag=["team=a", "env=prod"]) == ["alpha"]
    assert names(tag="q=x=y") == ["beta"]  # the value may hold '='
    assert names(q="%") == ["alpha"]
    assert names(q="_") == ["alpha"]
    assert names(q="CRÉDIT".lower()) == ["beta"]
    assert [len(p) for p in walk(admin_api, "/models", page_size=1)] == [1, 1, 1]
    assert [m["name"] for p in walk(admin_api, "/models", page_size=2) for m in p] == [
        "alpha",
        "beta",
        "gamma",
    ]


def test_versions_lineage_and_search_over_http(admin_api: TestClient) -> None:
    created(admin_api.post(f"{API}/models", json=model_body("m", owner="team-m")))
    created(admin_api.post(f"{API}/datasets", json={"name": "customers", "source": "s3://lake/c"}))
    dv = created(
        admin_api.post(
            f"{API}/datasets/customers/versions",
            json={"version": "2024-01", "uri": "s3://lake/c/2024-01", "digest": digest("c"), "row_count": 12},
        )
    )
    assert dv == {**dv, "dataset": "customers", "version": "2024-01", "row_count": 12, "created_by": "root"}
    run = created(
        admin_api.post(
            f"{API}/runs",
            json={
                "run_id": "run-1",
                "platform": "mlflow",
                "metrics": {"auc": 0.9},
                "started_at": "2025-01-01T10:00:00Z",
                "ended_at": "2025-01-01T11:30:00+01:00",
            },
        )
    )
    assert run["metrics"] == {"auc": 0.9}
    assert datetime.fromisoformat(run["ended_at"]) == datetime(2025, 1, 1, 10, 30, tzinfo=UTC)
    v1 = created(
        admin_api.post(
            f"{API}/models/m/versions",
            json=version_body(
                "m1",
                training_run="run-1",
                tags={"stage": "rc"},
                metrics={"auc": 0.9},
                datasets=[{"dataset": "customers", "version": "2024-01", "role": "training"}],
                environment={"python_version": "3.11", "container_image_digest": digest("img")},
            ),
        )
    )
    assert (v1["model"], v1["version"], v1["state"], v1["registered_by"]) == ("m", 1, "registered", "root")
    assert v1["datasets"] == [{"dataset": "customers", "version": "2024-01", "role": "training"}]
    assert v1["environment"] == {
        "python_version": "3.11",
        "dependency_lock_digest": None,
        "container_image_digest": digest("img"),
    }
    v2 = created(admin_api.post(f"{API}/models/m/versions", json=version_body("m2")))
    assert v2["version"] == 2
    assert ok(admin_api.get(f"{API}/models/m/versions/1")) == v1
    listed = ok(admin_api.get(f"{API}/models/m/versions"))
    assert [v["version"] for v in listed["items"]] == [2, 1]
    assert listed["next_page_token"] is None
    found = ok(admin_api.get(f"{API}/versions", params={"tag": "stage=rc", "owner": "team-m"}))
    assert [(v["model"], v["version"]) for v in found["items"]] == [("m", 1)]
    by_digest = ok(admin_api.get(f"{API}/versions", params={"artifact_digest": digest("m2")}))
    assert [v["version"] for v in by_digest["items"]] == [2]
    graph = ok(admin_api.get(f"{API}/models/m/versions/1/lineage"))
    assert graph["root"] == "version:m/1"
    assert {n["id"] for n in graph["nodes"]} == {
        "version:m/1",
        "dataset:customers@2024-01",
        "run:run-1",
        "environment:m/1",
    }
    assert {(e["source"], e["target"], e["relation"]) for e in graph["edges"]} == {
        ("dataset:customers@2024-01", "run:run-1", "training_data"),
        ("run:run-1", "version:m/1", "produced"),
        ("environment:m/1", "version:m/1", "built_with"),
    }


def test_datasets_runs_and_deployments_over_http(admin_api: TestClient) -> None:
    created(admin_api.post(f"{API}/datasets", json={"name": "d1", "description": "données"}))
    created(admin_api.post(f"{API}/datasets", json={"name": "d_2"}))
    approved = ok(admin_api.patch(f"{API}/datasets/d1", json={"revision": 1, "approved": True}))
    assert (approved["approved"], approved["revision"]) == (True, 2)
    assert [d["name"] for d in ok(admin_api.get(f"{API}/datasets", params={"q": "_"}))["items"]] == ["d_2"]
    assert ok(admin_api.get(f"{API}/datasets/d1"))["description"] == "données"
    for i in range(3):
        created(admin_api.post(f"{API}/runs", json={"run_id": f"r{i}", "experiment": "e" if i else "f"}))
    assert [r["run_id"] for p in walk(admin_api, "/runs", page_size=2) for r in p] == ["r2", "r1", "r0"]
    assert [r["run_id"] for r in ok(admin_api.get(f"{API}/runs", params={"experiment": "e"}))["items"]] == [
        "r2",
        "r1",
    ]
    assert ok(admin_api.get(f"{API}/runs/r0"))["experiment"] == "f"

    created(admin_api.post(f"{API}/models", json=model_body("m", risk_tier="low")))
    for n in (1, 2):
        created(admin_api.post(f"{API}/models/m/versions", json=version_body(n, metrics={"accuracy": 0.9})))
    # there is no way to record a deployment directly: the 405 says to promote
    direct = admin_api.post(
        f"{API}/models/m/deployments", json={"version": 1, "environment": "production", "target": "ep-1"}
    )
    assert direct.status_code == 405 and direct.headers["allow"] == "GET"
    error = direct.json()["error"]
    assert error["code"] == "method_not_allowed" and "/promotions" in error["details"]["use"]
    assert "steward promote" in error["message"]
    # a low-risk version needs no sign-off for staging: the gates alone
    first = created(
        admin_api.post(
            f"{API}/models/m/versions/1/promotions",
            json={"target": "staging", "reason": "launch", "endpoint": "ep-1"},
        )
    )["deployment"]
    second = created(
        admin_api.post(f"{API}/models/m/versions/2/promotions", json={"target": "staging", "reason": "next"})
    )["deployment"]
    assert (first["replaces"], second["replaces"], second["target"]) == (None, first["id"], "ep-1")
    assert second["deployed_by"] == "root"
    listed = ok(admin_api.get(f"{API}/models/m/deployments", params={"environment": "staging"}))
    assert [(d["id"], d["state"]) for d in listed["items"]] == [
        (first["id"], "replaced"),
        (second["id"], "active"),
    ]
    assert listed["items"][0]["ended_at"] is not None and listed["next_page_token"] is None
    pages = walk(admin_api, "/deployments", page_size=1)
    assert [[d["id"] for d in page] for page in pages] == [[first["id"]], [second["id"]]]
    assert ok(admin_api.get(f"{API}/deployments", params={"environment": "production"}))["items"] == []
    refused = admin_api.get(f"{API}/deployments", params={"page_token": "bogus"})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_input"


def test_record_reads_answer_on_the_event_loop_when_reads_do_not_wait(
    admin_api: TestClient, steward: Steward
) -> None:
    """SQLite's reads run on the loop (no trip through the thread pool); PostgreSQL's, which wait
    on the network, in a worker thread."""
    created(admin_api.post(f"{API}/models", json=model_body("m")))
    created(admin_api.post(f"{API}/models/m/versions", json=version_body()))
    threads: list[str] = []
    read = steward.registry.get_version

    def noting_thread(*args: Any) -> Any:
        threads.append(threading.current_thread().name)
        return read(*args)

    steward.registry.get_version = noting_thread  # type: ignore[method-assign]
    try:
        assert ok(admin_api.get(f"{API}/models/m/versions/1"))["version"] == 1
    finally:
        del steward.registry.get_version
    assert steward.store.reads_wait is (steward.store.backend == "postgresql")
    in_pool = [t for t in threads if t.startswith("steward-worker")]  # server/_threads.py's names
    assert len(in_pool) == (1 if steward.store.reads_wait else 0), threads
    assert len(threads) == 1


def test_audit_over_http_records_the_request(admin_api: TestClient, steward: Steward, admin: Caller) -> None:
    response = admin_api.post(
        f"{API}/models",
        json=model_body("m"),
        headers={"X-Request-ID": "req-123", "User-Agent": "steward-tests/1.0"},
    )
    assert response.status_code == 201
    assert response.headers["x-request-id"] == "req-123"
    generated = admin_api.get(f"{API}/models/m").headers["x-request-id"]
    assert len(generated) == 32
    events = ok(admin_api.get(f"{API}/audit/events", params={"action": "model.created"}))["items"]
    assert len(events) == 1
    [event] = events
    assert (event["actor"], event["subject_type"], event["subject_id"]) == ("root", "model", "m")
    assert (event["request_id"], event["user_agent"]) == ("req-123", "steward-tests/1.0")
    assert event["client_address"] == "testclient"
    assert event["before"] is None
    assert event["after"]["name"] == "m"
    every = ok(admin_api.get(f"{API}/audit/events"))["items"]
    assert [e["action"] for e in every] == ["principal.created", "token.created", "model.created"]
    assert [e["seq"] for e in every] == [1, 2, 3]
    since = datetime.fromisoformat(event["time"].replace("Z", "+00:00")) - timedelta(microseconds=1)
    recent = ok(admin_api.get(f"{API}/audit/events", params={"since": since.isoformat()}))["items"]
    assert [e["seq"] for e in recent] == [3]
    assert (
        ok(admin_api.get(f"{API}/audit/events", params={"actor": "root", "page_size": 1}))["next_page_token"]
        is None
    )
    verdict = ok(admin_api.get(f"{API}/audit/verify"))
    assert {k: verdict[k] for k in ("ok", "events", "head_hash", "first_bad_seq", "problem")} == {
        "ok": True,
        "events": 3,
        "head_hash": every[-1]["hash"],
        "first_bad_seq": None,
        "problem": None,
    }
    assert steward.audit.verify(admin).ok


def test_principals_and_tokens_over_http(admin_api: TestClient, client_for: ClientFor) -> None:
    principal = created(
        admin_api.post(
            f"{API}/principals",
            json={
                "name": "ci-bot",
                "roles": ["ml_engineer", "data_scientist"],
                "kind": "service",
                "display_name": "CI 🤖",
            },
        )
    )
    assert principal["roles"] == ["data_scientist", "ml_engineer"]
    assert (principal["kind"], principal["disabled"]) == ("service", False)
    assert [p["name"] for p in ok(admin_api.get(f"{API}/principals"))["items"]] == ["ci-bot", "root"]
    assert [[p["name"] for p in page] for page in walk(admin_api, "/principals", page_size=1)] == [
        ["ci-bot"],
        ["root"],
    ]
    issued = created(admin_api.post(f"{API}/tokens", json={"principal": "ci-bot", "name": "pipeline"}))
    secret = issued["token"]
    assert secret.startswith("stw_")
    assert issued["prefix"] == secret[:12]
    listed = ok(admin_api.get(f"{API}/tokens", params={"principal": "ci-bot"}))["items"]
    assert [t["id"] for t in listed] == [issued["id"]]
    assert "token" not in listed[0]
    assert all(secret not in str(value) for value in listed[0].values())
    bot = client_for(secret)
    assert ok(bot.get(f"{API}/me"))["principal"]["name"] == "ci-bot"
    revoked = ok(admin_api.delete(f"{API}/tokens/{issued['id']}", params={"reason": "rotated"}))
    assert revoked["revoked_at"] is not None
    refused = bot.get(f"{API}/me")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthenticated"
    events = ok(admin_api.get(f"{API}/audit/events", params={"action": "token.revoked"}))["items"]
    assert [(e["subject_id"], e["reason"]) for e in events] == [(str(issued["id"]), "rotated")]
