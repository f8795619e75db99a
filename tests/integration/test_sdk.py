"""The SDK over an injected transport: the in-process app, no server, no monkeypatching."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import steward
from steward import wire
from tests.integration.support import digest


def in_process(app: FastAPI) -> httpx.MockTransport:
    """A transport that hands each request to the app (through Starlette's test client)."""
    inner = TestClient(app, raise_server_exceptions=False)

    def handle(request: httpx.Request) -> httpx.Response:
        answer = inner.request(
            request.method, str(request.url), headers=request.headers, content=request.content
        )
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    return httpx.MockTransport(handle)


@pytest.fixture
def sdk(app: FastAPI, admin_token: str) -> steward.Client:
    return steward.Client("http://steward.test", admin_token, transport=in_process(app))


def test_sdk_raises_the_service_error_classes(sdk: steward.Client) -> None:
    with pytest.raises(steward.NotFound) as missing:
        sdk.get_model("nope")
    assert missing.value.details == {"model": "nope"}
    sdk.create_model(wire.ModelCreate(name="m", owner="o", risk_tier=steward.RiskTier.LOW))
    with pytest.raises(steward.AlreadyExists):
        sdk.create_model(wire.ModelCreate(name="m", owner="o", risk_tier=steward.RiskTier.LOW))
    with pytest.raises(steward.InvalidInput) as bad:
        sdk.list_models(page_token="garbage!")
    assert bad.value.details["errors"][0]["field"] == "page_token"


def test_sdk_pages_and_iterates(sdk: steward.Client) -> None:
    for i in range(7):
        sdk.create_model(
            wire.ModelCreate(
                name=f"model-{i}",
                owner="team",
                risk_tier=steward.RiskTier.MEDIUM,
                tags={"batch": "a" if i % 2 else "b"},
            )
        )
    first = sdk.list_models(page_size=3)
    assert [m.name for m in first.items] == ["model-0", "model-1", "model-2"]
    assert first.next_page_token
    every = list(sdk.iterate(wire.ModelOut, "/models", page_size=2))
    assert [m.name for m in every] == [f"model-{i}" for i in range(7)]
    tagged = sdk.list_models(tags={"batch": "a"})
    assert [m.name for m in tagged.items] == ["model-1", "model-3", "model-5"]


def test_sdk_tokens_and_principals(sdk: steward.Client, app: FastAPI) -> None:
    sdk.create_principal(wire.PrincipalCreate(name="vera", roles=[steward.Role.VALIDATOR]))
    created = sdk.create_token(wire.TokenCreate(principal="vera", name="laptop"))
    vera = steward.Client("http://steward.test", created.token, transport=in_process(app))
    assert vera.whoami().principal.roles == [steward.Role.VALIDATOR]
    with pytest.raises(steward.PermissionDenied):
        vera.create_model(wire.ModelCreate(name="x", owner="o", risk_tier=steward.RiskTier.LOW))
    sdk.revoke_token(created.id, reason="left the team")
    with pytest.raises(steward.Unauthenticated, match="revoked"):
        vera.whoami()
    assert [t.prefix for t in sdk.list_tokens("vera").items] == [created.token[:12]]
    assert [p.name for p in sdk.list_principals(page_size=1).items] == ["root"]


def test_sdk_registers_and_reads_lineage(sdk: steward.Client) -> None:
    sdk.create_model(wire.ModelCreate(name="scorer", owner="risk", risk_tier=steward.RiskTier.LOW))
    sdk.create_dataset(wire.DatasetCreate(name="loans", approved=True))
    sdk.add_dataset_version(
        "loans", wire.DatasetVersionCreate(version="v1", uri="s3://l/v1", digest=digest("l"))
    )
    version = sdk.register_version(
        "scorer",
        wire.VersionCreate(
            artifact_uri="s3://m/1",
            artifact_digest=digest("m"),
            code_commit="abcdef12",
            metrics={"accuracy": 0.9},
            datasets=[wire.DatasetUseIn(dataset="loans", version="v1", role=steward.DatasetRole.VALIDATION)],
        ),
    )
    # a low-risk version goes to staging on the gates alone (a promotion is the only way there)
    promoted = sdk.promote(
        "scorer", version.version, wire.PromotionCreate(target="staging", reason="try it", endpoint="k8s")
    )
    deployment = promoted.deployment
    assert deployment is not None and deployment.target == "k8s"
    graph = sdk.lineage("scorer", 1)
    edges = {(e.source, e.relation, e.target) for e in graph.edges}
    assert ("dataset:loans@v1", "validation_data", "version:scorer/1") in edges
    assert ("version:scorer/1", "deployed_as", f"deployment:{deployment.id}") in edges
    assert [d.environment for d in sdk.list_deployments("scorer").items] == ["staging"]
    assert [d.id for d in sdk.list_deployments(environment="staging", page_size=1).items] == [deployment.id]
    assert [v.version for v in sdk.list_dataset_versions("loans").items] == ["v1"]
    assert [p.allowed for p in sdk.list_promotions("scorer", 1).items] == [True]
