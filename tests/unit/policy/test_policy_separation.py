"""The separation-of-duties rules of the built-in bundle, on both engines: each rule refuses with
its own id and says what it measured; a bundle without the rules answers None. Reviews, the
conditions of an approval (marked met by neither registrant nor run author) and owner
attestations (the owner by name, or a business owner)."""

from __future__ import annotations

from typing import Any

import pytest

from steward.domain import DEFAULT_STAGE_ROLES
from steward.policy import (
    ATTESTATION_QUERY,
    CONDITION_QUERY,
    PolicyBundle,
    RegoEngine,
    attestation_input,
    condition_input,
    separation_findings,
    separation_input,
    stage_roles,
)


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


# -- conditions of an approval and owner attestations --------------------------------------------


def meeting(actor: str, roles: tuple[str, ...] = ("compliance_officer",), **changes: Any) -> dict[str, Any]:
    """``actor`` marks condition 7 (set by vera) of a version dana registered and alice trained."""
    fields: dict[str, Any] = {
        "condition": {"id": 7, "stage": "independent_validation", "text": "monitor drift", "set_by": "vera"},
        "actor": actor,
        "roles": roles,
        "model": "credit-risk",
        "version": 3,
        "registered_by": "dana",
        "training_run": {"run_id": "r-1", "user": "alice"},
    }
    fields.update(changes)
    return condition_input(**fields)


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("cora", []),
        ("vera", []),  # the reviewer who set it may check it was met
        ("Dana", ["separation.condition_registrant"]),
        ("alice ", ["separation.condition_run_author"]),
    ],
)
def test_a_condition_is_not_marked_met_by_the_people_it_constrains(
    bundle: PolicyBundle, engine: RegoEngine, actor: str, expected: list[str]
) -> None:
    found = separation_findings(bundle, meeting(actor), engine, CONDITION_QUERY)
    assert found is not None and [f.rule for f in found] == expected
    assert all(f.message.startswith(f.rule + ": ") and f.measured == actor for f in found)


def test_one_person_who_built_and_trained_it_breaks_both_condition_rules(
    bundle: PolicyBundle, engine: RegoEngine
) -> None:
    doc = meeting("dana", training_run={"run_id": "r-1", "user": "dana"})
    assert rules_of(bundle, engine, doc, CONDITION_QUERY) == [
        "separation.condition_registrant",
        "separation.condition_run_author",
    ]


@pytest.mark.parametrize(
    ("actor", "roles", "owner", "allowed"),
    [
        ("dana", ["data_scientist"], "Dana", True),  # a person named as the owner
        ("bo", ["business_owner"], "risk-analytics", True),  # a team: its business owner
        ("eli", ["admin", "ml_engineer"], "risk-analytics", False),
        ("dana", ["data_scientist"], "risk-analytics", False),
    ],
)
def test_the_record_is_attested_by_its_owner_or_a_business_owner(
    bundle: PolicyBundle, engine: RegoEngine, actor: str, roles: list[str], owner: str, allowed: bool
) -> None:
    doc = attestation_input(model="credit-risk", owner=owner, actor=actor, roles=roles)
    found = separation_findings(bundle, doc, engine, ATTESTATION_QUERY)
    assert found is not None
    assert [f.rule for f in found] == ([] if allowed else ["separation.attestation_owner"])
    if not allowed:
        assert owner in found[0].message and "business_owner" in found[0].message


def test_a_bundle_whose_separation_rules_predate_conditions_answers_none_for_them(
    bundle: PolicyBundle, engine: RegoEngine
) -> None:
    """An organisation's copy of the rules without the condition and attestation ones: the caller
    falls back to the built-in rules for those, and keeps the bundle's own for reviews."""
    source = bundle.files["separation.rego"].decode()
    older = source.split("# -- conditions of an approval", 1)[0]
    files = {**bundle.files, "separation.rego": older.encode()}
    files = {p: c for p, c in files.items() if p != "separation_test.rego"}
    trimmed = PolicyBundle.from_files(files)
    assert separation_findings(trimmed, meeting("dana"), engine, CONDITION_QUERY) is None
    doc = attestation_input(model="m", owner="o", actor="x", roles=[])
    assert separation_findings(trimmed, doc, engine, ATTESTATION_QUERY) is None
    assert rules(trimmed, engine, review()) == []


def rules_of(bundle: PolicyBundle, engine: RegoEngine, doc: dict[str, Any], query: str) -> list[str]:
    found = separation_findings(bundle, doc, engine, query)
    assert found is not None
    return [f.rule for f in found]
