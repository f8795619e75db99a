"""What every page shares: templates, the signed-in viewer, CSRF enforcement, HTML error pages.

Pages are routes of :class:`PageRoute`, which (1) refuses any non-GET request whose form or
``X-CSRF-Token`` header does not carry the session's CSRF token, (2) turns the service's errors
into readable HTML pages with the status of the one code→status table, and (3) sends a visitor
without a session to the sign-in page. Pages call the same service use cases as the REST API with
a :class:`~steward.service.Caller`, so the same role table decides what each role may see.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse, RedirectResponse, Response

from steward import __version__
from steward.domain import Action, Origin, Principal, Role, allowed
from steward.errors import StewardError, Unauthenticated
from steward.server._access import CALLER_STATE
from steward.server._threads import in_thread
from steward.server.errors import STATUS
from steward.server.ui._session import CSRF_FIELD, CSRF_HEADER, FLASH_COOKIE, Session, SessionCodec
from steward.service import Caller, Steward
from steward.wire import invalid_input

STATIC = "/ui/static"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

ROLE_NAMES: dict[Role, str] = {
    Role.ADMIN: "Administrator",
    Role.DATA_SCIENTIST: "Data scientist",
    Role.ML_ENGINEER: "ML engineer",
    Role.VALIDATOR: "Model validator",
    Role.COMPLIANCE_OFFICER: "Compliance officer",
    Role.BUSINESS_OWNER: "Business owner",
    Role.AUDITOR: "Auditor",
}

# (label, path, the action a role needs to see the page)
NAVIGATION: tuple[tuple[str, str, Action], ...] = (
    ("Inventory", "/", Action.MODEL_READ),
    ("Review queue", "/reviews", Action.VERSION_READ),
    ("Audit", "/audit", Action.AUDIT_READ),
    ("Dashboard", "/dashboard", Action.MODEL_READ),
)

# Content-Security-Policy of every page: nothing but this origin, no inline script or style.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class SignInRequired(Exception):
    """No session, or its token no longer authenticates: go to the sign-in page."""

    def __init__(self, ended: bool = False) -> None:
        super().__init__("sign-in required")
        self.ended = ended


class CsrfRefused(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in person: the service caller and the session it came with."""

    caller: Caller
    session: Session

    @property
    def principal(self) -> Principal:
        return self.caller.principal

    def may(self, action: Action) -> bool:
        return allowed(self.principal, action)

    @property
    def role_names(self) -> list[str]:
        return [ROLE_NAMES[r] for r in sorted(self.principal.roles)]


@dataclass
class UiState:
    """Built once by ``install``: the session codec and the template environment."""

    codec: SessionCodec
    templates: Environment


