"""The regorus adapter (Rust interpreter; PyPI ``gordon-to-regorus``, imported as ``regorus``).

A ``regorus.Engine`` may only be used by the thread that made it, so a prepared query keeps one
compiled engine per thread, built on first use in that thread.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from importlib import metadata
from typing import Any

from steward.errors import InvalidInput
from steward.policy._canonical import json_text
from steward.policy._engine import (
    EvalResult,
    PreparedCache,
    PreparedQuery,
    RegoTestResult,
    data_json,
    rego_error,
)
from steward.policy._testing import discover_tests

NAME = "regorus"
_DISTRIBUTION = "gordon-to-regorus"
_LOCATION = re.compile(r"-->\s*(?P<file>[^\n]+?):(?P<line>\d+):(?P<column>\d+)")
_MESSAGE = re.compile(r"^error:\s*(?P<message>.+)$", re.MULTILINE)
_RULE_PATH = re.compile(r"^data(\.[A-Za-z_][A-Za-z0-9_]*)+$")
_UNDEFINED = "<undefined>"  # what eval_rule_as_json returns for a rule without a value


def _load() -> Any:
    try:
        import regorus  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - a dependency of steward
        raise InvalidInput.field("engine", "available", f"regorus is not installed: {exc}") from exc
    return regorus


def convert_error(exc: Exception, rule: str) -> InvalidInput:
    """An exception from regorus as :class:`InvalidInput` with file, line and column.

    Callers raise it ``from None``: regorus's text, a Rust backtrace included, adds nothing the
    converted message lacks.
    """
    text = str(exc).split("Stack backtrace:", 1)[0].strip()
    location = _LOCATION.search(text)
    message = _MESSAGE.search(text)
    reason = message.group("message").strip() if message else (text.splitlines() or ["error"])[-1]
    if location is None:
        return rego_error(NAME, rule, reason)
    return rego_error(
        NAME,
        rule,
        reason,
        file=location.group("file"),
        line=int(location.group("line")),
        column=int(location.group("column")),
    )


def _new_engine(regorus: Any, modules: Mapping[str, str], data: str | None) -> Any:
    engine = regorus.Engine()
    engine.set_gather_prints(True)  # print() in a policy must not write to stderr
    for path in sorted(modules):
        try:
            engine.add_policy(path, modules[path])
        except Exception as exc:
            raise convert_error(exc, "rego_parse") from None
    if data is not None:
        try:
            engine.add_data_json(data)
        except Exception as exc:
            raise convert_error(exc, "rego_data") from None
    try:
        engine.eval_query_as_json("true")  # compiles every module: unsafe bodies fail here
    except Exception as exc:
        raise convert_error(exc, "rego_compile") from None
    return engine


def _query(engine: Any, query: str) -> EvalResult:
    if _RULE_PATH.match(query):
        try:
            raw = engine.eval_rule_as_json(query)
        except Exception as exc:
            raise convert_error(exc, "rego_eval") from None
        finally:
            engine.take_prints()
        value = json.loads(raw)
        if value != _UNDEFINED:
            return EvalResult(defined=True, value=value)
        # "<undefined>" is also a string a rule could produce: ask again the slow, exact way.
    try:
        raw = engine.eval_query_as_json(query)
    except Exception as exc:
        raise convert_error(exc, "rego_eval") from None
    finally:
        engine.take_prints()
    results = json.loads(raw).get("result", [])
    if not results:
        return EvalResult(defined=False)
    if len(results) > 1:
        raise rego_error(NAME, "rego_eval", f"query {query!r} has {len(results)} results, not one")
    expressions = results[0].get("expressions", [])
    if len(expressions) != 1:
        raise rego_error(NAME, "rego_eval", f"query {query!r} is not a single expression")
    return EvalResult(defined=True, value=expressions[0].get("value"))


class RegorusQuery:
    """One query compiled against fixed modules and data, one engine per thread."""

    def __init__(self, regorus: Any, modules: Mapping[str, str], data: Mapping[str, Any], query: str) -> None:
        self._regorus = regorus
        self._modules = dict(modules)
        self._data = data_json(data)
        self._query = query
        self._local = threading.local()
        self._engine()  # compile now, so a bad bundle fails at prepare time

    def _engine(self) -> Any:
        engine = getattr(self._local, "engine", None)
        if engine is None:
            engine = _new_engine(self._regorus, self._modules, self._data)
            self._local.engine = engine
        return engine

    def evaluate(self, input_doc: Mapping[str, Any]) -> EvalResult:
        engine = self._engine()
        text = json_text(input_doc)
        try:
            engine.set_input_json(text)
        except Exception as exc:
            raise convert_error(exc, "rego_input") from None
        return _query(engine, self._query)


class RegorusEngine:
    """:class:`~steward.policy.RegoEngine` over regorus."""

    def __init__(self) -> None:
        self._regorus = _load()
        self._cache = PreparedCache(self.prepare)
        self._version: str | None = None

    @property
    def name(self) -> str:
        return NAME

    @property
    def version(self) -> str:
        if self._version is None:
            try:
                self._version = metadata.version(_DISTRIBUTION)
            except metadata.PackageNotFoundError:  # pragma: no cover - built from source
                self._version = "unknown"
        return self._version

    def check(self, modules: Mapping[str, str]) -> None:
        _new_engine(self._regorus, modules, None)

    def prepare(self, modules: Mapping[str, str], data: Mapping[str, Any], query: str) -> PreparedQuery:
        return RegorusQuery(self._regorus, modules, data, query)

    def evaluate(
        self,
        modules: Mapping[str, str],
        data: Mapping[str, Any],
        input_doc: Mapping[str, Any],
        query: str,
    ) -> EvalResult:
        return self._cache.get(modules, data, query).evaluate(input_doc)

    def run_tests(self, modules: Mapping[str, str], data: Mapping[str, Any]) -> tuple[RegoTestResult, ...]:
        engine = _new_engine(self._regorus, modules, data_json(data))
        results = []
        for test in discover_tests(modules):
            try:
                outcome = _query(engine, test.ref)
            except InvalidInput as exc:
                results.append(RegoTestResult(test.file, test.package, test.name, False, str(exc)))
                continue
            passed = outcome.defined and outcome.value is True
            why = "" if passed else f"value is {outcome.value!r}" if outcome.defined else "undefined"
            results.append(RegoTestResult(test.file, test.package, test.name, passed, why))
        return tuple(results)
