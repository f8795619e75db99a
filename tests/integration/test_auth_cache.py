"""A server keeps token checks for STEWARD_AUTH_CACHE_SECONDS at most: a revocation or a disabled
principal takes effect at once through this server, and within the bound through any other."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text

from steward import wire
from steward.domain import Role
from steward.service import Caller, Steward
from steward.service._identity import hash_token
from steward.storage import SqlTransaction
from tests.integration.conftest import make_app

API = "/api/v1"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server(steward: Steward, database_url: str, tmp_path: Path, clock: Clock) -> Iterator[TestClient]:
    """A client of a server that keeps token checks 30 s (on a clock the test moves)."""
    app = make_app(steward, database_url, tmp_path, auth_cache_seconds=30)
    steward.identity.cache_authentication(30, monotonic=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def elsewhere(database_url: str) -> Iterator[Steward]:
    """Another process on the same database (the CLI, or a second server)."""
    other = Steward.open(database_url)
    try:
        yield other
    finally:
        other.close()


def token_for(steward: Steward, admin: Caller, name: str, **extra: object) -> tuple[int, str]:
    steward.identity.create_principal(admin, wire.PrincipalCreate(name=name, roles=[Role.AUDITOR]))
    token, secret = steward.identity.create_token(admin, wire.TokenCreate(principal=name, **extra))
    return token.id, secret


def me(client: TestClient, secret: str) -> int:
    return client.get(f"{API}/me", headers={"Authorization": f"Bearer {secret}"}).status_code


def token_reads(steward: Steward) -> list[str]:
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if "api_tokens" in statement:
            seen.append(statement)

    event.listen(steward.store.engine, "before_cursor_execute", count)
    return seen


def test_a_kept_check_saves_the_read_and_expires_after_the_bound(
    server: TestClient, steward: Steward, admin: Caller, clock: Clock
) -> None:
    _, secret = token_for(steward, admin, "ann")
    reads = token_reads(steward)
    assert [me(server, secret) for _ in range(5)] == [200] * 5
    assert len(reads) == 1
    clock.now += 31
    assert me(server, secret) == 200
    assert len(reads) == 2


def test_a_revocation_through_this_server_takes_effect_at_once(
    server: TestClient, steward: Steward, admin: Caller
) -> None:
    token_id, secret = token_for(steward, admin, "bob")
    assert me(server, secret) == 200
    steward.identity.revoke_token(admin, token_id, reason="left")
    assert me(server, secret) == 401


def test_a_revocation_elsewhere_takes_effect_within_the_bound(
    server: TestClient, steward: Steward, elsewhere: Steward, admin: Caller, clock: Clock
) -> None:
    token_id, secret = token_for(steward, admin, "cy")
    assert me(server, secret) == 200
    elsewhere.identity.revoke_token(admin, token_id, reason="leaked")
    clock.now += 29
    assert me(server, secret) == 200  # the kept check, still within the bound
    clock.now += 2
    response = server.get(f"{API}/me", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 401
    assert "was revoked" in response.json()["error"]["message"]


def test_a_principal_disabled_elsewhere_is_refused_within_the_bound(
    server: TestClient, steward: Steward, admin: Caller, clock: Clock
) -> None:
    _, secret = token_for(steward, admin, "dee")
    assert me(server, secret) == 200
    with steward.store.engine.begin() as conn:  # as another process (or an operator) would
        conn.execute(text("UPDATE principals SET disabled = :t WHERE name = 'dee'"), {"t": True})
    clock.now += 31
    response = server.get(f"{API}/me", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 401
    assert "is disabled" in response.json()["error"]["message"]


def test_expiry_is_checked_on_every_request_of_a_kept_token(steward: Steward, admin: Caller) -> None:
    steward.identity.cache_authentication(300)
    soon = datetime.now(UTC) + timedelta(minutes=5)
    _, secret = token_for(steward, admin, "eve", expires_at=soon)
    assert steward.identity.authenticate(secret).name == "eve"
    with pytest.raises(Exception, match="has expired"):
        steward.identity.authenticate(secret, now=soon + timedelta(seconds=1))


def test_a_check_read_before_a_change_is_not_kept(
    steward: Steward, admin: Caller, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request that read the token just before this process revoked it must not keep that read."""
    steward.identity.cache_authentication(30, monotonic=clock)
    token_id, secret = token_for(steward, admin, "fay")
    real = steward.store.read

    @contextmanager
    def read_then_revoke(**kwargs: Any) -> Iterator[SqlTransaction]:
        with real(**kwargs) as tx:
            yield tx
        steward.identity.revoke_token(admin, token_id)  # commits between the read and the keeping

    monkeypatch.setattr(steward.store, "read", read_then_revoke)
    assert steward.identity.authenticate(secret).name == "fay"  # it read the state before
    monkeypatch.setattr(steward.store, "read", real)
    with pytest.raises(Exception, match="was revoked"):
        steward.identity.authenticate(secret)


def test_no_cache_reads_every_time_and_only_hashes_are_kept(steward: Steward, admin: Caller) -> None:
    _, secret = token_for(steward, admin, "gus")
    steward.identity.cache_authentication(0)
    reads = token_reads(steward)
    for _ in range(3):
        steward.identity.authenticate(secret)
    assert len(reads) == 3
    steward.identity.cache_authentication(30)
    steward.identity.authenticate(secret)
    kept = steward.identity._cache
    assert kept is not None
    assert list(kept._entries) == [hash_token(secret)]
    assert secret not in repr(kept._entries)
