"""The ``data.json`` keys the built-in rule families read, and the check that a bundle has them.

A rule family reads its thresholds from the bundle's data (``data.gates.<family>``). A bundle
without one of those keys would leave the family's rules undefined, and a family whose rules are
undefined passes everything. So the rules deny instead, naming the key (``<family>.config_missing``,
see ``builtin/lib.rego``), and registration refuses such a bundle before anything depends on it:
:func:`check_required_data` names every key that a package of the bundle needs and lacks.

A key is required when the bundle has a module of the package that reads it, so a bundle that
leaves out a family (or replaces the decision) does not have to carry that family's data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from steward.errors import InvalidInput
from steward.policy._bundle import DATA, PolicyBundle

_PACKAGE = re.compile(r"^package\s+([A-Za-z_][A-Za-z0-9_.]*)\s*$", re.MULTILINE)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _object(value: Any) -> bool:
    return isinstance(value, Mapping)


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if _number(value):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object" if _object(value) else "a value"


_KINDS: dict[str, Callable[[Any], bool]] = {
    "a number": _number,
    "an object": _object,
    "a list of strings": _strings,
}


@dataclass(frozen=True, slots=True)
class DataKey:
    """One key of ``data.json`` (a dotted path from its root) that ``package`` reads."""

    package: str
    path: str
    kind: str
    """What the value must be: ``a number``, ``an object`` or ``a list of strings``."""

    def find(self, data: Mapping[str, Any]) -> Any:
        """The value at :attr:`path`, or ``None``."""
        value: Any = data
        for part in self.path.split("."):
            if not isinstance(value, Mapping):
                return None
            value = value.get(part)
        return value

    def holds(self, value: Any) -> bool:
        return _KINDS[self.kind](value)


REQUIRED_DATA: tuple[DataKey, ...] = (
    DataKey("steward.gates", "gates.environments", "an object"),
    DataKey("steward.gates.rules.metrics", "gates.metric_floors", "an object"),
    DataKey("steward.gates.rules.fairness", "gates.fairness.min_ratio", "a number"),
    DataKey("steward.gates.rules.fairness", "gates.fairness.ratio_metrics", "a list of strings"),
    DataKey("steward.gates.rules.fairness", "gates.fairness.max_equalized_odds_difference", "a number"),
    DataKey("steward.gates.rules.documentation", "gates.documentation.required_fields", "a list of strings"),
    DataKey(
        "steward.gates.rules.documentation",
        "gates.documentation.regulatory_scopes_required_for",
        "a list of strings",
    ),
    DataKey("steward.gates.rules.lineage", "gates.lineage.approved_sources", "a list of strings"),
    DataKey("steward.workflow.separation", "workflow.stage_roles", "an object"),
)
"""Every key a package of the built-in bundle reads without a default. Optional keys (such as
``gates.fairness.when_missing``, whose absence makes a missing check a violation for every tier)
are not listed."""


def packages(bundle: PolicyBundle) -> dict[str, str]:
    """Package name → the first policy module (by path) that declares it."""
    found: dict[str, str] = {}
    for path in sorted(bundle.modules):
        match = _PACKAGE.search(bundle.modules[path])
        if match is not None:
            found.setdefault(match.group(1), path)
    return found


def required_data(bundle: PolicyBundle) -> tuple[DataKey, ...]:
    """The keys of :data:`REQUIRED_DATA` whose package ``bundle`` has a module of."""
    present = packages(bundle)
    return tuple(key for key in REQUIRED_DATA if key.package in present)


def check_required_data(bundle: PolicyBundle) -> None:
    """Raise :class:`InvalidInput` naming every key of :func:`required_data` that ``bundle``'s
    ``data.json`` lacks or holds a value of the wrong type in."""
    modules = packages(bundle)
    errors: list[dict[str, Any]] = []
    for key in required_data(bundle):
        value = key.find(bundle.data)
        if value is not None and key.holds(value):
            continue
        problem = "is missing" if value is None else f"is {_json_type(value)}, not {key.kind}"
        message = (
            f"{key.path} {problem}; {modules[key.package]} (package {key.package}) needs {key.kind} there"
        )
        errors.append(
            {"field": DATA, "rule": "required_data", "message": message, "file": DATA, "key": key.path}
        )
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InvalidInput(f"policy bundle: {DATA}: {errors[0]['message']}{more}", {"errors": errors})
