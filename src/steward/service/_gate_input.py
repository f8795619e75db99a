"""The policy input document of a model version, built from the store (schema version 2).

``docs/reference/policy-input.md`` describes every key. What the service puts there:

- ``model`` and ``version`` from the records; text fields left empty are ``null``;
  ``review_overdue`` is true when the model's periodic review or its owner's attestation is
  overdue: more months than its review cadence (its own, else its risk tier's) have passed since
  the last approving review of any of its versions, or since the last attestation (both clocks
  start when the record was created);
- ``lineage``: the training run and every dataset version the version uses, each with its
  dataset's source and approval;
- ``checks``: the newest check of each kind recorded on the version, with its provenance
  (``computed`` by Steward, with the file it was computed from, or ``reported``). Data-quality checks are
  recorded on dataset versions: the newest one of every dataset version the version uses (and one
  recorded on the version itself) are merged into one ``data_quality`` entry whose status is
  ``fail`` if any of them failed, else ``error`` if any errored, else ``pass``, so that the newest
  of several datasets never hides a failure;
- ``reviews``: every review of the version, oldest first, each with the conditions still open;
- ``deployments``: the model's active deployments;
- ``incidents``: the unresolved incidents of the model as a whole or of this version, each with its
  id, title and source, so that a denial can name them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from steward.domain import (
    ENVIRONMENT_PATTERN,
    CheckResult,
    Model,
    ModelVersion,
    Review,
    Workflow,
    add_months,
    periodic_status,
)
from steward.errors import InvalidInput
from steward.policy import INPUT_SCHEMA_VERSION
from steward.storage import InputParts, SqlTransaction

DATA_QUALITY = "data_quality"
_ENVIRONMENT = re.compile(ENVIRONMENT_PATTERN)
_STATUS_ORDER = {"fail": 2, "error": 1, "pass": 0}


def check_target(target: str) -> str:
    """A target environment name (``production``, ``staging``, ...)."""
    if not 1 <= len(target) <= 64 or not _ENVIRONMENT.match(target):
        raise InvalidInput.field(
            "target",
            "environment",
            f"must be a lower-case environment name such as production or staging (got {target!r})",
        )
    return target


def iso(at: datetime | None) -> str:
    """UTC ISO 8601 with microseconds and ``Z``: one fixed width, so strings sort as times."""
    if at is None:
        return ""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class ReviewFacts:
    """What the workflow knows of a version for its policy input: its reviews, and whether its
    model's periodic review (or owner attestation) is overdue."""

    reviews: list[Review] = field(default_factory=list)
    overdue: bool = False


def review_facts(
    tx: SqlTransaction, parts: InputParts, now: datetime, workflow: Workflow | None = None
) -> ReviewFacts:
    """The reviews of ``parts``' version and its model's periodic-review clock, from the store."""
    rules = workflow or Workflow()
    reviews = tx.workflow.reviews_of([parts.version_id])[parts.version_id]
    clock = tx.workflow.due_rows(parts.model.name)
    model = parts.model
    if not clock or model.created_at is None:
        return ReviewFacts(reviews, False)
    status = periodic_status(
        rules.cadence_for(model.risk_tier, model.review_cadence_months),
        model.created_at,
        clock[0].last_reviewed_at,
        clock[0].last_attested_at,
        now,
    )
    return ReviewFacts(reviews, status.overdue)


def build_input(
    tx: SqlTransaction,
    model: str,
    version: int,
    target: str,
    now: datetime,
    workflow: Workflow | None = None,
) -> dict[str, Any]:
    """The document the policies evaluate for promoting ``model`` ``version`` to ``target``."""
    check_target(target)
    parts = tx.gates.input_parts(model, version, DATA_QUALITY)
    return document(parts, target, now, review_facts(tx, parts, now, workflow))


