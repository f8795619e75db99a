"""Every error kind the API can answer with: its status, the one shape, and a database untouched.

The one shape is ``{"error": {"code", "message", "details"}}``; a 422 names each field's path and
the rule it broke in ``details.errors``. After any refused request the row count of every table and
the audit head are what they were before.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from steward import wire
from steward.domain import LONG_TEXT_MAX, NAME_MAX, SHORT_TEXT_MAX, Role
from steward.server.errors import STATUS
from steward.service import Caller, Steward, local_operator
from steward.storage._pages import encode_token
from tests.integration.conftest import ClientFor, MakePrincipal, make_app
from tests.integration.support import db_state, digest, model_body, version_body

API = "/api/v1"


def error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    """The error body, after checking status, code and the exact one shape."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str)
    assert error["message"].strip(), error
    assert isinstance(error["details"], dict)
    assert STATUS[code] == status
    return error


@pytest.fixture
def seeded(steward: Steward, admin: Caller) -> Steward:
    """A model with a version, a dataset with a version, a run: things bad requests can aim at."""
    return seed(steward, admin)


def seed(steward: Steward, admin: Caller) -> Steward:
    steward.registry.create_model(admin, wire.ModelCreate(**model_body("m")))
    steward.registry.register_version(admin, "m", wire.VersionCreate(**version_body(1)))
    steward.registry.create_dataset(admin, wire.DatasetCreate(name="ds"))
    steward.registry.add_dataset_version(
        admin, "ds", wire.DatasetVersionCreate(version="v1", uri="s3://ds", digest=digest("ds"))
    )
    steward.registry.record_run(admin, wire.TrainingRunCreate(run_id="run-1"))
    return steward


@dataclass(frozen=True)
class Shared:
    steward: Steward
    app: FastAPI
    admin: TestClient  # the token of the admin principal ``root``

    def anonymous(self) -> TestClient:
        return TestClient(self.app, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def shared(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    """One seeded database and admin client per backend for the bad-input table: every case must
    leave it as it was, and each case checks that it did."""
    core = Steward.open(module_database_url, migrate=True)
    admin = local_operator(name="local:tester")
    seed(core, admin)
    core.identity.create_principal(admin, wire.PrincipalCreate(name="root", roles=[Role.ADMIN]))
    _, secret = core.identity.create_token(admin, wire.TokenCreate(principal="root"))
    app = make_app(core, module_database_url, tmp_path_factory.mktemp("keys"))
    with TestClient(
        app, headers={"Authorization": f"Bearer {secret}"}, raise_server_exceptions=False
    ) as client:
        yield Shared(core, app, client)
    core.close()


def refused(shared: Shared, client: TestClient, method: str, path: str, **kwargs: Any) -> Any:
    """Send a request that must be refused, checking that it wrote nothing."""
    before = db_state(shared.steward)
    response = client.request(method, path, **kwargs)
    assert db_state(shared.steward) == before, f"a refused request changed the database: {response.text}"
    return response


# -- authentication ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        ({}, "needs an API token"),
        ({"Authorization": "Basic YWxpY2U6c2VjcmV0"}, "needs an API token"),
        ({"Authorization": "Bearer"}, "needs an API token"),
        ({"Authorization": "Bearer not-a-steward-token"}, "start with 'stw_'"),
        ({"Authorization": "Bearer stw_" + "A" * 43}, "not known"),
    ],
    ids=["none", "basic", "empty-bearer", "foreign", "unknown"],
)
def test_unauthenticated(shared: Shared, headers: dict[str, str], says: str) -> None:
    client = shared.anonymous()
    for method, path, body in [
        ("GET", "/models", None),
        ("POST", "/models", model_body("new")),
        ("GET", "/me", None),
        ("GET", "/audit/verify", None),
    ]:
        response = refused(shared, client, method, API + path, json=body, headers=headers)
        error = error_of(response, 401, "unauthenticated")
        assert says in error["message"]
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_unauthenticated_beats_bad_input(shared: Shared) -> None:
    response = refused(
        shared,
        shared.anonymous(),
        "POST",
        f"{API}/models",
        json={"name": 5},
        headers={"Authorization": "Bearer stw_unknown"},
    )
    error_of(response, 401, "unauthenticated")


