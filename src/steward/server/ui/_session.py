"""The web UI's session: a sealed cookie, the signed-in token inside it, and the CSRF token.

The cookie is sealed with Fernet (AES-CBC encrypted and HMAC-SHA256 signed, with its issue time),
so it can be neither read nor forged without the server's key, and it expires
:data:`SESSION_SECONDS` after sign-in. It holds the API token the user signed in with; every request
re-checks that token through ``IdentityService.authenticate``, so a revoked or expired token, or a
disabled principal, ends the session at once (a change made by another process, within
``STEWARD_AUTH_CACHE_SECONDS``). Every session (signed in or not) carries a random
CSRF token that each form posts back; a post without the matching token is refused.

A flash message (the confirmation a page shows once, after a form's post redirected to it) rides
in a second sealed cookie that lives :data:`FLASH_SECONDS` and is bound to the session's CSRF
token, so it shows only in the session that posted the form.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from starlette.requests import Request
from starlette.responses import Response

COOKIE = "steward_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SESSION_SECONDS = 8 * 3600
FLASH_COOKIE = "steward_flash"
FLASH_SECONDS = 120


@dataclass(frozen=True, slots=True)
class Flash:
    """A one-time confirmation: its text, and a link on this site to what it is about."""

    message: str
    href: str | None = None
    label: str = ""


@dataclass(frozen=True, slots=True)
class Session:
    """What the cookie carries: the CSRF token and, once signed in, the API token."""

    csrf: str
    token: str | None = None

    @classmethod
    def fresh(cls, token: str | None = None) -> Session:
        return cls(csrf=secrets.token_urlsafe(32), token=token)

    def csrf_matches(self, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(self.csrf.encode(), (given or "").encode())


class SessionCodec:
    """Seals sessions into cookie values and opens them again (``None`` when forged or expired)."""

    def __init__(self, secret: str | None) -> None:
        material = (
            hashlib.sha256(b"steward-ui-session-v1\x00" + secret.encode()).digest()
            if secret
            else secrets.token_bytes(32)
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(material))

    def seal(self, session: Session) -> str:
        body = {"csrf": session.csrf, "token": session.token}
        sealed = self._fernet.encrypt(json.dumps(body, separators=(",", ":")).encode()).decode()
        return sealed.rstrip("=")  # base64url without padding: a cookie value that needs no quoting

    def open(self, value: str | None) -> Session | None:
        if not value:
            return None
        try:
            padded = value + "=" * (-len(value) % 4)
            body = json.loads(self._fernet.decrypt(padded.encode(), ttl=SESSION_SECONDS))
        except (InvalidToken, ValueError):
            return None
        if not isinstance(body, dict) or not isinstance(body.get("csrf"), str):
            return None
        token = body.get("token")
        return Session(csrf=body["csrf"], token=token if isinstance(token, str) else None)

    def read(self, request: Request) -> Session | None:
        return self.open(request.cookies.get(COOKIE))

    def write(self, request: Request, response: Response, session: Session) -> None:
        response.set_cookie(
            COOKIE,
            self.seal(session),
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )

    def clear(self, request: Request, response: Response) -> None:
        response.delete_cookie(
            COOKIE, httponly=True, samesite="lax", secure=request.url.scheme == "https", path="/"
        )

    # -- flash messages ----------------------------------------------------------------------

    def write_flash(self, request: Request, response: Response, session: Session, flash: Flash) -> None:
        body = {"csrf": session.csrf, "message": flash.message, "href": flash.href, "label": flash.label}
        sealed = self._fernet.encrypt(json.dumps(body, separators=(",", ":")).encode()).decode()
        response.set_cookie(
            FLASH_COOKIE,
            sealed.rstrip("="),
            max_age=FLASH_SECONDS,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )

    def read_flash(self, request: Request, session: Session) -> Flash | None:
        """The flash this session's last post left (``None``: none, expired, forged or another
        session's)."""
        value = request.cookies.get(FLASH_COOKIE)
        if not value:
            return None
        try:
            padded = value + "=" * (-len(value) % 4)
            body = json.loads(self._fernet.decrypt(padded.encode(), ttl=FLASH_SECONDS))
        except (InvalidToken, ValueError):
            return None
        if not isinstance(body, dict) or not isinstance(body.get("csrf"), str):
            return None
        message, href, label = body.get("message"), body.get("href"), body.get("label")
        if not session.csrf_matches(body["csrf"]) or not isinstance(message, str):
            return None
        local = isinstance(href, str) and href.startswith("/") and not href.startswith("//")
        return Flash(message, href if local else None, label if isinstance(label, str) else "")

    def clear_flash(self, request: Request, response: Response) -> None:
        response.delete_cookie(
            FLASH_COOKIE, httponly=True, samesite="lax", secure=request.url.scheme == "https", path="/"
        )
