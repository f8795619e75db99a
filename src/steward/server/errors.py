"""The one table from error code to HTTP status, and the handlers that write the one error shape."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match

from steward.errors import StewardError
from steward.wire import invalid_input

STATUS: dict[str, int] = {
    "invalid_input": 422,
    "not_found": 404,
    "already_exists": 409,
    "conflict": 409,
    "invalid_transition": 409,
    "policy_violation": 409,
    "policy_test_failed": 422,
    "unauthenticated": 401,
    "permission_denied": 403,
    "separation_of_duties": 403,
    "payload_too_large": 413,
    "integrity_error": 500,
    "unavailable": 503,
    "internal": 500,
    "method_not_allowed": 405,
}

_HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    401: "unauthenticated",
    403: "permission_denied",
    413: "payload_too_large",
}


def error_response(
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": details or {}}},
        status_code=STATUS.get(code, 500),
        headers=headers,
    )


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

# Requests the API no longer takes, and what to use instead (the 405 that answers them says so).
REPLACED: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/models/{name}/deployments"): (
        "deployments are not recorded directly: a version reaches an environment through the "
        "approval workflow, POST /api/v1/models/{name}/versions/{version}/promotions "
        "(steward promote MODEL VERSION --to ENVIRONMENT), or goes back with a rollback"
    ),
}
_REPLACED = [
    (method, re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template)) + "$"), use)
    for (method, template), use in REPLACED.items()
]


def allowed_methods(routes: list[BaseRoute], path: str, root_path: str = "") -> list[str]:
    """Every method some route of ``routes`` fully matches on ``path`` (for ``Allow``)."""

    def taken(method: str) -> bool:
        for route in routes:
            probe = {"type": "http", "path": path, "root_path": root_path, "method": method}
            if route.matches(probe)[0] == Match.FULL:
                return True
        return False

    return [method for method in _METHODS if taken(method)]


def _method_not_allowed(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """405 naming every method the resource takes, in ``Allow`` too (RFC 9110 §15.5.6): the
    router stops at the first route whose path matches, which knows only its own methods."""
    path, method = request.scope["path"], request.method
    allowed = allowed_methods(request.app.router.routes, path, request.scope.get("root_path", ""))
    if method in allowed or not allowed:  # routed, then refused inside (a mount): it knows best
        allowed = [m.strip() for m in (exc.headers or {}).get("Allow", "").split(",") if m.strip()]
    message = f"{method} is not allowed on {path}; it allows {', '.join(allowed) or 'no method'}"
    details: dict[str, Any] = {"method": method, "allowed": allowed}
    use = next((u for m, pattern, u in _REPLACED if m == method and pattern.match(path)), None)
    if use is not None:
        message, details["use"] = f"{message}: {use}", use
    return error_response("method_not_allowed", message, details, headers={"Allow": ", ".join(allowed)})


def install(app: FastAPI) -> None:
    @app.exception_handler(StewardError)
    async def _steward(_: Request, exc: StewardError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.code == "unauthenticated" else None
        return error_response(exc.code, exc.message, exc.details, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        error = invalid_input(list(exc.errors()))
        return error_response(error.code, error.message, error.details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 405:
            return _method_not_allowed(request, exc)
        code = _HTTP_CODES.get(exc.status_code, "internal")
        response = error_response(code, str(exc.detail), headers=dict(exc.headers or {}))
        response.status_code = exc.status_code
        return response

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:  # pragma: no cover
        return error_response("internal", f"unexpected server error: {type(exc).__name__}")
