"""Integration fixtures: the core object on each backend, callers with roles, the in-process API."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from steward import wire
from steward.domain import Origin, Role
from steward.server import create_app
from steward.service import Caller, Steward, local_operator
from steward.settings import Settings

MakePrincipal = Callable[..., tuple[str, str]]
MakeCaller = Callable[..., Caller]
ClientFor = Callable[[str | None], TestClient]


@pytest.fixture
def steward(database_url: str) -> Iterator[Steward]:
    """``Steward.open(url, migrate=True)`` on a fresh database of the backend under test."""
    core = Steward.open(database_url, migrate=True)
    try:
        yield core
    finally:
        core.close()


@pytest.fixture
def admin() -> Caller:
    """The local operator (what the CLI uses against the database directly)."""
    return local_operator(request_id="test", name="local:tester")


@pytest.fixture
def make_principal(steward: Steward, admin: Caller) -> MakePrincipal:
    """``make_principal(*roles, name=None)`` → ``(name, token secret)``, through the IdentityService."""
    numbers = itertools.count(1)

    def make(*roles: Role, name: str | None = None) -> tuple[str, str]:
        assert roles, "a principal needs at least one role"
        name = name or f"user-{'-'.join(r.value for r in roles).replace('_', '-')}-{next(numbers)}"
        steward.identity.create_principal(admin, wire.PrincipalCreate(name=name, roles=list(roles)))
        _, secret = steward.identity.create_token(admin, wire.TokenCreate(principal=name))
        return name, secret

    return make


@pytest.fixture
def make_caller(steward: Steward, admin: Caller) -> MakeCaller:
    """``make_caller(*roles, name=None)`` → a stored principal as a service :class:`Caller`."""
    numbers = itertools.count(1)

    def make(*roles: Role, name: str | None = None) -> Caller:
        name = name or f"svc-{'-'.join(r.value for r in roles).replace('_', '-')}-{next(numbers)}"
        principal = steward.identity.create_principal(
            admin, wire.PrincipalCreate(name=name, roles=list(roles))
        )
        return Caller(
            principal,
            Origin(
                actor=principal.name, request_id=f"req-{name}", client_address="10.0.0.1", user_agent="pytest"
            ),
        )

    return make


def make_app(steward: Steward, database_url: str, key_dir: Path, **settings: Any) -> FastAPI:
    """``create_app`` over ``steward``, its ledger key kept in ``key_dir`` (not the user's home)."""
    return create_app(
        Settings(database_url=database_url, ledger_key_path=key_dir / "ledger.key", **settings),
        steward=steward,
    )


@pytest.fixture
def app(steward: Steward, database_url: str, tmp_path: Path) -> Iterator[FastAPI]:
    """The in-process app over the test's ``steward``; its lifespan runs around the test."""
    application = make_app(steward, database_url, tmp_path)
    with TestClient(application):  # startup now, shutdown (flushing what it buffers) at teardown
        yield application


@pytest.fixture
def client_for(app: FastAPI) -> Iterator[ClientFor]:
    """``client_for(token)`` → an in-process client sending ``Authorization: Bearer token``."""
    clients: list[TestClient] = []

    def make(token: str | None) -> TestClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = TestClient(app, headers=headers, raise_server_exceptions=False)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def api(client_for: ClientFor) -> TestClient:
    """An in-process client without credentials."""
    return client_for(None)


@pytest.fixture
def admin_token(make_principal: MakePrincipal) -> str:
    return make_principal(Role.ADMIN, name="root")[1]


@pytest.fixture
def admin_api(client_for: ClientFor, admin_token: str) -> TestClient:
    """An in-process client with the token of an admin principal named ``root``."""
    return client_for(admin_token)
