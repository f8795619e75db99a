"""Promotion, rollback, retirement and deprecation: how a version reaches, leaves and returns to an
environment, only ever along an approved path.

A promotion evaluates the gates (a stored decision), the sign-offs its target needs and, for
production, the version's traceability (run, code commit, training data). Allowed, it records the
deployment (the one it replaces is kept as its ``replaces`` pointer) and moves the lifecycle
states; denied, it records the refusal with every reason. Either way the outcome and its events
are one transaction, and a denial then raises :class:`~steward.errors.PolicyViolation`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from steward import wire
from steward.domain import (
    CLOSED_STATES,
    VERSION_TRANSITIONS,
    Action,
    DatasetRole,
    Deployment,
    DeploymentState,
    DomainEvent,
    Model,
    ModelState,
    ModelVersion,
    Page,
    Promotion,
    PromotionKind,
    Reason,
    Retirement,
    Traceable,
    VersionState,
    after_replaced,
    ensure_model_writable,
    promotion_path,
    signoff_reasons,
    traceability_reasons,
    transition_model,
    transition_version,
)
from steward.errors import InvalidTransition, NotFound, PolicyViolation
from steward.service._caller import Caller
from steward.service._events import Clock, EventBus, Writer, writing
from steward.service._gate_input import check_target
from steward.service._gates import GateService
from steward.service._snapshots import snapshot
from steward.service._workflow import WorkflowService
from steward.storage import SqlStore


def _reasons(findings: tuple[dict[str, Any], ...]) -> list[Reason]:
    return [Reason(str(f["rule"]), str(f["message"]), f.get("measured"), f.get("required")) for f in findings]


def _denied(promotion: Promotion) -> PolicyViolation:
    what = "rollback" if promotion.kind is PromotionKind.ROLLBACK else "promotion"
    return PolicyViolation(
        f"{what} of {promotion.model} version {promotion.version} to {promotion.environment} denied: "
        + "; ".join(r.message for r in promotion.reasons),
        {
            "promotion": promotion.id,
            "model": promotion.model,
            "version": promotion.version,
            "environment": promotion.environment,
            "reasons": [r.to_dict() for r in promotion.reasons],
            "warnings": [r.to_dict() for r in promotion.warnings],
            "gate_decision": promotion.gate_decision,
            "audit_seq": promotion.audit_seq,
        },
    )


def _moved(version: ModelVersion, states: list[VersionState], w: Writer) -> ModelVersion:
    moved = version
    for state in states:
        moved = transition_version(moved, state, w.at)
    return moved


class PromotionService:
    def __init__(
        self, store: SqlStore, bus: EventBus, clock: Clock, gates: GateService, workflow: WorkflowService
    ) -> None:
        self.store = store
        self.bus = bus
        self.clock = clock
        self.gates = gates
        self.workflow = workflow

    # -- shared steps ------------------------------------------------------------------------

    def _open(self, w: Writer, model: str, version: int) -> tuple[Model, ModelVersion]:
        record = w.tx.find_model(model)
        if record is None:
            raise NotFound(f"model {model!r} does not exist", {"model": model})
        ensure_model_writable(record)
        found = w.tx.find_version(model, version)
        if found is None:
            raise NotFound(f"model {model!r} has no version {version}", {"model": model, "version": version})
        if found.state in CLOSED_STATES:
            raise InvalidTransition(
                f"version {model}/{version} is {found.state.value}: it is not deployed again",
                {"model": model, "version": version, "state": found.state.value},
            )
        return record, found

    def _signoffs(self, w: Writer, record: Model, version: int, environment: str) -> list[Reason]:
        version_id = w.tx.workflow.version_id(record.name, version)
        reviews = w.tx.workflow.reviews_of([version_id])[version_id]
        return signoff_reasons(
            self.workflow.rules.stages_for(record.risk_tier, environment),
            [r.signed() for r in reviews],
            self.workflow.stage_roles(w.tx, record.risk_tier),
        )

    def _place(
        self,
        w: Writer,
        record: Model,
        found: ModelVersion,
        environment: str,
        endpoint: str | None,
        reason: str,
        by: str,
    ) -> tuple[Deployment, Deployment | None, dict[str, list[str]]]:
        """Replace the active deployment of ``environment`` with ``found`` and move the states of
        both versions; returns the new deployment, the replaced one and the state moves."""
        moved = _moved(found, promotion_path(found.state, environment), w)
        current = w.tx.deployments.active_deployment(record.name, environment)
        replaced_version = None
        if current is not None and current.version != found.version:
            old = w.tx.find_version(record.name, current.version)
            if old is not None:
                complete = not self._signoffs(w, record, old.version, "production")
                then = after_replaced(old.state, environment, complete)
                replaced_version = (old, transition_version(old, then, w.at)) if then else None
        if current is not None:
            w.tx.deployments.end_deployment(current.id, DeploymentState.REPLACED.value, w.at)
        deployment = w.tx.deployments.insert_deployment(
            Deployment(
                id=0,
                model=record.name,
                version=found.version,
                environment=environment,
                target=endpoint or (current.target if current else environment),
                deployed_by=by,
                deployed_at=w.at,
                replaces=current.id if current else None,
                reason=reason,
            )
        )
        states: dict[str, list[str]] = {}
        for before, after in ((found, moved), *((replaced_version,) if replaced_version else ())):
            if after.state is not before.state:
                w.tx.workflow.set_version_state(after, before.revision)
                states[f"{record.name}/{before.version}"] = [before.state.value, after.state.value]
        if current is not None:
            current = replace(current, state=DeploymentState.REPLACED, ended_at=w.at)
        return deployment, current, states

    # -- promotion ---------------------------------------------------------------------------

    def promote(self, caller: Caller, model: str, version: int, spec: wire.PromotionCreate) -> Promotion:
        """Place ``version`` in ``spec.target`` if the gates, the sign-offs and traceability allow;
        a refusal is recorded (``promotion.denied``) and raised as ``PolicyViolation``."""
        caller.authorize(Action.PROMOTION_PROMOTE)
        target = check_target(spec.target)
        denied: Promotion | None = None
        with writing(self.store, self.bus, caller.origin, self.clock) as w:
            record, found = self._open(w, model, version)
            current = w.tx.deployments.active_deployment(model, target)
            # a row no promotion made (recorded before deployments went through the workflow) is
            # not a promotion: the version may be promoted over it, which replaces it
            if (
                current is not None
                and current.version == version
                and w.tx.workflow.promotions_for([current.id])
            ):
                raise InvalidTransition(
                    f"version {model}/{version} is deployed to {target} already (deployment {current.id})",
                    {"model": model, "version": version, "environment": target, "deployment": current.id},
                )
            _moved(found, promotion_path(found.state, target), w)  # refuses an impossible move first
            decision = self.gates.evaluate_in(w, caller, model, version, target)
            reasons = _reasons(decision.denies) + self._signoffs(w, record, version, target)
            if target == "production":
                reasons += traceability_reasons(
                    Traceable(
                        found.training_run,
                        found.code_commit,
                        tuple(
                            f"{d.dataset}@{d.version}"
                            for d in found.datasets
                            if d.role is DatasetRole.TRAINING
                        ),
                    )
                )
            warnings = _reasons(decision.warnings) + self._open_conditions(w, model, version)
            outcome = Promotion(
                id=0,
                model=model,
                version=version,
                environment=target,
                kind=PromotionKind.PROMOTION,
                allowed=not reasons,
                requested_by=caller.name,
                requested_at=w.at,
                reason=spec.reason,
                reasons=tuple(reasons),
                warnings=tuple(warnings),
                gate_decision=decision.id,
            )
            summary = {
                "target": target,
                "gate_decision": decision.id,
                "reasons": [r.to_dict() for r in reasons],
                "warnings": [r.to_dict() for r in warnings],
            }
            version_id = w.tx.workflow.version_id(model, version)
            if reasons:
                stored = w.tx.workflow.insert_promotion(outcome, version_id)
                event = w.emit(
                    DomainEvent(
                        "promotion.denied",
                        "model_version",
                        f"{model}/{version}",
                        after={"promotion": stored.id, **summary},
                        reason=spec.reason,
                    )
                )
                w.tx.workflow.set_promotion_seq(stored.id, event.seq)
                denied = replace(stored, audit_seq=event.seq)
            else:
                deployment, replaced, states = self._place(
                    w, record, found, target, spec.endpoint, spec.reason, caller.name
                )
                stored = w.tx.workflow.insert_promotion(
                    replace(outcome, deployment=deployment, replaced=replaced), version_id
                )
                event = w.emit(
                    DomainEvent(
                        "promotion.allowed",
                        "model_version",
                        f"{model}/{version}",
                        before={"deployment": snapshot(replaced) if replaced else None},
                        after={
                            "promotion": stored.id,
                            **summary,
                            "deployment": snapshot(deployment),
                            "states": states,
                        },
                        reason=spec.reason,
                    )
                )
                w.emit(
                    DomainEvent(
                        "deployment.recorded",
                        "deployment",
                        f"{model}/{target}/{deployment.id}",
                        before=snapshot(replaced) if replaced else None,
                        after=snapshot(deployment),
                        reason=spec.reason,
                    )
                )
                w.tx.workflow.set_promotion_seq(stored.id, event.seq)
                result = replace(stored, audit_seq=event.seq)
        if denied is not None:
            raise _denied(denied)
        return result

    def _open_conditions(self, w: Writer, model: str, version: int) -> list[Reason]:
        return [
            Reason.of(
                "signoff.condition_open",
                f"{c.stage.value if c.stage else 'a'} approval condition {c.id} is open: {c.text}",
                "open",
                "met",
            )
            for c in w.tx.workflow.conditions_of(model, version, open_only=True)
        ]

    def list_promotions(
        self, caller: Caller, model: str, version: int, page_size: int = 50, page_token: str | None = None
    ) -> Page[Promotion]:
        """A version's promotion and rollback requests, allowed and denied, oldest first."""
        caller.authorize(Action.DEPLOYMENT_READ)
        with self.store.read() as tx:
            return tx.workflow.list_promotions(model, version, page_size, page_token)

    # -- rollback ----------------------------------------------------------------------------

    def rollback(self, caller: Caller, model: str, spec: wire.RollbackCreate) -> Promotion:
        """Put back the version deployed before the current one (or a named earlier one) in one
        step, without evaluating the gates again; refused if its approvals were revoked since."""
        caller.authorize(Action.DEPLOYMENT_ROLLBACK)
        environment = check_target(spec.environment)
        denied: Promotion | None = None
        with writing(self.store, self.bus, caller.origin, self.clock) as w:
            record = w.tx.find_model(model)
            if record is None:
                raise NotFound(f"model {model!r} does not exist", {"model": model})
            ensure_model_writable(record)
            current = w.tx.deployments.active_deployment(model, environment)
            if current is None:
                raise InvalidTransition(
                    f"nothing of {model} is deployed to {environment}: there is nothing to roll back",
                    {"model": model, "environment": environment},
                )
            target = self._rollback_target(w, model, environment, current, spec.to)
            version_id = w.tx.workflow.version_id(model, target)
            reasons = self._signoffs(w, record, target, environment)
            outcome = Promotion(
                id=0,
                model=model,
                version=target,
                environment=environment,
                kind=PromotionKind.ROLLBACK,
                allowed=not reasons,
                requested_by=caller.name,
                requested_at=w.at,
                reason=spec.reason,
                reasons=tuple(reasons),
            )
            if reasons:
                stored = w.tx.workflow.insert_promotion(outcome, version_id)
                event = w.emit(
                    DomainEvent(
                        "rollback.denied",
                        "model",
                        model,
                        after={
                            "promotion": stored.id,
                            "environment": environment,
                            "version": target,
                            "reasons": [r.to_dict() for r in reasons],
                        },
                        reason=spec.reason,
                    )
                )
                w.tx.workflow.set_promotion_seq(stored.id, event.seq)
                denied = replace(stored, audit_seq=event.seq)
            else:
                _, found = self._open(w, model, target)
                deployment, replaced, states = self._place(
                    w, record, found, environment, current.target, spec.reason, caller.name
                )
                stored = w.tx.workflow.insert_promotion(
                    replace(outcome, deployment=deployment, replaced=replaced), version_id
                )
                event = w.emit(
                    DomainEvent(
                        "deployment.rolled_back",
                        "deployment",
                        f"{model}/{environment}/{deployment.id}",
                        before=snapshot(replaced) if replaced else None,
                        after={**snapshot(deployment), "promotion": stored.id, "states": states},
                        reason=spec.reason,
                    )
                )
                w.tx.workflow.set_promotion_seq(stored.id, event.seq)
                result = replace(stored, audit_seq=event.seq)
        if denied is not None:
            raise _denied(denied)
        return result

    @staticmethod
    def _rollback_target(w: Writer, model: str, environment: str, current: Deployment, to: int | str) -> int:
        past = w.tx.deployments.deployments_of(model, environment=environment)
        if to == "previous":
            by_id = {d.id: d for d in past}
            step: Deployment | None = current
            while step is not None and step.replaces is not None:
                step = by_id.get(step.replaces)
                if step is not None and step.version != current.version:
                    return step.version
            raise InvalidTransition(
                f"{model} has no earlier version deployed to {environment} to roll back to",
                {"model": model, "environment": environment, "current_version": current.version},
            )
        if to == current.version:
            raise InvalidTransition(
                f"version {model}/{to} is the one deployed to {environment}",
                {"model": model, "version": to, "environment": environment},
            )
        if not isinstance(to, int) or to not in {d.version for d in past}:
            raise InvalidTransition(
                f"version {model}/{to} was never deployed to {environment}: promote it instead of "
                "rolling back to it",
                {"model": model, "version": to, "environment": environment},
            )
        return to

    # -- retirement and deprecation ----------------------------------------------------------

    def retire(self, caller: Caller, model: str, spec: wire.RetirementCreate) -> Retirement:
        """End every deployment of the model, deprecate its deployed versions and make its record
        read-only, with the reason and date. ``model.retired`` names the deployments it ended;
        after commit, guard mode removes the model's guarded aliases at its platform."""
        caller.authorize(Action.MODEL_RETIRE)
        with writing(self.store, self.bus, caller.origin, self.clock) as w:
            record = w.tx.find_model(model)
            if record is None:
                raise NotFound(f"model {model!r} does not exist", {"model": model})
            retired = transition_model(record, ModelState.RETIRED, w.at)
            ended = [d for d in w.tx.deployments.deployments_of(model) if d.state is DeploymentState.ACTIVE]
            for deployment in ended:
                w.tx.deployments.end_deployment(deployment.id, DeploymentState.ENDED.value, w.at)
            deprecated = []
            for number in sorted({d.version for d in ended}):
                found = w.tx.find_version(model, number)
                if found is not None and VersionState.DEPRECATED in VERSION_TRANSITIONS[found.state]:
                    w.tx.workflow.set_version_state(
                        transition_version(found, VersionState.DEPRECATED, w.at), found.revision
                    )
                    w.tx.workflow.insert_deprecation(
                        w.tx.workflow.version_id(model, number),
                        caller.name,
                        w.at,
                        f"model retired: {spec.reason}",
                    )
                    deprecated.append(number)
            w.tx.update_model(retired, record.revision)
            retirement = Retirement(model, caller.name, w.at, spec.reason, tuple(d.id for d in ended))
            w.tx.workflow.insert_retirement(retirement)
            w.emit(
                DomainEvent(
                    "model.retired",
                    "model",
                    model,
                    before={"state": record.state.value, "active_deployments": [snapshot(d) for d in ended]},
                    after={
                        "state": retired.state.value,
                        "ended_deployments": [d.id for d in ended],
                        "deprecated_versions": deprecated,
                    },
                    reason=spec.reason,
                )
            )
        return retirement

    def deprecate(
        self, caller: Caller, model: str, version: int, spec: wire.DeprecationCreate
    ) -> ModelVersion:
        """Mark a version not to be deployed again (refused while it is deployed somewhere)."""
        caller.authorize(Action.VERSION_DEPRECATE)
        with writing(self.store, self.bus, caller.origin, self.clock) as w:
            record = w.tx.find_model(model)
            if record is None:
                raise NotFound(f"model {model!r} does not exist", {"model": model})
            ensure_model_writable(record)
            found = w.tx.find_version(model, version)
            if found is None:
                raise NotFound(
                    f"model {model!r} has no version {version}", {"model": model, "version": version}
                )
            active = [
                d
                for d in w.tx.deployments.deployments_of(model, version=version)
                if d.state is DeploymentState.ACTIVE
            ]
            if active:
                where = ", ".join(sorted({d.environment for d in active}))
                raise InvalidTransition(
                    f"version {model}/{version} is deployed to {where}: promote or roll back another "
                    "version there first (or retire the model)",
                    {
                        "model": model,
                        "version": version,
                        "deployed_to": sorted({d.environment for d in active}),
                    },
                )
            moved = transition_version(found, VersionState.DEPRECATED, w.at)
            w.tx.workflow.set_version_state(moved, found.revision)
            w.tx.workflow.insert_deprecation(
                w.tx.workflow.version_id(model, version), caller.name, w.at, spec.reason
            )
            w.emit(
                DomainEvent(
                    "model_version.deprecated",
                    "model_version",
                    f"{model}/{version}",
                    before={"state": found.state.value},
                    after={"state": moved.state.value},
                    reason=spec.reason,
                )
            )
        return moved
