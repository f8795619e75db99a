"""The inventory's rows: review due dates, sorting and paging over the service's model summaries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from steward.domain import ModelState, PeriodicStatus, RiskTier, Workflow, periodic_status
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


def review_status(
    workflow: Workflow,
    risk_tier: RiskTier,
    own_cadence_months: int | None,
    created_at: datetime,
    now: datetime,
    *,
    last_reviewed_at: datetime | None = None,
    last_attested_at: datetime | None = None,
) -> PeriodicStatus:
    """A model's periodic review clock, computed as the gates compute ``review_overdue``: the
    domain's :func:`~steward.domain.periodic_status` with the model's own cadence, else its tier's.
    The pages give no ``last_reviewed_at`` or ``last_attested_at`` yet, so the clock runs from the
    record's creation (an edit of the record does not restart it)."""
    return periodic_status(
        workflow.cadence_for(risk_tier, own_cadence_months),
        created_at,
        last_reviewed_at,
        last_attested_at,
        now,
    )


def due_day(status: PeriodicStatus) -> date:
    """The UTC day the model is next due: its periodic review or its owner's attestation."""
    return min(status.review_due_at, status.attestation_due_at).date()


@dataclass(frozen=True, slots=True)
class InventoryRow:
    model: ModelSummary
    review_due: date | None  # None for a retired model: no review falls due
    overdue: bool


def rows_of(summaries: Sequence[ModelSummary], now: datetime, workflow: Workflow) -> list[InventoryRow]:
    rows = []
    for summary in summaries:
        if summary.state is ModelState.RETIRED:
            rows.append(InventoryRow(summary, None, False))
            continue
        status = review_status(
            workflow, summary.risk_tier, summary.review_cadence_months, summary.created_at, now
        )
        rows.append(InventoryRow(summary, due_day(status), status.overdue))
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