def document(
    parts: InputParts, target: str, now: datetime, facts: ReviewFacts | None = None
) -> dict[str, Any]:
    """The policy input document from the records of one version (see the module doc). Without
    ``facts`` there are no reviews, and the periodic review is overdue when the model's own cadence
    has passed since its record was created."""
    run = parts.run
    return {
        "schema_version": INPUT_SCHEMA_VERSION,
        "target": {"environment": target},
        "model": _model(parts.model, now, facts),
        "version": _version(parts.version),
        "lineage": {
            "training_run": None
            if run is None
            else {
                "run_id": run.run_id,
                "platform": _text(run.platform),
                "experiment": _text(run.experiment),
                "user": _text(run.user),
                "code_commit": run.code_commit,
            },
            "datasets": [
                {
                    "name": dv.dataset,
                    "version": dv.version,
                    "role": role,
                    "digest": dv.digest,
                    "schema_digest": dv.schema_digest,
                    "source": _text(ds.source),
                    "approved": ds.approved,
                    "uri": dv.uri,
                }
                for dv, ds, role in parts.datasets
            ],
        },
        "checks": _checks(parts.checks, parts.dataset_checks),
        "reviews": [] if facts is None else [review_entry(r) for r in facts.reviews],
        "deployments": [
            {"environment": d.environment, "version": d.version, "state": d.state.value}
            for d in parts.deployments
        ],
        "incidents": [
            {
                "id": i.id,
                "title": i.title,
                "source": i.source,
                "severity": i.severity.value,
                "state": i.state.value,
            }
            for i in parts.incidents
        ],
    }


def _text(value: str | None) -> str | None:
    return value if value else None


def review_entry(review: Review) -> dict[str, Any]:
    return {
        "stage": review.stage.value,
        "decision": review.decision.value,
        "reviewer": review.reviewer,
        "role": review.role.value,
        "created_at": iso(review.created_at),
        "conditions": [c.text for c in review.conditions if c.open],
    }


def _model(model: Model, now: datetime, facts: ReviewFacts | None) -> dict[str, Any]:
    return {
        "name": model.name,
        "owner": _text(model.owner),
        "description": _text(model.description),
        "use_case": _text(model.use_case),
        "intended_use": _text(model.intended_use),
        "limitations": _text(model.limitations),
        "risk_tier": model.risk_tier.value,
        "regulatory_scopes": list(model.regulatory_scopes),
        "state": model.state.value,
        "tags": dict(model.tags),
        "review_overdue": facts.overdue if facts is not None else _overdue(model, now),
    }


def _overdue(model: Model, now: datetime) -> bool:
    if model.review_cadence_months is None or model.created_at is None:
        return False
    return now > add_months(model.created_at, model.review_cadence_months)


def _version(record: ModelVersion) -> dict[str, Any]:
    env = record.environment
    return {
        "version": record.version,
        "state": record.state.value,
        "artifact_uri": record.artifact_uri,
        "artifact_digest": record.artifact_digest,
        "source_platform": record.source_platform,
        "external_id": record.external_id,
        "metrics": dict(record.metrics),
        "parameters": dict(record.parameters),
        "tags": dict(record.tags),
        "code_repository": record.code_repository,
        "code_commit": record.code_commit,
        "environment": {
            "python_version": env.python_version,
            "dependency_lock_digest": env.dependency_lock_digest,
            "container_image_digest": env.container_image_digest,
        },
        "registered_by": _text(record.registered_by),
    }


def check_entry(check: CheckResult) -> dict[str, Any]:
    return {
        "kind": check.kind,
        "status": check.status,
        "values": dict(check.values),
        "created_at": iso(check.created_at),
        "provenance": check.provenance.to_dict(),
    }


def _checks(own: list[CheckResult], datasets: list[CheckResult]) -> list[dict[str, Any]]:
    quality = [c for c in own if c.kind == DATA_QUALITY] + datasets
    entries = [check_entry(c) for c in own if c.kind != DATA_QUALITY]
    if quality:
        entries.append(merged_quality(quality))
    return entries


def merged_quality(checks: list[CheckResult]) -> dict[str, Any]:
    """One ``data_quality`` entry for several checks: the worst status, the newest time, and
    ``computed`` provenance only when every one of them was computed (each source keeps its own)."""
    status = max((c.status for c in checks), key=lambda s: _STATUS_ORDER.get(s, 2))
    return {
        "kind": DATA_QUALITY,
        "status": status,
        "values": {
            "sources": {
                c.subject_id: {
                    "status": c.status,
                    "created_at": iso(c.created_at),
                    "values": dict(c.values),
                    "provenance": c.provenance.to_dict(),
                }
                for c in checks
            }
        },
        "created_at": max(iso(c.created_at) for c in checks),
        "provenance": {"method": "computed" if all(c.provenance.computed for c in checks) else "reported"},
    }
