"""Data quality of a table given as columns (name → one-dimensional array), against expectations.

Each expectation gives one :class:`ExpectationResult` with what it measured and what it required;
the check fails when any expectation fails. A per-column expectation on a column the table does
not have fails (the column is missing), it is never skipped.

Nulls are ``NaN`` in float columns, ``NaT`` in datetime columns, and ``None`` or ``NaN`` in object
columns; integer, boolean and fixed-width string columns have none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from steward.checks._outcome import CheckOutcome, outcome
from steward.errors import InvalidInput

COLUMN_KINDS = ("bool", "datetime", "float", "integer", "numeric", "string")
_KIND_CODES = {
    "bool": "b",
    "datetime": "M",
    "float": "f",
    "integer": "iu",
    "numeric": "iuf",
    "string": "USTO",
}
_EXAMPLES = 5


@dataclass(frozen=True, slots=True)
class RequiredColumns:
    """The table has every one of ``columns``."""

    type: ClassVar[str] = "required_columns"
    columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ColumnType:
    """The column holds values of ``kind``: one of :data:`COLUMN_KINDS`."""

    type: ClassVar[str] = "column_type"
    column: str
    kind: str


@dataclass(frozen=True, slots=True)
class MaxNullFraction:
    """At most ``max_fraction`` (0..1) of the column's rows are null."""

    type: ClassVar[str] = "max_null_fraction"
    column: str
    max_fraction: float


@dataclass(frozen=True, slots=True)
class ValueRange:
    """Every non-null value lies in ``[min, max]`` (either bound may be left open)."""

    type: ClassVar[str] = "value_range"
    column: str
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True, slots=True)
class AllowedValues:
    """Every non-null value is one of ``values``."""

    type: ClassVar[str] = "allowed_values"
    column: str
    values: tuple[Any, ...]


Expectation = RequiredColumns | ColumnType | MaxNullFraction | ValueRange | AllowedValues


@dataclass(frozen=True, slots=True)
class ExpectationResult:
    """The outcome of one expectation."""

    expectation: str
    column: str | None
    passed: bool
    measured: Any
    required: Any
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "expectation": self.expectation,
            "column": self.column,
            "passed": self.passed,
            "measured": self.measured,
            "required": self.required,
            "message": self.message,
        }


def expectations_from_dicts(items: Sequence[Mapping[str, Any]]) -> tuple[Expectation, ...]:
    """Expectations from their JSON form, e.g. ``{"type": "value_range", "column": "age",
    "min": 18}``; ``type`` is the expectation's :attr:`type`, the other keys its fields."""
    kinds: dict[str, type[Expectation]] = {
        cls.type: cls for cls in (RequiredColumns, ColumnType, MaxNullFraction, ValueRange, AllowedValues)
    }
    parsed: list[Expectation] = []
    for index, item in enumerate(items):
        fields = dict(item)
        kind = kinds.get(fields.pop("type", None))
        if kind is None:
            raise InvalidInput.field(
                f"expectations[{index}].type", "choice", f"must be one of {sorted(kinds)}"
            )
        for key in ("columns", "values"):
            if key in fields and isinstance(fields[key], list):
                fields[key] = tuple(fields[key])
        try:
            parsed.append(kind(**fields))
        except TypeError as exc:
            raise InvalidInput.field(f"expectations[{index}]", "fields", str(exc)) from exc
    return tuple(parsed)


def check_expectations(
    table: Mapping[str, npt.ArrayLike], expectations: Sequence[Expectation]
) -> tuple[ExpectationResult, ...]:
    """One result per expectation, in order."""
    columns = _columns(table)
    return tuple(_check(columns, expectation) for expectation in expectations)


def data_quality_check(
    table: Mapping[str, npt.ArrayLike], expectations: Sequence[Expectation]
) -> CheckOutcome:
    """Check ``table`` against ``expectations``; fail when any expectation fails."""
    columns = _columns(table)
    results = [_check(columns, expectation) for expectation in expectations]
    rows = next(iter(columns.values())).shape[0] if columns else 0
    values = {
        "rows": int(rows),
        "columns": sorted(columns),
        "expectations": [result.to_dict() for result in results],
    }
    return outcome("data_quality", values, [r.message for r in results if not r.passed])


