"""Request dependencies: the core object and the authenticated caller."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from steward.domain import Action, Origin
from steward.errors import Unauthenticated
from steward.service import Caller, Steward

_bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer stw_…`")


async def get_steward(request: Request) -> Steward:
    steward: Steward = request.app.state.steward
    return steward


async def get_caller(
    request: Request,
    steward: Annotated[Steward, Depends(get_steward)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The caller, on the event loop when the token's check is kept (no I/O, no thread), else
    from the database in the thread pool."""
    if credentials is None:
        raise Unauthenticated(
            "this endpoint needs an API token: send 'Authorization: Bearer stw_…' "
            "(create one with `steward token create NAME`)"
        )
    secret = credentials.credentials
    principal = steward.identity.authenticate_kept(secret)
    if principal is None:
        principal = await run_in_threadpool(steward.identity.authenticate, secret)
    client = request.client.host if request.client else ""
    origin = Origin(
        actor=principal.name,
        request_id=request.scope.get("state", {}).get("request_id", ""),
        client_address=client,
        user_agent=request.headers.get("user-agent", "")[:512],
    )
    caller = Caller(principal, origin)
    request.state.steward_caller = caller  # for the read access log (server/_access.py)
    return caller


StewardDep = Annotated[Steward, Depends(get_steward)]
CallerDep = Annotated[Caller, Depends(get_caller)]


def action(name: Action) -> dict[str, Any]:
    """OpenAPI extra naming the action a route performs (read by the role x route test and docs)."""
    return {"x-steward-action": name.value}
