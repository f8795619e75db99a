"""One kept-alive HTTP connection with the standard library's ``http.client``, the client the REST
benchmarks time every server through. httpx spent about a millisecond of its own per request on
a two-core machine (a no-op route answered in 1.49 ms through it, 0.34 ms through this), time no
server spends; ``library="httpx"`` sends through httpx instead, to compare."""

from __future__ import annotations

import http.client
import json
import urllib.parse
from typing import Any

import httpx


class KeepAlive:
    def __init__(
        self, base: str, headers: dict[str, str] | None = None, library: str = "http.client"
    ) -> None:
        parts = urllib.parse.urlsplit(base)
        self.prefix = parts.path.rstrip("/")
        self.headers = {"Host": parts.netloc, **(headers or {})}
        self.httpx = httpx.Client(base_url=base, headers=headers, timeout=60) if library == "httpx" else None
        self.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)

    def get(self, path: str, params: dict[str, object] | None = None) -> tuple[int, bytes]:
        """``(status, body)`` of ``GET prefix+path?params``."""
        if self.httpx is not None:
            response = self.httpx.get(path, params=params)  # type: ignore[arg-type]
            return response.status_code, response.content
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        return self._send("GET", f"{self.prefix}{path}{query}", None, self.headers)

    def post(self, path: str, body: Any) -> tuple[int, bytes]:
        """``(status, body)`` of ``POST prefix+path`` with ``body`` as JSON."""
        if self.httpx is not None:
            response = self.httpx.post(path, json=body)
            return response.status_code, response.content
        headers = {**self.headers, "Content-Type": "application/json"}
        return self._send("POST", f"{self.prefix}{path}", json.dumps(body).encode(), headers)

    def _send(
        self, method: str, target: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        try:
            self.conn.request(method, target, body=body, headers=headers)
            response = self.conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionError):  # idle past the server's keep-alive
            self.conn.close()
            self.conn.request(method, target, body=body, headers=headers)
            response = self.conn.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        self.conn.close()
        if self.httpx is not None:
            self.httpx.close()


def get_many(base: str, headers: dict[str, str], path: str, count: int) -> None:
    """``GET path`` ``count`` times over one connection; raises on the first answer that is not 200.
    Module-level so a benchmark can run it in client processes of its own."""
    http = KeepAlive(base, headers)
    try:
        for _ in range(count):
            status, body = http.get(path)
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}: {body[:200]!r}")
    finally:
        http.close()