def test_revoked_and_expired_tokens(
    steward: Steward, admin: Caller, make_principal: MakePrincipal, client_for: ClientFor
) -> None:
    name, secret = make_principal(Role.DATA_SCIENTIST)
    client = client_for(secret)
    assert client.get(f"{API}/models").status_code == 200
    [token] = steward.identity.list_tokens(admin, name).items
    steward.identity.revoke_token(admin, token.id)
    error = error_of(client.get(f"{API}/models"), 401, "unauthenticated")
    assert error["message"] == f"token {token.prefix}… was revoked"


def test_permission_denied(make_principal: MakePrincipal, client_for: ClientFor, seeded: Steward) -> None:
    _, secret = make_principal(Role.AUDITOR, Role.BUSINESS_OWNER, name="audrey")
    before = db_state(seeded)
    response = client_for(secret).post(f"{API}/models", json=model_body("new"))
    assert db_state(seeded) == before
    error = error_of(response, 403, "permission_denied")
    assert error["message"] == (
        "audrey may not model.create: it needs one of the roles admin, data_scientist, ml_engineer"
    )
    assert error["details"] == {
        "action": "model.create",
        "required_roles": ["admin", "data_scientist", "ml_engineer"],
        "roles": ["auditor", "business_owner"],
    }


# -- not found, conflicts, method, size --------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "details"),
    [
        ("GET", "/models/ghost", None, {"model": "ghost"}),
        ("PATCH", "/models/ghost", {"revision": 1, "owner": "x"}, {"model": "ghost"}),
        ("GET", "/models/m/versions/9", None, {"model": "m", "version": 9}),
        ("GET", "/models/ghost/versions/1", None, {"model": "ghost"}),
        ("GET", "/models/ghost/versions", None, {"model": "ghost"}),
        ("GET", "/models/m/versions/9/lineage", None, {"model": "m", "version": 9}),
        ("POST", "/models/ghost/versions", version_body(2), {"model": "ghost"}),
        (
            "POST",
            "/models/m/versions/9/promotions",
            {"target": "prod", "reason": "r"},
            {"model": "m", "version": 9},
        ),
        ("GET", "/models/ghost/deployments", None, {"model": "ghost"}),
        ("GET", "/datasets/ghost", None, {"dataset": "ghost"}),
        ("GET", "/datasets/ghost/versions", None, {"dataset": "ghost"}),
        (
            "POST",
            "/datasets/ghost/versions",
            {"version": "1", "uri": "s3://x", "digest": digest(0)},
            {"dataset": "ghost"},
        ),
        ("GET", "/runs/ghost", None, {"training_run": "ghost"}),
        ("DELETE", "/tokens/424242", None, {"token": 424242}),
        ("POST", "/tokens", {"principal": "ghost"}, {"principal": "ghost"}),
    ],
)
def test_not_found(
    shared: Shared, method: str, path: str, body: dict[str, Any] | None, details: dict[str, Any]
) -> None:
    error = error_of(refused(shared, shared.admin, method, API + path, json=body), 404, "not_found")
    assert error["details"] == details
    assert "does not exist" in error["message"] or "has no version" in error["message"]


@pytest.mark.parametrize("path", ["/nothing-here", "/models/m/nothing", "/api/v2/models"])
def test_unknown_route_is_not_found_in_the_one_shape(shared: Shared, path: str) -> None:
    url = path if path.startswith("/api/") else API + path
    error_of(refused(shared, shared.admin, "GET", url), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path", "body", "details"),
    [
        ("POST", "/models", model_body("m"), {"model": "m"}),
        ("POST", "/datasets", {"name": "ds"}, {"dataset": "ds"}),
        (
            "POST",
            "/datasets/ds/versions",
            {"version": "v1", "uri": "s3://y", "digest": digest(9)},
            {"dataset": "ds", "version": "v1"},
        ),
        ("POST", "/runs", {"run_id": "run-1"}, {"training_run": "run-1"}),
        ("POST", "/principals", {"name": "root", "roles": ["admin"]}, {"principal": "root"}),
    ],
)
def test_already_exists(
    shared: Shared, method: str, path: str, body: dict[str, Any], details: dict[str, Any]
) -> None:
    error = error_of(refused(shared, shared.admin, method, API + path, json=body), 409, "already_exists")
    assert error["details"] == details
    assert "already" in error["message"]


