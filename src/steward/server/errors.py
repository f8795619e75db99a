"""The one table from error code to HTTP status, and the handlers that write the one error shape."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from steward.errors import StewardError

STATUS: dict[str, int] = {
    "invalid_input": 422,
    "not_found": 404,
    "already_exists": 409,
    "conflict": 409,
    "invalid_transition": 409,
    "policy_violation": 409,
    "unauthenticated": 401,
    "permission_denied": 403,
    "separation_of_duties": 403,
    "payload_too_large": 413,
    "integrity_error": 500,
    "unavailable": 503,
    "internal": 500,
    "method_not_allowed": 405,
}

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated",
               403: "permission_denied", 413: "payload_too_large"}


def error_response(code: str, message: str, details: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": details or {}}},
        status_code=STATUS.get(code, 500),
        headers=headers,
    )


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    path = ""
    for part in parts:
        path += f"[{part}]" if part.isdigit() else (f".{part}" if path else part)
    return path or ".".join(str(p) for p in loc)


def validation_details(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """pydantic's errors as ``{field, rule, message}`` (field as a dotted path)."""
    return [
        {"field": _field_path(tuple(e.get("loc", ()))), "rule": e.get("type", "invalid"),
         "message": e.get("msg", "invalid")}
        for e in errors
    ]


def install(app: FastAPI) -> None:
    @app.exception_handler(StewardError)
    async def _steward(_: Request, exc: StewardError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.code == "unauthenticated" else None
        return error_response(exc.code, exc.message, exc.details, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = validation_details(list(exc.errors()))
        first = details[0] if details else {"field": "body", "message": "invalid"}
        more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
        return error_response(
            "invalid_input", f"{first['field']}: {first['message']}{more}", {"errors": details}
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "internal")
        response = error_response(code, str(exc.detail))
        response.status_code = exc.status_code
        return response

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:  # pragma: no cover
        return error_response("internal", f"unexpected server error: {type(exc).__name__}")
