"""Principals, API tokens and authentication.

A token is ``stw_`` followed by 43 random URL-safe characters. Only its SHA-256 hash is stored;
the secret is shown once, when it is created. ``prefix`` (the first characters) identifies a
token in listings without revealing it.

A server may keep what it read about a token (the token's row and its principal, keyed by the
token's hash: never the secret) for a bounded time, ``STEWARD_AUTH_CACHE_SECONDS``, instead of
reading it on every request. Expiry is still checked on every request; any change of a token or
a principal committed through this process empties the cache at once, so a revocation made here
takes effect immediately, and one made by another process within the bound.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

from steward import wire
from steward.domain import Action, ApiToken, AuditEvent, DomainEvent, Page, Principal
from steward.errors import InvalidInput, NotFound, Unauthenticated
from steward.service._caller import Caller
from steward.service._events import Clock, EventBus, writing
from steward.service._registry import utcnow
from steward.service._snapshots import snapshot
from steward.storage import SqlStore

TOKEN_PREFIX = "stw_"  # noqa: S105 (the public prefix of every token)


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class _TokenCache:
    """Token lookups kept for ``seconds``: ``hash → (token, principal, read at)``, least recently
    used dropped past ``size``. A lookup that started before :meth:`clear` is not kept (it may
    have read the state the clearing change replaced)."""

    def __init__(self, seconds: float, monotonic: Callable[[], float], size: int = 4096) -> None:
        self.seconds = seconds
        self.monotonic = monotonic
        self.size = size
        self.generation = 0
        self._entries: OrderedDict[str, tuple[ApiToken, Principal, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, digest: str) -> tuple[ApiToken, Principal] | None:
        with self._lock:
            found = self._entries.get(digest)
            if found is None:
                return None
            if self.monotonic() - found[2] >= self.seconds:
                del self._entries[digest]
                return None
            self._entries.move_to_end(digest)
            return found[0], found[1]

    def put(self, digest: str, found: tuple[ApiToken, Principal], generation: int, at: float) -> None:
        with self._lock:
            if generation != self.generation:
                return
            self._entries[digest] = (*found, at)
            self._entries.move_to_end(digest)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()


class IdentityService:
    def __init__(self, store: SqlStore, bus: EventBus, clock: Clock = utcnow) -> None:
        self.store = store
        self.bus = bus
        self.clock = clock
        self._cache: _TokenCache | None = None
        bus.after_commit(self._forget)

    def cache_authentication(self, seconds: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        """Keep token lookups for up to ``seconds`` (0: read the token on every request)."""
        self._cache = _TokenCache(seconds, monotonic) if seconds > 0 else None

    def _forget(self, event: AuditEvent) -> None:
        """After any committed change of a token or a principal, read them all again."""
        if self._cache is not None and event.subject_type in ("token", "principal"):
            self._cache.clear()

    def create_principal(self, caller: Caller, spec: wire.PrincipalCreate) -> Principal:
        caller.authorize(Action.PRINCIPAL_MANAGE)
        with writing(self.store, self.bus, caller.origin, self.clock) as w:
            stored = w.tx.identity.insert_principal(
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

    def list_principals(
        self, caller: Caller, page_size: int = 50, page_token: str | None = None
    ) -> Page[Principal]:
        """Principals by name."""
        caller.authorize(Action.PRINCIPAL_READ)
        with self.store.read() as tx:
            return tx.identity.list_principals(page_size, page_token)

    def get_principal(self, caller: Caller, name: str) -> Principal:
        caller.authorize(Action.PRINCIPAL_READ)
        with self.store.read() as tx:
            found = tx.identity.find_principal(name)
        if found is None:
            raise NotFound(f"principal {name!r} does not exist", {"principal": name})
        return found

    def has_principals(self) -> bool:
        with self.store.read() as tx:
            return tx.identity.count_principals() > 0

    def create_token(self, caller: Caller, spec: wire.TokenCreate) -> tuple[ApiToken, str]:
        """A new token and its secret (the only time the secret exists outside the caller)."""
        caller.authorize(Action.TOKEN_MANAGE)
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with writing(self.store, self.bus, caller.origin, self.clock) as w:
            if spec.expires_at is not None and spec.expires_at <= w.at:
                raise InvalidInput.field("expires_at", "future", "must be in the future")
            if w.tx.identity.find_principal(spec.principal) is None:
                raise NotFound(f"principal {spec.principal!r} does not exist", {"principal": spec.principal})
            token = w.tx.identity.insert_token(
                spec.principal, spec.name, secret[:12], hash_token(secret), w.at, spec.expires_at
            )
            w.emit(DomainEvent("token.created", "token", str(token.id), after=snapshot(token)))
        return token, secret

    def revoke_token(self, caller: Caller, token_id: int, reason: str = "") -> ApiToken:
        caller.authorize(Action.TOKEN_MANAGE)
        with writing(self.store, self.bus, caller.origin, self.clock) as w:
            before = w.tx.identity.get_token(token_id)
            token = w.tx.identity.revoke_token(token_id, w.at)
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

    def list_tokens(
        self,
        caller: Caller,
        principal: str | None = None,
        page_size: int = 50,
        page_token: str | None = None,
    ) -> Page[ApiToken]:
        """Tokens (of one principal), oldest first."""
        caller.authorize(Action.TOKEN_MANAGE)
        with self.store.read() as tx:
            return tx.identity.list_tokens(page_size, page_token, principal)

    def authenticate(self, secret: str, now: datetime | None = None) -> Principal:
        """The principal a bearer token belongs to, or :class:`Unauthenticated` saying why not."""
        digest = _digest(secret)
        cache = self._cache
        found = None if cache is None else cache.get(digest)
        if found is None:
            generation, started = (0, 0.0) if cache is None else (cache.generation, cache.monotonic())
            with self.store.read(statements=1) as tx:
                found = tx.identity.find_token(digest)
            if found is not None and cache is not None:
                cache.put(digest, found, generation, started)
        return self._checked(found, now)

    def authenticate_kept(self, secret: str, now: datetime | None = None) -> Principal | None:
        """:meth:`authenticate` from a kept check alone, with no I/O (an event loop may call it);
        ``None`` when the token must be read."""
        found = None if self._cache is None else self._cache.get(_digest(secret))
        return None if found is None else self._checked(found, now)

    def _checked(self, found: tuple[ApiToken, Principal] | None, now: datetime | None) -> Principal:
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


def _digest(secret: str) -> str:
    if not secret.startswith(TOKEN_PREFIX):
        raise Unauthenticated("the bearer token is not a Steward API token (they start with 'stw_')")
    return hash_token(secret)
