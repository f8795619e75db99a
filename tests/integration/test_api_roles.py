"""Every route by every role against the one permission table.

The walk reads the app's own OpenAPI document: for each operation that names an
``x-steward-action`` and each :class:`~steward.domain.Role`, it calls the operation with the token
of a principal holding only that role. A role outside ``PERMISSIONS[action]`` must get 403
``permission_denied``; a role inside it must get a success (the requests below are valid, so an
allowed call goes all the way through).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from steward import wire
from steward.domain import PERMISSIONS, Action, Origin, ReviewDecision, ReviewStage, Role
from steward.service import Caller, Steward
from tests.integration.conftest import ClientFor, MakePrincipal, make_app
from tests.integration.support import digest, model_body, version_body

API = "/api/v1"
UNGUARDED = {f"{API}/health", f"{API}/openapi.json", f"{API}/docs", f"{API}/docs/oauth2-redirect"}
WHO_AM_I = f"{API}/me"


@dataclass(frozen=True)
class RouteInfo:
    path: str
    methods: frozenset[str]
    action: str | None
    in_schema: bool


def api_routes(app: FastAPI) -> Iterator[RouteInfo]:
    """Every HTTP route of the app, whether mounted flat or through included routers."""

    def info(path: str, route: Any, in_schema: bool) -> RouteInfo:
        extra = getattr(route, "openapi_extra", None) or {}
        methods = frozenset(getattr(route, "methods", None) or ())
        return RouteInfo(path, methods, extra.get("x-steward-action"), in_schema)

    for route in app.routes:
        if hasattr(route, "effective_route_contexts"):  # FastAPI ≥ 0.12x includes routers lazily
            for context in route.effective_route_contexts():
                yield info(
                    context.path, context.original_route, bool(getattr(context, "include_in_schema", True))
                )
        elif isinstance(route, APIRoute):
            yield info(route.path, route, route.include_in_schema)
        elif hasattr(route, "path"):
            yield RouteInfo(
                route.path,
                frozenset(getattr(route, "methods", None) or ()),
                None,
                bool(getattr(route, "include_in_schema", False)),
            )


def test_every_api_route_names_its_action(app: FastAPI) -> None:
    routes = [r for r in api_routes(app) if r.path.startswith(API + "/")]
    assert len(routes) >= 25
    unguarded = sorted(
        f"{sorted(r.methods)} {r.path}"
        for r in routes
        if r.action is None and r.path not in UNGUARDED and r.path != WHO_AM_I
    )
    assert unguarded == [], "routes under /api/v1 without x-steward-action"
    for route in routes:
        if route.action is not None:
            assert route.action in {a.value for a in Action}, route


def test_openapi_operations_carry_the_action(client_for: ClientFor) -> None:
    doc = client_for(None).get(f"{API}/openapi.json").json()
    operations = [(p, m, op) for p, ops in doc["paths"].items() for m, op in ops.items()]
    unguarded = sorted(
        f"{m.upper()} {p}"
        for p, m, op in operations
        if "x-steward-action" not in op and p not in UNGUARDED and p != WHO_AM_I
    )
    assert unguarded == []
    used = {op["x-steward-action"] for _, _, op in operations if "x-steward-action" in op}
    assert used <= {a.value for a in Action}
    # the core's actions all have routes
    assert {
        "model.read",
        "model.create",
        "model.update",
        "version.read",
        "version.register",
        "dataset.read",
        "dataset.write",
        "run.read",
        "run.write",
        "deployment.read",
        "audit.read",
        "principal.read",
        "principal.manage",
        "token.manage",
    } <= used


def test_openapi_documents_the_error_shape_steward_sends(admin_api: TestClient) -> None:
    """Every operation's errors are ``wire.ErrorOut`` (not FastAPI's own 422 body, which Steward
    never sends), a refused input's answer is that shape, and every component says what it is."""
    client = admin_api
    doc = client.get(f"{API}/openapi.json").json()
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            error = operation["responses"]["default"]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/ErrorOut"}, (method, path)
            assert "422" not in operation["responses"], (method, path)
    schemas = doc["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert [name for name, schema in schemas.items() if not schema.get("description")] == []
    refused = client.post(f"{API}/models", json={"name": "", "owner": "o", "risk_tier": "extreme"})
    assert refused.status_code == 422
    assert wire.ErrorOut.model_validate(refused.json()).error.code == "invalid_input"


# -- the walk ----------------------------------------------------------------------------------


@dataclass
class World:
    """Records every route can act on, made by an admin (through the service, or over HTTP for
    records whose use cases are younger than this test)."""

    steward: Steward
    admin: Caller
    numbers: Iterator[int]
    http: TestClient | None = None
    _ids: dict[str, int] | None = None
    _bundle: dict[str, Any] | None = None

    def n(self) -> int:
        return next(self.numbers)

    def model_revision(self) -> int:
        return self.steward.registry.get_model(self.admin, "world").revision

    def dataset_revision(self) -> int:
        return self.steward.registry.get_dataset(self.admin, "ds").revision

    def fresh_token_id(self) -> int:
        token, _ = self.steward.identity.create_token(self.admin, wire.TokenCreate(principal="owner"))
        return token.id

    def posted_id(self, path: str, body: dict[str, Any]) -> int:
        assert self.http is not None
        response = self.http.post(API + path, json=body)
        assert response.status_code in (201, 202), response.text
        return int(response.json()["id"])

    def fresh_incident_id(self) -> int:
        return self.posted_id("/incidents", {"model": "world", "severity": "low", "title": f"i{self.n()}"})

    def fresh_version(self, model: str, **fields: Any) -> int:
        """A new version of ``model``, registered by the admin over HTTP."""
        assert self.http is not None
        response = self.http.post(
            f"{API}/models/{model}/versions", json=version_body(f"{model}-{self.n()}", **fields)
        )
        assert response.status_code == 201, response.text
        return int(response.json()["version"])

    def fresh_model(self) -> str:
        assert self.http is not None
        name = f"walk-model-{self.n()}"
        response = self.http.post(f"{API}/models", json=model_body(name, risk_tier="low"))
        assert response.status_code == 201, response.text
        return name

    def fresh_condition_id(self) -> int:
        """An open condition: a low-risk version whose automated gates were approved on a condition
        (registered by the local operator, so that no walker is the registrant the rules refuse)."""
        assert self.http is not None
        number = self.steward.registry.register_version(
            self.admin,
            "walk-low",
            wire.VersionCreate(**version_body(f"walk-low-{self.n()}", metrics={"accuracy": 0.9})),
        ).version
        decision = self.http.post(
            f"{API}/models/walk-low/versions/{number}/evaluations", json={"target": "staging"}
        )
        assert decision.status_code == 201 and decision.json()["allow"], decision.text
        signer = self.steward.identity.get_principal(self.admin, "walk-ml")
        review = self.steward.reviews.review(
            Caller(signer, Origin(actor="walk-ml")),
            "walk-low",
            number,
            wire.ReviewCreate(
                stage=ReviewStage.AUTOMATED_GATES,
                decision=ReviewDecision.APPROVED_WITH_CONDITIONS,
                comment="on a condition",
                conditions=["monitor it"],
            ),
        )
        return review.conditions[0].id

    def owned_model(self, role: Role) -> str:
        """A fresh model whose owner is the walker of ``role`` by name (the one who may attest it)."""
        name = f"walk-owned-{self.n()}"
        spec = wire.ModelCreate(**model_body(name, owner=f"only-{_slug(role)}", risk_tier="low"))
        self.steward.registry.create_model(self.admin, spec)
        return name

    def once(self, key: str, make: Callable[[], int]) -> int:
        self._ids = self._ids or {}
        if key not in self._ids:
            self._ids[key] = make()
        return self._ids[key]

    def incident_id(self) -> int:
        return self.once("incident", self.fresh_incident_id)

    def harvest_id(self) -> int:
        return self.once("harvest", lambda: self.posted_id("/harvests", HARVEST))

    def decision_id(self) -> int:
        return self.once(
            "decision",
            lambda: self.posted_id("/models/world/versions/1/evaluations", {"target": "production"}),
        )

    def builtin_bundle(self) -> dict[str, Any]:
        """The built-in policy bundle, with its files."""
        assert self.http is not None
        if self._bundle is None:
            listed = self.http.get(f"{API}/policy/bundles").json()
            ref = next(b for b in listed if b["builtin"])
            self._bundle = self.http.get(f"{API}/policy/bundles/{ref['name']}/{ref['version']}").json()
        return self._bundle

    def assignments_revision(self) -> str:
        """The policy assignments' revision now (a change must send it)."""
        assert self.http is not None
        return str(self.http.get(f"{API}/policy/assignments").json()["revision"])

    def new_bundle_files(self) -> dict[str, str]:
        """The built-in bundle's files under a new name and version, to register."""
        files = dict(self.builtin_bundle()["files"])
        manifest = json.loads(files["manifest.json"])
        manifest.update(name="walk-bundle", version=f"0.0.{self.n()}")
        files["manifest.json"] = json.dumps(manifest)
        return files

    def value(self, template: str, key: str) -> str | None:
        """A path parameter's value for an operation on the world's records (None: unknown)."""
        by_prefix: dict[str, dict[str, Callable[[], str]]] = {
            "/models/": {"name": lambda: "world", "version": lambda: "1"},
            "/datasets/": {"name": lambda: "ds", "version": lambda: "v0"},
            "/policy/bundles/": {
                "name": lambda: str(self.builtin_bundle()["name"]),
                "version": lambda: str(self.builtin_bundle()["version"]),
            },
        }
        anywhere: dict[str, Callable[[], str]] = {
            "run_id": lambda: "run-1",
            "incident_id": lambda: str(self.incident_id()),
            "harvest_id": lambda: str(self.harvest_id()),
            "decision_id": lambda: str(self.decision_id()),
            "token_id": lambda: str(self.fresh_token_id()),
        }
        for prefix, values in by_prefix.items():
            if template.startswith(prefix) and key in values:
                return values[key]()
        return anywhere[key]() if key in anywhere else None


HARVEST = {"tracking_uri": "http://127.0.0.1:9", "models": ["nothing-here"]}  # refused at once
Request = dict[str, Any]  # keyword arguments of TestClient.request: url (after /api/v1), json, params
Builder = Callable[[World, Role], Request]
KNOWN_KEYS = {"name", "version", "run_id", "incident_id", "harvest_id", "decision_id", "token_id"}


def fill(world: World, template: str) -> str:
    """The template with every ``{parameter}`` replaced by a record of the world."""
    return re.sub(r"\{(\w+)\}", lambda m: world.value(template, m.group(1)) or m.group(0), template)


def _slug(role: Role) -> str:
    return role.value.replace("_", "-")


BUILDERS: dict[tuple[str, str], Builder] = {
    ("POST", "/models/{name}/versions/{version}/evaluations"): lambda w, r: {
        "url": "/models/world/versions/1/evaluations",
        "json": {"target": "production"},
    },
    ("POST", "/models/{name}/versions/{version}/checks"): lambda w, r: {
        "url": "/models/world/versions/1/checks",
        "json": {"kind": "documentation"},
    },
    ("POST", "/datasets/{name}/versions/{version}/checks"): lambda w, r: {
        "url": "/datasets/ds/versions/v0/checks",
        "json": {"kind": "data_quality", "status": "pass", "values": {"rows": 3}},
    },
    ("POST", "/policy/bundles"): lambda w, r: {
        "url": "/policy/bundles",
        "json": {"files": w.new_bundle_files()},
    },
    ("POST", "/policy/simulate"): lambda w, r: {
        "url": "/policy/simulate",
        "json": {"bundle": {k: w.builtin_bundle()[k] for k in ("name", "version")}},
    },
    ("PUT", "/policy/assignments"): lambda w, r: {
        "url": "/policy/assignments",
        "json": {
            "revision": w.assignments_revision(),
            "assignments": [
                {
                    "risk_tier": "*",
                    "environment": "*",
                    "bundle_name": w.builtin_bundle()["name"],
                    "bundle_version": w.builtin_bundle()["version"],
                }
            ],
        },
    },
    ("POST", "/models"): lambda w, r: {
        "url": "/models",
        "json": model_body(f"walk-{_slug(r)}-{w.n()}", risk_tier="low"),
    },
    ("PATCH", "/models/{name}"): lambda w, r: {
        "url": "/models/world",
        "json": {"revision": w.model_revision(), "description": f"by {r.value}"},
    },
    ("POST", "/models/{name}/versions"): lambda w, r: {
        "url": "/models/world/versions",
        "json": version_body(f"walk-{r.value}-{w.n()}"),
    },
    ("PUT", "/models/{name}/alias-guards"): lambda w, r: {
        "url": "/models/world/alias-guards",
        "json": {"guards": {"champion": "production"}},
    },
    ("POST", "/datasets"): lambda w, r: {"url": "/datasets", "json": {"name": f"ds-{w.n()}"}},
    ("PATCH", "/datasets/{name}"): lambda w, r: {
        "url": "/datasets/ds",
        "json": {"revision": w.dataset_revision(), "approved": True},
    },
    ("POST", "/datasets/{name}/versions"): lambda w, r: {
        "url": "/datasets/ds/versions",
        "json": {"version": f"v{w.n()}", "uri": "s3://ds", "digest": digest(w.n())},
    },
    ("POST", "/runs"): lambda w, r: {"url": "/runs", "json": {"run_id": f"run-walk-{w.n()}"}},
    ("POST", "/principals"): lambda w, r: {
        "url": "/principals",
        "json": {"name": f"walker-{w.n()}", "roles": ["auditor"]},
    },
    ("POST", "/tokens"): lambda w, r: {"url": "/tokens", "json": {"principal": "owner"}},
    ("DELETE", "/tokens/{token_id}"): lambda w, r: {"url": f"/tokens/{w.fresh_token_id()}"},
    ("GET", "/ledger/proofs/inclusion"): lambda w, r: {
        "url": "/ledger/proofs/inclusion",
        "params": {"seq": 1},
    },
    ("GET", "/ledger/proofs/consistency"): lambda w, r: {
        "url": "/ledger/proofs/consistency",
        "params": {"old_size": 1},
    },
    ("POST", "/incidents"): lambda w, r: {
        "url": "/incidents",
        "json": {"model": "world", "version": 1, "severity": "high", "title": "drift"},
    },
    ("POST", "/incidents/{incident_id}/resolve"): lambda w, r: {
        "url": f"/incidents/{w.fresh_incident_id()}/resolve",
        "json": {"resolution": "rolled back"},
    },
    ("POST", "/harvests"): lambda w, r: {"url": "/harvests", "json": HARVEST},
    ("POST", "/connectors/mlflow/webhook"): lambda w, r: {
        "url": "/connectors/mlflow/webhook",
        "json": {"entity": "registered_model", "action": "renamed", "data": {"name": "world"}},
    },
    # the approval workflow: each signer rejects the stage its role signs, on a fresh version
    ("POST", "/models/{name}/versions/{version}/reviews"): lambda w, r: {
        "url": f"/models/walk-high/versions/{w.fresh_version('walk-high')}/reviews",
        "json": {"stage": STAGE_OF.get(r, "automated_gates"), "decision": "rejected", "comment": "walk"},
    },
    ("POST", "/conditions/{condition_id}/meet"): lambda w, r: {
        "url": f"/conditions/{w.fresh_condition_id()}/meet",
        "json": {"note": f"met, says {r.value}"},
    },
    ("POST", "/models/{name}/attestations"): lambda w, r: {
        "url": f"/models/{w.owned_model(r)}/attestations",  # a business owner may attest any
        "json": {"statement": f"current, says {r.value}"},
    },
    ("POST", "/models/{name}/versions/{version}/promotions"): lambda w, r: {
        "url": f"/models/walk-low/versions/{w.fresh_version('walk-low', metrics=PASSING)}/promotions",
        "json": {"target": "staging", "reason": "walk"},
    },
    ("POST", "/models/{name}/rollbacks"): lambda w, r: {
        "url": "/models/walk-low/rollbacks",
        "json": {"environment": "staging", "reason": "walk"},
    },
    ("POST", "/models/{name}/retirement"): lambda w, r: {
        "url": f"/models/{w.fresh_model()}/retirement",
        "json": {"reason": "walk"},
    },
    ("POST", "/models/{name}/versions/{version}/deprecation"): lambda w, r: {
        "url": f"/models/world/versions/{w.fresh_version('world')}/deprecation",
        "json": {"reason": "walk"},
    },
}
PASSING = {"accuracy": 0.9}  # above the low tier's floor, the one rule staging enforces here
STAGE_OF = {
    Role.ML_ENGINEER: "automated_gates",
    Role.VALIDATOR: "independent_validation",
    Role.COMPLIANCE_OFFICER: "compliance_review",
    Role.BUSINESS_OWNER: "business_signoff",
}


def default_request(method: str, template: str) -> Builder | None:
    """A GET needs no body: fill its path parameters from the world's records."""
    if method != "GET" or not set(re.findall(r"\{(\w+)\}", template)) <= KNOWN_KEYS:
        return None
    return lambda world, _: {"url": fill(world, template)}


@pytest.fixture
def app(steward: Steward, database_url: str, tmp_path: Path) -> Iterator[FastAPI]:
    """The app, allowed to harvest the walk's (unreachable) tracking server."""
    allowed = [HARVEST["tracking_uri"]]
    application = make_app(steward, database_url, tmp_path, mlflow_allowed_tracking_uris=allowed)
    with TestClient(application):
        yield application


@pytest.fixture
def world(steward: Steward, admin: Caller) -> World:
    steward.registry.create_model(admin, wire.ModelCreate(**model_body("world")))
    steward.registry.create_dataset(admin, wire.DatasetCreate(name="ds"))
    steward.registry.add_dataset_version(
        admin, "ds", wire.DatasetVersionCreate(version="v0", uri="s3://ds/v0", digest=digest("v0"))
    )
    steward.registry.record_run(admin, wire.TrainingRunCreate(run_id="run-1"))
    steward.registry.register_version(
        admin,
        "world",
        wire.VersionCreate(
            **version_body(
                "world-1",
                training_run="run-1",
                datasets=[{"dataset": "ds", "version": "v0", "role": "training"}],
            )
        ),
    )
    steward.identity.create_principal(admin, wire.PrincipalCreate(name="owner", roles=[Role.ADMIN]))
    # the approval workflow's records: a high-risk model to sign, a low-risk one with two versions
    # deployed to staging in turn (something to roll back to), and an ML engineer who signs
    steward.registry.create_model(admin, wire.ModelCreate(**model_body("walk-high", risk_tier="high")))
    steward.registry.create_model(admin, wire.ModelCreate(**model_body("walk-low", risk_tier="low")))
    for number in (1, 2):
        steward.registry.register_version(
            admin,
            "walk-low",
            wire.VersionCreate(**version_body(f"walk-low-{number}", metrics={"accuracy": 0.9})),
        )
        steward.promotions.promote(  # a low-risk version needs no sign-off for staging
            admin, "walk-low", number, wire.PromotionCreate(target="staging", reason="walk", endpoint="stg")
        )
    steward.identity.create_principal(admin, wire.PrincipalCreate(name="walk-ml", roles=[Role.ML_ENGINEER]))
    return World(steward, admin, itertools.count(1))


def test_route_by_role_walk(
    app: FastAPI, world: World, make_principal: MakePrincipal, client_for: ClientFor
) -> None:
    clients: dict[Role, TestClient] = {
        role: client_for(make_principal(role, name=f"only-{_slug(role)}")[1]) for role in Role
    }
    world.http = clients[Role.ADMIN]
    doc = clients[Role.ADMIN].get(f"{API}/openapi.json").json()
    operations = sorted(
        (method.upper(), path.removeprefix(API), op["x-steward-action"])
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
        if "x-steward-action" in op
    )
    missing = [
        f"{m} {p}" for m, p, _ in operations if (m, p) not in BUILDERS and default_request(m, p) is None
    ]
    assert missing == [], "operations the walk cannot build a request for: add them to BUILDERS"

    problems: list[str] = []
    calls = 0
    for method, template, action in operations:
        build = BUILDERS.get((method, template)) or default_request(method, template)
        assert build is not None
        for role in Role:
            request = build(world, role)
            response = clients[role].request(method, API + request.pop("url"), **request)
            calls += 1
            may = role in PERMISSIONS[Action(action)]
            label = f"{method} {template} as {role.value} ({action})"
            if may:
                if not 200 <= response.status_code < 300:
                    problems.append(f"{label}: allowed, got {response.status_code} {response.text}")
                continue
            if response.status_code != 403:
                problems.append(f"{label}: forbidden, got {response.status_code} {response.text}")
                continue
            error = response.json()["error"]
            if error["code"] != "permission_denied" or error["details"].get("action") != action:
                problems.append(f"{label}: wrong refusal {error}")
            elif sorted(error["details"]["required_roles"]) != sorted(
                r.value for r in PERMISSIONS[Action(action)]
            ):
                problems.append(f"{label}: refusal names the wrong roles {error}")
    assert problems == []
    assert calls == len(operations) * len(Role)
    verdict = world.steward.audit.verify(world.admin)
    assert verdict.ok, verdict.problem


def test_who_am_i_lists_the_allowed_actions(make_principal: MakePrincipal, client_for: ClientFor) -> None:
    for role in Role:
        name, token = make_principal(role)
        body = client_for(token).get(f"{API}/me").json()
        assert body["principal"]["name"] == name
        assert body["principal"]["roles"] == [role.value]
        assert body["actions"] == sorted(a.value for a in Action if role in PERMISSIONS[a])
