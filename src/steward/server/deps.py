"""Request dependencies: the core object and the authenticated caller."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, ParamSpec, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from steward.domain import Action, Origin
from steward.errors import Unauthenticated
from steward.server._threads import in_thread
from steward.service import Caller, Steward


async def get_steward(request: Request) -> Steward:
    steward: Steward = request.app.state.steward
    return steward


class _Authenticated(HTTPBearer):
    """The bearer scheme of the OpenAPI document and the caller it authenticates, as one
    dependency: FastAPI solves each declared one again on every request, and a scheme that only
    hands its credentials to another is one solve more."""

    async def __call__(self, request: Request) -> Caller:  # type: ignore[override]
        """The caller, on the event loop when the token's check is kept (no I/O, no thread), else
        from the database in the thread pool. (The core object is read from the app, not declared
        as a dependency, for the same reason.)"""
        credentials = await super().__call__(request)
        if credentials is None:
            raise Unauthenticated(
                "this endpoint needs an API token: send 'Authorization: Bearer stw_…' "
                "(create one with `steward token create NAME`)"
            )
        steward = await get_steward(request)
        secret = credentials.credentials
        principal = steward.identity.authenticate_kept(secret)
        if principal is None:
            principal = await in_thread(steward.identity.authenticate, secret)
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


get_caller = _Authenticated(
    scheme_name="HTTPBearer",
    auto_error=False,
    description="An API token: `Authorization: Bearer stw_…`",
)
"""The authenticated caller of a request (``CallerDep``)."""


P = ParamSpec("P")
T = TypeVar("T")


async def quick_read(steward: Steward, read: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``read(*args, **kwargs)``, a read use case of a few indexed queries, answered on the event
    loop when the store's reads do not wait (SQLite), else in the thread pool. A sync route runs
    in the pool and hands its answer back to the loop: two thread switches that cost more than
    such a read itself. Reads that compute (policy replays, evidence, verification) stay in sync
    routes, where they do not hold up other requests."""
    if steward.store.reads_wait:
        return await in_thread(read, *args, **kwargs)
    return read(*args, **kwargs)


StewardDep = Annotated[Steward, Depends(get_steward)]
CallerDep = Annotated[Caller, Depends(get_caller)]


def action(name: Action) -> dict[str, Any]:
    """OpenAPI extra naming the action a route performs (read by the role x route test and docs)."""
    return {"x-steward-action": name.value}
