"""The engine port on both adapters: values, undefined, errors with file and line, Rego tests."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from steward.errors import InvalidInput
from steward.policy import (
    DEFAULT_ENGINE,
    ENGINE_NAMES,
    PolicyBundle,
    RegoEngine,
    RegopyEngine,
    RegorusEngine,
    create_engine,
)

GOOD = """package demo

limit := data.limits.max

deny contains msg if {
	some item in input.items
	item > limit
	msg := concat(" ", ["item", format_int(item, 10), "above", format_int(limit, 10)])
}

every_small if {
	every item in input.items {
		item < 100
	}
}
"""


def test_create_engine_by_name() -> None:
    assert isinstance(create_engine("regorus"), RegorusEngine)
    assert isinstance(create_engine("regopy"), RegopyEngine)
    assert create_engine().name == DEFAULT_ENGINE == "regorus"
    assert ENGINE_NAMES == ("regopy", "regorus")


def test_unknown_engine_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="unknown Rego engine 'opa'"):
        create_engine("opa")


def test_engines_report_name_and_version(engine: RegoEngine) -> None:
    assert engine.name in ENGINE_NAMES
    assert engine.version[0].isdigit()


def test_evaluate_returns_the_value(engine: RegoEngine) -> None:
    modules = {"demo.rego": GOOD}
    result = engine.evaluate(modules, {"limits": {"max": 5}}, {"items": [3, 7, 9]}, "data.demo.deny")
    assert result.defined is True
    assert sorted(result.value) == ["item 7 above 5", "item 9 above 5"]
    small = engine.evaluate(modules, {"limits": {"max": 5}}, {"items": [3]}, "data.demo.every_small")
    assert small.value is True


def test_undefined_is_not_a_value(engine: RegoEngine) -> None:
    modules = {"demo.rego": GOOD}
    result = engine.evaluate(modules, {"limits": {"max": 5}}, {"items": [300]}, "data.demo.every_small")
    assert result.defined is False
    assert result.value is None


def test_prepared_query_serves_many_inputs(engine: RegoEngine) -> None:
    prepared = engine.prepare({"demo.rego": GOOD}, {"limits": {"max": 5}}, "data.demo.deny")
    assert prepared.evaluate({"items": [1]}).value == []
    assert prepared.evaluate({"items": [6]}).value == ["item 6 above 5"]


def test_parse_error_names_file_and_line(engine: RegoEngine) -> None:
    broken = "package demo\n\ndeny contains msg if {\n\tmsg := input.a +\n}\n"
    with pytest.raises(InvalidInput) as caught:
        engine.check({"ok.rego": "package ok\n\nx := 1\n", "broken.rego": broken})
    error = caught.value.details["errors"][0]
    assert error["file"] == "broken.rego"
    assert error["line"] == 4
    assert str(caught.value).startswith("broken.rego:4")
    assert caught.value.details["engine"] == engine.name


def test_evaluation_error_is_invalid_input(engine: RegoEngine) -> None:
    modules = {"div.rego": "package div\n\nratio := input.a / input.b\n"}
    with pytest.raises(InvalidInput, match="divide by zero") as caught:
        engine.evaluate(modules, {}, {"a": 1, "b": 0}, "data.div.ratio")
    error = caught.value.details["errors"][0]
    if engine.name == "regorus":  # rego-cpp reports no location for evaluation errors
        assert (error["file"], error["line"]) == ("div.rego", 3)


def test_conflicting_values_are_an_error(engine: RegoEngine) -> None:
    modules = {"c.rego": "package c\n\nx := 1 if input.a\n\nx := 2 if input.b\n"}
    assert engine.evaluate(modules, {}, {"a": True}, "data.c.x").value == 1
    with pytest.raises(InvalidInput):
        engine.evaluate(modules, {}, {"a": True, "b": True}, "data.c.x")


def test_builtin_errors_are_errors_not_undefined(engine: RegoEngine) -> None:
    modules = {"n.rego": 'package n\n\ndeny contains "bad" if {\n\tto_number(input.v) > 1\n}\n'}
    assert engine.evaluate(modules, {}, {"v": "0.5"}, "data.n.deny").value == []
    with pytest.raises(InvalidInput):
        engine.evaluate(modules, {}, {"v": "not a number"}, "data.n.deny")


def test_unknown_function_is_an_error(engine: RegoEngine) -> None:
    modules = {"f.rego": "package f\n\nx := no_such_function(1)\n"}
    with pytest.raises(InvalidInput, match=r"no_such_function|Function not found"):
        engine.evaluate(modules, {}, {}, "data.f.x")


def test_regorus_refuses_an_unsafe_rule_body() -> None:
    with pytest.raises(InvalidInput, match="unsafe") as caught:
        create_engine("regorus").check({"u.rego": "package u\n\nx if {\n\ty > 1\n}\n"})
    assert caught.value.details["errors"][0]["line"] == 4


def test_regopy_refuses_with_input_before_it_can_crash() -> None:
    modules = {"t.rego": "package t\n\nc := 1\n\ntest_x if {\n\tc == 1 with input as {}\n}\n"}
    with pytest.raises(InvalidInput, match="with input") as caught:
        create_engine("regopy").check(modules)
    assert caught.value.details["errors"][0]["line"] == 6


def test_regorus_evaluates_from_any_thread(bundle: PolicyBundle) -> None:
    engine = create_engine("regorus")
    modules = {"demo.rego": GOOD}
    data = {"limits": {"max": 5}}
    assert engine.evaluate(modules, data, {"items": [9]}, "data.demo.deny").value
    results: list[Any] = []
    worker = threading.Thread(
        target=lambda: results.append(engine.evaluate(modules, data, {"items": [9]}, "data.demo.deny"))
    )
    worker.start()
    worker.join()
    assert results[0].value == ["item 9 above 5"]


def test_builtin_rego_tests_pass_on_both_engines(
    bundle: PolicyBundle, engines: dict[str, RegoEngine]
) -> None:
    outcomes = {name: engine.run_tests(bundle.all_modules, bundle.data) for name, engine in engines.items()}
    for name, results in outcomes.items():
        failed = [(r.file, r.name, r.message) for r in results if not r.passed]
        assert failed == [], name
    names = {name: sorted(r.ref for r in results) for name, results in outcomes.items()}
    assert names["regorus"] == names["regopy"]
    assert len(names["regorus"]) >= 45
    assert "data.steward.tests.metrics.test_floor_below" in names["regorus"]


def test_run_tests_reports_failures_and_errors(engine: RegoEngine) -> None:
    modules = {
        "x_test.rego": (
            "package x\n\ntest_true if {\n\t1 == 1\n}\n\ntest_false if {\n\t1 == 2\n}\n\n"
            "test_error if {\n\t1 / 0 == 1\n}\n"
        )
    }
    results = {r.name: r for r in engine.run_tests(modules, {})}
    assert set(results) == {"test_true", "test_false", "test_error"}
    assert results["test_true"].passed
    assert not results["test_false"].passed
    assert results["test_false"].message == "undefined"
    assert not results["test_error"].passed
    assert "divide by zero" in results["test_error"].message
