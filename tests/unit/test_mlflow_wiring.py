"""The MLflow wiring's pure parts: which versions an event writes back, which tracking servers a
REST harvest may reach, and how refused deliveries are counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from steward.domain import AuditEvent, SourceSettings
from steward.errors import Conflict, InvalidInput, PermissionDenied, Unauthenticated, Unavailable
from steward.server._deliveries import Delivery, DeliveryStats, refusal_reason
from steward.server._mlflow import MlflowWiring, shown, tracking_key
from steward.service import record_links, written_versions

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def event(action: str, subject_type: str, subject_id: str, **parts: Any) -> AuditEvent:
    return AuditEvent(
        1, NOW, "alice", action, subject_type, subject_id, parts.get("before"), parts.get("after"),
        "", "", "", "", "", "",
    )  # fmt: skip


def test_written_versions_follow_gates_and_state_changes() -> None:
    assert written_versions(event("gate.evaluated", "model_version", "credit/3")) == [("credit", 3)]
    assert written_versions(event("model_version.deprecated", "model_version", "a/b/2")) == [("a/b", 2)]
    deployed = event(
        "deployment.recorded",
        "deployment",
        "credit/production/9",
        before={"model": "credit", "version": 2},
        after={"model": "credit", "version": 3},
    )
    assert written_versions(deployed) == [("credit", 3), ("credit", 2)]
    promoted = event(
        "promotion.allowed",
        "model_version",
        "credit/3",
        after={"states": {"credit/3": ["approved", "deployed_production"], "credit/2": ["x", "y"]}},
    )
    assert written_versions(promoted) == [("credit", 3), ("credit", 2)]
    retired = event("model.retired", "model", "credit", after={"deprecated_versions": [1, 3]})
    assert written_versions(retired) == [("credit", 1), ("credit", 3)]
    # events that change no version's state or decision write nothing back
    assert written_versions(event("model_version.updated", "model_version", "credit/3")) == []
    assert written_versions(event("incident.opened", "incident", "4")) == []


def wiring(tracking_uri: str | None, *allowed: str) -> MlflowWiring:
    from steward.connectors.mlflow import MlflowSource

    source = MlflowSource(tracking_uri) if tracking_uri else None
    return MlflowWiring(source, None, SourceSettings(), record_links("http://s"), allowed)


def test_rest_harvests_reach_only_the_configured_and_allowed_tracking_servers() -> None:
    wired = wiring("https://mlflow.example.com", "http://lab:5000/")
    for same in ("https://mlflow.example.com/", "https://MLflow.Example.com:443", "http://lab:5000"):
        assert wired.harvest_source(same).location == same.rstrip("/")
    for other in (
        "http://mlflow.example.com",  # another scheme (and port)
        "https://mlflow.example.com.attacker.example",
        "https://user:pw@mlflow.example.com",  # credentials of the caller's choosing
        "https://mlflow.example.com/other",
        "http://169.254.169.254/latest/meta-data",
        "http://lab:notaport",
    ):
        with pytest.raises(InvalidInput) as caught:
            wired.harvest_source(other)
        assert caught.value.details["errors"][0]["field"] == "tracking_uri"
        assert caught.value.details["errors"][0]["rule"] == "allowed"
    with pytest.raises(InvalidInput, match="allowed: none"):
        wiring(None).harvest_source("https://mlflow.example.com")
    assert tracking_key("ftp://x") is None
    assert shown("https://bot:secret@mlflow.example.com/") == "https://bot:***@mlflow.example.com"


def test_refusals_are_counted_by_reason_and_deliveries_timed() -> None:
    assert refusal_reason(Unauthenticated("x", {"reason": "stale"}), "authenticate") == "stale"
    assert refusal_reason(Unauthenticated("no token"), "authenticate") == "unauthenticated"
    assert refusal_reason(PermissionDenied("no"), "authenticate") == "forbidden"
    assert refusal_reason(InvalidInput("bad"), "parse") == "malformed"
    assert refusal_reason(Conflict("again", {"reason": "replay"}), "deliver") == "replay"
    assert refusal_reason(Unavailable("MLflow is down"), "deliver") is None  # a failure, not a refusal
    assert refusal_reason(Unauthenticated("MLflow refused Steward"), "deliver") is None

    stats = DeliveryStats(NOW)
    stats.refused("stale")
    stats.refused("stale")
    stats.failed("unavailable")
    stats.arrived("d-1")
    stats.committed("d-1", 10.25)
    stats.committed("d-1", 10.75)  # only the first commit counts
    stats.committed("d-2", 11.0)  # not watched
    assert stats.first_commit("d-1") == 10.25 and stats.first_commit("d-1") is None
    sent = NOW - timedelta(seconds=0.5)
    stats.accepted(Delivery("model_version.created", "credit", sent, NOW, 0.4, "created 1 version", 0.25))
    shot = stats.snapshot()
    assert (shot["refused"], shot["failed"], shot["accepted"]) == (
        {"stale": 2},
        {"unavailable": 1},
        {"model_version.created": 1},
    )
    assert shot["commit_seconds"]["max"] == 0.25 and shot["processing_seconds"]["p50"] == 0.4
    assert shot["recent"][0]["delivery_seconds"] == 0.5
