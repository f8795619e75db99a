"""``steward.Client``: the REST API as Python calls.

Every method returns the API's own response schema (``steward.wire.*Out``) and raises the same
:mod:`steward.errors` classes the service raises, rebuilt from the error's ``code``. The transport
is injectable: pass any ``httpx.BaseTransport`` (a real server is the default; tests pass an
in-process app or a recorded exchange).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from steward import wire
from steward.errors import ServerError, StewardError, Unavailable, error_for_code

M = TypeVar("M", bound=BaseModel)
API = "/api/v1"


class Client:
    """A session with one Steward server.

    >>> client = Client("http://127.0.0.1:8080", token="stw_…")  # doctest: +SKIP
    >>> client.get_model("credit-risk").risk_tier                 # doctest: +SKIP
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        user_agent: str = "steward-sdk",
    ) -> None:
        headers = {"User-Agent": user_agent}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers, transport=transport, timeout=timeout
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- plumbing ----------------------------------------------------------------------------

    def _request(
        self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None
    ) -> Any:
        clean = {k: v for k, v in (params or {}).items() if v is not None and v != []}
        try:
            response = self._http.request(method, API + path, json=json, params=clean)
        except httpx.TransportError as exc:
            raise Unavailable(f"cannot reach the Steward server at {self.base_url}: {exc}") from exc
        if response.is_success:
            return response.json()
        raise _error_from(response)

    def _get(self, schema: type[M], path: str, **params: Any) -> M:
        return schema.model_validate(self._request("GET", path, params=params))

    def _list(self, schema: type[M], path: str, **params: Any) -> list[M]:
        return [schema.model_validate(item) for item in self._request("GET", path, params=params)]

    def _send(
        self, schema: type[M], method: str, path: str, body: BaseModel | None = None, **params: Any
    ) -> M:
        payload = None if body is None else body.model_dump(mode="json", exclude_unset=True)
        return schema.model_validate(self._request(method, path, json=payload, params=params))

    def _page(self, item: type[M], path: str, **params: Any) -> wire.Page[M]:
        return wire.Page[item].model_validate(self._request("GET", path, params=params))  # type: ignore[valid-type]

    def iterate(self, item: type[M], path: str, **params: Any) -> Iterator[M]:
        """Every item of a paged listing, following ``next_page_token``."""
        token = None
        while True:
            page = self._page(item, path, **params, page_token=token)
            yield from page.items
            if not page.next_page_token:
                return
            token = page.next_page_token

    # -- server ------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", "/health")
        return result

    def whoami(self) -> wire.WhoAmIOut:
        return self._get(wire.WhoAmIOut, "/me")

    # -- models ------------------------------------------------------------------------------

    def create_model(self, spec: wire.ModelCreate) -> wire.ModelOut:
        return self._send(wire.ModelOut, "POST", "/models", spec)

    def get_model(self, name: str) -> wire.ModelOut:
        return self._get(wire.ModelOut, f"/models/{name}")

    def update_model(self, name: str, spec: wire.ModelUpdate) -> wire.ModelOut:
        return self._send(wire.ModelOut, "PATCH", f"/models/{name}", spec)

    def list_models(
        self,
        *,
        owner: str | None = None,
        risk_tier: str | None = None,
        state: str | None = None,
        scope: str | None = None,
        tags: Mapping[str, str] | None = None,
        q: str | None = None,
        page_size: int = 50,
        page_token: str | None = None,
    ) -> wire.Page[wire.ModelOut]:
        return self._page(
            wire.ModelOut,
            "/models",
            owner=owner,
            risk_tier=risk_tier,
            state=state,
            scope=scope,
            tag=_tags(tags),
            q=q,
            page_size=page_size,
            page_token=page_token,
        )

    # -- versions ----------------------------------------------------------------------------

    def register_version(self, model: str, spec: wire.VersionCreate) -> wire.VersionOut:
        return self._send(wire.VersionOut, "POST", f"/models/{model}/versions", spec)

    def get_version(self, model: str, version: int) -> wire.VersionOut:
        return self._get(wire.VersionOut, f"/models/{model}/versions/{version}")

    def list_versions(
        self, model: str, *, page_size: int = 50, page_token: str | None = None
    ) -> wire.Page[wire.VersionOut]:
        return self._page(
            wire.VersionOut, f"/models/{model}/versions", page_size=page_size, page_token=page_token
        )

    def search_versions(
        self,
        *,
        model: str | None = None,
        owner: str | None = None,
        state: str | None = None,
        source_platform: str | None = None,
        artifact_digest: str | None = None,
        tags: Mapping[str, str] | None = None,
        page_size: int = 50,
        page_token: str | None = None,
    ) -> wire.Page[wire.VersionOut]:
        return self._page(
            wire.VersionOut,
            "/versions",
            model=model,
            owner=owner,
            state=state,
            source_platform=source_platform,
            artifact_digest=artifact_digest,
            tag=_tags(tags),
            page_size=page_size,
            page_token=page_token,
        )

    def lineage(self, model: str, version: int) -> wire.LineageOut:
        return self._get(wire.LineageOut, f"/models/{model}/versions/{version}/lineage")

    # -- datasets, runs, deployments ---------------------------------------------------------

    def create_dataset(self, spec: wire.DatasetCreate) -> wire.DatasetOut:
        return self._send(wire.DatasetOut, "POST", "/datasets", spec)

    def get_dataset(self, name: str) -> wire.DatasetOut:
        return self._get(wire.DatasetOut, f"/datasets/{name}")

    def update_dataset(self, name: str, spec: wire.DatasetUpdate) -> wire.DatasetOut:
        return self._send(wire.DatasetOut, "PATCH", f"/datasets/{name}", spec)

    def list_datasets(
        self, *, q: str | None = None, page_size: int = 50, page_token: str | None = None
    ) -> wire.Page[wire.DatasetOut]:
        return self._page(wire.DatasetOut, "/datasets", q=q, page_size=page_size, page_token=page_token)

    def add_dataset_version(self, dataset: str, spec: wire.DatasetVersionCreate) -> wire.DatasetVersionOut:
        return self._send(wire.DatasetVersionOut, "POST", f"/datasets/{dataset}/versions", spec)

    def list_dataset_versions(self, dataset: str) -> list[wire.DatasetVersionOut]:
        return self._list(wire.DatasetVersionOut, f"/datasets/{dataset}/versions")

    def record_run(self, spec: wire.TrainingRunCreate) -> wire.TrainingRunOut:
        return self._send(wire.TrainingRunOut, "POST", "/runs", spec)

    def get_run(self, run_id: str) -> wire.TrainingRunOut:
        return self._get(wire.TrainingRunOut, f"/runs/{run_id}")

    def list_runs(
        self, *, experiment: str | None = None, page_size: int = 50, page_token: str | None = None
    ) -> wire.Page[wire.TrainingRunOut]:
        return self._page(
            wire.TrainingRunOut,
            "/runs",
            experiment=experiment,
            page_size=page_size,
            page_token=page_token,
        )

    def record_deployment(self, model: str, spec: wire.DeploymentCreate) -> wire.DeploymentOut:
        return self._send(wire.DeploymentOut, "POST", f"/models/{model}/deployments", spec)

    def list_deployments(
        self, model: str | None = None, *, environment: str | None = None
    ) -> list[wire.DeploymentOut]:
        path = f"/models/{model}/deployments" if model else "/deployments"
        return self._list(wire.DeploymentOut, path, environment=environment)

    # -- audit -------------------------------------------------------------------------------

    def list_events(
        self,
        *,
        subject_type: str | None = None,
        subject_id: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        page_size: int = 100,
        page_token: str | None = None,
    ) -> wire.Page[wire.AuditEventOut]:
        return self._page(
            wire.AuditEventOut,
            "/audit/events",
            subject_type=subject_type,
            subject_id=subject_id,
            actor=actor,
            action=action,
            since=since.isoformat() if since else None,
            until=until.isoformat() if until else None,
            page_size=page_size,
            page_token=page_token,
        )

    def verify_audit(self) -> wire.VerificationOut:
        return self._get(wire.VerificationOut, "/audit/verify")

    # -- identity ----------------------------------------------------------------------------

    def create_principal(self, spec: wire.PrincipalCreate) -> wire.PrincipalOut:
        return self._send(wire.PrincipalOut, "POST", "/principals", spec)

    def list_principals(self) -> list[wire.PrincipalOut]:
        return self._list(wire.PrincipalOut, "/principals")

    def create_token(self, spec: wire.TokenCreate) -> wire.TokenCreated:
        return self._send(wire.TokenCreated, "POST", "/tokens", spec)

    def list_tokens(self, principal: str | None = None) -> list[wire.TokenOut]:
        return self._list(wire.TokenOut, "/tokens", principal=principal)

    def revoke_token(self, token_id: int, reason: str = "") -> wire.TokenOut:
        return self._send(wire.TokenOut, "DELETE", f"/tokens/{token_id}", reason=reason or None)


def _tags(tags: Mapping[str, str] | None) -> list[str] | None:
    return [f"{k}={v}" for k, v in tags.items()] if tags else None


def _error_from(response: httpx.Response) -> StewardError:
    try:
        body = response.json()["error"]
        return error_for_code(body["code"], body["message"], body.get("details") or {})
    except (ValueError, KeyError, TypeError):
        return ServerError(
            f"the server answered {response.status_code} without a Steward error body: {response.text[:200]}"
        )
