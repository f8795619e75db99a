"""The web UI's pure helpers: the review clock, decision findings and check values, inventory
sorting and paging, graph and chart geometry, sessions and flash messages, the review forms'
refusals and the model page's reviews per stage."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from starlette.requests import Request
from starlette.responses import Response

from steward.domain import (
    Lineage,
    LineageEdge,
    LineageNode,
    ModelState,
    PolicyDecision,
    Reason,
    Review,
    ReviewDecision,
    ReviewStage,
    RiskTier,
    Role,
    SignoffStatus,
    VersionState,
    Workflow,
)
from steward.errors import InvalidInput, PolicyViolation, SeparationOfDuties
from steward.server.ui import _charts, _inventory, _lineage, _reviews
from steward.server.ui._auth import safe_next
from steward.server.ui._pages import finding_rows, flat_values
from steward.server.ui._session import COOKIE, FLASH_COOKIE, Flash, Session, SessionCodec
from steward.server.ui._web import format_duration
from steward.storage import ModelSummary
from steward.wire import ReviewCreate, parse


def summary(name: str, **fields: object) -> ModelSummary:
    values: dict[str, object] = {
        "owner": "team",
        "risk_tier": RiskTier.LOW,
        "state": ModelState.ACTIVE,
        "regulatory_scopes": (),
        "review_cadence_months": None,
        "created_at": datetime(2026, 1, 31, 12, 0, tzinfo=UTC),
        "production_version": None,
        **fields,
    }
    return ModelSummary(name=name, **values)  # type: ignore[arg-type]


NOW = datetime(2026, 8, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("created", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2026, 11, 15), 2, date(2027, 1, 15)),
        (date(2026, 8, 31), 6, date(2027, 2, 28)),
        (date(2026, 3, 1), 24, date(2028, 3, 1)),
    ],
)
def test_a_review_falls_due_on_the_same_day_or_the_month_end(
    created: date, months: int, expected: date
) -> None:
    at = datetime(created.year, created.month, created.day, 15, 30, tzinfo=UTC)
    status = _inventory.review_status(Workflow(), RiskTier.LOW, months, at, NOW)
    assert _inventory.due_day(status) == expected


def test_the_review_clock_is_the_gates_and_takes_the_last_review_when_given() -> None:
    created = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
    own = _inventory.review_status(Workflow(), RiskTier.LOW, 6, created, NOW)
    assert (own.cadence_months, own.overdue) == (6, True)
    tiers = _inventory.review_status(Workflow(), RiskTier.HIGH, None, created, NOW)  # the tier's default
    assert (tiers.cadence_months, _inventory.due_day(tiers)) == (6, date(2026, 7, 31))
    reviewed = _inventory.review_status(
        Workflow(),
        RiskTier.LOW,
        6,
        created,
        NOW,
        last_reviewed_at=datetime(2026, 6, 1, tzinfo=UTC),
        last_attested_at=datetime(2026, 6, 2, tzinfo=UTC),
    )
    assert (reviewed.overdue, _inventory.due_day(reviewed)) == (False, date(2026, 12, 1))


def test_rows_flag_overdue_reviews_but_not_of_retired_models() -> None:
    rows = _inventory.rows_of(
        [
            summary("a", review_cadence_months=6),
            summary("b", review_cadence_months=6, state=ModelState.RETIRED),
            summary("c"),
        ],
        NOW,
        Workflow(),
    )
    assert [(r.review_due, r.overdue) for r in rows] == [
        (date(2026, 7, 31), True),
        (None, False),  # a retired model falls due for nothing
        (date(2028, 1, 31), False),  # no cadence of its own: the low tier's 24 months
    ]


def test_decision_findings_and_check_values_read_as_text() -> None:
    decision = PolicyDecision(
        id=1,
        model="m",
        version=1,
        environment="production",
        allow=False,
        denies=(
            {
                "rule": "metrics.floor",
                "message": "metrics.floor: accuracy is 0.41",
                "measured": 0.41,
                "required": 0.6,
            },
        ),
        warnings=({"rule": "docs.card", "message": "no model card", "measured": None, "required": ["card"]},),
        bundle_name="b",
        bundle_version="1",
        bundle_digest="sha256:" + "0" * 64,
        input_digest="sha256:" + "1" * 64,
        engine="regorus",
        engine_version="0",
    )
    assert finding_rows(decision) == [
        ("deny", "metrics.floor", "accuracy is 0.41", "0.41", "0.6"),
        ("warn", "docs.card", "no model card", "", '["card"]'),
    ]
    assert flat_values({"rows": 200, "attributes": {"sex": {"ratio": 0.933333}}, "empty": {}}) == [
        ("attributes.sex.ratio", "0.9333"),
        ("empty", "{}"),
        ("rows", "200"),
    ]


def test_sorting_puts_missing_values_last_in_either_order() -> None:
    rows = _inventory.rows_of(
        [
            summary("a", production_version=2, risk_tier=RiskTier.MEDIUM),
            summary("b", risk_tier=RiskTier.HIGH),
            summary("c", production_version=7),
        ],
        NOW,
        Workflow(),
    )
    names = lambda key, desc: [r.model.name for r in _inventory.sort_rows(rows, key, desc)]  # noqa: E731
    assert names("production", False) == ["a", "c", "b"]
    assert names("production", True) == ["c", "a", "b"]
    assert names("risk_tier", False) == ["b", "a", "c"]
    assert names("name", True) == ["c", "b", "a"]
    with pytest.raises(ValueError, match="unknown sort key"):
        _inventory.sort_rows(rows, "colour", False)


def test_paging_clamps_to_the_pages_that_exist() -> None:
    rows = _inventory.rows_of([summary(f"m{i:02d}") for i in range(30)], NOW, Workflow())
    last = _inventory.page_of(rows, 9, 25)
    assert (last.page, last.pages, last.first, last.last, len(last.rows)) == (2, 2, 26, 30, 5)
    empty = _inventory.page_of([], 1, 25)
    assert (empty.pages, empty.first, empty.last) == (1, 0, 0)


def test_lineage_layout_flows_left_to_right_and_routes_around_boxes() -> None:
    root = "version:m/1"
    lineage = Lineage(
        root,
        (
            LineageNode(root, "model_version", "m v1", {"state": "registered"}),
            LineageNode("dataset:d@1", "dataset_version", "d@1", {"approved": False}),
            LineageNode("dataset:d@1", "dataset_version", "d@1", {"approved": False}),
            LineageNode("dataset:t@1", "dataset_version", "t@1", {"approved": True}),
            LineageNode("run:r", "training_run", "r", {"platform": "mlflow"}),
            LineageNode("environment:m/1", "environment", "3.11", {"python_version": "3.11"}),
        ),
        (
            LineageEdge("dataset:d@1", "run:r", "training_data"),
            LineageEdge("dataset:d@1", root, "test_data"),
            LineageEdge("dataset:t@1", root, "test_data"),
            LineageEdge("run:r", root, "produced"),
            LineageEdge("environment:m/1", root, "built_with"),
        ),
    )
    graph = _lineage.layout(lineage)
    by_id = {n.id: n for n in graph.nodes}
    assert len([n for n in graph.nodes if n.id == "dataset:d@1"]) == 1  # one box for two uses
    assert by_id["dataset:d@1"].detail == "training + test · unapproved source" and by_id["dataset:d@1"].warn
    assert by_id["dataset:d@1"].x < by_id["run:r"].x < by_id[root].x
    assert [n.label for n in graph.nodes if n.placeholder] == ["not deployed"]
    assert by_id["environment:m/1"].label == "Python 3.11"
    skipping = [e for e in graph.edges if e.relation == "test data"]
    assert all(" L" in e.path for e in skipping)  # through a lane of the training column
    assert all(e.dashed for e in skipping)


def test_bar_charts_share_one_scale() -> None:
    chart = _charts.bars(["a", "b"], ["x", "y"], {("a", "x"): 2, ("a", "y"): 2, ("b", "x"): 1})
    a, b = chart.rows
    assert a.total == 4 and b.total == 1
    assert a.segments[0].width == a.segments[1].width == 2 * b.segments[0].width
    assert a.end - chart.label_w == 4 * b.segments[0].width
    empty = _charts.columns([("w1", 0), ("w2", 0)])
    assert [c.height for c in empty.columns] == [0, 0]


def test_sessions_are_sealed_and_bound_to_their_key() -> None:
    codec = SessionCodec("secret")
    sealed = codec.seal(Session.fresh(token="stw_x"))
    assert "stw_x" not in sealed and "=" not in sealed
    opened = codec.open(sealed)
    assert opened is not None and opened.token == "stw_x"
    assert SessionCodec("other").open(sealed) is None
    assert codec.open(sealed[:-2] + "xx") is None
    assert codec.open("") is None
    assert opened.csrf_matches(opened.csrf) and not opened.csrf_matches("") and not opened.csrf_matches(None)


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/models/x?version=2", "/models/x?version=2"), ("//evil", "/"), ("https://evil", "/"), (None, "/")],
)
def test_sign_in_only_returns_to_this_site(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


def request_with(cookies: dict[str, str]) -> Request:
    header = "; ".join(f"{k}={v}" for k, v in cookies.items()).encode()
    return Request({"type": "http", "scheme": "http", "headers": [(b"cookie", header)], "path": "/"})


def test_a_flash_shows_only_in_the_session_that_posted_the_form() -> None:
    codec = SessionCodec("secret")
    mine, theirs = Session.fresh(token="stw_a"), Session.fresh(token="stw_b")
    response = Response()
    codec.write_flash(request_with({}), response, mine, Flash("You approved it.", "/models/m", "See it"))
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{FLASH_COOKIE}=") and "HttpOnly" in cookie and "Max-Age=120" in cookie
    sealed = cookie.split(";", 1)[0].split("=", 1)[1]
    assert "approved" not in sealed
    request = request_with({FLASH_COOKIE: sealed, COOKIE: codec.seal(mine)})
    assert codec.read_flash(request, mine) == Flash("You approved it.", "/models/m", "See it")
    assert codec.read_flash(request, theirs) is None
    assert SessionCodec("other").read_flash(request, mine) is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "less than a minute"),
        (59, "less than a minute"),
        (61, "1 min"),
        (3600, "1 h"),
        (3 * 3600 + 25 * 60, "3 h 25 min"),
        (86400, "1 day"),
        (5 * 86400 + 7200 + 60, "5 days 2 h"),
    ],
)
def test_waiting_times_read_in_their_two_largest_units(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text


def test_a_separation_refusal_names_each_rule_in_plain_words() -> None:
    refused = _reviews.refusal_of(
        SeparationOfDuties(
            "eli may not sign automated_gates of m version 2: ...",
            {
                "rules": ["separation.registrant"],
                "violations": [
                    {
                        "rule": "separation.registrant",
                        "message": "separation.registrant: eli registered this version; required a reviewer "
                        "who did not register it",
                    }
                ],
            },
        )
    )
    assert (refused.status, refused.title) == (403, "Refused by separation of duties")
    assert refused.rules == (
        (
            "separation.registrant",
            "You registered this version",
            "eli registered this version; required a reviewer who did not register it",
        ),
    )
    gates = _reviews.refusal_of(
        PolicyViolation("denied", {"reasons": [{"rule": "signoff.gates_not_passed", "message": "x: y"}]})
    )
    assert gates.status == 409 and gates.rules[0][0] == "signoff.gates_not_passed"


def test_invalid_review_input_is_named_by_form_field() -> None:
    def fields(**body: object) -> dict[str, str]:
        with pytest.raises(InvalidInput) as caught:
            parse(ReviewCreate, {"stage": "automated_gates", "decision": "approved", "comment": "ok", **body})
        refused = _reviews.refusal_of(caught.value)
        assert refused.status == 422
        return dict(refused.fields)

    assert fields(comment="   ") == {"comment": "enter a comment: what you checked and why you decided so"}
    assert fields(evidence=["https://ok.example.com", "not a link"])["evidence"].startswith(
        "line 2: not a link"
    )
    assert fields(conditions=["c"]) == {
        "conditions": "conditions go with approved_with_conditions, not with approved"
    }
    assert fields(decision="approve")["decision"].startswith("must be one of approved, rejected")
    assert "stage" in fields(stage="")


@pytest.mark.parametrize(
    ("back", "queue", "stage"),
    [
        ("/reviews", "/reviews", None),
        (
            "/reviews?stage=compliance_review&page_token=t",
            "/reviews?stage=compliance_review&page_token=t",
            ReviewStage.COMPLIANCE_REVIEW,
        ),
        ("/reviews?stage=nope", "/reviews", None),
        ("https://evil.example/reviews", "/reviews", None),
        ("/models/m", "/reviews", None),
    ],
)
def test_a_form_returns_only_to_a_page_of_the_queue(back: str, queue: str, stage: ReviewStage | None) -> None:
    where, chosen, _ = _reviews.queue_of(back)
    assert (where, chosen) == (queue, stage)


def review(stage: ReviewStage, decision: ReviewDecision, minute: int, who: str = "x") -> Review:
    at = datetime(2026, 3, 2, 9, minute, tzinfo=UTC)
    return Review(minute, "m", 1, stage, decision, who, Role.VALIDATOR, at)


def test_the_model_page_lists_each_stage_newest_review_first_and_what_waits() -> None:
    S, D = ReviewStage, ReviewDecision
    reviews = (
        review(S.AUTOMATED_GATES, D.APPROVED, 1, "eli"),
        review(S.INDEPENDENT_VALIDATION, D.APPROVED, 2, "vera"),
        review(S.INDEPENDENT_VALIDATION, D.REJECTED, 3, "vic"),
    )
    workflow = Workflow()
    status = SignoffStatus(
        model="m",
        version=1,
        risk_tier=RiskTier.MEDIUM,
        version_state=VersionState.VALIDATED,
        reviews=reviews,
        roles={S.AUTOMATED_GATES: (Role.ML_ENGINEER,), S.COMPLIANCE_REVIEW: (Role.COMPLIANCE_OFFICER,)},
        stages={env: workflow.stages_for(RiskTier.MEDIUM, env) for env in ("staging", "production")},
        missing={"staging": (), "production": (Reason("signoff.missing", "m"),)},
    )
    rows = _reviews.stage_rows(status)
    # medium needs gates and compliance; validation is shown because someone signed it
    assert [r.stage for r in rows] == [S.AUTOMATED_GATES, S.INDEPENDENT_VALIDATION, S.COMPLIANCE_REVIEW]
    assert [r.reviewer for r in rows[1].reviews] == ["vic", "vera"]  # newest (in force) first
    assert rows[0].needed_for == ("staging", "production") and rows[1].needed_for == ()
    assert rows[2].waiting and not rows[0].waiting and rows[2].current is None
    closed = _reviews.stage_rows(replace(status, version_state=VersionState.REJECTED))
    assert not any(r.waiting for r in closed)  # a rejected version waits for nothing
    assert _reviews.link_of("https://wiki.example.com/x") == "https://wiki.example.com/x"
    assert _reviews.link_of("javascript://%0aalert(1)") is None and _reviews.link_of("s3://b/k") is None
