"""The web UI: server-rendered pages over the same service layer as the REST API.

:func:`install` mounts the pages (inventory at ``/``, model pages, review queue, audit browser,
dashboard, sign-in) and the static assets shipped with the package (``/ui/static``). Pages sign
people in with an API token exchanged for a sealed session cookie, refuse form posts without the
session's CSRF token, and ask the service with the viewer as the caller, so the role table that
guards the API guards every page too.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from steward.server.ui import _audit, _auth, _pages, _reviews
from steward.server.ui._session import SessionCodec
from steward.server.ui._web import STATIC, UiState, make_templates
from steward.settings import Settings

__all__ = ["install"]


def install(app: FastAPI) -> None:
    """Mount the UI on ``app`` (built by ``create_app``; reads ``app.state.settings``)."""
    settings: Settings = app.state.settings
    secret = settings.session_secret.get_secret_value() if settings.session_secret else None
    app.state.ui = UiState(codec=SessionCodec(secret), templates=make_templates())
    app.mount(STATIC, StaticFiles(directory=Path(__file__).parent / "static"), name="ui-static")
    for module in (_auth, _pages, _reviews, _audit):
        app.include_router(module.router)