def make_templates() -> Environment:
    env = Environment(
        loader=PackageLoader("steward.server.ui", "templates"),
        autoescape=select_autoescape(["html", "svg"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["when"] = format_time
    env.filters["day"] = format_day
    env.filters["short"] = short_digest
    env.filters["label"] = humanise
    env.filters["duration"] = format_duration
    env.globals["STATIC"] = STATIC
    env.globals["version"] = __version__
    return env


def format_time(value: datetime | str | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.strftime("%Y-%m-%d %H:%M UTC")


def format_day(value: date | None) -> str:
    return "—" if value is None else value.isoformat()


def format_duration(seconds: int) -> str:
    """How long something has waited, to the two largest units: ``3 days 4 h``, ``25 min``."""
    if seconds < 60:
        return "less than a minute"
    minutes, hours, days = seconds // 60 % 60, seconds // 3600 % 24, seconds // 86400
    if days:
        return f"{days} day{'' if days == 1 else 's'}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    return f"{minutes} min"


def short_digest(value: str | None, keep: int = 12) -> str:
    if not value:
        return "—"
    head, _, tail = value.partition(":")
    body = tail or head
    return f"{head + ':' if tail else ''}{body[:keep]}…" if len(body) > keep else value


def humanise(value: object) -> str:
    return str(getattr(value, "value", value)).replace("_", " ")


def ui_state(request: Request) -> UiState:
    state: UiState = request.app.state.ui
    return state


def steward_of(request: Request) -> Steward:
    steward: Steward = request.app.state.steward
    return steward


def origin_of(request: Request, actor: str) -> Origin:
    return Origin(
        actor=actor,
        request_id=request.scope.get("state", {}).get("request_id", ""),
        client_address=request.client.host if request.client else "",
        user_agent=request.headers.get("user-agent", "")[:512],
    )


def current_viewer(request: Request) -> Viewer:
    """The signed-in viewer, its token checked again on this request."""
    session = ui_state(request).codec.read(request)
    if session is None or session.token is None:
        raise SignInRequired
    try:
        principal = steward_of(request).identity.authenticate(session.token)
    except Unauthenticated as exc:
        raise SignInRequired(ended=True) from exc
    viewer = Viewer(Caller(principal, origin_of(request, principal.name)), session)
    request.state.ui_viewer = viewer
    setattr(request.state, CALLER_STATE, viewer.caller)  # pages take part in the read access log
    return viewer


ViewerDep = Annotated[Viewer, Depends(current_viewer)]


def is_htmx(request: Request, target: str | None = None) -> bool:
    """An htmx request (optionally: one that swaps the element with id ``target``)."""
    if request.headers.get("hx-request") != "true":
        return False
    return target is None or request.headers.get("hx-target") == target


def query_string(params: Mapping[str, object]) -> str:
    """``?a=1&b=2`` of the parameters that have a value (empty when none)."""
    kept = {k: str(v) for k, v in params.items() if v not in (None, "", False)}
    return "?" + urlencode(kept) if kept else ""


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    viewer: Viewer | None = None,
    session: Session | None = None,
) -> HTMLResponse:
    """Render a page (or a fragment) with what every page needs: viewer, navigation, CSRF token,
    and (on a whole page) the flash message a form's post left, which it then clears."""
    viewer = viewer or getattr(request.state, "ui_viewer", None)
    session = session or (viewer.session if viewer else None)
    nav = (
        [(label, path) for label, path, need in NAVIGATION if viewer.may(need)] if viewer is not None else []
    )
    state = ui_state(request)
    flashed = FLASH_COOKIE in request.cookies and not is_htmx(request)
    flash = state.codec.read_flash(request, session) if flashed and session is not None else None
    page = state.templates.get_template(template)
    body = page.render(
        {
            "request": request,
            "path": request.url.path,
            "viewer": viewer,
            "nav": nav,
            "csrf_field": CSRF_FIELD,
            "csrf_token": session.csrf if session else "",
            "flash": flash,
            **(context or {}),
        }
    )
    response = HTMLResponse(body, status_code=status)
    if flashed:
        state.codec.clear_flash(request, response)
    return response


def error_page(request: Request, status: int, title: str, message: str, details: Any = None) -> HTMLResponse:
    return render(
        request,
        "error.html",
        {"status": status, "title": title, "message": message, "details": details or {}},
        status=status,
    )


_TITLES = {
    401: "Sign-in needed",
    403: "Not allowed",
    404: "Not found",
    409: "Refused",
    422: "Invalid request",
    503: "Unavailable",
}


def _steward_error_page(request: Request, exc: StewardError) -> HTMLResponse:
    status = STATUS.get(exc.code, 500)
    return error_page(request, status, _TITLES.get(status, "Error"), exc.message, exc.details)


def sign_in_redirect(request: Request, ended: bool) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = "/signin" + query_string({"next": target if target != "/" else "", "ended": int(ended)})
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


async def check_csrf(request: Request) -> None:
    """Refuse an unsafe request whose form or header lacks this session's CSRF token."""
    session = ui_state(request).codec.read(request)
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if session is None or not session.csrf_matches(given):
        raise CsrfRefused


def secure(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


class PageRoute(APIRoute):
    """A UI route: CSRF on unsafe methods, HTML error pages, sign-in redirects, security headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                if request.method not in SAFE_METHODS:
                    await check_csrf(request)
                response = await handle(request)
            except SignInRequired as exc:
                response = sign_in_redirect(request, exc.ended)
            except CsrfRefused:
                with contextlib.suppress(SignInRequired):
                    await in_thread(current_viewer, request)  # the page still shows who is in
                response = error_page(
                    request,
                    403,
                    "Form refused",
                    "The form did not carry this session's CSRF token, so it was not acted on. "
                    "Reload the page and try again.",
                )
            except StewardError as exc:
                response = _steward_error_page(request, exc)
            except RequestValidationError as exc:
                error = invalid_input(list(exc.errors()))
                response = error_page(request, 422, _TITLES[422], error.message, error.details)
            return secure(response)

        return page


def reads(action: Action) -> dict[str, Any]:
    """Route extra naming the action a page performs (the read access log notes record reads)."""
    return {"x-steward-action": action.value}


def model_href(name: str) -> str:
    return "/models/" + quote(name, safe="")
