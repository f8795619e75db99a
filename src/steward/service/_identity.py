"""Principals, API tokens and authentication.

A token is ``stw_`` followed by 43 random URL-safe characters. Only its SHA-256 hash is stored;
the secret is shown once, when it is created. ``prefix`` (the first characters) identifies a
token in listings without revealing it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from steward import wire
from steward.domain import Action, ApiToken, DomainEvent, Principal
from steward.errors import InvalidInput, NotFound, Unauthenticated
from steward.service._caller import Caller
from steward.service._events import Clock, EventBus, writing
from steward.service._registry import utcnow
from steward.service._snapshots import snapshot
from steward.storage import SqlStore

TOKEN_PREFIX = "stw_"  # noqa: S105 (the public prefix of every token)


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class IdentityService:
    def __init__(self, store: SqlStore, bus: EventBus, clock: Clock = utcnow) -> None:
        self.store = store
        self.bus = bus
        self.clock = clock

    def create_principal(self, caller: Caller, spec: wire.PrincipalCreate) -> Principal:
        caller.authorize(Action.PRINCIPAL_MANAGE)
        with writing(self.store, self.bus, caller.origin, self.clock) as w:
            stored = w.tx.insert_principal(
                Principal(
                    name=spec.name,
                    roles=frozenset(spec.roles),
                    kind=spec.kind,
                    display_name=spec.display_name,
                    created_at=w.at,
                )
            )
            w.emit(DomainEvent("principal.created", "principal", stored.name, after=snapshot(stored)))
        return stored

    def list_principals(self, caller: Caller) -> list[Principal]:
        caller.authorize(Action.PRINCIPAL_READ)
        with self.store.read() as tx:
            return tx.list_principals()

    def has_principals(self) -> bool:
        with self.store.read() as tx:
            return tx.count_principals() > 0

    def create_token(self, caller: Caller, spec: wire.TokenCreate) -> tuple[ApiToken, str]:
        """A new token and its secret (the only time the secret exists outside the caller)."""
        caller.authorize(Action.TOKEN_MANAGE)
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with writing(self.store, self.bus, caller.origin, self.clock) as w:
            if spec.expires_at is not None and spec.expires_at <= w.at:
                raise InvalidInput.field("expires_at", "future", "must be in the future")
            if w.tx.find_principal(spec.principal) is None:
                raise NotFound(f"principal {spec.principal!r} does not exist", {"principal": spec.principal})
            token = w.tx.insert_token(
                spec.principal, spec.name, secret[:12], hash_token(secret), w.at, spec.expires_at
            )
            w.emit(DomainEvent("token.created", "token", str(token.id), after=snapshot(token)))
        return token, secret

    def revoke_token(self, caller: Caller, token_id: int, reason: str = "") -> ApiToken:
        caller.authorize(Action.TOKEN_MANAGE)
        with writing(self.store, self.bus, caller.origin, self.clock) as w:
            before = w.tx.get_token(token_id)
            token = w.tx.revoke_token(token_id, w.at)
            w.emit(
                DomainEvent(
                    "token.revoked",
                    "token",
                    str(token_id),
                    before=snapshot(before),
                    after=snapshot(token),
                    reason=reason,
                )
            )
        return token

    def list_tokens(self, caller: Caller, principal: str | None = None) -> list[ApiToken]:
        caller.authorize(Action.TOKEN_MANAGE)
        with self.store.read() as tx:
            return tx.list_tokens(principal)

    def authenticate(self, secret: str, now: datetime | None = None) -> Principal:
        """The principal a bearer token belongs to, or :class:`Unauthenticated` saying why not."""
        if not secret.startswith(TOKEN_PREFIX):
            raise Unauthenticated("the bearer token is not a Steward API token (they start with 'stw_')")
        with self.store.read() as tx:
            found = tx.find_token(hash_token(secret))
        if found is None:
            raise Unauthenticated("the bearer token is not known to this server")
        token, principal = found
        if token.revoked_at is not None:
            raise Unauthenticated(f"token {token.prefix}… was revoked")
        if token.expires_at is not None and token.expires_at <= (now or self.clock()):
            raise Unauthenticated(f"token {token.prefix}… has expired")
        if principal.disabled:
            raise Unauthenticated(f"principal {principal.name} is disabled")
        return principal
