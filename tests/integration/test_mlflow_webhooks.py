"""Real-time events and guard mode, end to end: a real ``mlflow server`` delivers signed webhooks
to a real ``steward serve``; Steward keeps its records current, guards the production aliases,
opens incidents, sets aliases after its own deployments and writes its tags back."""

from __future__ import annotations

import json
import statistics
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from steward import wire
from steward.cli import main
from steward.connectors.mlflow import webhook
from steward.domain import Role
from steward.service import Steward, local_operator
from tests.e2e.conftest import LiveServer, start_server
from tests.integration.mlflow_support import MLFLOW_ENV, MlflowServer, client, train, wait_for
from tests.integration.mlflow_support import mlflow_server as mlflow_server  # the session fixture

pytestmark = pytest.mark.e2e
SECRET = "test-shared-secret-" + uuid.uuid4().hex


@dataclass
class Connected:
    steward: LiveServer
    api: httpx.Client
    mlflow: MlflowServer
    receiver: str
    database_url: str


@pytest.fixture
def connected(mlflow_server: MlflowServer, tmp_path: Path) -> Iterator[Connected]:
    database_url = f"sqlite:///{tmp_path / 'steward.db'}"
    core = Steward.open(database_url, migrate=True)
    admin = local_operator(name="local:tester")
    core.identity.create_principal(admin, wire.PrincipalCreate(name="ops", roles=[Role.ADMIN]))
    _, token = core.identity.create_token(admin, wire.TokenCreate(principal="ops"))
    core.close()
    server = start_server(
        database_url,
        tmp_path,
        {
            **MLFLOW_ENV,
            "STEWARD_MLFLOW_TRACKING_URI": mlflow_server.url,
            "STEWARD_MLFLOW_WEBHOOK_SECRET": SECRET,
            "STEWARD_PUBLIC_URL": "https://steward.example.com",
        },
    )
    receiver = f"{server.url}/api/v1/connectors/mlflow/webhook"
    assert (
        main(
            [
                "mlflow",
                "connect",
                "--tracking-uri",
                mlflow_server.url,
                "--receiver-url",
                receiver,
                "--secret",
                SECRET,
            ]
        )
        == 0
    )
    api = httpx.Client(
        base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    # the server imports MLflow in the background when it starts (seconds): the first delivery, on
    # a throwaway model, waits for it, so the latencies measured below are the steady state
    warm = api.post(
        "/connectors/mlflow/webhook",
        json={
            "entity": "registered_model",
            "action": "created",
            "data": {"name": f"warm-{uuid.uuid4().hex[:6]}"},
        },
    )
    assert warm.status_code == 200, warm.text
    try:
        yield Connected(server, api, mlflow_server, receiver, database_url)
    finally:
        api.close()
        for hook in client().list_webhooks():
            if hook.name == "steward":
                client().delete_webhook(hook.webhook_id)
        server.stop()
        lines = [line for line in server.log.read_text(errors="replace").splitlines() if '"GET ' not in line]
        print("\n".join(lines[-300:]))  # the server's log, shown when a test fails


def timed(check: Any, timeout: float = 30.0) -> tuple[Any, float]:
    started = time.monotonic()
    found = wait_for(check, timeout=timeout)
    return found, time.monotonic() - started


def ok(response: httpx.Response) -> Any:
    return response.json() if response.status_code == 200 else None


def aliases(name: str) -> dict[str, str]:
    return dict(client().get_registered_model(name).aliases)


def test_events_keep_records_current_and_guard_mode_reverts_bypasses(connected: Connected) -> None:
    api, mlf = connected.api, client()
    name, experiment = f"hook-{uuid.uuid4().hex[:8]}", f"exp-{uuid.uuid4().hex[:8]}"
    latencies: dict[str, float] = {}

    # registered_model.created → the governance record, owner and tier from MLflow's tags
    mlf.create_registered_model(name, tags={"steward.owner": "team-hooks", "steward.risk_tier": "low"})
    model, latencies["registered_model.created"] = timed(lambda: ok(api.get(f"/models/{name}")))
    assert (model["owner"], model["risk_tier"]) == ("team-hooks", "low")
    assert model["tags"]["steward.incomplete"] == "use_case"

    # model_version.created → the version, and Steward's tags written back at MLflow
    train(name, experiment, seed=21)
    version, latencies["model_version.created"] = timed(lambda: ok(api.get(f"/models/{name}/versions/1")))
    assert version["source_platform"] == "mlflow" and version["artifact_digest"].startswith("sha256:")
    tags = wait_for(
        lambda: (
            mlf.get_model_version(name, "1").tags.get("steward.record")
            and mlf.get_model_version(name, "1").tags
        )
    )
    assert tags["steward.state"] == "registered" and tags["steward.decision"] == "not evaluated"

    # a gate evaluation in Steward → its decision written back on the MLflow version
    evaluated = api.post(f"/models/{name}/versions/1/evaluations", json={"target": "production"})
    assert evaluated.status_code == 201, evaluated.text
    decision = evaluated.json()
    wanted = "allow" if decision["allow"] else f"deny: {decision['denies'][0]['message']}"[:500]
    _, latencies["gate.evaluated → steward.decision"] = timed(
        lambda: mlf.get_model_version(name, "1").tags.get("steward.decision") == wanted
    )

    # model_version_tag.set / deleted → the version's tags follow
    mlf.set_model_version_tag(name, "1", "validated_by", "qa-team")
    _, latencies["model_version_tag.set"] = timed(
        lambda: ok(api.get(f"/models/{name}/versions/1"))["tags"].get("validated_by") == "qa-team"
    )
    mlf.delete_model_version_tag(name, "1", "validated_by")
    _, latencies["model_version_tag.deleted"] = timed(
        lambda: "validated_by" not in ok(api.get(f"/models/{name}/versions/1"))["tags"]
    )
    # someone overwrites Steward's own tag: it is put back
    mlf.set_model_version_tag(name, "1", "steward.state", "deployed_production")
    wait_for(lambda: mlf.get_model_version(name, "1").tags["steward.state"] == "registered")

    # a bypass: production set in MLflow on a version Steward never deployed → removed, incident
    train(name, experiment, seed=22)
    wait_for(lambda: ok(api.get(f"/models/{name}/versions/2")))
    mlf.set_registered_model_alias(name, "production", "2")
    _, latencies["model_version_alias.created (bypass)"] = timed(lambda: "production" not in aliases(name))
    incidents = wait_for(lambda: ok(api.get("/incidents", params={"model": name}))["items"])
    first = incidents[0]
    assert (first["severity"], first["state"], first["source"], first["version"]) == (
        "high",
        "open",
        "guard:mlflow",
        2,
    )
    assert first["actions"][0]["action"] == "alias_removed"
    assert len(first["audit_seqs"]) == 2
    reverted = ok(api.get("/audit/events", params={"action": "alias.reverted"}))["items"]
    assert [e["subject_id"] for e in reverted] == [f"{name}/production"]
    assert reverted[0]["seq"] in first["audit_seqs"]
    # the gate decision explains why, naming the incident; MLflow shows the denial
    evaluated = api.post(f"/models/{name}/versions/2/evaluations", json={"target": "production"})
    messages = [f["message"] for f in evaluated.json()["denies"]]
    assert (
        "incidents.unresolved_high: 1 unresolved high-severity incident(s): "
        f"incident {first['id']} ({first['title']}); required 0"
    ) in messages
    assert first["title"] == f"Alias 'production' set outside Steward on {name} version 2"
    wait_for(lambda: mlf.get_model_version(name, "2").tags.get("steward.decision") == f"deny: {messages[0]}")

    # Steward promotes version 1 to production through the workflow → it sets the guarded aliases
    # itself. The harvested record lacks what a low-risk model needs there: the owner documents it
    # and the data team approves its data; an ML engineer (who neither registered nor trained it)
    # signs the automated gates; the promotion is the only way to production.
    record = ok(api.get(f"/models/{name}"))
    documented = api.patch(
        f"/models/{name}",
        json={
            "revision": record["revision"],
            "use_case": "webhook test",
            "intended_use": "Exercise guard mode end to end.",
            "limitations": "Trained on generated data.",
        },
    )
    assert documented.status_code == 200, documented.text
    for use in ok(api.get(f"/models/{name}/versions/1"))["datasets"]:
        dataset = ok(api.get(f"/datasets/{use['dataset']}"))
        approved = api.patch(
            f"/datasets/{use['dataset']}", json={"revision": dataset["revision"], "approved": True}
        )
        assert approved.status_code == 200, approved.text
    engineer = f"eli-{uuid.uuid4().hex[:6]}"
    assert api.post("/principals", json={"name": engineer, "roles": ["ml_engineer"]}).status_code == 201
    eli_token = api.post("/tokens", json={"principal": engineer}).json()["token"]
    with httpx.Client(base_url=str(api.base_url), headers={"Authorization": f"Bearer {eli_token}"}) as eli:
        gates = eli.post(f"/models/{name}/versions/1/evaluations", json={"target": "production"})
        assert gates.status_code == 201 and gates.json()["allow"], gates.text
        review = {"stage": "automated_gates", "decision": "approved", "comment": "gates pass"}
        assert eli.post(f"/models/{name}/versions/1/reviews", json=review).status_code == 201
    response = api.post(
        f"/models/{name}/versions/1/promotions",
        json={"target": "production", "reason": "go", "endpoint": "ep"},
    )
    assert response.status_code == 201, response.text
    _, latencies["promotion → aliases"] = timed(lambda: aliases(name) == {"production": "1", "champion": "1"})
    synced = ok(api.get("/audit/events", params={"action": "alias.synced"}))["items"]
    assert {e["subject_id"] for e in synced} == {f"{name}/production", f"{name}/champion"}

    # a bypass on a guarded alias with a deployment → moved back to the deployed version
    mlf.set_registered_model_alias(name, "champion", "2")
    _, latencies["alias moved back"] = timed(
        lambda: (
            aliases(name).get("champion") == "1"
            and len(ok(api.get("/incidents", params={"model": name}))["items"]) == 2
        )
    )
    # removing a guarded alias while Steward has a deployment → put back
    mlf.delete_registered_model_alias(name, "production")
    _, latencies["alias restored"] = timed(
        lambda: (
            aliases(name).get("production") == "1"
            and len(ok(api.get("/incidents", params={"model": name}))["items"]) == 3
        )
    )
    kinds = sorted(
        i["actions"][0]["action"] for i in ok(api.get("/incidents", params={"model": name}))["items"]
    )
    assert kinds == ["alias_moved_back", "alias_removed", "alias_restored"]
    # an alias Steward does not guard is left alone
    mlf.set_registered_model_alias(name, "shadow", "2")
    wait_for(
        lambda: ok(api.get(f"/models/{name}/versions/2"))["sources"][0]["attributes"]["aliases"] == ["shadow"]
    )
    assert aliases(name)["shadow"] == "2"
    # a change of state in Steward (deprecation) → steward.state follows at MLflow
    deprecated = api.post(f"/models/{name}/versions/2/deprecation", json={"reason": "superseded by v1"})
    assert deprecated.status_code == 200, deprecated.text
    _, latencies["deprecation → steward.state"] = timed(
        lambda: mlf.get_model_version(name, "2").tags.get("steward.state") == "deprecated"
    )

    # resolve an incident over REST
    incident_id = first["id"]
    resolved = api.post(
        f"/incidents/{incident_id}/resolve", json={"resolution": "alias removed; team briefed"}
    )
    assert resolved.status_code == 200 and resolved.json()["state"] == "resolved"

    # retiring the model ends its deployment → Steward removes the guarded aliases at MLflow
    # (the ones it does not guard stay), and does not put them back
    retired = api.post(f"/models/{name}/retirement", json={"reason": "replaced"})
    assert retired.status_code == 201, retired.text
    _, latencies["retirement → aliases removed"] = timed(lambda: aliases(name) == {"shadow": "2"})
    removed = [
        e
        for e in ok(api.get("/audit/events", params={"action": "alias.synced"}))["items"]
        if e["after"]["version"] is None
    ]
    assert {e["subject_id"] for e in removed} == {f"{name}/production", f"{name}/champion"}
    time.sleep(1)  # the deletions' own deliveries arrive: nothing is deployed, nothing is restored
    assert aliases(name) == {"shadow": "2"}
    assert len(ok(api.get("/incidents", params={"model": name}))["items"]) == 3

    # "updates the record within a second of the event". End to end (MLflow's client call returned
    # → Steward's API shows the change) also holds MLflow's own delivery thread and this test's
    # polling. The receiver's part, from a delivery's arrival to the commit of the change it
    # makes (timed by the server, in GET /connectors/mlflow), is what Steward controls: each one
    # must be within 1 s. End to end, the median must be within 1 s too; one slow event on a
    # loaded machine only has to stay within 3 s.
    print("end-to-end latencies (s):", json.dumps({k: round(v, 3) for k, v in latencies.items()}))
    status = ok(api.get("/connectors/mlflow"))
    ours = [d for d in status["deliveries"]["recent"] if d["model"] == name]
    timings = [(d["event"], d["commit_seconds"], d["processing_seconds"]) for d in ours]
    print("receiver (event, arrival → commit, arrival → answer) (s):", json.dumps(timings))
    committed = [d for d in ours if d["commit_seconds"] is not None]
    assert {d["event"] for d in committed} >= {"model_version.created", "model_version_alias.created"}
    assert max(d["commit_seconds"] for d in committed) <= 1.0, timings
    assert statistics.median(latencies.values()) <= 1.0, latencies
    assert max(latencies.values()) <= 3.0, latencies
    audit = httpx.get(connected.steward.url + "/api/v1/audit/verify", headers=api.headers, timeout=30)
    assert audit.status_code == 200 and audit.json()["ok"], audit.text


def test_forged_stale_replayed_and_malformed_deliveries_are_refused(connected: Connected) -> None:
    url = connected.receiver
    body = json.dumps(
        {
            "entity": "registered_model",
            "action": "created",
            "timestamp": "x",
            "data": {"name": f"signed-{uuid.uuid4().hex[:6]}", "tags": {}, "description": ""},
        }
    ).encode()

    def deliver(
        payload: bytes,
        *,
        secret: str = SECRET,
        at: int | None = None,
        delivery: str | None = None,
        signature: str | None = None,
    ) -> httpx.Response:
        delivery = delivery or str(uuid.uuid4())
        stamp = str(at if at is not None else int(time.time()))
        headers = {
            "Content-Type": "application/json",
            webhook.DELIVERY_HEADER: delivery,
            webhook.TIMESTAMP_HEADER: stamp,
            webhook.SIGNATURE_HEADER: signature or webhook.sign(secret, delivery, stamp, payload),
        }
        return httpx.post(url, content=payload, headers=headers, timeout=30)

    forged = deliver(body, secret="not-the-secret")
    assert forged.status_code == 401 and "signature does not match" in forged.json()["error"]["message"]
    stale = deliver(body, at=int(time.time()) - 3600)
    assert stale.status_code == 401 and "replay" in stale.json()["error"]["message"]
    unsigned = httpx.post(url, content=body, headers={"Content-Type": "application/json"}, timeout=30)
    assert unsigned.status_code == 401
    malformed = deliver(b'{"entity": "model_version", "data": 3}')
    assert malformed.status_code == 422 and malformed.json()["error"]["code"] == "invalid_input"

    delivery = str(uuid.uuid4())
    first = deliver(body, delivery=delivery)
    assert first.status_code == 200, first.text
    assert first.json()["event"] == "registered_model.created"
    replay = deliver(body, delivery=delivery)
    assert replay.status_code == 409 and "replay" in replay.json()["error"]["message"]

    # each refusal is counted by its reason, for the operator (this server process's counts)
    status = connected.api.get("/connectors/mlflow")
    assert status.status_code == 200, status.text
    deliveries = status.json()["deliveries"]
    assert deliveries["refused"] == {
        "bad_signature": 1,
        "malformed": 1,
        "replay": 1,
        "stale": 1,
        "unauthenticated": 1,
    }
    assert deliveries["accepted"] == {"registered_model.created": 2}  # this one, and the warm-up
    assert deliveries["failed"] == {}
    assert status.json()["webhook_secret_set"] is True
    assert status.json()["tracking_uri"] == connected.mlflow.url
