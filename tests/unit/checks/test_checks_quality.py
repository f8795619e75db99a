"""Data-quality expectations over column arrays, one result per expectation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from steward.checks import (
    AllowedValues,
    ColumnType,
    MaxNullFraction,
    RequiredColumns,
    ValueRange,
    check_expectations,
    data_quality_check,
    expectations_from_dicts,
    null_mask,
)
from steward.errors import InvalidInput


@pytest.fixture
def table() -> dict[str, Any]:
    return {
        "age": np.array([25, 41, 17, 68, 33, 52]),
        "income": np.array([52_000.0, np.nan, 18_500.0, 71_000.0, np.nan, 64_000.0]),
        "region": np.array(["north", "south", "south", "east", "north", "mars"]),
        "employer": np.array(["acme", None, "globex", float("nan"), "initech", "acme"], dtype=object),
        "defaulted": np.array([False, False, True, False, True, False]),
        "opened": np.array(
            ["2024-01-02", "NaT", "2024-02-03", "2024-03-04", "2024-04-05", "2024-05-06"],
            dtype="datetime64[D]",
        ),
    }


def test_required_columns(table: dict[str, Any]) -> None:
    ok, missing = check_expectations(
        table,
        [RequiredColumns(("age", "income")), RequiredColumns(("age", "zip", "score"))],
    )
    assert (ok.passed, ok.measured, ok.required) == (True, [], ["age", "income"])
    assert (missing.passed, missing.measured) == (False, ["zip", "score"])
    assert missing.message == (
        "data_quality: missing column(s) ['zip', 'score']; required ['age', 'zip', 'score']"
    )


@pytest.mark.parametrize(
    ("column", "kind", "passed", "measured"),
    [
        ("age", "integer", True, "int64"),
        ("age", "numeric", True, "int64"),
        ("age", "float", False, "int64"),
        ("income", "float", True, "float64"),
        ("region", "string", True, "<U5"),
        ("employer", "string", True, "object"),  # strings, and None/NaN as nulls
        ("defaulted", "bool", True, "bool"),
        ("defaulted", "numeric", False, "bool"),
        ("opened", "datetime", True, "datetime64[D]"),
    ],
)
def test_column_type(table: dict[str, Any], column: str, kind: str, passed: bool, measured: str) -> None:
    (result,) = check_expectations(table, [ColumnType(column, kind)])
    assert (result.passed, result.measured, result.required) == (passed, measured, kind)


def test_object_column_with_other_values_is_not_string() -> None:
    column = np.array(["a", None, 3], dtype=object)
    (result,) = check_expectations({"c": column}, [ColumnType("c", "string")])
    assert (result.passed, result.measured) == (False, "object")


def test_unknown_kind_is_invalid_input(table: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput, match="'text' is not one of"):
        check_expectations(table, [ColumnType("age", "text")])


@pytest.mark.parametrize(
    ("column", "limit", "fraction", "passed"),
    [
        ("income", 0.2, 2 / 6, False),
        ("income", 0.5, 2 / 6, True),
        ("employer", 0.3, 2 / 6, False),
        ("opened", 0.2, 1 / 6, True),
        ("age", 0.0, 0.0, True),
    ],
)
def test_max_null_fraction(
    table: dict[str, Any], column: str, limit: float, fraction: float, passed: bool
) -> None:
    (result,) = check_expectations(table, [MaxNullFraction(column, limit)])
    assert result.measured == pytest.approx(fraction)
    assert (result.passed, result.required) == (passed, limit)


def test_null_fraction_message(table: dict[str, Any]) -> None:
    (result,) = check_expectations(table, [MaxNullFraction("income", 0.05)])
    assert result.message == "data_quality: column 'income' null fraction is 0.3333; required <= 0.05"


def test_value_range(table: dict[str, Any]) -> None:
    adults, income, open_ended = check_expectations(
        table,
        [ValueRange("age", min=18, max=65), ValueRange("income", min=0), ValueRange("age", max=100)],
    )
    assert adults.passed is False
    assert adults.measured == {"min": 17.0, "max": 68.0, "out_of_range": 2}
    assert adults.required == {"min": 18, "max": 65}
    assert adults.message == (
        "data_quality: column 'age' has 2 value(s) outside [18, 65] (observed min 17.0, max 68.0); required 0"
    )
    assert income.passed and income.measured["out_of_range"] == 0  # nulls are not out of range
    assert open_ended.passed


def test_value_range_needs_numbers(table: dict[str, Any]) -> None:
    (result,) = check_expectations(table, [ValueRange("region", min=0)])
    assert result.passed is False
    assert "required numbers" in result.message


def test_allowed_values(table: dict[str, Any]) -> None:
    regions, employers = check_expectations(
        table,
        [
            AllowedValues("region", ("north", "south", "east", "west")),
            AllowedValues("employer", ("acme", "globex", "initech")),
        ],
    )
    assert regions.passed is False
    assert regions.measured == {"disallowed": 1, "examples": ["mars"]}
    assert regions.required == ["north", "south", "east", "west"]
    assert employers.passed is True  # None and NaN are nulls, not values


def test_allowed_values_do_not_truncate_to_the_column_width() -> None:
    (result,) = check_expectations({"c": np.array(["ab", "ab"])}, [AllowedValues("c", ("abc",))])
    assert result.measured["disallowed"] == 2


def test_missing_column_fails_the_expectation(table: dict[str, Any]) -> None:
    (result,) = check_expectations(table, [MaxNullFraction("zip", 0.1)])
    assert (result.passed, result.column, result.measured) == (False, "zip", None)
    assert result.message == "data_quality: column 'zip' is missing; required for max_null_fraction"


def test_check_outcome(table: dict[str, Any]) -> None:
    outcome = data_quality_check(
        table,
        [
            RequiredColumns(("age", "region")),
            ValueRange("age", min=0, max=120),
            AllowedValues("region", ("north", "south", "east")),
        ],
    )
    assert outcome.kind == "data_quality"
    assert outcome.status == "fail"
    assert outcome.values["rows"] == 6
    assert outcome.values["columns"] == sorted(table)
    assert [e["passed"] for e in outcome.values["expectations"]] == [True, True, False]
    assert outcome.messages == (outcome.values["expectations"][2]["message"],)
    passing = data_quality_check(table, [RequiredColumns(("age",))])
    assert passing.passed and passing.messages == ()


def test_expectations_from_dicts() -> None:
    parsed = expectations_from_dicts(
        [
            {"type": "required_columns", "columns": ["a", "b"]},
            {"type": "column_type", "column": "a", "kind": "integer"},
            {"type": "max_null_fraction", "column": "a", "max_fraction": 0.1},
            {"type": "value_range", "column": "a", "min": 0},
            {"type": "allowed_values", "column": "b", "values": ["x"]},
        ]
    )
    assert parsed == (
        RequiredColumns(("a", "b")),
        ColumnType("a", "integer"),
        MaxNullFraction("a", 0.1),
        ValueRange("a", min=0),
        AllowedValues("b", ("x",)),
    )


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([{"type": "row_count"}], "must be one of"),
        ([{"type": "value_range", "col": "a"}], "unexpected keyword"),
    ],
)
def test_bad_expectation_dicts(items: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        expectations_from_dicts(items)


def test_columns_must_agree_in_length() -> None:
    with pytest.raises(InvalidInput, match="columns differ in length"):
        check_expectations({"a": [1, 2], "b": [1]}, [RequiredColumns(("a",))])


def test_null_mask_by_dtype() -> None:
    assert null_mask(np.array([1.0, np.nan])).tolist() == [False, True]
    assert null_mask(np.array(["x", None, np.nan, 0], dtype=object)).tolist() == [
        False,
        True,
        True,
        False,
    ]
    assert null_mask(np.array([1, 2])).tolist() == [False, False]
