"""Geometry of the dashboard's charts (inline SVG, drawn by the templates; no JavaScript)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

LABEL_W = 168
BAR_W = 380
ROW_H = 30
BAR_H = 18
PAD = 8


@dataclass(frozen=True, slots=True)
class Segment:
    series: str
    value: int
    x: float
    width: float


@dataclass(frozen=True, slots=True)
class BarRow:
    label: str
    total: int
    y: int
    segments: list[Segment]
    end: float  # x where the bar ends (the total is written after it)


@dataclass(frozen=True, slots=True)
class BarChart:
    """Horizontal bars, each split into series (one series: plain bars)."""

    width: int
    height: int
    rows: list[BarRow]
    series: list[str]
    label_w: int = LABEL_W
    bar_h: int = BAR_H


def bars(categories: Sequence[str], series: Sequence[str], values: dict[tuple[str, str], int]) -> BarChart:
    """One bar per category, stacked by series, all on one scale."""
    totals = {c: sum(values.get((c, s), 0) for s in series) for c in categories}
    scale = BAR_W / max([1, *totals.values()])
    rows = []
    for i, category in enumerate(categories):
        x: float = LABEL_W
        segments = []
        for name in series:
            value = values.get((category, name), 0)
            if value:
                segments.append(Segment(name, value, x, value * scale))
                x += value * scale
        rows.append(BarRow(category, totals[category], PAD + i * ROW_H, segments, x))
    height = PAD * 2 + max(1, len(categories)) * ROW_H
    return BarChart(LABEL_W + BAR_W + 64, height, rows, list(series))


@dataclass(frozen=True, slots=True)
class Column:
    label: str
    value: int
    x: float
    y: float
    height: float


@dataclass(frozen=True, slots=True)
class ColumnChart:
    width: int
    height: int
    baseline: int
    columns: list[Column]
    column_w: float


def columns(items: Sequence[tuple[str, int]], *, width: int = 620, plot_h: int = 150) -> ColumnChart:
    """Vertical columns (for counts over time), labels under the baseline, values above each."""
    baseline = 22 + plot_h  # room above the tallest column for its value
    slot = (width - 2 * PAD) / max(1, len(items))
    column_w = max(6.0, slot * 0.62)
    scale = plot_h / max([1, *(v for _, v in items)])
    placed = []
    for i, (label, value) in enumerate(items):
        h = value * scale
        x = PAD + i * slot + (slot - column_w) / 2
        placed.append(Column(label, value, x, baseline - h, h))
    return ColumnChart(width, baseline + 26, baseline, placed, column_w)
