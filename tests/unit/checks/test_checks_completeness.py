"""Documentation and lineage completeness, read from the policy input document."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from steward.checks import documentation_check, lineage_check

DIGEST = "sha256:" + "ab" * 32

DOC: dict[str, Any] = {
    "model": {
        "owner": "risk-analytics",
        "intended_use": "Rank applications.",
        "limitations": "Not for small business.",
        "risk_tier": "high",
        "regulatory_scopes": ["sr-11-7"],
    },
    "version": {"artifact_digest": DIGEST, "code_commit": "4f2a9c1"},
    "lineage": {
        "training_run": {"run_id": "r-1"},
        "datasets": [
            {
                "name": "apps",
                "version": "1",
                "role": "training",
                "digest": DIGEST,
                "approved": True,
                "source": "warehouse",
            },
            {
                "name": "holdout",
                "version": "1",
                "role": "test",
                "digest": None,
                "approved": False,
                "source": "lake",
            },
        ],
    },
}


@pytest.fixture
def doc() -> dict[str, Any]:
    return copy.deepcopy(DOC)


def test_complete_documentation(doc: dict[str, Any]) -> None:
    outcome = documentation_check(doc)
    assert outcome.kind == "documentation"
    assert outcome.passed
    assert outcome.values == {
        "fields": {"owner": True, "intended_use": True, "limitations": True, "risk_tier": True},
        "regulatory_scopes": 1,
        "regulatory_scopes_required": True,
        "training_datasets": 1,
        "completeness": 1.0,
    }


def test_incomplete_documentation(doc: dict[str, Any]) -> None:
    doc["model"]["limitations"] = " "
    del doc["model"]["owner"]
    doc["model"]["regulatory_scopes"] = [""]
    doc["lineage"]["datasets"] = []
    outcome = documentation_check(doc)
    assert outcome.status == "fail"
    assert outcome.messages == (
        "documentation: model owner is missing; required non-empty text",
        "documentation: model limitations is empty; required non-empty text",
        "documentation: model names no regulatory scope; required at least one for risk tier high",
        "documentation: the lineage names 0 training datasets; required at least 1",
    )
    assert outcome.values["completeness"] == pytest.approx(2 / 6)


def test_scopes_only_required_for_listed_tiers(doc: dict[str, Any]) -> None:
    doc["model"]["risk_tier"] = "low"
    doc["model"]["regulatory_scopes"] = []
    assert documentation_check(doc).passed
    assert not documentation_check(doc, scopes_required_for=("low",)).passed
    assert not documentation_check(doc, required_fields=("owner", "use_case")).passed


def test_complete_lineage(doc: dict[str, Any]) -> None:
    outcome = lineage_check(doc)
    assert outcome.passed
    assert outcome.values == {
        "artifact_digest": True,
        "code_commit": True,
        "training_run": True,
        "training_datasets": 1,
        "datasets_without_digest": [],
        "unapproved_datasets": [],
        "unlisted_sources": [],
    }


def test_incomplete_lineage(doc: dict[str, Any]) -> None:
    doc["version"]["artifact_digest"] = "md5:1234"
    doc["version"]["code_commit"] = None
    doc["lineage"]["datasets"][0].update(digest="", approved=False)
    outcome = lineage_check(doc, approved_sources=("lake",))
    assert outcome.status == "fail"
    assert outcome.messages == (
        "lineage: artefact digest is md5:1234; required sha256:<64 hex digits>",
        "lineage: code commit is missing; required a commit",
        "lineage: training dataset apps@1 has no digest; required one",
        "lineage: training dataset apps@1 is not approved; required approved",
        "lineage: training dataset apps@1 comes from an unlisted source; required one of ['lake']",
    )
    assert outcome.values["artifact_digest"] is False
    assert outcome.values["unapproved_datasets"] == ["apps@1"]


def test_empty_document_is_incomplete_not_an_error() -> None:
    assert documentation_check({}).status == "fail"
    assert lineage_check({}).status == "fail"
