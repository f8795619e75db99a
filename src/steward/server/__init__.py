"""The HTTP server: REST API (and, later, the web UI) over the one core object."""

from steward.server.app import API, create_app

__all__ = ["API", "create_app"]
