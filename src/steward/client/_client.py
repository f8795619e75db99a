"""``steward.Client``: the REST API as Python calls.

Every method returns the API's own response schema (``steward.wire.*Out``) and raises the same
:mod:`steward.errors` classes the service raises, rebuilt from the error's ``code``. The transport
is injectable: pass any ``httpx.BaseTransport`` (a real server is the default; tests pass an
in-process app or a recorded exchange).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
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
        return self._exchange(method, path, json=json, params=params).json()

    def _exchange(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        clean = {k: v for k, v in (params or {}).items() if v is not None and v != []}
        try:
            response = self._http.request(method, API + path, json=json, params=clean, headers=headers)
        except httpx.TransportError as exc:
            raise Unavailable(f"cannot reach the Steward server at {self.base_url}: {exc}") from exc
        if response.is_success:
            return response
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

    def list_dataset_versions(
        self, dataset: str, *, page_size: int = 50, page_token: str | None = None
    ) -> wire.Page[wire.DatasetVersionOut]:
        path = f"/datasets/{dataset}/versions"
        return self._page(wire.DatasetVersionOut, path, page_size=page_size, page_token=page_token)

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

    def list_deployments(
        self,
        model: str | None = None,
        *,
        environment: str | None = None,
        page_size: int = 50,
        page_token: str | None = None,
    ) -> wire.Page[wire.DeploymentOut]:
        """Deployments (of ``model``), oldest first. They are made by :meth:`promote` and
        :meth:`rollback`; nothing records one directly."""
        path = f"/models/{model}/deployments" if model else "/deployments"
        return self._page(
            wire.DeploymentOut, path, environment=environment, page_size=page_size, page_token=page_token
        )

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

    def verify_audit(self, keys: Sequence[str] = ()) -> wire.VerificationOut:
        """Have the server verify its log; ``keys`` pins the verifier keys it must trust."""
        return self._get(wire.VerificationOut, "/audit/verify", key=list(keys) or None)

    def list_reads(
        self,
        *,
        principal: str | None = None,
        subject_type: str | None = None,
        subject_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        page_size: int = 100,
        page_token: str | None = None,
    ) -> wire.Page[wire.ReadAccessOut]:
        """The read access log, newest first: who read which record or evidence."""
        return self._page(
            wire.ReadAccessOut,
            "/audit/reads",
            principal=principal,
            subject_type=subject_type,
            subject_id=subject_id,
            since=since.isoformat() if since else None,
            until=until.isoformat() if until else None,
            page_size=page_size,
            page_token=page_token,
        )

    # -- ledger and evidence -----------------------------------------------------------------

    def checkpoint(self, size: int | None = None) -> wire.CheckpointOut:
        """The latest signed checkpoint (or the kept one of ``size``)."""
        return self._get(wire.CheckpointOut, "/ledger/checkpoint", size=size)

    def checkpoint_note(self, size: int | None = None) -> str:
        """The latest signed checkpoint as its C2SP signed note text."""
        response = self._exchange(
            "GET", "/ledger/checkpoint", params={"size": size}, headers={"Accept": "text/plain"}
        )
        return response.text

    def ledger_keys(self) -> list[wire.LedgerKeyOut]:
        """Every key that signs or signed checkpoints (retired keys included)."""
        return self._list(wire.LedgerKeyOut, "/ledger/keys")

    def inclusion_proof(self, seq: int, size: int | None = None) -> wire.InclusionProofOut:
        return self._get(wire.InclusionProofOut, "/ledger/proofs/inclusion", seq=seq, size=size)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> wire.ConsistencyProofOut:
        return self._get(
            wire.ConsistencyProofOut, "/ledger/proofs/consistency", old_size=old_size, new_size=new_size
        )

    def export_evidence(self, model: str, version: int) -> bytes:
        """The version's evidence bundle, byte for byte (``steward.ledger.verify_evidence`` checks it)."""
        return self._exchange("GET", f"/models/{model}/versions/{version}/evidence").content

    # -- identity ----------------------------------------------------------------------------

    def create_principal(self, spec: wire.PrincipalCreate) -> wire.PrincipalOut:
        return self._send(wire.PrincipalOut, "POST", "/principals", spec)

    def list_principals(
        self, *, page_size: int = 50, page_token: str | None = None
    ) -> wire.Page[wire.PrincipalOut]:
        return self._page(wire.PrincipalOut, "/principals", page_size=page_size, page_token=page_token)

    def create_token(self, spec: wire.TokenCreate) -> wire.TokenCreated:
        return self._send(wire.TokenCreated, "POST", "/tokens", spec)

    def list_tokens(
        self, principal: str | None = None, *, page_size: int = 50, page_token: str | None = None
    ) -> wire.Page[wire.TokenOut]:
        return self._page(
            wire.TokenOut, "/tokens", principal=principal, page_size=page_size, page_token=page_token
        )

    def revoke_token(self, token_id: int, reason: str = "") -> wire.TokenOut:
        return self._send(wire.TokenOut, "DELETE", f"/tokens/{token_id}", reason=reason or None)

    # -- incidents ---------------------------------------------------------------------------

    def open_incident(self, spec: wire.IncidentCreate) -> wire.IncidentOut:
        return self._send(wire.IncidentOut, "POST", "/incidents", spec)

    def get_incident(self, incident_id: int) -> wire.IncidentOut:
        return self._get(wire.IncidentOut, f"/incidents/{incident_id}")

    def list_incidents(
        self,
        *,
        model: str | None = None,
        state: str | None = None,
        page_size: int = 50,
        page_token: str | None = None,
    ) -> wire.Page[wire.IncidentOut]:
        return self._page(
            wire.IncidentOut,
            "/incidents",
            model=model,
            state=state,
            page_size=page_size,
            page_token=page_token,
        )

    def resolve_incident(self, incident_id: int, spec: wire.IncidentResolve) -> wire.IncidentOut:
        return self._send(wire.IncidentOut, "POST", f"/incidents/{incident_id}/resolve", spec)

    # -- harvests and guarded aliases --------------------------------------------------------

    def start_harvest(self, spec: wire.HarvestCreate) -> wire.HarvestOut:
        return self._send(wire.HarvestOut, "POST", "/harvests", spec)

    def get_harvest(self, harvest_id: int) -> wire.HarvestOut:
        return self._get(wire.HarvestOut, f"/harvests/{harvest_id}")

    def get_alias_guards(self, model: str) -> wire.AliasGuardsOut:
        return self._get(wire.AliasGuardsOut, f"/models/{model}/alias-guards")

    def set_alias_guards(self, model: str, spec: wire.AliasGuardsUpdate) -> wire.AliasGuardsOut:
        return wire.AliasGuardsOut.model_validate(
            self._request("PUT", f"/models/{model}/alias-guards", json=spec.model_dump(mode="json"))
        )

    # -- automated gates: checks, decisions, policy bundles ----------------------------------

    def gate_input(self, model: str, version: int, target: str = "production") -> dict[str, Any]:
        """The policy input document the version would be evaluated on now."""
        document: dict[str, Any] = self._request(
            "GET", f"/models/{model}/versions/{version}/gate-input", params={"target": target}
        )
        return document

    def evaluate(self, model: str, version: int, target: str = "production") -> wire.PolicyDecisionOut:
        """Evaluate the assigned bundle for promoting the version to ``target`` (stored)."""
        return self._send(
            wire.PolicyDecisionOut,
            "POST",
            f"/models/{model}/versions/{version}/evaluations",
            wire.EvaluationCreate(target=target),
        )

    def list_decisions(
        self, model: str, version: int, *, page_size: int = 50, page_token: str | None = None
    ) -> wire.Page[wire.PolicyDecisionOut]:
        return self._page(
            wire.PolicyDecisionOut,
            f"/models/{model}/versions/{version}/evaluations",
            page_size=page_size,
            page_token=page_token,
        )

    def get_decision(self, model: str, version: int, decision_id: int) -> wire.PolicyDecisionOut:
        return self._get(
            wire.PolicyDecisionOut, f"/models/{model}/versions/{version}/evaluations/{decision_id}"
        )

    def replay_decision(self, model: str, version: int, decision_id: int) -> wire.ReplayOut:
        return self._get(
            wire.ReplayOut, f"/models/{model}/versions/{version}/evaluations/{decision_id}/replay"
        )

    def record_check(self, model: str, version: int, spec: wire.CheckCreate) -> wire.CheckResultOut:
        return self._send(wire.CheckResultOut, "POST", f"/models/{model}/versions/{version}/checks", spec)

    def list_checks(
        self,
        model: str,
        version: int,
        *,
        kind: str | None = None,
        page_size: int = 50,
        page_token: str | None = None,
    ) -> wire.Page[wire.CheckResultOut]:
        return self._page(
            wire.CheckResultOut,
            f"/models/{model}/versions/{version}/checks",
            kind=kind,
            page_size=page_size,
            page_token=page_token,
        )

    def record_dataset_check(self, dataset: str, version: str, spec: wire.CheckCreate) -> wire.CheckResultOut:
        return self._send(wire.CheckResultOut, "POST", f"/datasets/{dataset}/versions/{version}/checks", spec)

    def list_dataset_checks(
        self,
        dataset: str,
        version: str,
        *,
        kind: str | None = None,
        page_size: int = 50,
        page_token: str | None = None,
    ) -> wire.Page[wire.CheckResultOut]:
        return self._page(
            wire.CheckResultOut,
            f"/datasets/{dataset}/versions/{version}/checks",
            kind=kind,
            page_size=page_size,
            page_token=page_token,
        )

    def list_bundles(self) -> list[wire.PolicyBundleOut]:
        return self._list(wire.PolicyBundleOut, "/policy/bundles")

    def register_bundle(self, files: Mapping[str, str]) -> wire.PolicyBundleOut:
        """Register a bundle from its files (relative path → text)."""
        return self._send(
            wire.PolicyBundleOut, "POST", "/policy/bundles", wire.PolicyBundleCreate(files=dict(files))
        )

    def get_bundle(self, name: str, version: str) -> wire.PolicyBundleOut:
        return self._get(wire.PolicyBundleOut, f"/policy/bundles/{name}/{version}")

    def test_bundle(self, name: str, version: str) -> wire.PolicyTestReportOut:
        return self._get(wire.PolicyTestReportOut, f"/policy/bundles/{name}/{version}/tests")

    def simulate(self, spec: wire.SimulationCreate) -> wire.SimulationOut:
        return self._send(wire.SimulationOut, "POST", "/policy/simulate", spec)

    def get_assignments(self) -> wire.AssignmentsOut:
        """The assignment table and its ``revision`` (send it back to change the table)."""
        return self._get(wire.AssignmentsOut, "/policy/assignments")

    def set_assignments(self, spec: wire.AssignmentsUpdate) -> wire.AssignmentsOut:
        """Replace the assignment table; ``spec.revision`` is the one read, and :class:`Conflict`
        is raised when someone changed the table since."""
        return wire.AssignmentsOut.model_validate(
            self._request("PUT", "/policy/assignments", json=spec.model_dump(mode="json"))
        )

    # -- the approval workflow ---------------------------------------------------------------

    def record_review(self, model: str, version: int, spec: wire.ReviewCreate) -> wire.ReviewOut:
        """Sign one stage (``SeparationOfDuties`` when the rules refuse the caller)."""
        return self._send(wire.ReviewOut, "POST", f"/models/{model}/versions/{version}/reviews", spec)

    def list_reviews(
        self, model: str, version: int, *, page_size: int = 50, page_token: str | None = None
    ) -> wire.Page[wire.ReviewOut]:
        return self._page(
            wire.ReviewOut,
            f"/models/{model}/versions/{version}/reviews",
            page_size=page_size,
            page_token=page_token,
        )

    def list_conditions(
        self,
        model: str,
        version: int,
        *,
        open_only: bool = True,
        page_size: int = 50,
        page_token: str | None = None,
    ) -> wire.Page[wire.ReviewConditionOut]:
        return self._page(
            wire.ReviewConditionOut,
            f"/models/{model}/versions/{version}/conditions",
            state="open" if open_only else "all",
            page_size=page_size,
            page_token=page_token,
        )

    def meet_condition(self, condition_id: int, spec: wire.ConditionMeet) -> wire.ReviewConditionOut:
        return self._send(wire.ReviewConditionOut, "POST", f"/conditions/{condition_id}/meet", spec)

    def pending_reviews(
        self, *, stage: str | None = None, page_size: int = 50, page_token: str | None = None
    ) -> wire.Page[wire.PendingReviewOut]:
        return self._page(
            wire.PendingReviewOut, "/reviews/pending", stage=stage, page_size=page_size, page_token=page_token
        )

    def due_reviews(
        self, *, overdue_only: bool = True, page_size: int = 50, page_token: str | None = None
    ) -> wire.Page[wire.ReviewDueOut]:
        return self._page(
            wire.ReviewDueOut,
            "/reviews/due",
            state="overdue" if overdue_only else "all",
            page_size=page_size,
            page_token=page_token,
        )

    def attest(self, model: str, spec: wire.AttestationCreate) -> wire.AttestationOut:
        return self._send(wire.AttestationOut, "POST", f"/models/{model}/attestations", spec)

    def promote(self, model: str, version: int, spec: wire.PromotionCreate) -> wire.PromotionOut:
        """Promote through the gates and sign-offs (``PolicyViolation`` with every reason if denied)."""
        return self._send(wire.PromotionOut, "POST", f"/models/{model}/versions/{version}/promotions", spec)

    def list_promotions(
        self, model: str, version: int, *, page_size: int = 50, page_token: str | None = None
    ) -> wire.Page[wire.PromotionOut]:
        return self._page(
            wire.PromotionOut,
            f"/models/{model}/versions/{version}/promotions",
            page_size=page_size,
            page_token=page_token,
        )

    def rollback(self, model: str, spec: wire.RollbackCreate) -> wire.PromotionOut:
        return self._send(wire.PromotionOut, "POST", f"/models/{model}/rollbacks", spec)

    def retire(self, model: str, spec: wire.RetirementCreate) -> wire.RetirementOut:
        return self._send(wire.RetirementOut, "POST", f"/models/{model}/retirement", spec)

    def deprecate(self, model: str, version: int, spec: wire.DeprecationCreate) -> wire.VersionOut:
        return self._send(wire.VersionOut, "POST", f"/models/{model}/versions/{version}/deprecation", spec)

    def history(
        self, model: str, *, at: datetime | str | None = None, environment: str = "production"
    ) -> wire.ModelHistoryOut:
        """Deployments of ``model`` in ``environment``; with ``at`` (a time, or a date), the one then."""
        when = at.isoformat() if isinstance(at, datetime) else at
        return self._get(wire.ModelHistoryOut, f"/models/{model}/history", at=when, environment=environment)


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
