"""Finding Rego unit tests in module sources, the same way for every engine.

A test is a rule whose name starts with ``test_``, written at the start of a line (as ``opa test``
finds them); it passes when its value is ``true``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

_PACKAGE = re.compile(r"^package\s+([A-Za-z_][A-Za-z0-9_.]*)\s*$", re.MULTILINE)
_TEST_RULE = re.compile(r"^(test_[A-Za-z0-9_]*)\b", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class TestRef:
    __test__: ClassVar[bool] = False  # not a pytest test class

    file: str
    package: str
    name: str

    @property
    def ref(self) -> str:
        return f"data.{self.package}.{self.name}"


def discover_tests(modules: Mapping[str, str]) -> tuple[TestRef, ...]:
    """Every test rule of ``modules``, in file order then source order, each once."""
    found: list[TestRef] = []
    seen: set[tuple[str, str]] = set()
    for path in sorted(modules):
        source = modules[path]
        package = _PACKAGE.search(source)
        if package is None:
            continue
        for match in _TEST_RULE.finditer(source):
            key = (package.group(1), match.group(1))
            if key not in seen:
                seen.add(key)
                found.append(TestRef(path, package.group(1), match.group(1)))
    return tuple(found)
