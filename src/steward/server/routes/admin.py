"""The audit trail, principals and tokens, and who the caller is."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from steward import wire
from steward.domain import PERMISSIONS, Action
from steward.ledger import parse_verifiers
from steward.server.deps import CallerDep, StewardDep, action
from steward.server.routes._common import Instant, PageSize, PageToken
from steward.storage import AuditFilter
from steward.wire import page_out

router = APIRouter()


@router.get(
    "/audit/events",
    response_model=wire.Page[wire.AuditEventOut],
    tags=["audit"],
    openapi_extra=action(Action.AUDIT_READ),
)
def list_events(
    caller: CallerDep,
    steward: StewardDep,
    subject_type: Annotated[str | None, Query(max_length=64)] = None,
    subject_id: Annotated[str | None, Query(max_length=512)] = None,
    actor: Annotated[str | None, Query(max_length=256)] = None,
    audit_action: Annotated[str | None, Query(alias="action", max_length=64)] = None,
    since: Instant = None,
    until: Instant = None,
    page_size: PageSize = 100,
    page_token: PageToken = None,
) -> wire.Page[wire.AuditEventOut]:
    """Audit events in sequence order, filtered by subject, actor, action and time range."""
    where = AuditFilter(
        subject_type=subject_type,
        subject_id=subject_id,
        actor=actor,
        action=audit_action,
        since=since,
        until=until,
    )
    page = steward.audit.list_events(caller, where, page_size, page_token)
    return page_out(wire.AuditEventOut, page)


@router.get(
    "/audit/verify",
    response_model=wire.VerificationOut,
    tags=["audit"],
    openapi_extra=action(Action.AUDIT_READ),
)
def verify(
    caller: CallerDep,
    steward: StewardDep,
    key: Annotated[
        list[str] | None, Query(description="Verifier keys to trust (default: the log's own).")
    ] = None,
) -> wire.VerificationOut:
    """Recompute the hash chain and the Merkle tree, check every kept checkpoint's signature and
    root, and name the first event that does not match."""
    result = steward.audit.verify(caller, keys=parse_verifiers(key or []))
    return wire.VerificationOut(
        ok=result.ok,
        events=result.events,
        head_hash=result.head_hash,
        first_bad_seq=result.first_bad_seq,
        problem=result.problem,
    )


@router.post(
    "/principals",
    status_code=201,
    response_model=wire.PrincipalOut,
    tags=["identity"],
    openapi_extra=action(Action.PRINCIPAL_MANAGE),
)
def create_principal(body: wire.PrincipalCreate, caller: CallerDep, steward: StewardDep) -> wire.PrincipalOut:
    """Create a user or service account with its roles."""
    return wire.PrincipalOut.model_validate(steward.identity.create_principal(caller, body))


@router.get(
    "/principals",
    response_model=wire.Page[wire.PrincipalOut],
    tags=["identity"],
    openapi_extra=action(Action.PRINCIPAL_READ),
)
def list_principals(
    caller: CallerDep, steward: StewardDep, page_size: PageSize = 50, page_token: PageToken = None
) -> wire.Page[wire.PrincipalOut]:
    """Principals by name."""
    return page_out(wire.PrincipalOut, steward.identity.list_principals(caller, page_size, page_token))


@router.post(
    "/tokens",
    status_code=201,
    response_model=wire.TokenCreated,
    tags=["identity"],
    openapi_extra=action(Action.TOKEN_MANAGE),
)
def create_token(body: wire.TokenCreate, caller: CallerDep, steward: StewardDep) -> wire.TokenCreated:
    """Issue a token; the answer carries the secret, which is shown this once only."""
    token, secret = steward.identity.create_token(caller, body)
    return wire.TokenCreated(**wire.TokenOut.model_validate(token).model_dump(), token=secret)


@router.get(
    "/tokens",
    response_model=wire.Page[wire.TokenOut],
    tags=["identity"],
    openapi_extra=action(Action.TOKEN_MANAGE),
)
def list_tokens(
    caller: CallerDep,
    steward: StewardDep,
    principal: Annotated[str | None, Query(max_length=128)] = None,
    page_size: PageSize = 50,
    page_token: PageToken = None,
) -> wire.Page[wire.TokenOut]:
    """Tokens (of one principal), oldest first; never their secrets."""
    return page_out(wire.TokenOut, steward.identity.list_tokens(caller, principal, page_size, page_token))


@router.delete(
    "/tokens/{token_id}",
    response_model=wire.TokenOut,
    tags=["identity"],
    openapi_extra=action(Action.TOKEN_MANAGE),
)
def revoke_token(
    token_id: Annotated[int, Path(ge=1)],
    caller: CallerDep,
    steward: StewardDep,
    reason: Annotated[str, Query(max_length=256)] = "",
) -> wire.TokenOut:
    """Revoke a token: from then on it authenticates nothing; ``reason`` is kept in the audit event."""
    return wire.TokenOut.model_validate(steward.identity.revoke_token(caller, token_id, reason))


@router.get("/me", response_model=wire.WhoAmIOut, tags=["identity"])
def whoami(caller: CallerDep) -> wire.WhoAmIOut:
    """The caller's principal and every action its roles allow."""
    principal = caller.principal
    actions = sorted(a.value for a, roles in PERMISSIONS.items() if principal.roles & roles)
    return wire.WhoAmIOut(principal=wire.PrincipalOut.model_validate(principal), actions=actions)
