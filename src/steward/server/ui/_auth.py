"""Sign-in with an API token (exchanged for a session cookie) and sign-out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from steward.errors import Unauthenticated
from steward.server.ui._session import Session
from steward.server.ui._web import PageRoute, render, steward_of, ui_state

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only a path on this site (never ``//host`` or a scheme), so sign-in cannot redirect away."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _form(
    request: Request,
    session: Session,
    *,
    next_path: str,
    error: str | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    response = render(
        request,
        "signin.html",
        {
            "next_path": next_path,
            "error": error,
            "notice": notice,
            "first_run": not steward_of(request).identity.has_principals(),
        },
        status=status,
        session=session,
    )
    ui_state(request).codec.write(request, response, session)
    return response


@router.get("/signin")
def signin_page(
    request: Request,
    next_path: Annotated[str | None, Query(alias="next", max_length=2048)] = None,
    ended: Annotated[int, Query(ge=0, le=1)] = 0,
    signed_out: Annotated[int, Query(ge=0, le=1)] = 0,
) -> Response:
    codec = ui_state(request).codec
    current = codec.read(request)
    if current is not None and current.token is not None and not ended:
        try:
            steward_of(request).identity.authenticate(current.token)
            return RedirectResponse(safe_next(next_path), status_code=303)
        except Unauthenticated:
            pass
    # a fresh anonymous session (and so a fresh CSRF token) for the sign-in form
    session = current if current is not None and current.token is None else Session.fresh()
    notice = None
    if ended:
        notice = "Your session ended: its token was revoked or expired, or the session timed out."
    elif signed_out:
        notice = "You are signed out."
    return _form(request, session, next_path=safe_next(next_path), notice=notice)


@router.post("/signin")
def signin(
    request: Request,
    token: Annotated[str, Form(max_length=512)] = "",
    next_path: Annotated[str, Form(alias="next", max_length=2048)] = "/",
) -> Response:
    codec = ui_state(request).codec
    current = codec.read(request) or Session.fresh()
    secret = token.strip()
    if not secret:
        return _form(
            request, current, next_path=safe_next(next_path), error="Enter an API token.", status=401
        )
    try:
        steward_of(request).identity.authenticate(secret)
    except Unauthenticated as exc:
        return _form(request, current, next_path=safe_next(next_path), error=exc.message, status=401)
    response = RedirectResponse(safe_next(next_path), status_code=303)
    codec.write(request, response, Session.fresh(token=secret))  # a new session, a new CSRF token
    return response


@router.post("/signout")
def signout(request: Request) -> Response:
    response = RedirectResponse("/signin?signed_out=1", status_code=303)
    ui_state(request).codec.clear(request, response)
    return response
