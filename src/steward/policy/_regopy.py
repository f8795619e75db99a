"""The regopy adapter (bindings to rego-cpp; PyPI ``regopy``).

Known limits of rego-cpp 1.5.2, each checked by the test suite:

- ``with input as ...`` on a rule that depends on another rule or function crashes the process
  (SIGSEGV). Modules that use ``with input`` are refused with :class:`InvalidInput` before they
  reach the engine; write Rego tests against functions of the document instead.
- ``some k, v in x`` inside a comprehension does not parse; write ``some k; v := x[k]``.
- Evaluation errors carry a message and an error code but no source location.
- An unsafe variable in a rule body makes the rule undefined instead of an error.

One interpreter serves one prepared query; calls are serialised by a lock because the interpreter
holds the input between "set input" and "query".
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from typing import Any

from steward.errors import InvalidInput
from steward.policy._canonical import json_text
from steward.policy._engine import (
    EvalResult,
    PreparedCache,
    PreparedQuery,
    RegoTestResult,
    data_json,
    line_of_offset,
    rego_error,
)
from steward.policy._testing import discover_tests

NAME = "regopy"
_WITH_INPUT = re.compile(r"\bwith\s+input\b")
_ERROR_AT = re.compile(r"\(error (\d+):")
_ERRORMSG = re.compile(r"\(errormsg (\d+):")
_KIND_ERROR_MESSAGE = 1801
_KIND_ERROR_CODE = 1803


def _load() -> tuple[Any, Any]:
    try:
        import regopy  # type: ignore[import-untyped]
        from regopy import rego_shared
    except ImportError as exc:  # pragma: no cover - a dependency of steward
        raise InvalidInput.field("engine", "available", f"regopy is not installed: {exc}") from exc
    return regopy, rego_shared


def _counted(text: str, start: int) -> str:
    """Read a rego-cpp length-prefixed string ``<n>:<n characters>`` whose digits start at ``start``."""
    colon = text.index(":", start)
    size = int(text[start:colon])
    return text[colon + 1 : colon + 1 + size]


def parse_error_text(text: str, modules: Mapping[str, str], rule: str) -> InvalidInput:
    """A rego-cpp error S-expression (``(error 8:bad.rego|49|1 (errormsg 27:...)``) as InvalidInput."""
    message_at = _ERRORMSG.search(text)
    message = _counted(text, message_at.start(1)) if message_at else text.strip() or "error"
    error_at = _ERROR_AT.search(text)
    if error_at is None:
        return rego_error(NAME, rule, message)
    name = _counted(text, error_at.start(1))
    rest = text[error_at.start(1) :].split("|")
    file = name if name in modules else None
    if file is not None and len(rest) >= 2 and rest[1].isdigit():
        return rego_error(NAME, rule, message, file=file, line=line_of_offset(modules[file], int(rest[1])))
    return rego_error(NAME, rule, message, file=file)


def refuse_with_input(modules: Mapping[str, str]) -> None:
    """Refuse ``with input`` before it can crash rego-cpp (see the module docstring)."""
    for path in sorted(modules):
        for number, line in enumerate(modules[path].splitlines(), start=1):
            if _WITH_INPUT.search(line.split("#", 1)[0]):
                raise rego_error(
                    NAME,
                    "rego_unsupported",
                    "`with input` crashes rego-cpp 1.5.2; use the regorus engine or test "
                    "functions of the document",
                    file=path,
                    line=number,
                )


class _Native:
    """The few rego-cpp calls the adapter makes, with errors converted."""

    def __init__(self) -> None:
        self.regopy, self.shared = _load()

    def interpreter(self, modules: Mapping[str, str], data: str | None) -> Any:
        refuse_with_input(modules)
        interpreter = self.regopy.Interpreter()
        interpreter.log_level = self.shared.LogLevel.NONE
        interpreter.strict_built_in_errors = True  # a builtin error is an error, not undefined
        for path in sorted(modules):
            try:
                interpreter.add_module(path, modules[path])
            except self.shared.RegoError as exc:
                raise parse_error_text(str(exc), modules, "rego_parse") from exc
        if data is not None:
            try:
                interpreter.add_data_json(data)
            except self.shared.RegoError as exc:
                raise parse_error_text(str(exc), modules, "rego_data") from exc
        return interpreter

    def output(self, pointer: Any, modules: Mapping[str, str], query: str) -> EvalResult:
        """Decode and free one rego-cpp output."""
        shared = self.shared
        try:
            if not shared.rego_output_ok(pointer):
                raise self._evaluation_error(shared.rego_output_node(pointer))
            text = shared.rego_output_string(pointer)
        finally:
            shared.rego_free_output(pointer)
        if text.strip() == "undefined":
            return EvalResult(defined=False)
        if text.lstrip().startswith("("):
            raise parse_error_text(text, modules, "rego_eval")
        try:
            decoded = json.loads(text)
        except json.JSONDecodeError as exc:
            raise rego_error(NAME, "rego_eval", f"rego-cpp returned output that is not JSON: {exc}") from exc
        if isinstance(decoded, list):
            if len(decoded) != 1:
                raise rego_error(NAME, "rego_eval", f"query {query!r} has {len(decoded)} results")
            decoded = decoded[0]
        expressions = decoded.get("expressions", [])
        if len(expressions) != 1:
            raise rego_error(NAME, "rego_eval", f"query {query!r} is not a single expression")
        return EvalResult(defined=True, value=expressions[0])

    def _evaluation_error(self, node: Any) -> InvalidInput:
        messages: list[str] = []
        self._collect(node, messages)
        unique = list(dict.fromkeys(messages))  # one message per distinct error
        return rego_error(NAME, "rego_eval", "; ".join(unique) or "evaluation failed")

    def _collect(self, node: Any, messages: list[str]) -> None:
        shared = self.shared
        if not node:
            return
        kind = shared.rego_node_type(node)
        if kind == _KIND_ERROR_MESSAGE:
            messages.append(shared.rego_node_value(node))
            return
        if kind == _KIND_ERROR_CODE:
            code = shared.rego_node_value(node)
            if code and messages:
                messages[-1] = f"{messages[-1]} [{code}]"
            return
        for index in range(shared.rego_node_size(node)):
            self._collect(shared.rego_node_get(node, index), messages)


class RegopyQuery:
    """One query compiled into a rego-cpp bundle; calls are serialised."""

    def __init__(
        self, native: _Native, modules: Mapping[str, str], data: Mapping[str, Any], query: str
    ) -> None:
        self._native = native
        self._modules = dict(modules)
        self._query = query
        self._interpreter = native.interpreter(self._modules, data_json(data))
        try:
            self._bundle = self._interpreter.build(query)
        except native.shared.RegoError as exc:
            raise parse_error_text(str(exc), self._modules, "rego_compile") from exc
        if not self._bundle.ok():
            raise rego_error(NAME, "rego_compile", f"query {query!r} does not compile")
        self._lock = threading.Lock()

    def evaluate(self, input_doc: Mapping[str, Any]) -> EvalResult:
        term = json_text(input_doc)
        shared = self._native.shared
        with self._lock:
            try:
                self._interpreter.set_input_term(term)
                pointer = shared.rego_bundle_query(self._interpreter._impl, self._bundle._impl)
            except shared.RegoError as exc:
                raise parse_error_text(str(exc), self._modules, "rego_eval") from exc
            return self._native.output(pointer, self._modules, self._query)


class RegopyEngine:
    """:class:`~steward.policy.RegoEngine` over regopy (rego-cpp)."""

    def __init__(self) -> None:
        self._native = _Native()
        self._cache = PreparedCache(self.prepare)

    @property
    def name(self) -> str:
        return NAME

    @property
    def version(self) -> str:
        return str(self._native.regopy.__version__)

    def check(self, modules: Mapping[str, str]) -> None:
        self._native.interpreter(modules, None)

    def prepare(self, modules: Mapping[str, str], data: Mapping[str, Any], query: str) -> PreparedQuery:
        return RegopyQuery(self._native, modules, data, query)

    def evaluate(
        self,
        modules: Mapping[str, str],
        data: Mapping[str, Any],
        input_doc: Mapping[str, Any],
        query: str,
    ) -> EvalResult:
        return self._cache.get(modules, data, query).evaluate(input_doc)

    def run_tests(self, modules: Mapping[str, str], data: Mapping[str, Any]) -> tuple[RegoTestResult, ...]:
        native = self._native
        tests = discover_tests(modules)
        if not tests:
            return ()
        interpreter = native.interpreter(modules, data_json(data))
        entrypoints = [test.ref.removeprefix("data.").replace(".", "/") for test in tests]
        try:  # one compilation for every test, each an entrypoint
            bundle = interpreter.build(None, entrypoints)
        except native.shared.RegoError as exc:
            raise parse_error_text(str(exc), modules, "rego_compile") from exc
        results = []
        for test, entrypoint in zip(tests, entrypoints, strict=True):
            try:
                pointer = native.shared.rego_bundle_query_entrypoint(
                    interpreter._impl, bundle._impl, entrypoint
                )
                outcome = native.output(pointer, modules, test.ref)
            except native.shared.RegoError as exc:
                error = str(parse_error_text(str(exc), modules, "rego_eval"))
                results.append(RegoTestResult(test.file, test.package, test.name, False, error))
                continue
            except InvalidInput as exc:
                results.append(RegoTestResult(test.file, test.package, test.name, False, str(exc)))
                continue
            passed = outcome.defined and outcome.value is True
            why = "" if passed else f"value is {outcome.value!r}" if outcome.defined else "undefined"
            results.append(RegoTestResult(test.file, test.package, test.name, passed, why))
        return tuple(results)
