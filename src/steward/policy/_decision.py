"""One policy decision: evaluate a bundle against an input document on an engine.

The bundle must define ``data.steward.gates.decision`` as ``{"deny": [...], "warn": [...]}`` (sets
serialise as lists), each entry an object ``{"rule", "message", "measured", "required"}``. A
decision allows when ``deny`` is empty. Anything else — an undefined decision, an entry of the
wrong shape, an engine error — raises :class:`InvalidInput` and yields no decision at all, so an
erroring rule can never count as allow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from steward.errors import InvalidInput
from steward.policy._bundle import PolicyBundle
from steward.policy._canonical import canonical_json
from steward.policy._engine import RegoEngine
from steward.policy._input import input_digest, validate_input

DECISION_QUERY = "data.steward.gates.decision"


@dataclass(frozen=True, slots=True)
class Finding:
    """One denial or warning: which rule, why, what it measured and what it required."""

    rule: str
    message: str
    measured: Any = None
    required: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "message": self.message,
            "measured": self.measured,
            "required": self.required,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """The pure result of one evaluation; with the two digests it can be replayed."""

    allow: bool
    denies: tuple[Finding, ...]
    warnings: tuple[Finding, ...]
    bundle_name: str
    bundle_version: str
    bundle_digest: str
    input_digest: str
    engine: str
    engine_version: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "allow": self.allow,
            "denies": [finding.to_dict() for finding in self.denies],
            "warnings": [finding.to_dict() for finding in self.warnings],
            "bundle": {
                "name": self.bundle_name,
                "version": self.bundle_version,
                "digest": self.bundle_digest,
            },
            "input_digest": self.input_digest,
            "engine": {"name": self.engine, "version": self.engine_version},
        }


def evaluate(bundle: PolicyBundle, input_doc: Mapping[str, Any], engine: RegoEngine) -> Decision:
    """Validate ``input_doc``, evaluate ``bundle`` on ``engine`` and return the decision."""
    validate_input(input_doc)
    result = engine.evaluate(bundle.modules, bundle.data, input_doc, DECISION_QUERY)
    if not result.defined:
        raise _shape_error(bundle, f"{DECISION_QUERY} is undefined for this input")
    value = result.value
    if not isinstance(value, Mapping) or "deny" not in value:
        raise _shape_error(bundle, f"{DECISION_QUERY} must be an object with 'deny' and 'warn'")
    denies = _findings(bundle, value["deny"], "deny")
    warnings = _findings(bundle, value.get("warn", []), "warn")
    return Decision(
        allow=not denies,
        denies=denies,
        warnings=warnings,
        bundle_name=bundle.name,
        bundle_version=bundle.version,
        bundle_digest=bundle.digest,
        input_digest=input_digest(input_doc),
        engine=engine.name,
        engine_version=engine.version,
    )


def _findings(bundle: PolicyBundle, raw: Any, kind: str) -> tuple[Finding, ...]:
    if not isinstance(raw, list):
        raise _shape_error(bundle, f"'{kind}' must be a set of objects")
    findings = []
    for entry in raw:
        if not isinstance(entry, Mapping):
            raise _shape_error(bundle, f"every '{kind}' entry must be an object, got {entry!r}")
        rule, message = entry.get("rule"), entry.get("message")
        if not isinstance(rule, str) or not rule or not isinstance(message, str):
            raise _shape_error(bundle, f"every '{kind}' entry needs a 'rule' and a 'message', got {entry!r}")
        findings.append(Finding(rule, message, entry.get("measured"), entry.get("required")))
    return tuple(sorted(findings, key=_order))


def _order(finding: Finding) -> tuple[str, str, bytes]:
    return (finding.rule, finding.message, canonical_json([finding.measured, finding.required]))


def _shape_error(bundle: PolicyBundle, message: str) -> InvalidInput:
    return InvalidInput(
        f"policy bundle {bundle.name} {bundle.version}: {message}",
        {"errors": [{"field": "policy", "rule": "decision_shape", "message": message}]},
    )