def null_mask(column: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """True where ``column`` holds a null (see the module docstring)."""
    kind = column.dtype.kind
    if kind in "fc":
        mask = np.isnan(column)
    elif kind in "Mm":
        mask = np.isnat(column)
    elif kind == "O":
        none = np.equal(column, np.asarray(None, dtype=object))
        mask = none | (column != column)  # NaN is the one value not equal to itself
    else:
        mask = np.zeros(column.shape[0], dtype=np.bool_)
    return np.asarray(mask, dtype=np.bool_)


def _columns(table: Mapping[str, npt.ArrayLike]) -> dict[str, npt.NDArray[Any]]:
    columns = {name: np.asarray(values) for name, values in table.items()}
    lengths = {name: array.shape for name, array in columns.items()}
    if any(len(shape) != 1 for shape in lengths.values()):
        raise InvalidInput.field("table", "shape", f"every column must be 1-D: {lengths}")
    if len({shape[0] for shape in lengths.values()}) > 1:
        raise InvalidInput.field("table", "shape", f"columns differ in length: {lengths}")
    return columns


def _check(columns: dict[str, npt.NDArray[Any]], expectation: Expectation) -> ExpectationResult:
    if isinstance(expectation, RequiredColumns):
        return _required(columns, expectation)
    column = columns.get(expectation.column)
    if column is None:
        return ExpectationResult(
            expectation.type,
            expectation.column,
            False,
            None,
            _required_of(expectation),
            f"data_quality: column {expectation.column!r} is missing; required for {expectation.type}",
        )
    if isinstance(expectation, ColumnType):
        return _type(column, expectation)
    if isinstance(expectation, MaxNullFraction):
        return _nulls(column, expectation)
    if isinstance(expectation, ValueRange):
        return _range(column, expectation)
    return _allowed(column, expectation)


def _required_of(expectation: Expectation) -> Any:
    if isinstance(expectation, RequiredColumns):
        return list(expectation.columns)
    if isinstance(expectation, ColumnType):
        return expectation.kind
    if isinstance(expectation, MaxNullFraction):
        return expectation.max_fraction
    if isinstance(expectation, ValueRange):
        return {"min": expectation.min, "max": expectation.max}
    return list(expectation.values)


def _result(expectation: Expectation, passed: bool, measured: Any, message: str) -> ExpectationResult:
    column = None if isinstance(expectation, RequiredColumns) else expectation.column
    return ExpectationResult(expectation.type, column, passed, measured, _required_of(expectation), message)


def _required(columns: Mapping[str, Any], expectation: RequiredColumns) -> ExpectationResult:
    missing = [name for name in expectation.columns if name not in columns]
    message = (
        f"data_quality: missing column(s) {missing}; required {list(expectation.columns)}"
        if missing
        else "data_quality: every required column is present"
    )
    return _result(expectation, not missing, missing, message)


def _type(column: npt.NDArray[Any], expectation: ColumnType) -> ExpectationResult:
    if expectation.kind not in _KIND_CODES:
        raise InvalidInput.field(
            "expectation.kind", "choice", f"{expectation.kind!r} is not one of {COLUMN_KINDS}"
        )
    kind = column.dtype.kind
    passed = kind in _KIND_CODES[expectation.kind]
    if passed and kind == "O":  # object columns count as strings only when they hold strings
        present = column[~null_mask(column)]
        passed = all(isinstance(value, str) for value in present.tolist())
    measured = str(column.dtype)
    return _result(
        expectation,
        passed,
        measured,
        f"data_quality: column {expectation.column!r} has type {measured}; required {expectation.kind}",
    )


def _nulls(column: npt.NDArray[Any], expectation: MaxNullFraction) -> ExpectationResult:
    rows = column.shape[0]
    fraction = float(np.count_nonzero(null_mask(column)) / rows) if rows else 0.0
    return _result(
        expectation,
        fraction <= expectation.max_fraction,
        fraction,
        f"data_quality: column {expectation.column!r} null fraction is {fraction:.4f}; "
        f"required <= {expectation.max_fraction}",
    )


def _range(column: npt.NDArray[Any], expectation: ValueRange) -> ExpectationResult:
    numbers = None
    if column.dtype.kind in "iufO":
        try:
            numbers = np.asarray(column[~null_mask(column)], dtype=np.float64)
        except (TypeError, ValueError):
            numbers = None
    if numbers is None:
        return _result(
            expectation,
            False,
            None,
            f"data_quality: column {expectation.column!r} has type {column.dtype}; "
            "required numbers for a value range",
        )
    outside = np.zeros(numbers.shape[0], dtype=np.bool_)
    if expectation.min is not None:
        outside |= numbers < expectation.min
    if expectation.max is not None:
        outside |= numbers > expectation.max
    count = int(np.count_nonzero(outside))
    measured = {
        "min": float(numbers.min()) if numbers.size else None,
        "max": float(numbers.max()) if numbers.size else None,
        "out_of_range": count,
    }
    return _result(
        expectation,
        count == 0,
        measured,
        f"data_quality: column {expectation.column!r} has {count} value(s) outside "
        f"[{expectation.min}, {expectation.max}] (observed min {measured['min']}, "
        f"max {measured['max']}); required 0",
    )


def _allowed(column: npt.NDArray[Any], expectation: AllowedValues) -> ExpectationResult:
    present = column[~null_mask(column)]
    allowed = list(expectation.values)
    try:
        inside = np.isin(present, np.asarray(allowed))
    except (TypeError, ValueError):
        accepted = set(allowed)
        inside = np.fromiter((value in accepted for value in present.tolist()), bool, present.size)
    bad = present[~inside]
    examples = sorted({str(value) for value in bad[:1000].tolist()})[:_EXAMPLES]
    measured = {"disallowed": int(bad.shape[0]), "examples": examples}
    return _result(
        expectation,
        bad.shape[0] == 0,
        measured,
        f"data_quality: column {expectation.column!r} has {bad.shape[0]} value(s) outside "
        f"the allowed set (e.g. {examples}); required 0",
    )
