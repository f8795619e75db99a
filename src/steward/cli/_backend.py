"""Where CLI commands go: the local database (through the service) or a server (through the SDK).

Both backends answer with the API's response schemas, so every command prints the same thing
whichever way it went.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from steward import wire
from steward.client import Client
from steward.ledger import parse_verifiers
from steward.service import Caller, Steward, Verification, local_operator
from steward.storage import AuditFilter, ModelFilter, VersionFilter


class Backend(Protocol):
    def create_model(self, spec: wire.ModelCreate) -> wire.ModelOut: ...
    def get_model(self, name: str) -> wire.ModelOut: ...
    def update_model(self, name: str, spec: wire.ModelUpdate) -> wire.ModelOut: ...
    def list_models(
        self,
        *,
        owner: str | None,
        risk_tier: str | None,
        state: str | None,
        scope: str | None,
        tags: Mapping[str, str] | None,
        q: str | None,
        page_size: int,
        page_token: str | None,
    ) -> wire.Page[wire.ModelOut]: ...
    def register_version(self, model: str, spec: wire.VersionCreate) -> wire.VersionOut: ...
    def get_version(self, model: str, version: int) -> wire.VersionOut: ...
    def search_versions(
        self,
        *,
        model: str | None,
        owner: str | None,
        state: str | None,
        tags: Mapping[str, str] | None,
        page_size: int,
        page_token: str | None,
    ) -> wire.Page[wire.VersionOut]: ...
    def lineage(self, model: str, version: int) -> wire.LineageOut: ...
    def list_events(
        self,
        *,
        subject_type: str | None,
        subject_id: str | None,
        actor: str | None,
        action: str | None,
        since: datetime | None,
        until: datetime | None,
        page_size: int,
        page_token: str | None,
    ) -> wire.Page[wire.AuditEventOut]: ...
    def verify_audit(self, keys: Sequence[str] = ()) -> wire.VerificationOut: ...
    def create_principal(self, spec: wire.PrincipalCreate) -> wire.PrincipalOut: ...
    def list_principals(
        self, *, page_size: int = 50, page_token: str | None = None
    ) -> wire.Page[wire.PrincipalOut]: ...
    def create_token(self, spec: wire.TokenCreate) -> wire.TokenCreated: ...
    def list_tokens(
        self, principal: str | None = None, *, page_size: int = 50, page_token: str | None = None
    ) -> wire.Page[wire.TokenOut]: ...
    def revoke_token(self, token_id: int, reason: str = "") -> wire.TokenOut: ...
    def close(self) -> None: ...


T = TypeVar("T")


def follow_pages(fetch: Callable[[int, str | None], wire.Page[T]], limit: int) -> list[T]:
    """Up to ``limit`` items of a paged listing, page after page: what a listing command prints
    (``--json``: one JSON array of them)."""
    items: list[T] = []
    token = None
    while len(items) < limit:
        page = fetch(min(1000, limit - len(items)), token)
        items.extend(page.items)
        token = page.next_page_token
        if not token:
            break
    return items


def verification_out(result: Verification) -> wire.VerificationOut:
    return wire.VerificationOut(
        ok=result.ok,
        events=result.events,
        head_hash=result.head_hash,
        first_bad_seq=result.first_bad_seq,
        problem=result.problem,
    )


class LocalBackend:
    """The service on the database itself, acting as the local operator (``local:<os user>``)."""

    def __init__(self, steward: Steward, caller: Caller | None = None) -> None:
        self.steward = steward
        self.caller = caller or local_operator()

    def close(self) -> None:
        self.steward.close()

    def create_model(self, spec: wire.ModelCreate) -> wire.ModelOut:
        return wire.ModelOut.model_validate(self.steward.registry.create_model(self.caller, spec))

    def get_model(self, name: str) -> wire.ModelOut:
        return wire.ModelOut.model_validate(self.steward.registry.get_model(self.caller, name))

    def update_model(self, name: str, spec: wire.ModelUpdate) -> wire.ModelOut:
        return wire.ModelOut.model_validate(self.steward.registry.update_model(self.caller, name, spec))

    def list_models(
        self,
        *,
        owner: str | None,
        risk_tier: str | None,
        state: str | None,
        scope: str | None,
        tags: Mapping[str, str] | None,
        q: str | None,
        page_size: int,
        page_token: str | None,
    ) -> wire.Page[wire.ModelOut]:
        where = ModelFilter(
            owner=owner,
            risk_tier=risk_tier,
            state=state,
            scope=scope,
            tags=tuple((tags or {}).items()),
            text=q,
        )
        result: wire.Page[wire.ModelOut] = wire.page_out(
            wire.ModelOut,
            self.steward.registry.list_models(self.caller, where, page_size, page_token),
        )
        return result

    def register_version(self, model: str, spec: wire.VersionCreate) -> wire.VersionOut:
        return wire.VersionOut.model_validate(
            self.steward.registry.register_version(self.caller, model, spec)
        )

    def get_version(self, model: str, version: int) -> wire.VersionOut:
        return wire.VersionOut.model_validate(self.steward.registry.get_version(self.caller, model, version))

    def search_versions(
        self,
        *,
        model: str | None,
        owner: str | None,
        state: str | None,
        tags: Mapping[str, str] | None,
        page_size: int,
        page_token: str | None,
    ) -> wire.Page[wire.VersionOut]:
        where = VersionFilter(model=model, owner=owner, state=state, tags=tuple((tags or {}).items()))
        result: wire.Page[wire.VersionOut] = wire.page_out(
            wire.VersionOut,
            self.steward.registry.search_versions(self.caller, where, page_size, page_token),
        )
        return result

    def lineage(self, model: str, version: int) -> wire.LineageOut:
        return wire.LineageOut.model_validate(self.steward.registry.lineage(self.caller, model, version))

    def list_events(
        self,
        *,
        subject_type: str | None,
        subject_id: str | None,
        actor: str | None,
        action: str | None,
        since: datetime | None,
        until: datetime | None,
        page_size: int,
        page_token: str | None,
    ) -> wire.Page[wire.AuditEventOut]:
        where = AuditFilter(
            subject_type=subject_type,
            subject_id=subject_id,
            actor=actor,
            action=action,
            since=since,
            until=until,
        )
        result: wire.Page[wire.AuditEventOut] = wire.page_out(
            wire.AuditEventOut,
            self.steward.audit.list_events(self.caller, where, page_size, page_token),
        )
        return result

    def verify_audit(self, keys: Sequence[str] = ()) -> wire.VerificationOut:
        return verification_out(self.steward.audit.verify(self.caller, keys=parse_verifiers(keys)))

    def create_principal(self, spec: wire.PrincipalCreate) -> wire.PrincipalOut:
        return wire.PrincipalOut.model_validate(self.steward.identity.create_principal(self.caller, spec))

    def list_principals(
        self, *, page_size: int = 50, page_token: str | None = None
    ) -> wire.Page[wire.PrincipalOut]:
        found = self.steward.identity.list_principals(self.caller, page_size, page_token)
        result: wire.Page[wire.PrincipalOut] = wire.page_out(wire.PrincipalOut, found)
        return result

    def create_token(self, spec: wire.TokenCreate) -> wire.TokenCreated:
        token, secret = self.steward.identity.create_token(self.caller, spec)
        return wire.TokenCreated(**wire.TokenOut.model_validate(token).model_dump(), token=secret)

    def list_tokens(
        self, principal: str | None = None, *, page_size: int = 50, page_token: str | None = None
    ) -> wire.Page[wire.TokenOut]:
        found = self.steward.identity.list_tokens(self.caller, principal, page_size, page_token)
        result: wire.Page[wire.TokenOut] = wire.page_out(wire.TokenOut, found)
        return result

    def revoke_token(self, token_id: int, reason: str = "") -> wire.TokenOut:
        return wire.TokenOut.model_validate(self.steward.identity.revoke_token(self.caller, token_id, reason))


class RemoteBackend(Client):
    """The SDK client already has the backend's methods; this names it for the CLI."""

    def __init__(self, server: str, token: str | None) -> None:
        super().__init__(server, token, user_agent="steward-cli")
