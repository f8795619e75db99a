"""The web UI's pure helpers: review due dates, inventory sorting and paging, graph and chart geometry."""

from __future__ import annotations

from datetime import date

import pytest

from steward.domain import Lineage, LineageEdge, LineageNode, ModelState, RiskTier
from steward.server.ui import _charts, _inventory, _lineage
from steward.server.ui._auth import safe_next
from steward.server.ui._session import Session, SessionCodec
from steward.storage import ModelSummary


def summary(name: str, **fields: object) -> ModelSummary:
    values: dict[str, object] = {
        "owner": "team",
        "risk_tier": RiskTier.LOW,
        "state": ModelState.ACTIVE,
        "regulatory_scopes": (),
        "review_cadence_months": None,
        "updated_on": date(2026, 1, 31),
        "production_version": None,
        **fields,
    }
    return ModelSummary(name=name, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2026, 11, 15), 2, date(2027, 1, 15)),
        (date(2026, 8, 31), 6, date(2027, 2, 28)),
        (date(2026, 3, 1), 24, date(2028, 3, 1)),
    ],
)
def test_add_months_keeps_the_day_or_the_month_end(day: date, months: int, expected: date) -> None:
    assert _inventory.add_months(day, months) == expected


def test_rows_flag_overdue_reviews_but_not_of_retired_models() -> None:
    rows = _inventory.rows_of(
        [
            summary("a", review_cadence_months=6),
            summary("b", review_cadence_months=6, state=ModelState.RETIRED),
            summary("c"),
        ],
        today=date(2026, 8, 1),
    )
    assert [(r.review_due, r.overdue) for r in rows] == [
        (date(2026, 7, 31), True),
        (date(2026, 7, 31), False),
        (None, False),
    ]


def test_sorting_puts_missing_values_last_in_either_order() -> None:
    rows = _inventory.rows_of(
        [
            summary("a", production_version=2, risk_tier=RiskTier.MEDIUM),
            summary("b", risk_tier=RiskTier.HIGH),
            summary("c", production_version=7),
        ],
        today=date(2026, 1, 1),
    )
    names = lambda key, desc: [r.model.name for r in _inventory.sort_rows(rows, key, desc)]  # noqa: E731
    assert names("production", False) == ["a", "c", "b"]
    assert names("production", True) == ["c", "a", "b"]
    assert names("risk_tier", False) == ["b", "a", "c"]
    assert names("name", True) == ["c", "b", "a"]
    with pytest.raises(ValueError, match="unknown sort key"):
        _inventory.sort_rows(rows, "colour", False)


def test_paging_clamps_to_the_pages_that_exist() -> None:
    rows = _inventory.rows_of([summary(f"m{i:02d}") for i in range(30)], today=date(2026, 1, 1))
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
