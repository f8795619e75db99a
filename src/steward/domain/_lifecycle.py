"""Lifecycle transitions as pure functions of the record.

A version moves registered → validated → approved → deployed_staging / deployed_production →
deprecated → archived; ``rejected`` ends it. A model moves active ⇄ under_review → retired.
Anything else is refused with :class:`~steward.errors.InvalidTransition` naming both states and
the moves that are allowed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from steward.domain._records import Model, ModelVersion
from steward.domain._values import ModelState, VersionState
from steward.errors import InvalidTransition

V = VersionState
VERSION_TRANSITIONS: dict[VersionState, frozenset[VersionState]] = {
    V.REGISTERED: frozenset({V.VALIDATED, V.REJECTED, V.DEPRECATED, V.DEPLOYED_STAGING}),
    V.VALIDATED: frozenset({V.APPROVED, V.REJECTED, V.DEPRECATED, V.DEPLOYED_STAGING}),
    V.APPROVED: frozenset({V.DEPLOYED_STAGING, V.DEPLOYED_PRODUCTION, V.REJECTED, V.DEPRECATED}),
    V.DEPLOYED_STAGING: frozenset({V.DEPLOYED_PRODUCTION, V.APPROVED, V.VALIDATED, V.DEPRECATED, V.REJECTED}),
    V.DEPLOYED_PRODUCTION: frozenset({V.APPROVED, V.DEPRECATED}),
    V.DEPRECATED: frozenset({V.ARCHIVED, V.APPROVED}),
    V.ARCHIVED: frozenset(),
    V.REJECTED: frozenset(),
}

M = ModelState
MODEL_TRANSITIONS: dict[ModelState, frozenset[ModelState]] = {
    M.ACTIVE: frozenset({M.UNDER_REVIEW, M.RETIRED}),
    M.UNDER_REVIEW: frozenset({M.ACTIVE, M.RETIRED}),
    M.RETIRED: frozenset(),
}


def _allowed(moves: frozenset[VersionState] | frozenset[ModelState]) -> str:
    return ", ".join(sorted(m.value for m in moves)) or "none (final state)"


def transition_version(version: ModelVersion, to: VersionState, at: datetime) -> ModelVersion:
    """The version in state ``to``, or ``InvalidTransition`` saying which moves exist."""
    allowed = VERSION_TRANSITIONS[version.state]
    if to not in allowed:
        raise InvalidTransition(
            f"version {version.model}/{version.version} cannot move from {version.state.value} "
            f"to {to.value}; allowed: {_allowed(allowed)}",
            {"from": version.state.value, "to": to.value, "allowed": sorted(allowed)},
        )
    return replace(version, state=to, updated_at=at, revision=version.revision + 1)


def transition_model(model: Model, to: ModelState, at: datetime) -> Model:
    """The model in state ``to``, or ``InvalidTransition`` saying which moves exist."""
    allowed = MODEL_TRANSITIONS[model.state]
    if to not in allowed:
        raise InvalidTransition(
            f"model {model.name} cannot move from {model.state.value} to {to.value}; "
            f"allowed: {_allowed(allowed)}",
            {"from": model.state.value, "to": to.value, "allowed": sorted(allowed)},
        )
    return replace(model, state=to, updated_at=at, revision=model.revision + 1)


def ensure_model_writable(model: Model) -> None:
    """A retired model's record is read-only forever."""
    if model.state is ModelState.RETIRED:
        raise InvalidTransition(
            f"model {model.name} is retired; its record is read-only",
            {"state": model.state.value},
        )
