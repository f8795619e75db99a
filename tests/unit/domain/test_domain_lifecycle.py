"""Lifecycle transitions: pure functions of the record; every refusal names both states."""

from __future__ import annotations

from collections import deque
from dataclasses import FrozenInstanceError
from datetime import UTC, datetime

import pytest

from steward.domain import (
    MODEL_TRANSITIONS,
    VERSION_TRANSITIONS,
    Model,
    ModelState,
    ModelVersion,
    RiskTier,
    VersionState,
    ensure_model_writable,
    transition_model,
    transition_version,
)
from steward.errors import InvalidTransition

V = VersionState
M = ModelState
BEFORE = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
AT = datetime(2025, 3, 4, 5, 6, 7, 890, tzinfo=UTC)

VERSION_ALLOWED = sorted((a, b) for a, moves in VERSION_TRANSITIONS.items() for b in moves)
VERSION_REFUSED = sorted(
    (a, b) for a in VersionState for b in VersionState if b not in VERSION_TRANSITIONS[a]
)
MODEL_ALLOWED = sorted((a, b) for a, moves in MODEL_TRANSITIONS.items() for b in moves)
MODEL_REFUSED = sorted((a, b) for a in ModelState for b in ModelState if b not in MODEL_TRANSITIONS[a])


def _ids(pair: tuple[object, object]) -> str:
    return f"{pair[0]}->{pair[1]}"


def a_version(state: VersionState, revision: int = 3) -> ModelVersion:
    return ModelVersion(
        model="credit-risk",
        version=7,
        artifact_uri="s3://m/7",
        artifact_digest="sha256:" + "a" * 64,
        state=state,
        created_at=BEFORE,
        updated_at=BEFORE,
        revision=revision,
    )


def a_model(state: ModelState, revision: int = 2) -> Model:
    return Model(
        name="credit-risk",
        owner="team-risk",
        risk_tier=RiskTier.HIGH,
        state=state,
        created_at=BEFORE,
        updated_at=BEFORE,
        revision=revision,
    )


def test_tables_cover_every_state() -> None:
    assert set(VERSION_TRANSITIONS) == set(VersionState)
    assert set(MODEL_TRANSITIONS) == set(ModelState)
    for moves in VERSION_TRANSITIONS.values():
        assert moves <= set(VersionState)
    for model_moves in MODEL_TRANSITIONS.values():
        assert model_moves <= set(ModelState)


def test_no_state_moves_to_itself() -> None:
    assert all(state not in VERSION_TRANSITIONS[state] for state in VersionState)
    assert all(state not in MODEL_TRANSITIONS[state] for state in ModelState)


def test_final_states() -> None:
    finals = {s for s, moves in VERSION_TRANSITIONS.items() if not moves}
    assert finals == {V.ARCHIVED, V.REJECTED}
    assert {s for s, moves in MODEL_TRANSITIONS.items() if not moves} == {M.RETIRED}


def test_every_version_state_is_reachable_from_registered() -> None:
    seen = {V.REGISTERED}
    queue = deque([V.REGISTERED])
    while queue:
        for nxt in VERSION_TRANSITIONS[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    assert seen == set(VersionState)


def test_the_designed_path_is_allowed_step_by_step() -> None:
    path = [
        V.REGISTERED,
        V.VALIDATED,
        V.APPROVED,
        V.DEPLOYED_STAGING,
        V.DEPLOYED_PRODUCTION,
        V.DEPRECATED,
        V.ARCHIVED,
    ]
    version = a_version(V.REGISTERED, revision=1)
    for step, target in enumerate(path[1:], start=2):
        version = transition_version(version, target, AT)
        assert version.state is target
        assert version.revision == step
    assert version.revision == len(path)


@pytest.mark.parametrize(("source", "target"), VERSION_ALLOWED, ids=list(map(_ids, VERSION_ALLOWED)))
def test_allowed_version_move(source: VersionState, target: VersionState) -> None:
    before = a_version(source)
    after = transition_version(before, target, AT)
    assert after.state is target
    assert after.revision == 4
    assert after.updated_at == AT
    assert after.created_at == BEFORE
    assert (after.model, after.version, after.artifact_digest) == ("credit-risk", 7, "sha256:" + "a" * 64)
    assert before.state is source  # the record given is untouched
    assert before.revision == 3


@pytest.mark.parametrize(("source", "target"), VERSION_REFUSED, ids=list(map(_ids, VERSION_REFUSED)))
def test_refused_version_move_names_the_states(source: VersionState, target: VersionState) -> None:
    with pytest.raises(InvalidTransition) as caught:
        transition_version(a_version(source), target, AT)
    error = caught.value
    assert error.code == "invalid_transition"
    assert f"from {source.value} to {target.value}" in error.message
    assert "credit-risk/7" in error.message
    allowed = sorted(VERSION_TRANSITIONS[source])
    expected = ", ".join(s.value for s in allowed) or "none (final state)"
    assert error.message.endswith(f"allowed: {expected}")
    assert error.details == {"from": source.value, "to": target.value, "allowed": allowed}


def test_final_version_state_says_so() -> None:
    with pytest.raises(InvalidTransition, match=r"allowed: none \(final state\)$"):
        transition_version(a_version(V.REJECTED), V.APPROVED, AT)


@pytest.mark.parametrize(("source", "target"), MODEL_ALLOWED, ids=list(map(_ids, MODEL_ALLOWED)))
def test_allowed_model_move(source: ModelState, target: ModelState) -> None:
    before = a_model(source)
    after = transition_model(before, target, AT)
    assert (after.state, after.revision, after.updated_at) == (target, 3, AT)
    assert (after.name, after.owner, after.created_at) == ("credit-risk", "team-risk", BEFORE)
    assert before.state is source


@pytest.mark.parametrize(("source", "target"), MODEL_REFUSED, ids=list(map(_ids, MODEL_REFUSED)))
def test_refused_model_move_names_the_states(source: ModelState, target: ModelState) -> None:
    with pytest.raises(InvalidTransition) as caught:
        transition_model(a_model(source), target, AT)
    error = caught.value
    assert f"model credit-risk cannot move from {source.value} to {target.value}" in error.message
    assert error.details["from"] == source.value
    assert error.details["to"] == target.value
    assert error.details["allowed"] == sorted(MODEL_TRANSITIONS[source])


def test_model_may_go_back_and_forth_under_review() -> None:
    model = a_model(M.ACTIVE, revision=1)
    model = transition_model(model, M.UNDER_REVIEW, AT)
    model = transition_model(model, M.ACTIVE, AT)
    assert (model.state, model.revision) == (M.ACTIVE, 3)


@pytest.mark.parametrize("state", [M.ACTIVE, M.UNDER_REVIEW])
def test_live_models_are_writable(state: ModelState) -> None:
    ensure_model_writable(a_model(state))


def test_retired_model_is_read_only() -> None:
    with pytest.raises(InvalidTransition) as caught:
        ensure_model_writable(a_model(M.RETIRED))
    assert caught.value.message == "model credit-risk is retired; its record is read-only"
    assert caught.value.details == {"state": "retired"}


def test_records_are_frozen() -> None:
    version = a_version(V.REGISTERED)
    with pytest.raises(FrozenInstanceError):
        version.state = V.APPROVED  # type: ignore[misc]