def test_stale_revision_conflicts(admin_api: TestClient, seeded: Steward) -> None:
    assert admin_api.patch(f"{API}/models/m", json={"revision": 1, "owner": "a"}).status_code == 200
    before = db_state(seeded)
    error = error_of(admin_api.patch(f"{API}/models/m", json={"revision": 1, "owner": "b"}), 409, "conflict")
    assert error["details"] == {"model": "m", "expected_revision": 1, "current_revision": 2}
    error = error_of(
        admin_api.patch(f"{API}/datasets/ds", json={"revision": 7, "approved": True}), 409, "conflict"
    )
    assert error["details"] == {"dataset": "ds", "expected_revision": 7, "current_revision": 1}
    assert db_state(seeded) == before
    assert admin_api.get(f"{API}/models/m").json()["owner"] == "a"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/models"),
        ("PUT", "/models/m"),
        ("DELETE", "/models/m"),
        ("POST", "/deployments"),
        ("POST", "/models/m/deployments"),  # deployments are made by promotions only
        ("PATCH", "/audit/events"),
        ("POST", "/me"),
    ],
)
def test_method_not_allowed(shared: Shared, method: str, path: str) -> None:
    response = refused(shared, shared.admin, method, API + path)
    error_of(response, 405, "method_not_allowed")
    allow = {m.strip() for m in response.headers.get("Allow", "").split(",") if m.strip()}
    assert allow, "a 405 must say which methods the resource allows (RFC 9110 §15.5.6)"
    assert method not in allow


def test_payload_too_large_declared(
    steward: Steward, database_url: str, admin_token: str, seeded: Steward, tmp_path: Path
) -> None:
    app = make_app(steward, database_url, tmp_path, max_body_bytes=2048)
    client = TestClient(
        app, headers={"Authorization": f"Bearer {admin_token}"}, raise_server_exceptions=False
    )
    before = db_state(seeded)
    big = model_body("big", description="x" * 4000)
    error = error_of(client.post(f"{API}/models", json=big), 413, "payload_too_large")
    assert error["details"] == {"limit_bytes": 2048}
    assert "2048" in error["message"]
    assert client.post(f"{API}/models", json=model_body("small")).status_code == 201
    assert db_state(seeded)["models"] == before["models"] + 1


def test_payload_too_large_streamed(
    steward: Steward, database_url: str, admin_token: str, seeded: Steward, tmp_path: Path
) -> None:
    """A body sent without Content-Length (chunked) is counted as it arrives."""
    app = make_app(steward, database_url, tmp_path, max_body_bytes=2048)
    client = TestClient(
        app,
        headers={"Authorization": f"Bearer {admin_token}", "Content-Type": "application/json"},
        raise_server_exceptions=False,
    )
    before = db_state(seeded)

    def chunks() -> Iterator[bytes]:
        yield b'{"name": "big", "owner": "o", "risk_tier": "low", "description": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}'

    response = client.post(f"{API}/models", content=chunks())
    assert "content-length" not in {k.lower() for k in response.request.headers}
    error = error_of(response, 413, "payload_too_large")
    assert error["details"] == {"limit_bytes": 2048}
    assert db_state(seeded) == before


def test_default_body_limit(shared: Shared) -> None:
    body = model_body("huge", description="z" * (1_048_576 + 10))
    error_of(refused(shared, shared.admin, "POST", f"{API}/models", json=body), 413, "payload_too_large")


