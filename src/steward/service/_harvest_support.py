"""What a harvest reports, and what Steward writes back at the platform (shared by the harvest, the
jobs and the webhook receiver)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from steward.domain import ModelVersion, PolicyDecision
from steward.errors import StewardError
from steward.storage import SqlTransaction

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

    def merge(self, other: HarvestSummary) -> None:
        """Add what ``other`` (one committed batch) counted."""
        for mine, theirs in (
            (self.created, other.created),
            (self.updated, other.updated),
            (self.unchanged, other.unchanged),
            (self.linked, other.linked),
        ):
            mine.update(theirs)
        for s in other.skipped:
            self.skip(s.kind, s.id, s.reason)
        self.errors.extend(other.errors)
        self.incomplete.extend(other.incomplete)
        self.unguarded.extend(other.unguarded)
        self.guarded.extend(other.guarded)
        self.written_back += other.written_back

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
    return _decision_line(latest[0] if latest else None)


def decision_texts(tx: SqlTransaction, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """:func:`decision_text` of many versions, one query per model."""
    by_model: dict[str, set[int]] = {}
    for model, version in keys:
        by_model.setdefault(model, set()).add(version)
    found: dict[tuple[str, int], str] = {}
    for model, versions in by_model.items():
        # the newest decision of a version is the newest of its newest per environment
        newest = tx.gate_reads.latest_decisions(model, sorted(versions))
        for version in versions:
            decisions = newest.get(version, [])
            found[(model, version)] = _decision_line(max(decisions, key=lambda d: d.id, default=None))
    return found


def _decision_line(decision: PolicyDecision | None) -> str:
    if decision is None:
        return "not evaluated"
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
