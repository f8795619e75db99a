"""Fixtures for the policy tests: the built-in bundle, both engines, and a passing document."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from steward.policy import ENGINE_NAMES, PolicyBundle, RegoEngine, builtin_bundle, create_engine

DIGEST = "sha256:0f343b0931126a20f133d67c2b018a3b5b4d7c5d4c5b0b3f9f1a6a2b0d3c4e5f"


def fairness_check(
    selection_ratio: float = 0.95,
    tpr_ratio: float = 0.9,
    odds_difference: float = 0.04,
    created_at: str = "2024-07-01T10:00:00Z",
    status: str = "pass",
    method: str = "computed",
) -> dict[str, Any]:
    return {
        "kind": "fairness",
        "status": status,
        "values": {
            "attributes": {
                "sex": {
                    "metrics": {
                        "selection_rate": {"ratio": selection_ratio},
                        "true_positive_rate": {"ratio": tpr_ratio},
                    },
                    "equalized_odds_difference": odds_difference,
                }
            }
        },
        "created_at": created_at,
        "provenance": {"method": method},
    }


# The same document as data.steward.tests.fixtures.doc (a test keeps the two equal).
PASSING_DOC: dict[str, Any] = {
    "schema_version": 2,
    "target": {"environment": "production"},
    "model": {
        "name": "credit-risk",
        "owner": "risk-analytics",
        "description": "Scores consumer credit applications.",
        "use_case": "consumer lending",
        "intended_use": "Rank applications for manual underwriting review.",
        "limitations": "Not validated for small-business lending.",
        "risk_tier": "high",
        "regulatory_scopes": ["eu-ai-act-high-risk"],
        "state": "active",
        "tags": {},
        "review_overdue": False,
    },
    "version": {
        "version": 3,
        "state": "validated",
        "artifact_uri": "s3://models/credit-risk/3/model.pkl",
        "artifact_digest": DIGEST,
        "source_platform": "mlflow",
        "external_id": "credit-risk/3",
        "metrics": {"accuracy": 0.91, "auc": 0.87},
        "parameters": {"max_depth": 6},
        "tags": {},
        "code_repository": "https://git.example.com/risk/credit",
        "code_commit": "4f2a9c1",
        "environment": {
            "python_version": "3.11.7",
            "dependency_lock_digest": DIGEST,
            "container_image_digest": None,
        },
        "registered_by": "alice",
    },
    "lineage": {
        "training_run": {
            "run_id": "r-1",
            "platform": "mlflow",
            "experiment": "credit",
            "user": "alice",
            "code_commit": "4f2a9c1",
        },
        "datasets": [
            {
                "name": "applications",
                "version": "2024-06",
                "role": "training",
                "digest": DIGEST,
                "schema_digest": None,
                "source": "warehouse",
                "approved": True,
                "uri": "s3://data/applications/2024-06",
            },
            {
                "name": "applications-holdout",
                "version": "2024-06",
                "role": "test",
                "digest": None,
                "schema_digest": None,
                "source": "warehouse",
                "approved": False,
                "uri": "s3://data/holdout/2024-06",
            },
        ],
    },
    "checks": [
        fairness_check(),
        {
            "kind": "data_quality",
            "status": "pass",
            "values": {},
            "created_at": "2024-07-01T10:00:00Z",
            "provenance": {"method": "computed"},
        },
    ],
    "reviews": [],
    "deployments": [],
    "incidents": [],
}


@pytest.fixture(scope="session")
def bundle() -> PolicyBundle:
    return builtin_bundle()


@pytest.fixture(scope="session")
def engines() -> dict[str, RegoEngine]:
    return {name: create_engine(name) for name in ENGINE_NAMES}


@pytest.fixture(params=ENGINE_NAMES)
def engine(request: pytest.FixtureRequest, engines: dict[str, RegoEngine]) -> RegoEngine:
    return engines[request.param]


@pytest.fixture
def make_fairness_check() -> Any:
    """Build a fairness check entry: ``make_fairness_check(selection_ratio=0.6)``."""
    return fairness_check


@pytest.fixture
def doc() -> dict[str, Any]:
    """A fresh copy of the passing document, to change in one place per test."""
    return copy.deepcopy(PASSING_DOC)
