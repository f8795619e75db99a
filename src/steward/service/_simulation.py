"""Impact analysis: evaluate a candidate bundle beside the bundle in force, page by page.

The versions a simulation evaluates (every version deployed now, for the environment it is
deployed to, and every version awaiting review or deployment, for each asked environment) are
read ``page_size`` versions at a time, each page in a read transaction of its own, by model then
version. So a simulation of a large inventory holds one page of input documents at a time, never
keeps a read transaction open for the whole run, and can say how far it has got; the price is
that a change committed during a long run shows in the pages read after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from steward.domain import Workflow
from steward.errors import InvalidInput
from steward.policy import Decision, Finding, PolicyBundle
from steward.service._gate_input import build_input
from steward.storage import SqlStore, SqlTransaction

SIMULATION_PAGE = 200
"""Versions read per transaction by default."""
AWAITING = {
    "registered": "awaiting_review",
    "validated": "awaiting_review",
    "approved": "awaiting_deployment",
    "deployed_staging": "awaiting_review",  # promoted to staging, on its way to production
}
"""Version states a simulation evaluates for the asked environments, and why."""


@dataclass(frozen=True, slots=True)
class SimulationItem:
    """One version evaluated with the bundle in force and with the candidate."""

    model: str
    version: int
    environment: str
    reason: str
    current: Decision
    candidate: Decision

    @property
    def changed(self) -> bool:
        return self.current.allow != self.candidate.allow

    @property
    def added_denies(self) -> tuple[Finding, ...]:
        before = {(f.rule, f.message) for f in self.current.denies}
        return tuple(f for f in self.candidate.denies if (f.rule, f.message) not in before)

    @property
    def removed_denies(self) -> tuple[Finding, ...]:
        after = {(f.rule, f.message) for f in self.candidate.denies}
        return tuple(f for f in self.current.denies if (f.rule, f.message) not in after)


@dataclass(frozen=True, slots=True)
class Simulation:
    """What switching to a candidate bundle would change, version by version. ``items`` holds
    every decision evaluated, or only the changed ones when the simulation was asked for those."""

    candidate: PolicyBundle
    items: tuple[SimulationItem, ...]
    evaluated: int
    would_change: int


@dataclass(frozen=True, slots=True)
class SimulationProgress:
    """How far a simulation has got, after each page."""

    versions: int
    """Versions read so far."""
    total: int
    """Versions to read (counted when the run started)."""
    evaluated: int
    would_change: int
    pages: int


Progress = Callable[[SimulationProgress], None]


@dataclass(frozen=True)
class Simulator:
    """One simulation run: what the policy service knows (the bundle in force for a tier and
    environment, and how to decide with it) and the candidate's own decision."""

    store: SqlStore
    workflow: Workflow
    in_force: Callable[[SqlTransaction, str, str], PolicyBundle]
    decide_current: Callable[[PolicyBundle, Mapping[str, Any]], Decision]
    decide_candidate: Callable[[Mapping[str, Any]], Decision]

    def run(
        self,
        candidate: PolicyBundle,
        targets: Sequence[str],
        now: datetime,
        *,
        page_size: int = SIMULATION_PAGE,
        changed_only: bool = False,
        progress: Progress | None = None,
    ) -> Simulation:
        if not 1 <= page_size <= 10_000:
            raise InvalidInput.field("page_size", "range", f"must be 1 to 10000 (got {page_size})")
        with self.store.read() as tx:
            total = tx.gates.count_simulated(list(AWAITING))
        kept: list[SimulationItem] = []
        versions = evaluated = would_change = 0
        for pages, (page, read) in enumerate(self._pages(targets, now, page_size), start=1):
            versions += read
            for item in page:
                evaluated += 1
                would_change += item.changed
                if item.changed or not changed_only:
                    kept.append(item)
            if progress is not None:
                progress(SimulationProgress(versions, max(total, versions), evaluated, would_change, pages))
        return Simulation(candidate, tuple(kept), evaluated, would_change)

    def _pages(
        self, targets: Sequence[str], now: datetime, page_size: int
    ) -> Iterator[tuple[list[SimulationItem], int]]:
        """Each page's items (by model, version, environment) and how many versions it read."""
        after: tuple[str, int] | None = None
        while True:
            with self.store.read() as tx:
                rows = tx.gates.simulation_page(list(AWAITING), after, page_size + 1)
                more = len(rows) > page_size
                rows = rows[:page_size]
                items = [
                    self._item(tx, model, version, environment, reason, now)
                    for model, version, state, deployed in rows
                    for environment, reason in _plan(state, deployed, targets)
                ]
            yield items, len(rows)
            if not more:
                return
            after = (rows[-1][0], rows[-1][1])

    def _item(
        self, tx: SqlTransaction, model: str, version: int, environment: str, reason: str, now: datetime
    ) -> SimulationItem:
        doc = build_input(tx, model, version, environment, now, self.workflow)
        current = self.in_force(tx, doc["model"]["risk_tier"], environment)
        return SimulationItem(
            model,
            version,
            environment,
            reason,
            self.decide_current(current, doc),
            self.decide_candidate(doc),
        )


def _plan(state: str, deployed: Sequence[str], targets: Sequence[str]) -> list[tuple[str, str]]:
    """``(environment, why)`` of one version: where it is deployed, then (when it is awaiting
    review or deployment) each asked environment it is not deployed to, sorted by environment."""
    plan = dict.fromkeys(deployed, "deployed")
    if state in AWAITING:
        for environment in targets:
            plan.setdefault(environment, AWAITING[state])
    return sorted(plan.items())
