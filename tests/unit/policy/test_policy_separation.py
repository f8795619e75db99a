"""The separation-of-duties rules of the built-in bundle, on both engines: each rule refuses with
its own id and says what it measured; a bundle without the rules answers None."""

from __future__ import annotations

from typing import Any

import pytest

from steward.domain import DEFAULT_STAGE_ROLES
from steward.policy import PolicyBundle, RegoEngine, separation_findings, separation_input, stage_roles


def review(**changes: Any) -> dict[str, Any]:
    """A validator signing independent validation of a version dana registered and trained."""
    fields: dict[str, Any] = {
        "stage": "independent_validation",
        "decision": "approved",
        "reviewer": "vera",
        "roles": ["validator"],
        "model": "credit-risk",
        "version": 3,
        "registered_by": "dana",
        "training_run": {"run_id": "r-1", "user": "dana"},
        "reviews": [
            {"stage": "automated_gates", "decision": "approved", "reviewer": "eli", "role": "ml_engineer"}
        ],
    }
    fields.update(changes)
    return separation_input(**fields)


def rules(bundle: PolicyBundle, engine: RegoEngine, doc: dict[str, Any]) -> list[str]:
    found = separation_findings(bundle, doc, engine)
    assert found is not None
    return [f.rule for f in found]


def test_an_independent_reviewer_in_the_stage_role_may_sign(bundle: PolicyBundle, engine: RegoEngine) -> None:
    assert rules(bundle, engine, review()) == []


@pytest.mark.parametrize(
    ("changes", "rule", "measured"),
    [
        ({"reviewer": "dana", "training_run": None}, "separation.registrant", "dana"),
        ({"registered_by": "connector:mlflow", "reviewer": "Dana"}, "separation.run_author", "Dana"),
        (
            {"reviewer": "eli", "roles": ["validator", "ml_engineer"]},
            "separation.one_stage",
            ["automated_gates"],
        ),
        (
            {"roles": ["admin", "compliance_officer"]},
            "separation.stage_role",
            ["admin", "compliance_officer"],
        ),
    ],
    ids=["registrant", "run-author", "one-stage", "stage-role"],
)
def test_each_rule_refuses_with_its_id(
    bundle: PolicyBundle, engine: RegoEngine, changes: dict[str, Any], rule: str, measured: Any
) -> None:
    found = separation_findings(bundle, review(**changes), engine)
    assert found is not None
    assert [f.rule for f in found] == [rule]
    assert found[0].measured == measured
    assert found[0].message.startswith(rule + ": ")


def test_the_same_person_may_sign_the_same_stage_again(bundle: PolicyBundle, engine: RegoEngine) -> None:
    again = review(
        reviews=[
            {
                "stage": "independent_validation",
                "decision": "rejected",
                "reviewer": "vera",
                "role": "validator",
            }
        ]
    )
    assert rules(bundle, engine, again) == []


def test_every_rule_at_once_is_every_reason(bundle: PolicyBundle, engine: RegoEngine) -> None:
    bad = review(
        reviewer="dana",
        roles=["data_scientist"],
        reviews=[
            {"stage": "automated_gates", "decision": "approved", "reviewer": "dana", "role": "ml_engineer"}
        ],
    )
    assert rules(bundle, engine, bad) == [
        "separation.one_stage",
        "separation.registrant",
        "separation.run_author",
        "separation.stage_role",
    ]


def test_a_bundle_without_separation_rules_answers_none(bundle: PolicyBundle, engine: RegoEngine) -> None:
    files = {p: c for p, c in bundle.files.items() if not p.startswith("separation")}
    without = PolicyBundle.from_files(files)
    assert separation_findings(without, review(), engine) is None


def test_stage_roles_come_from_the_bundle_data(bundle: PolicyBundle) -> None:
    table = stage_roles(bundle)
    assert table == {
        stage.value: tuple(r.value for r in roles) for stage, roles in DEFAULT_STAGE_ROLES.items()
    }
