"""A real ``steward serve`` process, bootstrapped and driven by the CLI and the SDK."""

from __future__ import annotations

import json

import pytest

import steward
from steward import wire
from tests.e2e.conftest import LiveServer, steward_cli

pytestmark = pytest.mark.e2e

DIGEST = "sha256:" + "ab" * 32


def bootstrap(server: LiveServer, name: str, role: str) -> str:
    """The operator's first steps on a fresh install: a user and a token, on the database itself."""
    env = {"STEWARD_DATABASE_URL": server.database_url}
    steward_cli("user", "create", name, "--role", role, env=env)
    created = json.loads(steward_cli("token", "create", name, "--json", env=env).stdout)
    assert created["token"].startswith("stw_")
    return str(created["token"])


def test_fresh_server_explains_first_admin(live_server: LiveServer) -> None:
    health = steward.Client(live_server.url).health()
    assert health["principals"] == 0
    assert "steward user create" in health["first_run"]


def test_sdk_round_trip_against_a_real_server(live_server: LiveServer) -> None:
    token = bootstrap(live_server, "ops", "admin")
    with steward.Client(live_server.url, token) as client:
        assert client.whoami().principal.name == "ops"
        client.create_dataset(wire.DatasetCreate(name="loans", approved=True))
        client.add_dataset_version(
            "loans", wire.DatasetVersionCreate(version="v1", uri="s3://d/v1", digest=DIGEST)
        )
        client.record_run(wire.TrainingRunCreate(run_id="run-1", user="dana", code_commit="abc1234"))
        model = client.create_model(
            wire.ModelCreate(name="scorer", owner="risk", risk_tier=steward.RiskTier.HIGH)
        )
        assert model.revision == 1
        version = client.register_version(
            "scorer",
            wire.VersionCreate(
                artifact_uri="s3://m/1",
                artifact_digest=DIGEST,
                training_run="run-1",
                datasets=[
                    wire.DatasetUseIn(dataset="loans", version="v1", role=steward.DatasetRole.TRAINING)
                ],
                tags={"team": "risk"},
            ),
        )
        assert version.version == 1
        found = client.search_versions(tags={"team": "risk"})
        assert [v.version for v in found.items] == [1]
        graph = client.lineage("scorer", 1)
        assert {n.kind for n in graph.nodes} == {"model_version", "dataset_version", "training_run"}
        with pytest.raises(steward.NotFound):
            client.get_model("missing")
        client.update_model("scorer", wire.ModelUpdate(revision=1, owner="a"))
        with pytest.raises(steward.Conflict):
            client.update_model("scorer", wire.ModelUpdate(revision=1, owner="b"))
        assert client.verify_audit().ok
        actions = [e.action for e in client.list_events().items]
        assert actions[-3:] == ["model.created", "model_version.registered", "model.updated"]
        assert {e.actor for e in client.list_events(action="model.created").items} == {"ops"}


def test_bad_token_is_refused(live_server: LiveServer) -> None:
    with (
        steward.Client(live_server.url, "stw_not-a-real-token") as client,
        pytest.raises(steward.Unauthenticated),
    ):
        client.list_models()


def test_cli_talks_to_the_server(live_server: LiveServer) -> None:
    token = bootstrap(live_server, "eng", "ml_engineer")
    env = {"STEWARD_SERVER": live_server.url, "STEWARD_TOKEN": token}
    steward_cli(
        "model",
        "create",
        "fraud",
        "--owner",
        "payments",
        "--tier",
        "medium",
        "--scope",
        "pci-dss",
        "--tag",
        "team=payments",
        env=env,
    )
    steward_cli(
        "version",
        "register",
        "fraud",
        "--artifact-uri",
        "s3://m/f1",
        "--digest",
        DIGEST,
        "--metric",
        "auc=0.91",
        env=env,
    )
    listed = json.loads(steward_cli("model", "list", "--json", "--tag", "team=payments", env=env).stdout)
    assert [m["name"] for m in listed] == ["fraud"]
    shown = json.loads(steward_cli("version", "show", "fraud", "1", "--json", env=env).stdout)
    assert shown["metrics"] == {"auc": 0.91}
    assert shown["registered_by"] == "eng"

    missing = steward_cli("model", "show", "nope", env=env, check=False)
    assert missing.returncode == steward.NotFound.exit_code
    assert "model 'nope' does not exist" in missing.stderr

    bad = steward_cli(
        "model",
        "create",
        "x",
        "--owner",
        "o",
        "--tier",
        "high",
        "--scope",
        "Not A Scope",
        env=env,
        check=False,
    )
    assert bad.returncode == steward.InvalidInput.exit_code
    assert "regulatory_scopes[0]" in bad.stderr

    # ml_engineer may not read the audit trail: the server says so, the CLI exits with the kind's code.
    denied = steward_cli("audit", "list", env=env, check=False)
    assert denied.returncode == steward.PermissionDenied.exit_code
    assert "audit.read" in denied.stderr


def test_server_unreachable_is_a_clear_error() -> None:
    result = steward_cli(
        "model", "list", env={"STEWARD_SERVER": "http://127.0.0.1:9", "STEWARD_TOKEN": "stw_x"}, check=False
    )
    assert result.returncode == steward.Unavailable.exit_code
    assert "cannot reach the Steward server" in result.stderr