def test_unavailable_database(steward: Steward, database_url: str, admin_token: str, tmp_path: Path) -> None:
    """A database that fails under the server answers 503 ``unavailable`` in the one shape."""
    client = TestClient(
        make_app(steward, database_url, tmp_path),
        raise_server_exceptions=False,
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    assert client.get(f"{API}/models").status_code == 200
    with steward.store.engine.begin() as conn:
        conn.execute(text("DROP TABLE model_tags"))
    error = error_of(client.get(f"{API}/models", params={"tag": "a=b"}), 503, "unavailable")
    assert "database" in error["message"]


# -- bad input ---------------------------------------------------------------------------------

V = version_body(2)
BAD_INPUT: list[tuple[str, str, str, dict[str, Any] | None, dict[str, Any] | None, list[tuple[str, str]]]] = [
    # id, method, path, json, query, expected (field, rule) pairs
    (
        "model-empty",
        "POST",
        "/models",
        {},
        None,
        [("name", "missing"), ("owner", "missing"), ("risk_tier", "missing")],
    ),
    ("model-name-type", "POST", "/models", model_body(123), None, [("name", "string_type")]),
    (
        "model-name-unicode",
        "POST",
        "/models",
        model_body("modèle"),
        None,
        [("name", "string_pattern_mismatch")],
    ),
    ("model-name-cjk", "POST", "/models", model_body("模型"), None, [("name", "string_pattern_mismatch")]),
    (
        "model-name-space",
        "POST",
        "/models",
        model_body("two words"),
        None,
        [("name", "string_pattern_mismatch")],
    ),
    (
        "model-name-newline",
        "POST",
        "/models",
        model_body("name\n"),
        None,
        [("name", "string_pattern_mismatch")],
    ),
    (
        "model-name-long",
        "POST",
        "/models",
        model_body("n" * (NAME_MAX + 1)),
        None,
        [("name", "string_too_long")],
    ),
    ("model-name-empty", "POST", "/models", model_body(""), None, [("name", "string_too_short")]),
    ("model-tier", "POST", "/models", model_body("x", risk_tier="extreme"), None, [("risk_tier", "enum")]),
    ("model-tier-case", "POST", "/models", model_body("x", risk_tier="HIGH"), None, [("risk_tier", "enum")]),
    (
        "model-owner-long",
        "POST",
        "/models",
        model_body("x", owner="o" * (SHORT_TEXT_MAX + 1)),
        None,
        [("owner", "string_too_long")],
    ),
    (
        "model-description-long",
        "POST",
        "/models",
        model_body("x", description="d" * (LONG_TEXT_MAX + 1)),
        None,
        [("description", "string_too_long")],
    ),
    (
        "model-scope",
        "POST",
        "/models",
        model_body("x", regulatory_scopes=["sr-11-7", "EU AI Act"]),
        None,
        [("regulatory_scopes[1]", "string_pattern_mismatch")],
    ),
    (
        "model-scopes-type",
        "POST",
        "/models",
        model_body("x", regulatory_scopes="sr-11-7"),
        None,
        [("regulatory_scopes", "list_type")],
    ),
    (
        "model-tag-value",
        "POST",
        "/models",
        model_body("x", tags={"team": "v" * 1025}),
        None,
        [("tags.team", "string_too_long")],
    ),
    (
        "model-tag-type",
        "POST",
        "/models",
        model_body("x", tags={"team": 5}),
        None,
        [("tags.team", "string_type")],
    ),
    (
        "model-cadence-zero",
        "POST",
        "/models",
        model_body("x", review_cadence_months=0),
        None,
        [("review_cadence_months", "greater_than_equal")],
    ),
    (
        "model-cadence-text",
        "POST",
        "/models",
        model_body("x", review_cadence_months="often"),
        None,
        [("review_cadence_months", "int_parsing")],
    ),
    (
        "model-unknown-field",
        "POST",
        "/models",
        model_body("x", colour="blue"),
        None,
        [("colour", "extra_forbidden")],
    ),
    (
        "model-state-not-settable",
        "POST",
        "/models",
        model_body("x", state="retired"),
        None,
        [("state", "extra_forbidden")],
    ),
    ("model-body-list", "POST", "/models", [model_body("x")], None, [("body", "model_attributes_type")]),
    ("update-no-revision", "PATCH", "/models/m", {"owner": "x"}, None, [("revision", "missing")]),
    (
        "update-revision-zero",
        "PATCH",
        "/models/m",
        {"revision": 0},
        None,
        [("revision", "greater_than_equal")],
    ),
    (
        "update-unknown-field",
        "PATCH",
        "/models/m",
        {"revision": 1, "name": "renamed"},
        None,
        [("name", "extra_forbidden")],
    ),
    ("update-null-owner", "PATCH", "/models/m", {"revision": 1, "owner": None}, None, [("owner", "*")]),
    (
        "update-null-tier",
        "PATCH",
        "/models/m",
        {"revision": 1, "risk_tier": None},
        None,
        [("risk_tier", "*")],
    ),
    ("update-null-tags", "PATCH", "/models/m", {"revision": 1, "tags": None}, None, [("tags", "*")]),
    (
        "update-null-scopes",
        "PATCH",
        "/models/m",
        {"revision": 1, "regulatory_scopes": None},
        None,
        [("regulatory_scopes", "*")],
    ),
    (
        "update-null-description",
        "PATCH",
        "/models/m",
        {"revision": 1, "description": None},
        None,
        [("description", "*")],
    ),
    (
        "dataset-update-null",
        "PATCH",
        "/datasets/ds",
        {"revision": 1, "approved": None},
        None,
        [("approved", "*")],
    ),
    (
        "version-digest-algo",
        "POST",
        "/models/m/versions",
        {**V, "artifact_digest": "md5:" + "a" * 32},
        None,
        [("artifact_digest", "string_pattern_mismatch")],
    ),
    (
        "version-digest-upper",
        "POST",
        "/models/m/versions",
        {**V, "artifact_digest": "sha256:" + "A" * 64},
        None,
        [("artifact_digest", "string_pattern_mismatch")],
    ),
    (
        "version-missing",
        "POST",
        "/models/m/versions",
        {"artifact_uri": "s3://x"},
        None,
        [("artifact_digest", "missing")],
    ),
    (
        "version-dataset-role",
        "POST",
        "/models/m/versions",
        {
            **V,
            "datasets": [
                {"dataset": "ds", "version": "v1", "role": "training"},
                {"dataset": "ds", "version": "v1", "role": "train"},
            ],
        },
        None,
        [("datasets[1].role", "enum")],
    ),
    (
        "version-dataset-unknown",
        "POST",
        "/models/m/versions",
        {**V, "datasets": [{"dataset": "ds", "version": "v9", "role": "training"}]},
        None,
        [("datasets[0]", "exists")],
    ),
    (
        "version-run-unknown",
        "POST",
        "/models/m/versions",
        {**V, "training_run": "run-9"},
        None,
        [("training_run", "exists")],
    ),
    (
        "version-python",
        "POST",
        "/models/m/versions",
        {**V, "environment": {"python_version": "three"}},
        None,
        [("environment.python_version", "string_pattern_mismatch")],
    ),
    (
        "version-env-extra",
        "POST",
        "/models/m/versions",
        {**V, "environment": {"os": "linux"}},
        None,
        [("environment.os", "extra_forbidden")],
    ),
    (
        "version-metric-text",
        "POST",
        "/models/m/versions",
        {**V, "metrics": {"auc": "high"}},
        None,
        [("metrics.auc", "float_parsing")],
    ),
    (
        "version-commit",
        "POST",
        "/models/m/versions",
        {**V, "code_commit": "HEAD"},
        None,
        [("code_commit", "string_pattern_mismatch")],
    ),
    (
        "version-uri-empty",
        "POST",
        "/models/m/versions",
        {**V, "artifact_uri": ""},
        None,
        [("artifact_uri", "string_too_short")],
    ),
    ("dataset-name", "POST", "/datasets", {"name": "données"}, None, [("name", "string_pattern_mismatch")]),
    (
        "dataset-version-pattern",
        "POST",
        "/datasets/ds/versions",
        {"version": "v 2", "uri": "s3://x", "digest": digest(2)},
        None,
        [("version", "string_pattern_mismatch")],
    ),
    (
        "dataset-rows",
        "POST",
        "/datasets/ds/versions",
        {"version": "v2", "uri": "s3://x", "digest": digest(2), "row_count": -1},
        None,
        [("row_count", "greater_than_equal")],
    ),
    ("run-empty-id", "POST", "/runs", {"run_id": ""}, None, [("run_id", "string_too_short")]),
    (
        "run-date",
        "POST",
        "/runs",
        {"run_id": "r", "started_at": "yesterday"},
        None,
        [("started_at", "datetime_from_date_parsing")],
    ),
    (
        "run-order",
        "POST",
        "/runs",
        {"run_id": "r", "started_at": "2025-01-02T00:00:00Z", "ended_at": "2025-01-01T00:00:00Z"},
        None,
        [("ended_at", "order")],
    ),
    (
        "run-naive-time",
        "POST",
        "/runs",
        {"run_id": "r", "started_at": "2025-01-01T00:00:00"},
        None,
        [("started_at", "*")],
    ),
    (
        "run-mixed-times",
        "POST",
        "/runs",
        {"run_id": "r", "started_at": "2025-01-01T00:00:00Z", "ended_at": "2025-01-02T00:00:00"},
        None,
        [("ended_at", "*")],
    ),
    (
        "promotion-target",
        "POST",
        "/models/m/versions/1/promotions",
        {"target": "Prod!", "reason": "r"},
        None,
        [("target", "string_pattern_mismatch")],
    ),
    (
        "promotion-version",
        "POST",
        "/models/m/versions/0/promotions",
        {"target": "prod", "reason": "r"},
        None,
        [("version", "greater_than_equal")],
    ),
    (
        "principal-roles-empty",
        "POST",
        "/principals",
        {"name": "p", "roles": []},
        None,
        [("roles", "too_short")],
    ),
    (
        "principal-role",
        "POST",
        "/principals",
        {"name": "p", "roles": ["superuser"]},
        None,
        [("roles[0]", "enum")],
    ),
    (
        "principal-name",
        "POST",
        "/principals",
        {"name": "José", "roles": ["auditor"]},
        None,
        [("name", "string_pattern_mismatch")],
    ),
    (
        "token-past",
        "POST",
        "/tokens",
        {"principal": "root", "expires_at": "2001-01-01T00:00:00Z"},
        None,
        [("expires_at", "future")],
    ),
    (
        "token-naive-expiry",
        "POST",
        "/tokens",
        {"principal": "root", "expires_at": "2999-01-01T00:00:00"},
        None,
        [("expires_at", "*")],
    ),
    ("query-tier", "GET", "/models", None, {"risk_tier": "extreme"}, [("risk_tier", "enum")]),
    ("query-state", "GET", "/versions", None, {"state": "live"}, [("state", "enum")]),
    ("query-page-size", "GET", "/models", None, {"page_size": 0}, [("page_size", "greater_than_equal")]),
    ("query-page-size-big", "GET", "/runs", None, {"page_size": 1001}, [("page_size", "less_than_equal")]),
    ("query-page-size-text", "GET", "/models", None, {"page_size": "ten"}, [("page_size", "int_parsing")]),
    ("query-tag", "GET", "/models", None, {"tag": ["team=a", "novalue"]}, [("tag[1]", "key_value")]),
    ("query-tag-key", "GET", "/versions", None, {"tag": "=x"}, [("tag[0]", "key_value")]),
    ("query-q-long", "GET", "/models", None, {"q": "q" * 257}, [("q", "string_too_long")]),
    ("query-token", "GET", "/models", None, {"page_token": "%%%"}, [("page_token", "page_token")]),
    (
        "query-token-type",
        "GET",
        "/models",
        None,
        {"page_token": encode_token({"name": 1})},
        [("page_token", "page_token")],
    ),
    (
        "query-token-other",
        "GET",
        "/runs",
        None,
        {"page_token": encode_token({"id": "x"})},
        [("page_token", "page_token")],
    ),
    (
        "query-since",
        "GET",
        "/audit/events",
        None,
        {"since": "last week"},
        [("since", "datetime_from_date_parsing")],
    ),
    ("query-since-naive", "GET", "/audit/events", None, {"since": "2025-01-01T00:00:00"}, [("since", "*")]),
    ("path-version-zero", "GET", "/models/m/versions/0", None, None, [("version", "greater_than_equal")]),
    ("path-version-text", "GET", "/models/m/versions/latest", None, None, [("version", "int_parsing")]),
    ("path-token-id", "DELETE", "/tokens/0", None, None, [("token_id", "greater_than_equal")]),
    ("path-name-long", "GET", "/models/" + "n" * 129, None, None, [("name", "string_too_long")]),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "query", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in BAD_INPUT],
)
def test_bad_input_names_field_and_rule(
    shared: Shared,
    method: str,
    path: str,
    body: Any,
    query: dict[str, Any] | None,
    expected: list[tuple[str, str]],
) -> None:
    response = refused(shared, shared.admin, method, API + path, json=body, params=query)
    error = error_of(response, 422, "invalid_input")
    found = [(e["field"], e["rule"]) for e in error["details"]["errors"]]
    for e in error["details"]["errors"]:
        assert set(e) == {"field", "rule", "message"}, e
        assert e["message"], e
    for field, rule in expected:
        if rule == "*":
            assert field in [f for f, _ in found], found
        else:
            assert (field, rule) in found, found
    first_field = error["details"]["errors"][0]["field"]
    assert error["message"].startswith(f"{first_field}: "), error["message"]


