"""The approval workflow: reviews with separation of duties, conditions, the review queue,
periodic reviews and owner attestations, and the deployment history of a model.

A review is checked before anything is written: the version is open for sign-offs, the stage is
one its risk tier needs, the bundle's separation-of-duties rules allow the reviewer
(:class:`~steward.errors.SeparationOfDuties` naming each rule otherwise), the stages before it are
approved, and an ``automated_gates`` approval has a passing gate decision to look at. The review,
its stage's current decision, the version's new lifecycle state and the ``review.recorded`` event
are then written in one transaction.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from steward import wire
from steward.domain import (
    CLOSED_STATES,
    DEFAULT_STAGE_ROLES,
    Action,
    Attestation,
    DomainEvent,
    HistoryEntry,
    ModelHistory,
    Page,
    PendingReview,
    PromotionLog,
    Review,
    ReviewCondition,
    ReviewDue,
    ReviewStage,
    RiskTier,
    Role,
    SignoffStatus,
    Workflow,
    after_review,
    effective_at,
    ensure_model_writable,
    periodic_status,
    signoff_reasons,
    transition_version,
    waiting_for,
)
from steward.errors import (
    InvalidInput,
    InvalidTransition,
    NotFound,
    PolicyViolation,
    SeparationOfDuties,
)
from steward.policy import (
    ATTESTATION_QUERY,
    CONDITION_QUERY,
    SEPARATION_QUERY,
    Finding,
    PolicyBundle,
    attestation_input,
    condition_input,
    separation_findings,
    separation_input,
    stage_roles,
)
from steward.service._caller import Caller
from steward.service._events import Clock, EventBus, writing
from steward.service._policies import PolicyService
from steward.service._snapshots import snapshot
from steward.storage import (
    SqlStore,
    SqlTransaction,
    due_position,
    due_token,
    page_after,
    queue_position,
    queue_token,
)

StageRoles = dict[ReviewStage, tuple[Role, ...]]
_ROLE_NAMES = frozenset(r.value for r in Role)
_STAGE_NAMES = frozenset(s.value for s in ReviewStage)


def _not_found(model: str, version: int | None = None) -> NotFound:
    if version is None:
        return NotFound(f"model {model!r} does not exist", {"model": model})
    return NotFound(f"model {model!r} has no version {version}", {"model": model, "version": version})


class WorkflowService:
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
        self.rules = workflow or Workflow()

    # -- what the bundle says --------------------------------------------------------------

    def stage_roles(
        self, tx: SqlTransaction, tier: RiskTier, bundle: PolicyBundle | None = None
    ) -> StageRoles:
        """Who signs each stage for ``tier``: ``data.workflow.stage_roles`` of the bundle in force
        for production (or ``bundle``; else of the built-in bundle, else the defaults)."""
        table = stage_roles(bundle or self.policies.in_force(tx, tier.value, "production"))
        if table is None:
            table = stage_roles(self.policies.builtin())
        if table is None:
            return dict(DEFAULT_STAGE_ROLES)
        return {
            ReviewStage(stage): tuple(Role(r) for r in roles if r in _ROLE_NAMES)
            for stage, roles in table.items()
            if stage in _STAGE_NAMES
        }

    def _separation(
        self,
        tx: SqlTransaction,
        tier: RiskTier,
        doc: dict[str, object],
        query: str = SEPARATION_QUERY,
        what: str = "signed",
    ) -> tuple[Finding, ...]:
        bundle = self.policies.in_force(tx, tier.value, "production")
        try:
            found = separation_findings(bundle, doc, self.policies.engine, query)
            if found is None:  # the bundle states no such rule: the built-in one applies
                found = separation_findings(self.policies.builtin(), doc, self.policies.engine, query) or ()
        except InvalidInput as exc:  # fail closed: nothing is done while the rules do not evaluate
            raise SeparationOfDuties(
                f"the separation-of-duties rules of bundle {bundle.name} {bundle.version} failed to "
                f"evaluate ({exc.message}); nothing was {what}",
                {"rules": ["policy.error"], "violations": [], "errors": exc.details.get("errors", [])},
            ) from None
        return found

    @staticmethod
    def _refuse(message: str, violations: tuple[Finding, ...], **details: object) -> SeparationOfDuties:
        return SeparationOfDuties(
            f"{message}: " + "; ".join(f.message for f in violations),
            {
                "rules": sorted({f.rule for f in violations}),
                "violations": [f.to_dict() for f in violations],
                **details,
            },
        )

    # -- reviews ---------------------------------------------------------------------------

    def review(self, caller: Caller, model: str, version: int, spec: wire.ReviewCreate) -> Review:
        """Sign one stage of a version (see the module doc for what is checked first)."""
        caller.authorize(Action.REVIEW_SIGN)
        with writing(self.store, self.bus, caller.origin, self.clock) as w:
            record = w.tx.find_model(model)
            if record is None:
                raise _not_found(model)
            ensure_model_writable(record)
            found = w.tx.find_version(model, version)
            if found is None:
                raise _not_found(model, version)
            if found.state in CLOSED_STATES:
                raise InvalidTransition(
                    f"version {model}/{version} is {found.state.value}: its sign-offs are closed",
                    {"model": model, "version": version, "state": found.state.value},
                )
            stages = self.rules.stages_for(record.risk_tier, "production")
            if spec.stage not in stages:
                raise InvalidInput.field(
                    "stage",
                    "workflow",
                    f"a {record.risk_tier.value}-risk model's workflow has the stages "
                    f"{', '.join(s.value for s in stages) or 'none'}; {spec.stage.value} is not one of them",
                )
            version_id = w.tx.workflow.version_id(model, version)
            reviews = w.tx.workflow.reviews_of([version_id])[version_id]
            run = w.tx.datasets.find_run(found.training_run) if found.training_run else None
            doc = separation_input(
                stage=spec.stage.value,
                decision=spec.decision.value,
                reviewer=caller.name,
                roles=[r.value for r in caller.principal.roles],
                model=model,
                version=version,
                registered_by=found.registered_by or None,
                training_run=None if run is None else {"run_id": run.run_id, "user": run.user or None},
                reviews=[
                    {
                        "stage": r.stage.value,
                        "decision": r.decision.value,
                        "reviewer": r.reviewer,
                        "role": r.role.value,
                    }
                    for r in reviews
                ],
            )
            violations = self._separation(w.tx, record.risk_tier, doc)
            if violations:
                rules = sorted({f.rule for f in violations})
                raise SeparationOfDuties(
                    f"{caller.name} may not sign {spec.stage.value} of {model} version {version}: "
                    + "; ".join(f.message for f in violations),
                    {
                        "rules": rules,
                        "violations": [f.to_dict() for f in violations],
                        "model": model,
                        "version": version,
                        "stage": spec.stage.value,
                    },
                )
            signed = [r.signed() for r in reviews]
            gate_decision = None
            if spec.decision.approves:
                waiting = waiting_for(stages, spec.stage, signed)
                if waiting:
                    raise InvalidTransition(
                        f"stage {spec.stage.value} of {model} version {version} cannot be approved before "
                        f"{', '.join(s.value for s in waiting)} is approved",
                        {"stage": spec.stage.value, "waiting_for": [s.value for s in waiting]},
                    )
                if spec.stage is ReviewStage.AUTOMATED_GATES:
                    newest = w.tx.workflow.newest_decision(version_id)
                    if newest is None or not newest[1]:
                        text = (
                            "has no gate decision yet: evaluate the gates first (steward gate check)"
                            if newest is None
                            else f"has a denying gate decision ({newest[0]}, for {newest[2]})"
                        )
                        raise PolicyViolation(
                            f"automated_gates of {model} version {version} cannot be approved: the version "
                            f"{text}",
                            {
                                "reasons": [
                                    {
                                        "rule": "signoff.gates_not_passed",
                                        "message": f"signoff.gates_not_passed: the version {text}",
                                        "measured": None if newest is None else newest[0],
                                        "required": "the version's newest gate decision allows",
                                    }
                                ]
                            },
                        )
                    gate_decision = newest[0]
            allowed_roles = self.stage_roles(w.tx, record.risk_tier).get(spec.stage, ())
            held = sorted(caller.principal.roles & set(allowed_roles)) or sorted(caller.principal.roles)
            stored = w.tx.workflow.insert_review(
                Review(
                    id=0,
                    model=model,
                    version=version,
                    stage=spec.stage,
                    decision=spec.decision,
                    reviewer=caller.name,
                    role=held[0],
                    created_at=w.at,
                    comment=spec.comment,
                    conditions=tuple(ReviewCondition(0, 0, text) for text in spec.conditions),
                    evidence=tuple(spec.evidence),
                    gate_decision=gate_decision,
                ),
                version_id,
            )
            before = {r.stage: r for r in signed}
            previous = max(
                (r for r in signed if r.stage is spec.stage), key=lambda r: (r.at, r.id), default=None
            )
            everything = [*signed, stored.signed()]
            complete = not signoff_reasons(stages, everything, {})
            moved = found
            for state in after_review(found.state, spec.decision, complete):
                moved = transition_version(moved, state, w.at)
            if moved is not found:
                w.tx.workflow.set_version_state(moved, found.revision)
            revokes = (
                previous.id
                if previous and previous.decision.approves and not spec.decision.approves
                else None
            )
            event = w.emit(
                DomainEvent(
                    "review.recorded",
                    "model_version",
                    f"{model}/{version}",
                    before={
                        "state": found.state.value,
                        "stage_decision": before[spec.stage].decision.value if spec.stage in before else None,
                    },
                    after={
                        **snapshot(stored, skip=("audit_seq",)),
                        "state": moved.state.value,
                        "revokes_review": revokes,
                    },
                    reason=spec.comment,
                )
            )
            w.tx.workflow.set_review_seq(stored.id, event.seq)
        return replace(stored, audit_seq=event.seq)

    def list_reviews(
        self, caller: Caller, model: str, version: int, page_size: int = 50, page_token: str | None = None
    ) -> Page[Review]:
        """A version's reviews, oldest first."""
        caller.authorize(Action.REVIEW_READ)
        with self.store.read() as tx:
            return tx.workflow.list_reviews(model, version, page_size, page_token)

    def signoff_status(self, caller: Caller, model: str, version: int) -> SignoffStatus:
        """A version's reviews and, for staging and production, what its model's workflow still
        needs: the sign-off reasons a promotion there would give now (none: they are in place)."""
        caller.authorize(Action.REVIEW_READ)
        with self.store.read() as tx:
            record = tx.find_model(model)
            if record is None:
                raise _not_found(model)
            found = tx.find_version(model, version)
            if found is None:
                raise _not_found(model, version)
            version_id = tx.workflow.version_id(model, version)
            reviews = tx.workflow.reviews_of([version_id])[version_id]
            roles = self.stage_roles(tx, record.risk_tier)
        signed = [r.signed() for r in reviews]
        stages = {env: self.rules.stages_for(record.risk_tier, env) for env in ("staging", "production")}
        return SignoffStatus(
            model=model,
            version=version,
            risk_tier=record.risk_tier,
            version_state=found.state,
            reviews=tuple(reviews),
            roles=roles,
            stages=stages,
            missing={env: tuple(signoff_reasons(needed, signed, roles)) for env, needed in stages.items()},
        )

    # -- conditions ------------------------------------------------------------------------

    def list_conditions(
        self,
        caller: Caller,
        model: str,
        version: int,
        open_only: bool = True,
        page_size: int = 50,
        page_token: str | None = None,
    ) -> Page[ReviewCondition]:
        """The conditions a version's approvals were given under (open ones only), oldest first."""
        caller.authorize(Action.REVIEW_READ)
        with self.store.read() as tx:
            return tx.workflow.list_conditions(model, version, open_only, page_size, page_token)

    def meet_condition(self, caller: Caller, condition_id: int, spec: wire.ConditionMeet) -> ReviewCondition:
        """Mark an open condition met, saying how. The bundle's separation rules refuse the people
        the condition constrains (the version's registrant, its training run's author)."""
        caller.authorize(Action.REVIEW_CONDITION_RESOLVE)
        with writing(self.store, self.bus, caller.origin, self.clock) as w:
            found = w.tx.workflow.find_condition(condition_id)
            if found is None:
                raise NotFound(f"condition {condition_id} does not exist", {"condition": condition_id})
            if not found.open:
                raise InvalidTransition(
                    f"condition {condition_id} was met already, by {found.met_by}",
                    {"condition": condition_id, "met_by": found.met_by},
                )
            record = w.tx.find_model(found.model)
            if record is None:  # pragma: no cover (a condition's review belongs to a version)
                raise _not_found(found.model)
            ensure_model_writable(record)
            self._check_condition(w.tx, record.risk_tier, found, caller)
            met = w.tx.workflow.meet_condition(condition_id, caller.name, w.at, spec.note)
            w.emit(
                DomainEvent(
                    "review_condition.fulfilled",
                    "model_version",
                    f"{met.model}/{met.version}",
                    before={"condition": met.id, "open": True},
                    after={"condition": met.id, "review": met.review_id, "text": met.text, "open": False},
                    reason=spec.note,
                )
            )
        return met

    def _check_condition(
        self, tx: SqlTransaction, tier: RiskTier, condition: ReviewCondition, caller: Caller
    ) -> None:
        """Refuse (``SeparationOfDuties``) whoever the bundle's condition rules exclude."""
        version = tx.find_version(condition.model, condition.version)
        if version is None:  # pragma: no cover (a condition's review belongs to a version)
            raise _not_found(condition.model, condition.version)
        run = tx.datasets.find_run(version.training_run) if version.training_run else None
        version_id = tx.workflow.version_id(condition.model, condition.version)
        reviews = tx.workflow.reviews_of([version_id])[version_id]
        setter = next((r for r in reviews if r.id == condition.review_id), None)
        doc = condition_input(
            condition={
                "id": condition.id,
                "stage": condition.stage.value if condition.stage else None,
                "text": condition.text,
                "set_by": setter.reviewer if setter else None,
            },
            actor=caller.name,
            roles=[r.value for r in caller.principal.roles],
            model=condition.model,
            version=condition.version,
            registered_by=version.registered_by or None,
            training_run=None if run is None else {"run_id": run.run_id, "user": run.user or None},
        )
        violations = self._separation(tx, tier, doc, CONDITION_QUERY, "marked met")
        if violations:
            raise self._refuse(
                f"{caller.name} may not mark condition {condition.id} of {condition.model} version "
                f"{condition.version} met",
                violations,
                condition=condition.id,
                model=condition.model,
                version=condition.version,
            )

    # -- the review queue ------------------------------------------------------------------

    def pending(
        self,
        caller: Caller,
        stage: ReviewStage | None = None,
        page_size: int = 50,
        page_token: str | None = None,
    ) -> Page[PendingReview]:
        """What waits for the caller's roles (everything, when the caller signs no stage; one
        stage, whoever signs it, with ``stage``), oldest first: a stage waits once every stage
        before it is approved and nobody has signed it."""
        caller.authorize(Action.REVIEW_READ)
        if not 1 <= page_size <= 1000:
            raise InvalidInput.field("page_size", "range", "must be 1 to 1000")
        after = queue_position(page_token)
        now = self.clock()
        found: list[tuple[datetime, int, PendingReview]] = []
        with self.store.read() as tx:
            plan = []
            bundles = self.policies.in_force_by_tier(tx, "production")
            for tier in RiskTier:
                table = self.stage_roles(tx, tier, bundles[tier])
                stages = self.rules.stages_for(tier, "production")
                for index, each in enumerate(stages):
                    plan.append((tier, each, stages[:index], table.get(each, ())))
            mine = [p for p in plan if caller.principal.roles & set(p[3])]
            chosen = [p for p in plan if p[1] is stage] if stage is not None else (mine or plan)
            arms = [(tier, each, before) for tier, each, before, _ in chosen]
            for arm, row in tx.workflow.waiting(arms, after, page_size + 1):
                tier, each, _, roles = chosen[arm]
                item = PendingReview(
                    model=row.model,
                    version=row.version,
                    risk_tier=tier,
                    stage=each,
                    roles=roles,
                    version_state=row.state,
                    registered_by=row.registered_by,
                    waiting_since=row.since,
                    waited_seconds=max(0, int((now - row.since).total_seconds())),
                )
                found.append((row.since, row.version_id, item))
        found.sort(key=lambda f: (f[0], f[1]))
        page = found[:page_size]
        token = queue_token(page[-1][0], page[-1][1]) if len(found) > page_size else None
        return Page(tuple(item for _, _, item in page), token)

    # -- periodic review and attestation ---------------------------------------------------

    def due(
        self,
        caller: Caller,
        overdue_only: bool = True,
        page_size: int = 50,
        page_token: str | None = None,
    ) -> Page[ReviewDue]:
        """Models whose periodic review or owner attestation is overdue (with ``overdue_only``
        off, every model that is not retired), soonest due first, then by name.

        The due dates depend on the cadences in force (settings, the model's own), so they are
        computed here from each model's stored clock (one row per model) and the page is cut
        from the sorted list."""
        caller.authorize(Action.REVIEW_READ)
        after = due_position(page_token)
        now = self.clock()
        with self.store.read() as tx:
            rows = tx.workflow.due_rows()
        items = []
        for row in rows:
            status = periodic_status(
                self.rules.cadence_for(row.risk_tier, row.cadence_months),
                row.created_at,
                row.last_reviewed_at,
                row.last_attested_at,
                now,
            )
            if overdue_only and not status.overdue:
                continue
            items.append(
                ReviewDue(
                    model=row.name,
                    owner=row.owner,
                    risk_tier=row.risk_tier,
                    cadence_months=status.cadence_months,
                    last_reviewed_at=status.last_reviewed_at,
                    review_due_at=status.review_due_at,
                    last_attested_at=status.last_attested_at,
                    attestation_due_at=status.attestation_due_at,
                    review_overdue=status.review_overdue,
                    attestation_overdue=status.attestation_overdue,
                    production_version=row.production_version,
                )
            )
        kept, token = page_after(
            items,
            page_size,
            key=lambda d: (min(d.review_due_at, d.attestation_due_at), d.model),
            after=after,
            token=lambda d: due_token(min(d.review_due_at, d.attestation_due_at), d.model),
        )
        return Page(tuple(kept), token)

    def attest(self, caller: Caller, model: str, spec: wire.AttestationCreate) -> Attestation:
        """The owner attests that the model's record is current (resets the attestation clock).

        Who is the owner is the bundle's rule (``separation.attestation_owner``): by default the
        principal whose name is the record's ``owner`` (a person), or a business owner (for an
        owner that names a team); anyone else is refused with ``separation_of_duties``."""
        caller.authorize(Action.MODEL_ATTEST)
        with writing(self.store, self.bus, caller.origin, self.clock) as w:
            record = w.tx.find_model(model)
            if record is None:
                raise _not_found(model)
            ensure_model_writable(record)
            doc = attestation_input(
                model=model,
                owner=record.owner,
                actor=caller.name,
                roles=[r.value for r in caller.principal.roles],
            )
            violations = self._separation(w.tx, record.risk_tier, doc, ATTESTATION_QUERY, "attested")
            if violations:
                raise self._refuse(
                    f"{caller.name} may not attest the record of {model} (owner {record.owner})",
                    violations,
                    model=model,
                    owner=record.owner,
                )
            stored = w.tx.workflow.insert_attestation(
                Attestation(0, model, caller.name, w.at, spec.statement)
            )
            w.emit(
                DomainEvent(
                    "model.attested",
                    "model",
                    model,
                    after={"attestation": stored.id, "owner": record.owner, "statement": spec.statement},
                    reason=spec.statement,
                )
            )
        return stored

    # -- history ---------------------------------------------------------------------------

    def promotion_log(self, caller: Caller, model: str, limit: int = 50) -> PromotionLog:
        """The model's newest promotion and rollback requests, allowed and denied with every
        reason (all its versions, newest first), and its retirement."""
        caller.authorize(Action.DEPLOYMENT_READ)
        if not 1 <= limit <= 1000:
            raise InvalidInput.field("limit", "range", "must be 1 to 1000")
        with self.store.read() as tx:
            found = tx.workflow.model_promotions(model, limit + 1)
            retirement = tx.workflow.find_retirement(model)
        return PromotionLog(model, tuple(found[:limit]), len(found) > limit, retirement)

    def history(
        self, caller: Caller, model: str, at: datetime | None = None, environment: str = "production"
    ) -> ModelHistory:
        """Which version was in ``environment`` (at ``at``, or over time), how it got there, who
        approved it and on what evidence."""
        caller.authorize(Action.DEPLOYMENT_READ)
        with self.store.read() as tx:
            if tx.find_model(model) is None:
                raise _not_found(model)
            deployments = tx.deployments.deployments_of(model, environment=environment)
            if at is not None:
                deployments = [
                    d for d in deployments if d.deployed_at <= at and (d.ended_at is None or d.ended_at > at)
                ]
            deployments.sort(key=lambda d: (d.deployed_at, d.id), reverse=True)
            numbers = sorted({d.version for d in deployments})
            ids = {n: tx.workflow.version_id(model, n) for n in numbers}
            reviews = tx.workflow.reviews_of(ids.values())
            made = tx.workflow.promotions_for(d.id for d in deployments)
            entries = []
            for d in deployments:
                own = reviews[ids[d.version]]
                current = effective_at([r.signed() for r in own], d.deployed_at)
                by_id = {r.id: r for r in own}
                approvals = tuple(
                    by_id[s.id] for s in sorted(current.values(), key=lambda s: s.id) if s.decision.approves
                )
                promotion = made.get(d.id)
                decision = None
                if promotion is not None and promotion.gate_decision is not None:
                    decision = tx.gates.find_decision(model, d.version, promotion.gate_decision)
                entries.append(
                    HistoryEntry(
                        deployment=d,
                        kind=promotion.kind.value if promotion else "recorded",
                        requested_by=promotion.requested_by if promotion else d.deployed_by,
                        reason=promotion.reason if promotion else d.reason,
                        approvals=approvals,
                        gate_decision=None if decision is None else replace(decision, input=None),
                        promotion=promotion.id if promotion else None,
                        evidence=tuple(dict.fromkeys(link for r in approvals for link in r.evidence)),
                    )
                )
            retirement = tx.workflow.find_retirement(model)
        return ModelHistory(model, environment, at, tuple(entries), retirement)
