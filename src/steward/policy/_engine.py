"""The Rego engine port, and the choice of the default engine.

Steward evaluates Rego (OPA v1 syntax) in-process through the :class:`RegoEngine` protocol. Two
adapters implement it, each over a native engine from PyPI:

``regorus``  (:class:`~steward.policy._regorus.RegorusEngine`, package ``gordon-to-regorus``)
    a Rust interpreter. **The default.**
``regopy``   (:class:`~steward.policy._regopy.RegopyEngine`, package ``regopy``)
    bindings to rego-cpp. Kept as a second opinion: the test suite evaluates every built-in rule
    on both engines and requires the same decision.

Why regorus is the default, by measurement (built-in bundle, ``steward.policy.evaluate`` on a
complete input document, alternating a passing and a failing one, compiled once and reused; a
2-CPU machine shared with other work; ``bench/gates_pure.py`` prints the current figures):

==================================  ==================  ==================
                                    regorus 0.13.0      regopy 1.5.2
==================================  ==================  ==================
decision latency p50 / p95          0.6 / 0.8 ms        4.8 / 7.5 ms
compile and evaluate, no reuse      3.7 ms              34 ms
built-in Rego unit tests (46)       all pass            all pass
same decisions on 40 documents      yes                 yes
error location (parse)              file:line:column    file:line
error location (evaluation)         file:line:column    none (message and code only)
unsafe variable in a rule body      error               silently undefined
call of an unknown function         error               error
builtin errors (e.g. ``1 / 0``)     error               error (strict mode on)
``with input as`` on a rule that    works               crashes the process (SIGSEGV); the
depends on other rules                                  adapter refuses ``with input``
``some k, v in x`` in a             works               parse error
comprehension
``sprintf("%s", [arg])`` of a       the string          the string in quotes
function's string argument
``object.union`` of nested objects  merges (as OPA)     replaces
==================================  ==================  ==================

regorus is several times faster, reports a location for every error, and fails closed on unsafe
rule bodies where rego-cpp quietly yields *undefined* (which, for a ``deny`` rule, would read as
"allow"). Both adapters keep a compiled policy per (modules, data, query) and reuse it, so a
decision costs one evaluation, not a parse.

Errors: a module that does not parse, a rule that fails at evaluation (a builtin error, two values
for one complete rule, ...) and anything else the engine refuses become :class:`InvalidInput`
naming the file and line where the engine says. Nothing here turns an error into a result: a
caller that gets no :class:`EvalResult` gets no decision, so an erroring rule never counts as allow.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from steward.errors import InvalidInput
from steward.policy._canonical import json_text

DEFAULT_ENGINE = "regorus"
ENGINE_NAMES = ("regopy", "regorus")


@dataclass(frozen=True, slots=True)
class EvalResult:
    """The value of one query. ``defined`` is false when the query has no value (Rego undefined)."""

    defined: bool
    value: Any = None


@dataclass(frozen=True, slots=True)
class RegoTestResult:
    """One Rego unit test (a rule named ``test_*``): it passes when its value is ``true``."""

    file: str
    package: str
    name: str
    passed: bool
    message: str = ""

    @property
    def ref(self) -> str:
        return f"data.{self.package}.{self.name}"


class PreparedQuery(Protocol):
    """A query compiled against fixed modules and data; evaluate it for many inputs."""

    def evaluate(self, input_doc: Mapping[str, Any]) -> EvalResult: ...


class RegoEngine(Protocol):
    """A Rego engine. Modules map a file name to its source; ``data`` is the base document."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    def check(self, modules: Mapping[str, str]) -> None:
        """Parse and compile ``modules``; raise :class:`InvalidInput` naming file and line."""
        ...

    def prepare(self, modules: Mapping[str, str], data: Mapping[str, Any], query: str) -> PreparedQuery: ...

    def evaluate(
        self,
        modules: Mapping[str, str],
        data: Mapping[str, Any],
        input_doc: Mapping[str, Any],
        query: str,
    ) -> EvalResult:
        """Evaluate ``query`` (a reference such as ``data.steward.gates.decision``)."""
        ...

    def run_tests(self, modules: Mapping[str, str], data: Mapping[str, Any]) -> tuple[RegoTestResult, ...]:
        """Run every ``test_*`` rule of ``modules``; a test that errors is a failed result."""
        ...


def create_engine(name: str | None = None) -> RegoEngine:
    """A new engine by name (``regorus``, the default, or ``regopy``)."""
    chosen = name or DEFAULT_ENGINE
    if chosen == "regorus":
        from steward.policy._regorus import RegorusEngine

        return RegorusEngine()
    if chosen == "regopy":
        from steward.policy._regopy import RegopyEngine

        return RegopyEngine()
    raise InvalidInput.field(
        "engine", "choice", f"unknown Rego engine {chosen!r}; use one of {', '.join(ENGINE_NAMES)}"
    )


def rego_error(
    engine: str,
    rule: str,
    message: str,
    *,
    file: str | None = None,
    line: int | None = None,
    column: int | None = None,
) -> InvalidInput:
    """The one shape of an engine error: ``<file>:<line>: <message>`` with the place in details."""
    where = file or "policy"
    if line is not None:
        where = f"{where}:{line}"
        if column is not None:
            where = f"{where}:{column}"
    error: dict[str, Any] = {"field": file or "policy", "rule": rule, "message": message}
    if file is not None:
        error["file"] = file
    if line is not None:
        error["line"] = line
    if column is not None:
        error["column"] = column
    return InvalidInput(f"{where}: {message} ({engine})", {"errors": [error], "engine": engine})


def line_of_offset(source: str, offset: int) -> int:
    """1-based line of a 0-based byte offset into the UTF-8 encoding of ``source``."""
    return source.encode("utf-8")[:offset].count(b"\n") + 1


def data_json(data: Mapping[str, Any]) -> str:
    """The base document as canonical JSON (the engines take it as text)."""
    return json_text(data, "data", canonical=True)


_Key = tuple[str, tuple[tuple[str, str], ...], str]


class PreparedCache:
    """A small bounded map from (query, modules, data) to prepared queries, shared by threads."""

    def __init__(
        self,
        build: Callable[[Mapping[str, str], Mapping[str, Any], str], PreparedQuery],
        size: int = 16,
    ) -> None:
        self._build = build
        self._size = size
        self._entries: OrderedDict[_Key, PreparedQuery] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, modules: Mapping[str, str], data: Mapping[str, Any], query: str) -> PreparedQuery:
        key = (query, tuple(sorted(modules.items())), data_json(data))
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        prepared = self._build(modules, data, query)
        with self._lock:
            self._entries[key] = prepared
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return prepared
