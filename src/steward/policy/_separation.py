"""Separation of duties: the bundle's rules on who may sign a stage of a version.

A bundle states them in package ``steward.workflow.separation`` as a ``violation`` set of findings
(the built-in ones are in ``builtin/separation.rego``) and the role each stage needs in
``data.workflow.stage_roles``. :func:`separation_findings` evaluates them for one review; a bundle
that does not define them answers ``None``, and the caller falls back to the built-in bundle.
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


def separation_findings(
    bundle: PolicyBundle, doc: Mapping[str, Any], engine: RegoEngine
) -> tuple[Finding, ...] | None:
    """Every separation-of-duties violation of ``doc`` under ``bundle`` (empty: none), or ``None``
    when the bundle has no separation rules. An engine error raises :class:`InvalidInput`."""
    if not any(_PACKAGE.search(source) for source in bundle.modules.values()):
        return None
    result = engine.evaluate(bundle.modules, bundle.data, doc, SEPARATION_QUERY)
    if not result.defined:
        return None
    if not isinstance(result.value, list):
        raise _shape(bundle, f"{SEPARATION_QUERY} must be a set of findings")
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