def test_malformed_json_is_invalid_input(shared: Shared) -> None:
    response = refused(
        shared,
        shared.admin,
        "POST",
        f"{API}/models",
        content=b'{"name": "x", "owner": ',
        headers={"Content-Type": "application/json"},
    )
    error = error_of(response, 422, "invalid_input")
    [entry] = error["details"]["errors"]
    assert entry["rule"] == "json_invalid"
    assert entry["field"] == "body"


def test_many_errors_are_all_reported(shared: Shared) -> None:
    response = refused(
        shared,
        shared.admin,
        "POST",
        f"{API}/models",
        json={"name": "bad name", "owner": "", "risk_tier": "x", "tags": {"k": 1}, "extra": True},
    )
    error = error_of(response, 422, "invalid_input")
    fields = sorted(e["field"] for e in error["details"]["errors"])
    assert fields == ["extra", "name", "owner", "risk_tier", "tags.k"]
    assert error["message"].endswith("(and 4 more)")


def test_non_finite_metric_is_refused(shared: Shared) -> None:
    response = refused(
        shared,
        shared.admin,
        "POST",
        f"{API}/models/m/versions",
        content=(
            '{"artifact_uri": "s3://x", "artifact_digest": "' + digest(5) + '", "metrics": {"auc": NaN}}'
        ).encode(),
        headers={"Content-Type": "application/json"},
    )
    error = error_of(response, 422, "invalid_input")
    assert [(e["field"], e["rule"]) for e in error["details"]["errors"]] == [("metrics", "value_error")]
    assert "auc" in error["details"]["errors"][0]["message"]


@pytest.mark.parametrize(
    "text",
    [
        "Évaluation — crédit ✓",
        "信用评分模型",
        "مرحبا",
        "emoji 🤖🧪",
        "tab\tand\nnewline",
        "a" * LONG_TEXT_MAX,
    ],
    ids=["latin", "cjk", "arabic", "emoji", "controls", "longest"],
)
def test_unicode_text_is_accepted_where_text_is_free(admin_api: TestClient, text: str) -> None:
    response = admin_api.post(
        f"{API}/models", json=model_body("unicode-ok", description=text, use_case=text, owner="Zoë Ørsted")
    )
    assert response.status_code == 201, response.text
    fetched = admin_api.get(f"{API}/models/unicode-ok").json()
    assert fetched["description"] == text
    assert fetched["use_case"] == text
    assert fetched["owner"] == "Zoë Ørsted"
