"""Automated gates: the policy input of a version, its evaluation, the stored decisions, replay.

``evaluate`` builds the input document from the store, picks the bundle assigned to the model's
risk tier and the target environment, evaluates it, and stores the :class:`PolicyDecision` (with
the input document) and its ``gate.evaluated`` audit event in one transaction. A bundle that fails
to evaluate gives a denial (rule ``policy.error`` naming the file and line), never an allow.
Evaluating answers the question; it does not refuse anything by itself (the promotion use case
does, with ``PolicyViolation``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from steward.domain import Action, DomainEvent, Page, PolicyDecision, Workflow
from steward.errors import IntegrityError, NotFound
from steward.policy import Decision, input_digest
from steward.service._caller import Caller
from steward.service._events import Clock, EventBus, Writer, writing
from steward.service._gate_input import DATA_QUALITY, build_input, check_target, document, review_facts
from steward.service._policies import PolicyService, decide
from steward.storage import GateStatus, SqlStore

PROMOTION_OUTCOMES = ("promotion.allowed", "promotion.denied")


@dataclass(frozen=True, slots=True)
class Replay:
    """A stored decision evaluated again from its bundle and its input document."""

    decision: PolicyDecision
    replayed: Decision

    @property
    def same(self) -> bool:
        return (
            self.replayed.allow == self.decision.allow
            and [f.to_dict() for f in self.replayed.denies] == list(self.decision.denies)
            and [f.to_dict() for f in self.replayed.warnings] == list(self.decision.warnings)
            and self.replayed.input_digest == self.decision.input_digest
            and self.replayed.bundle_digest == self.decision.bundle_digest
        )


class GateService:
    def __init__(
        self,
        store: SqlStore,
        bus: EventBus,
        clock: Clock,
        policies: PolicyService,
        workflow: Workflow | None = None,
    ) -> None:
        self.store = store
        self.bus = bus
        self.clock = clock
        self.policies = policies
        self.workflow = workflow or Workflow()

    def gate_input(
        self, caller: Caller, model: str, version: int, target: str = "production"
    ) -> dict[str, Any]:
        """The policy input document the version would be evaluated on now."""
        caller.authorize(Action.GATE_READ)
        with self.store.read() as tx:
            return build_input(tx, model, version, target, self.clock(), self.workflow)

    def evaluate(
        self, caller: Caller, model: str, version: int, target: str = "production"
    ) -> PolicyDecision:
        """Evaluate the assigned bundle for promoting ``model`` ``version`` to ``target``; store
        the decision and its audit event together. The decision is returned without its input
        document (:meth:`get_decision` reads it)."""
        caller.authorize(Action.GATE_EVALUATE)
        with writing(self.store, self.bus, caller.origin, self.clock) as w:
            stored = self.evaluate_in(w, caller, model, version, target)
        return replace(stored, input=None)

    def evaluate_in(self, w: Writer, caller: Caller, model: str, version: int, target: str) -> PolicyDecision:
        """:meth:`evaluate` inside the caller's write transaction (a promotion evaluates the gates
        and records its own outcome in one transaction); the decision keeps its input document."""
        check_target(target)
        parts = w.tx.gates.input_parts(model, version, DATA_QUALITY)
        doc = document(parts, target, w.at, review_facts(w.tx, parts, w.at, self.workflow))
        bundle = self.policies.assigned(w, caller, doc["model"]["risk_tier"], target)
        decision = self.policies.decide(bundle, doc)
        stored = w.tx.gates.insert_decision(
            PolicyDecision(
                id=0,
                model=model,
                version=version,
                environment=target,
                allow=decision.allow,
                denies=tuple(f.to_dict() for f in decision.denies),
                warnings=tuple(f.to_dict() for f in decision.warnings),
                bundle_name=decision.bundle_name,
                bundle_version=decision.bundle_version,
                bundle_digest=decision.bundle_digest,
                input_digest=decision.input_digest,
                engine=decision.engine,
                engine_version=decision.engine_version,
                input=doc,
                created_by=caller.name,
                created_at=w.at,
            ),
            parts.version_id,
        )
        event = w.emit(
            DomainEvent(
                "gate.evaluated",
                "model_version",
                f"{model}/{version}",
                after={"decision": stored.id, "target": target, **decision.to_dict()},
            )
        )
        w.tx.gates.set_decision_seq(stored.id, event.seq)
        return replace(stored, audit_seq=event.seq)

    def list_decisions(
        self, caller: Caller, model: str, version: int, page_size: int = 50, page_token: str | None = None
    ) -> Page[PolicyDecision]:
        """A version's decisions, newest first (without their input documents)."""
        caller.authorize(Action.GATE_READ)
        with self.store.read() as tx:
            return tx.gates.list_decisions(model, version, page_size, page_token)

    def get_decision(self, caller: Caller, model: str, version: int, decision_id: int) -> PolicyDecision:
        """One decision with the input document it evaluated."""
        caller.authorize(Action.GATE_READ)
        with self.store.read() as tx:
            found = tx.gates.find_decision(model, version, decision_id)
        if found is None:
            raise NotFound(
                f"model {model!r} version {version} has no decision {decision_id}",
                {"model": model, "version": version, "decision": decision_id},
            )
        return found

    def promotions_per_day(self, caller: Caller, since: datetime) -> list[tuple[date, str, int]]:
        """``(UTC day, promotion.allowed | promotion.denied, count)`` from ``since``, oldest first."""
        caller.authorize(Action.GATE_READ)
        with self.store.read() as tx:
            return tx.count_events_by_day(PROMOTION_OUTCOMES, since)

    def violations_by_rule(self, caller: Caller, since: datetime) -> list[tuple[str, int]]:
        """``(rule, denials that named it)`` over the decisions made from ``since``, most first."""
        caller.authorize(Action.GATE_READ)
        with self.store.read() as tx:
            return tx.gates.count_denies_by_rule(since)

    def latest_decisions(
        self, caller: Caller, model: str, versions: Sequence[int]
    ) -> dict[int, list[PolicyDecision]]:
        """The newest decision per target environment of each of ``model``'s ``versions`` (one
        query for all of them), production first; versions never evaluated are left out."""
        caller.authorize(Action.GATE_READ)
        with self.store.read() as tx:
            return tx.gate_reads.latest_decisions(model, versions)

    def gate_status(
        self, caller: Caller, models: Sequence[str], target: str = "production"
    ) -> dict[str, GateStatus]:
        """Each model's gate status for ``target``: the newest decision for ``target`` of the
        version that runs there, else (nothing runs there) of its newest version; ``decision`` is
        ``None`` when that version was never evaluated for it. One query for all of ``models``;
        models without a version are left out."""
        caller.authorize(Action.GATE_READ)
        check_target(target)
        with self.store.read() as tx:
            return tx.gate_reads.gate_status(models, target)

    def replay(self, caller: Caller, model: str, version: int, decision_id: int) -> Replay:
        """Evaluate a stored decision's bundle (by digest) on its stored input document again."""
        decision = self.get_decision(caller, model, version, decision_id)
        doc = decision.input or {}
        if input_digest(doc) != decision.input_digest:
            raise IntegrityError(
                f"decision {decision_id}: the stored input document does not hash to its input digest",
                {"decision": decision_id, "input_digest": decision.input_digest},
            )
        with self.store.read() as tx:
            bundle = self.policies.by_digest(tx, decision.bundle_digest)
        return Replay(decision, decide(bundle, doc, self.policies.one_off_engine()))
