"""The approval workflow end to end, on both backends, over REST with a token per person.

Every tier's full path to production; every separation-of-duties rule and every other refusal of a
sign-off (each leaves the database as it was); promotions refused for missing sign-offs, a failing
gate and an untraceable artefact (each refusal itself recorded); rollback, retirement and the
history before and after; the review queue, periodic reviews and attestations, conditions,
deprecation, and the guard hook that sets a platform's aliases after a promotion or a rollback.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from steward import wire
from steward.domain import (
    AuditEvent,
    Deployment,
    Origin,
    Role,
    SourceLink,
    SourceModel,
)
from steward.service import Caller, Steward, local_operator
from steward.storage import AuditFilter, SqlStore, make_engine, upgrade
from tests.integration.conftest import ClientFor, MakePrincipal
from tests.integration.gates_support import Governed, governed
from tests.integration.support import db_state

API = "/api/v1"
SIGNERS = {
    "automated_gates": "eli",
    "independent_validation": "vera",
    "compliance_review": "carl",
    "business_signoff": "bo",
}
TIER_STAGES = {
    "high": ["automated_gates", "independent_validation", "compliance_review", "business_signoff"],
    "medium": ["automated_gates", "compliance_review"],
    "low": ["automated_gates"],
}
PEOPLE: dict[str, tuple[Role, ...]] = {
    "dana": (Role.DATA_SCIENTIST,),  # registers the versions
    "eli": (Role.ML_ENGINEER,),
    "vera": (Role.VALIDATOR,),
    "carl": (Role.COMPLIANCE_OFFICER,),
    "bo": (Role.BUSINESS_OWNER,),
    "otto": (Role.ML_ENGINEER,),  # promotes and rolls back
    "alice": (Role.VALIDATOR,),  # the author of the training runs (see gates_support.governed)
    "vic": (Role.VALIDATOR, Role.COMPLIANCE_OFFICER),
    "cora": (Role.COMPLIANCE_OFFICER,),
    "root": (Role.ADMIN,),
    "audrey": (Role.AUDITOR,),
}
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def steward(database_url: str, clock: Clock) -> Iterator[Steward]:
    """The core on a fresh database with a clock the test moves (replaces conftest's)."""
    engine = make_engine(database_url)
    upgrade(engine)
    core = Steward(SqlStore(engine), clock=clock)
    try:
        yield core
    finally:
        core.close()


@pytest.fixture
def team(make_principal: MakePrincipal, client_for: ClientFor) -> dict[str, TestClient]:
    """An API client with the token of each person of :data:`PEOPLE`."""
    return {name: client_for(make_principal(*roles, name=name)[1]) for name, roles in PEOPLE.items()}


def caller_of(steward: Steward, name: str) -> Caller:
    principal = steward.identity.get_principal(local_operator(), name)
    return Caller(principal, Origin(actor=name, client_address="10.0.0.9", user_agent="pytest"))


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def refused(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    return error


def register(steward: Steward, name: str, tier: str = "high", **setup: Any) -> int:
    """A model and one version that passes every built-in gate, registered by dana."""
    spec = Governed(**setup)
    spec.model = {"risk_tier": tier, **spec.model}
    return governed(steward, caller_of(steward, "dana"), name, spec)


def sign(
    team: dict[str, TestClient],
    who: str,
    model: str,
    version: int,
    stage: str,
    decision: str = "approved",
    **fields: Any,
) -> Any:
    body = {"stage": stage, "decision": decision, "comment": f"{stage} by {who}", **fields}
    return team[who].post(f"{API}/models/{model}/versions/{version}/reviews", json=body)


def evaluate(team: dict[str, TestClient], model: str, version: int, target: str = "production") -> Any:
    return ok(
        team["eli"].post(f"{API}/models/{model}/versions/{version}/evaluations", json={"target": target}), 201
    )


def sign_all(team: dict[str, TestClient], model: str, version: int, tier: str = "high") -> None:
    evaluate(team, model, version)
    for stage in TIER_STAGES[tier]:
        ok(sign(team, SIGNERS[stage], model, version, stage), 201)


def promote(team: dict[str, TestClient], model: str, version: int, target: str = "production") -> Any:
    return team["otto"].post(
        f"{API}/models/{model}/versions/{version}/promotions", json={"target": target, "reason": "release"}
    )


def events(steward: Steward, action: str) -> list[AuditEvent]:
    return list(steward.audit.list_events(local_operator(), AuditFilter(action=action), 1000).items)


# -- the full path for each tier ---------------------------------------------------------------


@pytest.mark.parametrize("tier", ["high", "medium", "low"])
def test_each_tier_reaches_production_only_through_its_stages(
    steward: Steward, team: dict[str, TestClient], tier: str
) -> None:
    number = register(steward, "credit", tier)
    path = f"{API}/models/credit/versions/{number}"
    assert [p["stage"] for p in ok(team["eli"].get(f"{API}/reviews/pending"))["items"]] == ["automated_gates"]

    error = refused(promote(team, "credit", number), 409, "policy_violation")
    assert [r["rule"] for r in error["details"]["reasons"]] == ["signoff.missing"] * len(TIER_STAGES[tier])

    evaluate(team, "credit", number)
    states = []
    for index, stage in enumerate(TIER_STAGES[tier]):
        review = ok(sign(team, SIGNERS[stage], "credit", number, stage), 201)
        assert (review["reviewer"], review["stage"], review["decision"]) == (
            SIGNERS[stage],
            stage,
            "approved",
        )
        assert review["role"] == PEOPLE[SIGNERS[stage]][0].value
        assert review["audit_seq"] is not None
        states.append(ok(team["audrey"].get(path))["state"])
        if index < len(TIER_STAGES[tier]) - 1:
            still = refused(promote(team, "credit", number), 409, "policy_violation")
            missing = [r for r in still["details"]["reasons"] if r["rule"] == "signoff.missing"]
            assert len(missing) == len(TIER_STAGES[tier]) - index - 1
    assert states[-1] == "approved"
    assert set(states[:-1]) <= {"validated"}

    done = ok(promote(team, "credit", number), 201)
    assert done["allowed"] is True and done["reasons"] == []
    assert done["deployment"]["environment"] == "production" and done["deployment"]["version"] == number
    assert ok(team["audrey"].get(path))["state"] == "deployed_production"
    history = ok(team["audrey"].get(f"{API}/models/credit/history"))
    entry = history["entries"][0]
    assert entry["kind"] == "promotion" and entry["requested_by"] == "otto"
    assert [(a["stage"], a["reviewer"]) for a in entry["approvals"]] == [
        (s, SIGNERS[s]) for s in TIER_STAGES[tier]
    ]
    assert entry["gate_decision"]["id"] == done["gate_decision"] and entry["gate_decision"]["allow"] is True
    assert [e.action for e in events(steward, "promotion.allowed")] == ["promotion.allowed"]
    assert len(events(steward, "promotion.denied")) == len(TIER_STAGES[tier])
    assert steward.audit.verify(local_operator()).ok


def test_staging_needs_less_than_production(steward: Steward, team: dict[str, TestClient]) -> None:
    number = register(steward, "credit")
    evaluate(team, "credit", number, "staging")
    ok(sign(team, "eli", "credit", number, "automated_gates"), 201)
    refused(promote(team, "credit", number, "staging"), 409, "policy_violation")
    ok(sign(team, "vera", "credit", number, "independent_validation"), 201)
    staged = ok(promote(team, "credit", number, "staging"), 201)
    assert staged["deployment"]["environment"] == "staging"
    version = ok(team["audrey"].get(f"{API}/models/credit/versions/{number}"))
    assert version["state"] == "deployed_staging"
    queue = ok(team["carl"].get(f"{API}/reviews/pending"))["items"]
    assert [(p["model"], p["stage"], p["version_state"]) for p in queue] == [
        ("credit", "compliance_review", "deployed_staging")
    ]


# -- separation of duties and the other refusals of a sign-off ---------------------------------


def _ready_for_validation(steward: Steward, team: dict[str, TestClient]) -> int:
    number = register(steward, "credit")
    evaluate(team, "credit", number)
    ok(sign(team, "eli", "credit", number, "automated_gates"), 201)
    return number


@pytest.mark.parametrize(
    ("who", "stage", "rule"),
    [
        ("alice", "independent_validation", "separation.run_author"),
        ("eli", "independent_validation", "separation.one_stage"),
        ("carl", "independent_validation", "separation.stage_role"),
        ("bo", "compliance_review", "separation.stage_role"),
    ],
)
def test_separation_of_duties_refuses_and_writes_nothing(
    steward: Steward, team: dict[str, TestClient], who: str, stage: str, rule: str
) -> None:
    number = _ready_for_validation(steward, team)
    before = db_state(steward)
    error = refused(sign(team, who, "credit", number, stage), 403, "separation_of_duties")
    assert rule in error["details"]["rules"] and rule in error["message"]
    assert error["details"]["stage"] == stage
    assert db_state(steward) == before


def test_the_registrant_may_not_sign_any_stage(steward: Steward, team: dict[str, TestClient]) -> None:
    number = register(steward, "credit")  # dana registered it; eli registers the next one himself
    ok(
        team["eli"].post(
            f"{API}/models/credit/versions",
            json={
                "artifact_uri": "s3://m/2",
                "artifact_digest": "sha256:" + "e" * 64,
                "code_commit": "abc1234",
            },
        ),
        201,
    )
    evaluate(team, "credit", number + 1)
    before = db_state(steward)
    error = refused(sign(team, "eli", "credit", number + 1, "automated_gates"), 403, "separation_of_duties")
    assert error["details"]["rules"] == ["separation.registrant"]
    assert db_state(steward) == before


def test_one_person_never_signs_two_stages_even_holding_both_roles(
    steward: Steward, team: dict[str, TestClient]
) -> None:
    number = _ready_for_validation(steward, team)
    ok(sign(team, "vic", "credit", number, "independent_validation"), 201)
    before = db_state(steward)
    error = refused(sign(team, "vic", "credit", number, "compliance_review"), 403, "separation_of_duties")
    assert error["details"]["rules"] == ["separation.one_stage"]
    assert error["details"]["violations"][0]["measured"] == ["independent_validation"]
    assert db_state(steward) == before
    ok(sign(team, "vic", "credit", number, "independent_validation", "rejected"), 201)  # same stage again


def test_roles_and_order_and_gates_are_checked_before_anything_is_written(
    steward: Steward, team: dict[str, TestClient]
) -> None:
    number = register(steward, "credit")
    before = db_state(steward)
    refused(sign(team, "root", "credit", number, "automated_gates"), 403, "permission_denied")
    refused(sign(team, "dana", "credit", number, "automated_gates"), 403, "permission_denied")
    error = refused(sign(team, "vera", "credit", number, "independent_validation"), 409, "invalid_transition")
    assert error["details"]["waiting_for"] == ["automated_gates"]
    error = refused(sign(team, "eli", "credit", number, "automated_gates"), 409, "policy_violation")
    assert error["details"]["reasons"][0]["rule"] == "signoff.gates_not_passed"
    refused(
        sign(team, "eli", "credit", number, "automated_gates", "approved_with_conditions"),
        422,
        "invalid_input",
    )
    refused(
        sign(team, "eli", "credit", number, "automated_gates", evidence=["not a link"]), 422, "invalid_input"
    )
    assert db_state(steward) == before
    low = register(steward, "churn", "low")
    error = refused(sign(team, "bo", "churn", low, "business_signoff"), 422, "invalid_input")
    assert "automated_gates" in error["message"]


def test_a_denying_gate_decision_cannot_be_signed_off(steward: Steward, team: dict[str, TestClient]) -> None:
    number = register(steward, "credit", version={"metrics": {"accuracy": 0.5, "auc": 0.87}})
    assert evaluate(team, "credit", number)["allow"] is False
    before = db_state(steward)
    error = refused(sign(team, "eli", "credit", number, "automated_gates"), 409, "policy_violation")
    assert "denying gate decision" in error["message"]
    assert db_state(steward) == before
    ok(sign(team, "eli", "credit", number, "automated_gates", "rejected"), 201)  # a rejection needs no pass
    assert ok(team["audrey"].get(f"{API}/models/credit/versions/{number}"))["state"] == "rejected"
    refused(
        sign(team, "vera", "credit", number, "independent_validation", "rejected"), 409, "invalid_transition"
    )


# -- promotion refused ------------------------------------------------------------------------


def _assert_denied_and_recorded(steward: Steward, team: dict[str, TestClient], number: int) -> list[str]:
    before = ok(team["audrey"].get(f"{API}/models/credit/versions/{number}"))["state"]
    denials = len(events(steward, "promotion.denied"))
    error = refused(promote(team, "credit", number), 409, "policy_violation")
    rules = [r["rule"] for r in error["details"]["reasons"]]
    assert all(r["message"].startswith(r["rule"] + ": ") for r in error["details"]["reasons"])
    recorded = events(steward, "promotion.denied")
    assert len(recorded) == denials + 1
    assert [r["rule"] for r in recorded[-1].after["reasons"]] == rules  # type: ignore[index]
    assert error["details"]["audit_seq"] == recorded[-1].seq
    assert ok(team["audrey"].get(f"{API}/models/credit/versions/{number}"))["state"] == before
    assert ok(team["audrey"].get(f"{API}/models/credit/deployments"))["items"] == []
    promotions = ok(team["audrey"].get(f"{API}/models/credit/versions/{number}/promotions"))["items"]
    assert promotions[-1]["allowed"] is False and [r["rule"] for r in promotions[-1]["reasons"]] == rules
    return rules


def test_promotion_without_signoffs_is_refused_with_every_reason(
    steward: Steward, team: dict[str, TestClient]
) -> None:
    number = register(steward, "credit")
    rules = _assert_denied_and_recorded(steward, team, number)
    assert rules == ["signoff.missing"] * 4


def test_promotion_with_a_failing_gate_is_refused(steward: Steward, team: dict[str, TestClient]) -> None:
    number = register(steward, "credit")
    sign_all(team, "credit", number)
    ok(
        team["vera"].post(f"{API}/incidents", json={"model": "credit", "severity": "high", "title": "drift"}),
        201,
    )
    assert _assert_denied_and_recorded(steward, team, number) == ["incidents.unresolved_high"]


def test_an_untraceable_artefact_never_reaches_production(
    steward: Steward, team: dict[str, TestClient]
) -> None:
    # the gates have no rule on the training run; traceability is Steward's own, whatever the bundle
    number = register(steward, "credit", version={"training_run": None})
    sign_all(team, "credit", number)
    assert _assert_denied_and_recorded(steward, team, number) == ["traceability.training_run"]
    staged = ok(promote(team, "credit", number, "staging"), 201)  # staging takes it
    assert staged["deployment"]["environment"] == "staging"


# -- rollback, retirement and the history ------------------------------------------------------


def test_rollback_retirement_and_history_before_and_after(
    steward: Steward, team: dict[str, TestClient], clock: Clock
) -> None:
    first = register(steward, "credit")
    sign_all(team, "credit", first)
    t1 = clock.advance(days=1)
    ok(promote(team, "credit", first), 201)
    second = ok(
        team["dana"].post(
            f"{API}/models/credit/versions",
            json={
                "artifact_uri": "s3://models/credit/2",
                "artifact_digest": "sha256:" + "2" * 64,
                "training_run": "credit-run",
                "metrics": {"accuracy": 0.93, "auc": 0.9},
                "code_commit": "5b3c2d1",
                "environment": {"python_version": "3.11.7", "dependency_lock_digest": "sha256:" + "3" * 64},
                "datasets": [{"dataset": "credit-applications", "version": "2024-06", "role": "training"}],
            },
        ),
        201,
    )["version"]
    steward.checks.record(caller_of(steward, "vera"), "credit", second, "fairness", "pass", _fair())
    sign_all(team, "credit", second)
    t2 = clock.advance(days=30)
    replaced = ok(promote(team, "credit", second), 201)
    assert replaced["replaced"]["version"] == first
    assert ok(team["audrey"].get(f"{API}/models/credit/versions/{first}"))["state"] == "approved"

    t3 = clock.advance(days=10)
    back = ok(
        team["otto"].post(f"{API}/models/credit/rollbacks", json={"to": "previous", "reason": "score drift"}),
        201,
    )
    assert (back["kind"], back["version"], back["replaced"]["version"]) == ("rollback", first, second)
    rolled = events(steward, "deployment.rolled_back")
    assert len(rolled) == 1 and rolled[0].reason == "score drift"
    assert ok(team["audrey"].get(f"{API}/models/credit/versions/{first}"))["state"] == "deployed_production"
    assert ok(team["audrey"].get(f"{API}/models/credit/versions/{second}"))["state"] == "approved"

    # the compliance officer revokes the second version's approval: rolling forward to it is refused
    clock.advance(days=1)
    ok(sign(team, "carl", "credit", second, "compliance_review", "rejected"), 201)
    before = ok(team["audrey"].get(f"{API}/models/credit/deployments"))["items"]
    error = refused(
        team["otto"].post(f"{API}/models/credit/rollbacks", json={"to": second, "reason": "try again"}),
        409,
        "policy_violation",
    )
    assert [r["rule"] for r in error["details"]["reasons"]] == ["signoff.revoked"]
    assert ok(team["audrey"].get(f"{API}/models/credit/deployments"))["items"] == before
    assert len(events(steward, "rollback.denied")) == 1

    t5 = clock.advance(days=20)
    retired = ok(
        team["carl"].post(f"{API}/models/credit/retirement", json={"reason": "replaced by vendor"}), 201
    )
    assert retired["reason"] == "replaced by vendor" and len(retired["ended_deployments"]) == 1
    assert ok(team["audrey"].get(f"{API}/models/credit"))["state"] == "retired"
    ended = ok(team["audrey"].get(f"{API}/models/credit/deployments"))["items"]
    assert ended and all(d["state"] != "active" for d in ended)
    assert ok(team["audrey"].get(f"{API}/models/credit/versions/{first}"))["state"] == "deprecated"
    before_writes = db_state(steward)
    refused(
        team["dana"].patch(f"{API}/models/credit", json={"revision": 1, "description": "x"}),
        409,
        "invalid_transition",
    )
    refused(promote(team, "credit", first), 409, "invalid_transition")
    refused(sign(team, "cora", "credit", second, "compliance_review"), 409, "invalid_transition")
    refused(team["dana"].post(f"{API}/models/credit/attestations", json={}), 409, "invalid_transition")
    assert db_state(steward) == before_writes

    def at(when: datetime | str) -> dict[str, Any]:
        text = when if isinstance(when, str) else when.isoformat()
        return ok(team["audrey"].get(f"{API}/models/credit/history", params={"at": text}))

    assert at(START)["entries"] == []
    on_first = at(t1 + timedelta(days=3))["entries"]
    assert [(e["deployment"]["version"], e["kind"]) for e in on_first] == [(first, "promotion")]
    assert {a["reviewer"] for a in on_first[0]["approvals"]} == {"eli", "vera", "carl", "bo"}
    assert on_first[0]["gate_decision"]["allow"] is True
    on_second = at((t2 + timedelta(days=1)).date().isoformat())["entries"]  # a date: the end of that day
    assert [(e["deployment"]["version"], e["kind"]) for e in on_second] == [(second, "promotion")]
    assert {a["stage"] for a in on_second[0]["approvals"]} == set(TIER_STAGES["high"])  # as it stood then
    after_rollback = at(t3 + timedelta(hours=1))["entries"]
    assert [(e["deployment"]["version"], e["kind"], e["reason"]) for e in after_rollback] == [
        (first, "rollback", "score drift")
    ]
    after_retirement = at(t5 + timedelta(days=1))
    assert after_retirement["entries"] == []
    assert after_retirement["retirement"]["reason"] == "replaced by vendor"
    everything = ok(team["audrey"].get(f"{API}/models/credit/history"))["entries"]
    assert [e["deployment"]["version"] for e in everything] == [first, second, first]
    refused(
        team["audrey"].get(f"{API}/models/credit/history", params={"at": "2026-13-01"}), 422, "invalid_input"
    )
    assert steward.audit.verify(local_operator()).ok


def _fair() -> dict[str, Any]:
    from tests.integration.gates_support import passing_fairness

    return passing_fairness()


def test_rollback_needs_something_to_go_back_to(steward: Steward, team: dict[str, TestClient]) -> None:
    number = register(steward, "credit")
    body = {"to": "previous", "reason": "drift"}
    refused(team["otto"].post(f"{API}/models/credit/rollbacks", json=body), 409, "invalid_transition")
    sign_all(team, "credit", number)
    ok(promote(team, "credit", number), 201)
    before = db_state(steward)
    refused(team["otto"].post(f"{API}/models/credit/rollbacks", json=body), 409, "invalid_transition")
    refused(
        team["otto"].post(f"{API}/models/credit/rollbacks", json={"to": 7, "reason": "x"}),
        409,
        "invalid_transition",
    )
    refused(team["vera"].post(f"{API}/models/credit/rollbacks", json=body), 403, "permission_denied")
    assert db_state(steward) == before


# -- the queue, periodic reviews, attestations -------------------------------------------------


def test_the_queue_lists_what_waits_for_each_role_oldest_first(
    steward: Steward, team: dict[str, TestClient], clock: Clock
) -> None:
    first = register(steward, "credit")
    clock.advance(hours=2)
    second = register(steward, "scorer")
    clock.advance(hours=1)
    register(steward, "triage", "medium")
    for name, number in (("scorer", second), ("credit", first)):
        evaluate(team, name, number)
        clock.advance(minutes=5)
        ok(sign(team, "eli", name, number, "automated_gates"), 201)
    clock.advance(hours=3)
    validator = ok(team["vera"].get(f"{API}/reviews/pending"))["items"]
    assert [(p["model"], p["stage"]) for p in validator] == [
        ("scorer", "independent_validation"),
        ("credit", "independent_validation"),
    ]
    assert validator[0]["waited_seconds"] == 3 * 3600 + 5 * 60
    assert validator[0]["roles"] == ["validator"]
    assert [p["model"] for p in ok(team["carl"].get(f"{API}/reviews/pending"))["items"]] == []
    engineer = ok(team["eli"].get(f"{API}/reviews/pending"))["items"]
    assert [(p["model"], p["stage"]) for p in engineer] == [("triage", "automated_gates")]
    everything = ok(team["dana"].get(f"{API}/reviews/pending"))["items"]  # signs nothing: sees all
    assert len(everything) == 3

    page = ok(team["dana"].get(f"{API}/reviews/pending", params={"page_size": 2}))
    rest = ok(
        team["dana"].get(
            f"{API}/reviews/pending", params={"page_size": 2, "page_token": page["next_page_token"]}
        )
    )
    assert [p["model"] for p in page["items"] + rest["items"]] == [p["model"] for p in everything]
    assert rest["next_page_token"] is None
    refused(team["dana"].get(f"{API}/reviews/pending", params={"page_token": "bogus"}), 422, "invalid_input")
    only = ok(team["dana"].get(f"{API}/reviews/pending", params={"stage": "automated_gates"}))["items"]
    assert [p["model"] for p in only] == ["triage"]


def test_periodic_review_and_owner_attestation(
    steward: Steward, team: dict[str, TestClient], clock: Clock
) -> None:
    number = register(steward, "credit")  # owned by a team, risk-analytics
    register(steward, "churn", "low", model={"owner": "dana"})  # owned by a person
    assert ok(team["audrey"].get(f"{API}/reviews/due")) == {"items": [], "next_page_token": None}
    clock.advance(days=200)  # past the high tier's six months, within the low tier's 24
    due = ok(team["audrey"].get(f"{API}/reviews/due"))["items"]
    assert [(d["model"], d["review_overdue"], d["attestation_overdue"]) for d in due] == [
        ("credit", True, True)
    ]
    decision = evaluate(team, "credit", number)
    assert decision["allow"] is True
    assert [w["rule"] for w in decision["warnings"]] == ["review.overdue"]

    # a team owns credit: its business owner attests, not someone who merely may attest
    before = db_state(steward)
    error = refused(
        team["dana"].post(f"{API}/models/credit/attestations", json={}), 403, "separation_of_duties"
    )
    assert error["details"]["rules"] == ["separation.attestation_owner"]
    assert "separation.attestation_owner" in error["message"] and "risk-analytics" in error["message"]
    refused(team["vera"].post(f"{API}/models/credit/attestations", json={}), 403, "permission_denied")
    assert db_state(steward) == before
    attested = ok(team["bo"].post(f"{API}/models/credit/attestations", json={"statement": "current"}), 201)
    assert attested["attested_by"] == "bo"
    ok(team["dana"].post(f"{API}/models/churn/attestations", json={"statement": "mine, current"}), 201)
    due = ok(team["audrey"].get(f"{API}/reviews/due"))["items"]
    assert [(d["review_overdue"], d["attestation_overdue"]) for d in due] == [(True, False)]
    ok(sign(team, "eli", "credit", number, "automated_gates"), 201)  # a fresh review resets the clock
    assert ok(team["audrey"].get(f"{API}/reviews/due"))["items"] == []
    assert evaluate(team, "credit", number)["warnings"] == []
    every = ok(team["audrey"].get(f"{API}/reviews/due", params={"state": "all"}))["items"]
    assert [d["model"] for d in every] == ["credit", "churn"]
    assert every[1]["cadence_months"] == 24
    first = ok(team["audrey"].get(f"{API}/reviews/due", params={"state": "all", "page_size": 1}))
    rest = ok(
        team["audrey"].get(
            f"{API}/reviews/due",
            params={"state": "all", "page_size": 1, "page_token": first["next_page_token"]},
        )
    )
    assert [d["model"] for d in first["items"] + rest["items"]] == ["credit", "churn"]
    assert rest["next_page_token"] is None
    refused(team["audrey"].get(f"{API}/reviews/due", params={"page_token": "bogus"}), 422, "invalid_input")


def test_the_review_clock_is_the_newest_approval_in_force(
    steward: Steward, team: dict[str, TestClient], clock: Clock
) -> None:
    """The stored clock follows the reviews: a later approval moves it on, revoking the newest
    approval moves it back to the one before (what grouping every review would say)."""
    number = register(steward, "credit")
    evaluate(team, "credit", number)

    def last_reviewed() -> str | None:
        [row] = ok(team["audrey"].get(f"{API}/reviews/due", params={"state": "all"}))["items"]
        value: str | None = row["last_reviewed_at"]
        return value

    assert last_reviewed() is None
    first = clock.advance(days=1)
    ok(sign(team, "eli", "credit", number, "automated_gates"), 201)
    assert last_reviewed() == first.isoformat().replace("+00:00", "Z")
    second = clock.advance(days=1)
    ok(sign(team, "vera", "credit", number, "independent_validation"), 201)
    assert last_reviewed() == second.isoformat().replace("+00:00", "Z")
    # the newest approval in force signed again, later: the clock moves on to the new signature
    again = clock.advance(days=1)
    ok(sign(team, "vera", "credit", number, "independent_validation"), 201)
    assert last_reviewed() == again.isoformat().replace("+00:00", "Z")
    clock.advance(days=1)
    ok(sign(team, "vera", "credit", number, "independent_validation", "rejected"), 201)
    assert last_reviewed() == first.isoformat().replace("+00:00", "Z")  # the revoked one no longer counts
    with steward.store.read() as tx:
        [row] = tx.workflow.due_rows("credit")
    assert row.last_reviewed_at == first and row.last_attested_at is None


def test_the_migration_fills_in_the_clocks_of_the_reviews_already_stored(
    steward: Steward, team: dict[str, TestClient], clock: Clock
) -> None:
    from alembic import command

    from steward.storage._engine import _alembic_config

    number = register(steward, "credit")
    register(steward, "churn", "low", model={"owner": "dana"})
    register(steward, "idle", "medium")  # neither reviewed nor attested: no clock row
    evaluate(team, "credit", number)
    ok(sign(team, "eli", "credit", number, "automated_gates"), 201)
    clock.advance(days=1)
    ok(team["dana"].post(f"{API}/models/churn/attestations", json={"statement": "current"}), 201)
    with steward.store.read() as tx:
        kept = tx.workflow.due_rows()
    config = _alembic_config(steward.store.engine)
    command.downgrade(config, "0005")  # as a database upgraded from before the clocks
    command.upgrade(config, "head")
    with steward.store.read() as tx:
        assert tx.workflow.due_rows() == kept
    assert [(r.name, r.last_reviewed_at is not None, r.last_attested_at is not None) for r in kept] == [
        ("churn", False, True),
        ("credit", True, False),
        ("idle", False, False),
    ]


# -- conditions and deprecation ----------------------------------------------------------------


def test_conditions_stay_open_until_met(steward: Steward, team: dict[str, TestClient]) -> None:
    number = register(steward, "credit")
    evaluate(team, "credit", number)
    ok(sign(team, "eli", "credit", number, "automated_gates"), 201)
    review = ok(
        sign(
            team,
            "vera",
            "credit",
            number,
            "independent_validation",
            "approved_with_conditions",
            conditions=["monitor drift monthly", "re-validate on new data"],
            evidence=["https://wiki.example.com/validation/credit-1"],
        ),
        201,
    )
    assert [c["open"] for c in review["conditions"]] == [True, True]
    assert review["evidence"] == ["https://wiki.example.com/validation/credit-1"]
    for stage in ("compliance_review", "business_signoff"):
        ok(sign(team, SIGNERS[stage], "credit", number, stage), 201)
    done = ok(promote(team, "credit", number), 201)
    assert [w["rule"] for w in done["warnings"]] == ["signoff.condition_open"] * 2
    path = f"{API}/models/credit/versions/{number}/conditions"
    condition = ok(team["audrey"].get(path))["items"][0]
    met = ok(team["cora"].post(f"{API}/conditions/{condition['id']}/meet", json={"note": "dashboard live"}))
    assert (met["open"], met["met_by"], met["note"]) == (False, "cora", "dashboard live")
    assert [c["text"] for c in ok(team["audrey"].get(path))["items"]] == ["re-validate on new data"]
    assert len(ok(team["audrey"].get(path, params={"state": "all"}))["items"]) == 2
    paged = ok(team["audrey"].get(path, params={"state": "all", "page_size": 1}))
    assert [c["id"] for c in paged["items"]] == [condition["id"]] and paged["next_page_token"]
    before = db_state(steward)
    refused(
        team["cora"].post(f"{API}/conditions/{condition['id']}/meet", json={"note": "again"}),
        409,
        "invalid_transition",
    )
    refused(team["cora"].post(f"{API}/conditions/999/meet", json={"note": "x"}), 404, "not_found")
    refused(
        team["dana"].post(f"{API}/conditions/{condition['id']}/meet", json={"note": "x"}),
        403,
        "permission_denied",
    )
    assert db_state(steward) == before
    history = ok(team["audrey"].get(f"{API}/models/credit/history"))["entries"][0]
    assert history["evidence"] == ["https://wiki.example.com/validation/credit-1"]
    assert len(events(steward, "review_condition.fulfilled")) == 1


def test_a_condition_is_met_by_neither_who_registered_nor_who_trained_the_version(
    steward: Steward, team: dict[str, TestClient]
) -> None:
    number = register(steward, "credit")  # dana registered it, alice trained it
    evaluate(team, "credit", number)
    conditions = ["pin the feature list"]
    ok(
        sign(
            team,
            "eli",
            "credit",
            number,
            "automated_gates",
            "approved_with_conditions",
            conditions=conditions,
        ),
        201,
    )
    [condition] = ok(team["audrey"].get(f"{API}/models/credit/versions/{number}/conditions"))["items"]
    meet = f"{API}/conditions/{condition['id']}/meet"
    before = db_state(steward)
    error = refused(team["alice"].post(meet, json={"note": "done, trust me"}), 403, "separation_of_duties")
    assert error["details"]["rules"] == ["separation.condition_run_author"]
    assert (
        "separation.condition_run_author" in error["message"]
        and error["details"]["condition"] == condition["id"]
    )
    assert db_state(steward) == before
    # a version the ML engineer registered himself: he may not mark its conditions met
    own = governed(steward, caller_of(steward, "eli"), "churn", Governed(model={"risk_tier": "low"}))
    evaluate(team, "churn", own)
    ok(
        sign(
            team, "otto", "churn", own, "automated_gates", "approved_with_conditions", conditions=conditions
        ),
        201,
    )
    [mine] = ok(team["audrey"].get(f"{API}/models/churn/versions/{own}/conditions"))["items"]
    error = refused(
        team["eli"].post(f"{API}/conditions/{mine['id']}/meet", json={"note": "pinned"}),
        403,
        "separation_of_duties",
    )
    assert error["details"]["rules"] == ["separation.condition_registrant"]
    assert db_state(steward)["review_conditions"] == before["review_conditions"] + 1  # still open
    met = ok(team["eli"].post(meet, json={"note": "feature list pinned in the lock file"}))
    assert (met["open"], met["met_by"]) == (False, "eli")  # he signed a stage: he may check his condition
    assert len(events(steward, "review_condition.fulfilled")) == 1


def test_deprecation_takes_a_version_out_of_the_path(steward: Steward, team: dict[str, TestClient]) -> None:
    number = register(steward, "credit")
    sign_all(team, "credit", number)
    ok(promote(team, "credit", number), 201)
    before = db_state(steward)
    body = {"reason": "superseded"}
    refused(
        team["dana"].post(f"{API}/models/credit/versions/{number}/deprecation", json=body),
        409,
        "invalid_transition",
    )
    assert db_state(steward) == before
    other = register(steward, "scorer")
    deprecated = ok(team["dana"].post(f"{API}/models/scorer/versions/{other}/deprecation", json=body))
    assert deprecated["state"] == "deprecated"
    refused(promote(team, "scorer", other, "staging"), 409, "invalid_transition")
    refused(sign(team, "eli", "scorer", other, "automated_gates", "rejected"), 409, "invalid_transition")
    assert [e.reason for e in events(steward, "model_version.deprecated")] == ["superseded"]


# -- the guard hook: a promotion and a rollback set the platform's guarded aliases ------------


class FakePlatform:
    """Just enough of a ModelSource for guard mode's alias sync."""

    platform = "mlflow"
    location = "http://mlflow.test"

    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}

    def external_id(self, model: str, version: str) -> str:
        return f"{model}/{version}"

    def model(self, name: str) -> SourceModel | None:
        return SourceModel(name, f"{self.location}/#/models/{name}", aliases=dict(self.aliases))

    def set_alias(self, model: str, alias: str, version: str) -> None:
        self.aliases[alias] = version

    def delete_alias(self, model: str, alias: str) -> None:
        self.aliases.pop(alias, None)


def test_promotion_and_rollback_set_the_guarded_aliases_and_retirement_removes_them(
    steward: Steward, team: dict[str, TestClient]
) -> None:
    platform = FakePlatform()
    guard = local_operator(name="connector:mlflow")
    steward.bus.after_commit(lambda event: steward.guard.sync(guard, platform, event))  # type: ignore[arg-type]
    first = register(steward, "credit")
    second = steward.registry.register_version(
        caller_of(steward, "dana"),
        "credit",
        wire.VersionCreate(
            artifact_uri="s3://m/2",
            artifact_digest="sha256:" + "4" * 64,
            training_run="credit-run",
            code_commit="4f2a9c1",
            metrics={"accuracy": 0.91, "auc": 0.87},
            environment=wire.EnvironmentIn(
                python_version="3.11.7", dependency_lock_digest="sha256:" + "5" * 64
            ),
            datasets=[wire.DatasetUseIn(dataset="credit-applications", version="2024-06", role="training")],  # type: ignore[arg-type]
        ),
    ).version
    with steward.store.write() as tx:
        for number, at_platform in ((first, "11"), (second, "12")):
            tx.sources.add_link(
                "credit",
                number,
                SourceLink(
                    "mlflow",
                    f"credit/{at_platform}",
                    f"models:/credit/{at_platform}",
                    attributes={"location": platform.location, "version": at_platform, "model": "credit"},
                    linked_by="test",
                    linked_at=START,
                ),
            )
    steward.checks.record(caller_of(steward, "vera"), "credit", second, "fairness", "pass", _fair())
    for number in (first, second):
        sign_all(team, "credit", number)
        ok(promote(team, "credit", number), 201)
    assert platform.aliases == {"production": "12", "champion": "12"}
    ok(team["otto"].post(f"{API}/models/credit/rollbacks", json={"reason": "drift"}), 201)
    assert platform.aliases == {"production": "11", "champion": "11"}
    assert len(events(steward, "alias.synced")) == 6
    platform.aliases["shadow"] = "12"  # not guarded: left alone
    ok(team["carl"].post(f"{API}/models/credit/retirement", json={"reason": "replaced by vendor"}), 201)
    assert platform.aliases == {"shadow": "12"}
    removed = events(steward, "alias.synced")[6:]
    assert sorted(e.subject_id for e in removed) == ["credit/champion", "credit/production"]
    assert all(e.after is not None and e.after["version"] is None for e in removed)
    assert all(e.before is not None and e.before["version"] == "11" for e in removed)
    assert steward.audit.verify(local_operator()).ok


def test_the_guard_counts_only_what_the_workflow_deployed(
    steward: Steward, team: dict[str, TestClient]
) -> None:
    """A deployment row that no promotion made (written before deployments went through the
    workflow) does not make an alias on its version legitimate: the guard removes it."""
    platform = FakePlatform()
    guard = local_operator(name="connector:mlflow")
    number = register(steward, "credit")
    with steward.store.write() as tx:
        tx.sources.add_link(
            "credit",
            number,
            SourceLink(
                "mlflow",
                "credit/11",
                "models:/credit/11",
                attributes={"location": platform.location, "version": "11", "model": "credit"},
                linked_by="test",
                linked_at=START,
            ),
        )
        tx.deployments.insert_deployment(
            Deployment(0, "credit", number, "production", "ep", "someone", START)
        )
    platform.aliases["production"] = "11"
    outcome = steward.guard.on_alias_set(guard, platform, "credit", "production")  # type: ignore[arg-type]
    assert outcome.startswith("alias_removed: incident")
    assert platform.aliases == {}
    incident = int(outcome.rsplit(" ", 1)[1])  # the bypass is dealt with before the version goes on
    resolution = wire.IncidentResolve(resolution="the alias was set by the old release script")
    steward.incidents.resolve(caller_of(steward, "carl"), incident, resolution)
    sign_all(team, "credit", number)  # now the workflow takes the same version there
    deployment = ok(promote(team, "credit", number), 201)["deployment"]
    assert deployment["replaces"] is not None  # the legacy row is replaced, kept as the pointer
    platform.aliases["production"] = "11"
    assert steward.guard.on_alias_set(guard, platform, "credit", "production").startswith("allowed")  # type: ignore[arg-type]
