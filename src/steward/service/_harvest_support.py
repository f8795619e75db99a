"""What a harvest reports, and what Steward writes back at the platform (shared by the harvest, the
jobs and the webhook receiver)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from steward.domain import ModelVersion
from steward.errors import StewardError
from steward.storage import SqlTransaction, VersionFilter

Progress = Callable[[str, int, int | None], None]
RecordUrl = Callable[[str, int], str]
RUN_BATCH = 200


@dataclass(frozen=True, slots=True)
class Skip:
    kind: str
    id: str
    reason: str


@dataclass
class HarvestSummary:
    """What one harvest did: counts by kind, and every skip and error with its reason."""

    platform: str
    location: str
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)
    linked: Counter[str] = field(default_factory=Counter)
    skipped: list[Skip] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)
    unguarded: list[str] = field(default_factory=list)
    guarded: list[str] = field(default_factory=list)
    written_back: int = 0
    seconds: float = 0.0
    failure: StewardError | None = None

    @property
    def changed(self) -> bool:
        return any(self.created.values()) or any(self.updated.values()) or any(self.linked.values())

    def skip(self, kind: str, ident: str, reason: str) -> None:
        if not any(s.kind == kind and s.id == ident for s in self.skipped):
            self.skipped.append(Skip(kind, ident, reason))

    def to_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "location": self.location,
            "created": dict(sorted(self.created.items())),
            "updated": dict(sorted(self.updated.items())),
            "unchanged": dict(sorted(self.unchanged.items())),
            "linked": dict(sorted(self.linked.items())),
            "skipped": [{"kind": s.kind, "id": s.id, "reason": s.reason} for s in self.skipped],
            "errors": list(self.errors),
            "incomplete": list(self.incomplete),
            "unguarded": list(self.unguarded),
            "guarded": list(self.guarded),
            "written_back": self.written_back,
            "changed": self.changed,
            "seconds": round(self.seconds, 3),
        }


def versions_by_key(
    tx: SqlTransaction, keys: Sequence[tuple[str, int]]
) -> dict[tuple[str, int], ModelVersion]:
    """Many versions in a few queries: one listing per model involved (instead of one read each)."""
    found: dict[tuple[str, int], ModelVersion] = {}
    wanted = set(keys)
    for model in sorted({m for m, _ in wanted}):
        token = None
        while True:
            page = tx.search_versions(VersionFilter(model=model), 1000, token)
            found.update({(r.model, r.version): r for r in page.items if (r.model, r.version) in wanted})
            token = page.next_token
            if not token:
                break
    return found


def record_links(base_url: str) -> RecordUrl:
    """Links to records on the Steward server at ``base_url`` (its web UI's model page)."""
    base = base_url.rstrip("/")

    def url(model: str, version: int) -> str:
        return f"{base}/models/{quote(model, safe='')}?version={version}"

    return url


def decision_text(tx: SqlTransaction, model: str, version: int) -> str:
    """The latest gate decision of a version as one line: ``allow``, ``deny: <first reason>``, or
    ``not evaluated``."""
    latest = tx.gates.list_decisions(model, version, 1, None).items
    if not latest:
        return "not evaluated"
    decision = latest[0]
    if decision.allow:
        return "allow"
    reason = str(decision.denies[0].get("message", "")) if decision.denies else ""
    return f"deny: {reason}"[:500]


def write_back_tags(
    version: ModelVersion, record_url: RecordUrl | None, decision: str = "not evaluated"
) -> dict[str, str]:
    """The tags Steward keeps on the platform's version: its state, decision and record."""
    tags = {"steward.state": version.state.value, "steward.decision": decision}
    if record_url is not None:
        tags["steward.record"] = record_url(version.model, version.version)
    return tags
