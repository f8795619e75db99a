"""The event catalogue and the typed events the service emits."""

from __future__ import annotations

import re
from dataclasses import FrozenInstanceError

import pytest

from steward.domain import EVENT_TYPES, DomainEvent, Origin


def test_catalogue_names_are_dotted_and_past_tense() -> None:
    assert EVENT_TYPES, "the catalogue is empty"
    for name in EVENT_TYPES:
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*\.[a-z]+(_[a-z]+)*", name), name
        verb = name.split(".", 1)[1]  # a phrasal verb is past tense too: deployment.rolled_back
        assert any(word.endswith("ed") for word in verb.split("_")), f"{name} is not past tense"


def test_catalogue_describes_every_event() -> None:
    for name, description in EVENT_TYPES.items():
        assert description.strip() == description, name
        assert len(description) > 10, name
        assert description[0].isupper(), name
        assert description.endswith("."), name


def test_catalogue_holds_the_events_of_the_core() -> None:
    assert {
        "model.created",
        "model.updated",
        "model_version.registered",
        "dataset.created",
        "dataset.updated",
        "dataset_version.created",
        "training_run.recorded",
        "deployment.recorded",
        "principal.created",
        "token.created",
        "token.revoked",
    } <= set(EVENT_TYPES)


@pytest.mark.parametrize("name", sorted(EVENT_TYPES))
def test_every_catalogued_event_can_be_made(name: str) -> None:
    event = DomainEvent(name, "model", "credit-risk", after={"owner": "x"})
    assert (event.type, event.subject_type, event.subject_id) == (name, "model", "credit-risk")
    assert event.before is None
    assert event.after == {"owner": "x"}
    assert event.reason == ""
    assert event.extra == {}


@pytest.mark.parametrize("name", ["model.deleted", "Model.Created", "model_created", ""])
def test_unknown_event_types_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"unknown event type {name!r}; add it to EVENT_TYPES")):
        DomainEvent(name, "model", "credit-risk")


def test_events_and_origins_are_frozen() -> None:
    event = DomainEvent("model.created", "model", "m")
    with pytest.raises(FrozenInstanceError):
        event.type = "model.updated"  # type: ignore[misc]
    origin = Origin(actor="alice")
    assert (origin.request_id, origin.client_address, origin.user_agent) == ("", "", "")
    with pytest.raises(FrozenInstanceError):
        origin.actor = "mallory"  # type: ignore[misc]
