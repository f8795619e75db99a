"""The inventory's rows: review due dates, sorting and paging over the service's model summaries."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from steward.domain import ModelState, RiskTier
from steward.storage import ModelSummary

PAGE_SIZES = (25, 50, 100)
TIER_ORDER = {RiskTier.HIGH: 0, RiskTier.MEDIUM: 1, RiskTier.LOW: 2}
STATE_ORDER = {ModelState.ACTIVE: 0, ModelState.UNDER_REVIEW: 1, ModelState.RETIRED: 2}

# sort key -> column heading
SORTS: dict[str, str] = {
    "name": "Model",
    "owner": "Owner",
    "risk_tier": "Risk tier",
    "state": "State",
    "production": "In production",
    "review_due": "Review due",
}


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, on the last day of the month when it is shorter."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def review_due(summary: ModelSummary) -> date | None:
    """When the record is next due for review: its last update plus its review cadence."""
    if summary.review_cadence_months is None:
        return None
    return add_months(summary.updated_on, summary.review_cadence_months)


@dataclass(frozen=True, slots=True)
class InventoryRow:
    model: ModelSummary
    review_due: date | None
    overdue: bool


def rows_of(summaries: Sequence[ModelSummary], today: date) -> list[InventoryRow]:
    rows = []
    for summary in summaries:
        due = review_due(summary)
        overdue = due is not None and due < today and summary.state is not ModelState.RETIRED
        rows.append(InventoryRow(summary, due, overdue))
    return rows


def sort_rows(rows: list[InventoryRow], key: str, descending: bool) -> list[InventoryRow]:
    """Rows in ``key`` order, then by name; missing values (no due date, nothing in production) last."""
    by_name = sorted(rows, key=lambda r: r.model.name)
    if key == "name":
        return list(reversed(by_name)) if descending else by_name
    present: list[InventoryRow]
    missing: list[InventoryRow] = []
    if key == "owner":
        present = sorted(by_name, key=lambda r: r.model.owner.lower(), reverse=descending)
    elif key == "risk_tier":
        present = sorted(by_name, key=lambda r: TIER_ORDER[r.model.risk_tier], reverse=descending)
    elif key == "state":
        present = sorted(by_name, key=lambda r: STATE_ORDER[r.model.state], reverse=descending)
    elif key == "production":
        present = [r for r in by_name if r.model.production_version is not None]
        missing = [r for r in by_name if r.model.production_version is None]
        present.sort(key=lambda r: r.model.production_version or 0, reverse=descending)
    elif key == "review_due":
        present = [r for r in by_name if r.review_due is not None]
        missing = [r for r in by_name if r.review_due is None]
        present.sort(key=lambda r: r.review_due or date.min, reverse=descending)
    else:
        raise ValueError(f"unknown sort key {key!r}")
    return present + missing


@dataclass(frozen=True, slots=True)
class Paged:
    rows: list[InventoryRow]
    page: int
    pages: int
    total: int
    first: int  # 1-based position of the first row shown (0 when none)
    last: int


def page_of(rows: list[InventoryRow], page: int, size: int) -> Paged:
    total = len(rows)
    pages = max(1, -(-total // size))
    page = min(max(1, page), pages)
    start = (page - 1) * size
    shown = rows[start : start + size]
    return Paged(shown, page, pages, total, start + 1 if shown else 0, start + len(shown))
