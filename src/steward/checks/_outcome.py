"""The result every check returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

CheckStatus = Literal["pass", "fail"]


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """One automated check of a model version.

    ``values`` holds what the check measured (JSON-ready: plain ``int``/``float``/``str``/lists/
    dicts), in the shape ``docs/reference/policy-input.md`` documents for its ``kind``; the service
    stores it as a CheckResult and passes it to the policies. ``messages`` say, for every failure,
    what was measured and what was required.
    """

    kind: str
    status: CheckStatus
    values: Mapping[str, Any]
    messages: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def to_dict(self) -> dict[str, Any]:
        """``{"kind", "status", "values", "messages"}`` (the service adds ``created_at``)."""
        return {
            "kind": self.kind,
            "status": self.status,
            "values": dict(self.values),
            "messages": list(self.messages),
        }


def outcome(kind: str, values: Mapping[str, Any], failures: list[str]) -> CheckOutcome:
    return CheckOutcome(kind, "fail" if failures else "pass", values, tuple(failures))
