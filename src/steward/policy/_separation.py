"""Separation of duties: the bundle's rules on who may sign a stage of a version, mark a
condition of its approval met, and attest a model's record.

A bundle states them in package ``steward.workflow.separation`` as sets of findings (the built-in
ones are in ``builtin/separation.rego``): ``violation`` for a review (:data:`SEPARATION_QUERY`, the
role each stage needs in ``data.workflow.stage_roles``), ``condition_violation`` for a condition
marked met (:data:`CONDITION_QUERY`), ``attestation_violation`` for an owner attestation
(:data:`ATTESTATION_QUERY`). :func:`separation_findings` evaluates one of them; a bundle that does
not define the rule answers ``None``, and the caller falls back to the built-in bundle's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from steward.errors import InvalidInput
from steward.policy._bundle import PolicyBundle
from steward.policy._decision import Finding
from steward.policy._engine import RegoEngine

SEPARATION_QUERY = "data.steward.workflow.separation.violation"
CONDITION_QUERY = "data.steward.workflow.separation.condition_violation"
ATTESTATION_QUERY = "data.steward.workflow.separation.attestation_violation"
_PACKAGE = re.compile(r"^package\s+steward\.workflow\.separation\s*$", re.MULTILINE)


def separation_input(
    *,
    stage: str,
    decision: str,
    reviewer: str,
    roles: Sequence[str],
    model: str,
    version: int,
    registered_by: str | None,
    training_run: Mapping[str, Any] | None,
    reviews: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """The document the separation rules read (see ``builtin/separation.rego``)."""
    return {
        "review": {"stage": stage, "decision": decision, "reviewer": reviewer, "roles": sorted(roles)},
        "version": {"model": model, "version": version, "registered_by": registered_by},
        "training_run": None if training_run is None else dict(training_run),
        "reviews": [dict(r) for r in reviews],
    }


def condition_input(
    *,
    condition: Mapping[str, Any],
    actor: str,
    roles: Sequence[str],
    model: str,
    version: int,
    registered_by: str | None,
    training_run: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The document ``condition_violation`` reads: the condition (``id``, ``stage``, ``text``,
    ``set_by``), who marks it met, and who built the version."""
    return {
        "condition": dict(condition),
        "actor": {"name": actor, "roles": sorted(roles)},
        "version": {"model": model, "version": version, "registered_by": registered_by},
        "training_run": None if training_run is None else dict(training_run),
    }


def attestation_input(*, model: str, owner: str, actor: str, roles: Sequence[str]) -> dict[str, Any]:
    """The document ``attestation_violation`` reads: the model and its owner, and who attests."""
    return {
        "attestation": {"model": model, "owner": owner},
        "actor": {"name": actor, "roles": sorted(roles)},
    }


def _states(bundle: PolicyBundle, query: str) -> bool:
    """Whether a module of the separation package defines the rule ``query`` names."""
    rule = re.compile(rf"^{re.escape(query.rsplit('.', 1)[-1])}\b", re.MULTILINE)
    return any(_PACKAGE.search(source) and rule.search(source) for source in bundle.modules.values())


def separation_findings(
    bundle: PolicyBundle, doc: Mapping[str, Any], engine: RegoEngine, query: str = SEPARATION_QUERY
) -> tuple[Finding, ...] | None:
    """Every separation-of-duties violation of ``doc`` under ``bundle`` by the rule ``query``
    names (empty: none), or ``None`` when the bundle does not state that rule. An engine error
    raises :class:`InvalidInput`."""
    if not _states(bundle, query):
        return None
    result = engine.evaluate(bundle.modules, bundle.data, doc, query)
    if not result.defined:
        return None
    if not isinstance(result.value, list):
        raise _shape(bundle, f"{query} must be a set of findings")
    findings = []
    for entry in result.value:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("rule"), str):
            raise _shape(bundle, f"every separation finding needs a 'rule' and a 'message', got {entry!r}")
        findings.append(
            Finding(
                entry["rule"], str(entry.get("message", "")), entry.get("measured"), entry.get("required")
            )
        )
    return tuple(sorted(findings, key=lambda f: (f.rule, f.message)))


def stage_roles(bundle: PolicyBundle) -> dict[str, tuple[str, ...]] | None:
    """``data.workflow.stage_roles`` of the bundle (stage → roles that sign it), or ``None``."""
    workflow = bundle.data.get("workflow")
    table = workflow.get("stage_roles") if isinstance(workflow, Mapping) else None
    if not isinstance(table, Mapping):
        return None
    return {
        str(stage): tuple(str(r) for r in roles) if isinstance(roles, list) else ()
        for stage, roles in table.items()
    }


def _shape(bundle: PolicyBundle, message: str) -> InvalidInput:
    return InvalidInput(
        f"policy bundle {bundle.name} {bundle.version}: {message}",
        {"errors": [{"field": "policy", "rule": "separation_shape", "message": message}]},
    )
