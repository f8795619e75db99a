"""Documentation and lineage completeness of a model version, read from the policy input document.

Both checks read the document of ``docs/reference/policy-input.md`` (schema version 2) and apply
the same definitions as the built-in policies, so a version whose checks pass also passes those
rules with the built-in data. Absent keys count as missing, they never raise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from steward.checks._outcome import CheckOutcome, outcome

DEFAULT_REQUIRED_FIELDS = ("owner", "intended_use", "limitations", "risk_tier")
DEFAULT_SCOPES_REQUIRED_FOR = ("high",)
_SHA256 = re.compile(r"^sha256:[0-9a-f]{64}$")


def documentation_check(
    doc: Mapping[str, Any],
    *,
    required_fields: Sequence[str] = DEFAULT_REQUIRED_FIELDS,
    scopes_required_for: Sequence[str] = DEFAULT_SCOPES_REQUIRED_FOR,
) -> CheckOutcome:
    """Required model fields are non-empty text, the tiers in ``scopes_required_for`` name a
    regulatory scope, and the lineage names at least one training dataset."""
    model = _mapping(doc.get("model"))
    fields = {field: not _blank(model.get(field)) for field in required_fields}
    failures = [
        f"documentation: model {field} is {_describe(model.get(field))}; required non-empty text"
        for field, present in fields.items()
        if not present
    ]
    tier = model.get("risk_tier")
    scopes = [s for s in _list(model.get("regulatory_scopes")) if not _blank(s)]
    scopes_required = tier in scopes_required_for
    if scopes_required and not scopes:
        failures.append(
            f"documentation: model names no regulatory scope; required at least one for risk tier {tier}"
        )
    training = _training(doc)
    if not training:
        failures.append("documentation: the lineage names 0 training datasets; required at least 1")
    items = [*fields.values(), bool(training)] + ([bool(scopes)] if scopes_required else [])
    values = {
        "fields": fields,
        "regulatory_scopes": len(scopes),
        "regulatory_scopes_required": scopes_required,
        "training_datasets": len(training),
        "completeness": sum(items) / len(items),
    }
    return outcome("documentation", values, failures)


def lineage_check(doc: Mapping[str, Any], *, approved_sources: Sequence[str] = ()) -> CheckOutcome:
    """The artefact has a SHA-256 digest, the version names its code commit, and every training
    dataset has a content digest and is approved (and, when ``approved_sources`` is not empty,
    comes from one of them)."""
    version = _mapping(doc.get("version"))
    digest = version.get("artifact_digest")
    commit = version.get("code_commit")
    training = _training(doc)
    without_digest = [_label(d) for d in training if _blank(d.get("digest"))]
    unapproved = [_label(d) for d in training if d.get("approved") is not True]
    unlisted = (
        [_label(d) for d in training if d.get("source") not in approved_sources] if approved_sources else []
    )
    digest_ok = isinstance(digest, str) and _SHA256.fullmatch(digest) is not None
    failures = []
    if not digest_ok:
        failures.append(f"lineage: artefact digest is {_describe(digest)}; required sha256:<64 hex digits>")
    if _blank(commit):
        failures.append(f"lineage: code commit is {_describe(commit)}; required a commit")
    failures += [f"lineage: training dataset {d} has no digest; required one" for d in without_digest]
    failures += [f"lineage: training dataset {d} is not approved; required approved" for d in unapproved]
    failures += [
        f"lineage: training dataset {d} comes from an unlisted source; required one of "
        f"{list(approved_sources)}"
        for d in unlisted
    ]
    values = {
        "artifact_digest": digest_ok,
        "code_commit": not _blank(commit),
        "training_run": isinstance(_mapping(doc.get("lineage")).get("training_run"), Mapping),
        "training_datasets": len(training),
        "datasets_without_digest": without_digest,
        "unapproved_datasets": unapproved,
        "unlisted_sources": unlisted,
    }
    return outcome("lineage", values, failures)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _blank(value: Any) -> bool:
    return not isinstance(value, str) or not value.strip()


def _describe(value: Any) -> str:
    if value is None:
        return "missing"
    if isinstance(value, str):
        return "empty" if not value.strip() else value
    return "not text"


def _training(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    datasets = _list(_mapping(doc.get("lineage")).get("datasets"))
    return [d for d in datasets if isinstance(d, Mapping) and d.get("role") == "training"]


def _label(dataset: Mapping[str, Any]) -> str:
    return f"{dataset.get('name')}@{dataset.get('version')}"
