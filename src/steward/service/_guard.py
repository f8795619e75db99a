"""Guard mode: a platform alias may point only at what Steward promoted.

Each model has guarded aliases (default ``production`` and ``champion``, both for the ``production``
environment). What counts as deployed there is :func:`promoted_deployment`: the environment's
active deployment, made by an allowed promotion or rollback of the approval workflow (the only way
a deployment is made; a row without one, from before that was so, does not count). When an alias
is set at the platform on any other version, Steward moves it back to the promoted version (or
removes it when nothing is promoted there), writes ``alias.reverted`` and opens an incident linked
to that audit event. When a guarded alias is removed while Steward has a promoted version there,
Steward puts it back. After a promotion or a rollback, :meth:`GuardService.sync` (an after-commit
sink) sets the aliases itself; after a retirement it removes them (nothing of the model runs
anywhere any more). :meth:`GuardService.on_alias_set` serves both the webhook receiver and the
harvest (which catches the bypasses made while deliveries were not arriving), so both act alike.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from steward.domain import (
    DEFAULT_ALIAS_GUARDS,
    Action,
    AuditEvent,
    Deployment,
    DomainEvent,
    IncidentAction,
    ModelSource,
    ModelVersion,
    Severity,
)
from steward.errors import NotFound, StewardError
from steward.service._caller import Caller
from steward.service._events import Clock, EventBus, writing
from steward.service._incidents import open_incident
from steward.storage import SqlStore, SqlTransaction

log = logging.getLogger("steward.guard")


def guards_for(tx: SqlTransaction, model: str) -> dict[str, str]:
    """The model's guarded aliases (alias → environment): its own, or the defaults."""
    stored = tx.sources.alias_guards(model)
    return dict(DEFAULT_ALIAS_GUARDS) if stored is None else stored


def promoted_deployment(tx: SqlTransaction, model: str, environment: str) -> Deployment | None:
    """The deployment active in ``environment`` if the approval workflow made it (an allowed
    promotion or rollback); ``None`` when nothing is active there or the active row has no such
    request behind it."""
    active = tx.deployments.active_deployment(model, environment)
    if active is None or active.id not in tx.workflow.promotions_for([active.id]):
        return None
    return active


def promoted_deployments(tx: SqlTransaction, models: Iterable[str]) -> dict[tuple[str, str], Deployment]:
    """:func:`promoted_deployment` of every environment of each of ``models``, by ``(model,
    environment)``, in two queries."""
    active = tx.deployments.active_deployments(models)
    promoted = tx.workflow.promotions_for(d.id for d in active.values())
    return {key: d for key, d in active.items() if d.id in promoted}


#: The events after which the guarded aliases follow Steward (sync after commit).
SYNC_ACTIONS = frozenset({"deployment.recorded", "deployment.rolled_back", "model.retired"})


def platform_version(
    tx: SqlTransaction, source: ModelSource, model: str, version: int
) -> tuple[str, str] | None:
    """The (platform model, platform version) a Steward version is linked to at ``source``."""
    record = tx.find_version(model, version)
    linked = platform_versions(record, source) if record is not None else []
    return linked[0] if linked else None


def platform_versions(record: ModelVersion, source: ModelSource) -> list[tuple[str, str]]:
    """Every (platform model, platform version) ``record`` is linked to at ``source``, first link
    first (the same artefact registered twice there has two)."""
    return [
        (str(link.attributes.get("model") or record.model), str(link.attributes["version"]))
        for link in record.sources
        if link.platform == source.platform
        and link.attributes.get("location") == source.location
        and link.attributes.get("version")
    ]


def _turn(source: ModelSource, model: str, alias: str) -> str:
    """The lock the judgements of one platform alias take turns on."""
    return f"guard:{source.platform}:{source.location}:{model}@{alias}"


class GuardService:
    def __init__(self, store: SqlStore, bus: EventBus, clock: Clock) -> None:
        self.store = store
        self.bus = bus
        self.clock = clock

    # -- configuration -------------------------------------------------------------------------

    def get_guards(self, caller: Caller, model: str) -> tuple[dict[str, str], bool]:
        """``(alias → environment, whether these are the defaults)``."""
        caller.authorize(Action.MODEL_READ)
        with self.store.read() as tx:
            stored = tx.sources.alias_guards(model)
        return (dict(DEFAULT_ALIAS_GUARDS), True) if stored is None else (stored, False)

    def set_guards(
        self, caller: Caller, model: str, guards: Mapping[str, str] | None
    ) -> tuple[dict[str, str], bool]:
        caller.authorize(Action.MODEL_UPDATE)
        with writing(self.store, self.bus, caller.origin, self.clock) as w:
            before = guards_for(w.tx, model)
            w.tx.sources.set_alias_guards(model, guards)
            after = guards_for(w.tx, model)
            w.emit(
                DomainEvent(
                    "alias_guards.updated",
                    "model",
                    model,
                    before={"alias_guards": before},
                    after={"alias_guards": after, "defaults": guards is None},
                )
            )
        return after, guards is None

    # -- platform events -----------------------------------------------------------------------

    def on_alias_set(self, caller: Caller, source: ModelSource, model: str, alias: str) -> str:
        """Check an alias just set at the platform; move it back if Steward has not deployed there.

        Deliveries can arrive late or out of order, so the alias is judged as the platform has it
        now, not as the event said; and they can arrive together (MLflow delivers from a pool of
        threads: Steward's own echo and the bypass after it), so the judgements of one alias take
        turns, and the next sees what the first did.
        """
        caller.authorize(Action.INCIDENT_OPEN)
        with self.store.exclusive(_turn(source, model, alias)):
            return self._alias_set(caller, source, model, alias)

    def _alias_set(self, caller: Caller, source: ModelSource, model: str, alias: str) -> str:
        now = source.model(model)
        pointed = now.aliases.get(alias) if now is not None else None
        if pointed is None:
            return f"stale event: {alias} is no longer set on {model}"
        version = pointed
        with self.store.read() as tx:
            if tx.find_model(model) is None:
                return f"model {model} is not in Steward; nothing guarded"
            environment = guards_for(tx, model).get(alias)
            if environment is None:
                return f"alias {alias} is not guarded"
            linked = tx.sources.find_linked(source.platform, source.external_id(model, version))
            steward_model = linked[0] if linked else model
            active = promoted_deployment(tx, steward_model, environment)
            if linked is not None and active is not None and active.version == linked[1]:
                return f"allowed: version {version} is deployed to {environment} in Steward"
            restore = platform_version(tx, source, steward_model, active.version) if active else None
        deployed = f"version {active.version}" if active else "no version"
        what = (
            f"alias {alias} was set at {source.platform} on {model} version {version}, which Steward has "
            f"not deployed to {environment} (Steward has {deployed} deployed there)"
        )
        try:
            if restore is not None and restore[0] == model:
                source.set_alias(model, alias, restore[1])
                action, detail = "alias_moved_back", f"moved {alias} back to version {restore[1]}"
            else:
                source.delete_alias(model, alias)
                action, detail = "alias_removed", f"removed {alias} (nothing deployed to {environment})"
            reverted = True
        except StewardError as error:
            action, detail, reverted = (
                "alias_revert_failed",
                f"could not revert {alias}: {error.message}",
                False,
            )
        with writing(self.store, self.bus, caller.origin, self.clock) as w:
            seqs: list[int] = []
            if reverted:
                event = w.emit(
                    DomainEvent(
                        "alias.reverted",
                        "model_alias",
                        f"{model}/{alias}",
                        before=self._pointer(source, version, linked),
                        after=self._pointer(
                            source,
                            restore[1] if restore and action == "alias_moved_back" else None,
                            (steward_model, active.version) if active else None,
                        ),
                        reason=what,
                    )
                )
                seqs.append(event.seq)
            incident = open_incident(
                w,
                caller,
                model=steward_model,
                version=linked[1] if linked and linked[0] == steward_model else None,
                severity=Severity.HIGH if environment == "production" else Severity.MEDIUM,
                title=f"Alias '{alias}' set outside Steward on {model} version {version}",
                description=what + f". {detail}.",
                source=f"guard:{source.platform}",
                actions=[IncidentAction(w.at, caller.name, action, detail)],
                audit_seqs=seqs,
                reason=what,
            )
        return f"{action}: incident {incident.id}"

    def on_alias_deleted(
        self, caller: Caller, source: ModelSource, model: str, alias: str, happened_at: datetime | None = None
    ) -> str:
        """A guarded alias was removed at the platform: put it back on the deployed version (unless it
        is set again by now: a late delivery is judged against the platform's current state). The
        judgements of one alias take turns, as for :meth:`on_alias_set`."""
        caller.authorize(Action.INCIDENT_OPEN)
        with self.store.exclusive(_turn(source, model, alias)):
            return self._alias_deleted(caller, source, model, alias, happened_at)

    def _alias_deleted(
        self, caller: Caller, source: ModelSource, model: str, alias: str, happened_at: datetime | None
    ) -> str:
        now = source.model(model)
        if now is not None and alias in now.aliases:
            return f"stale event: {alias} is set again on {model} (version {now.aliases[alias]})"
        with self.store.read() as tx:
            if tx.find_model(model) is None:
                return f"model {model} is not in Steward; nothing guarded"
            environment = guards_for(tx, model).get(alias)
            if environment is None:
                return f"alias {alias} is not guarded"
            active = promoted_deployment(tx, model, environment)
            if active is None:
                return f"nothing is deployed to {environment} in Steward; the alias may stay removed"
            if happened_at is not None and happened_at < active.deployed_at:
                return (
                    f"stale event: {alias} was removed before Steward deployed version {active.version} "
                    f"to {environment}; that deployment sets it"
                )
            restore = platform_version(tx, source, model, active.version)
        if restore is None or restore[0] != model:
            return f"version {active.version} deployed to {environment} is not at this {source.platform}"
        what = (
            f"alias {alias} was removed at {source.platform} from {model} while Steward has version "
            f"{active.version} deployed to {environment}"
        )
        try:
            source.set_alias(model, alias, restore[1])
        except StewardError as error:
            log.warning("could not restore %s on %s: %s", alias, model, error.message)
            return f"could not restore {alias}: {error.message}"
        with writing(self.store, self.bus, caller.origin, self.clock) as w:
            event = w.emit(
                DomainEvent(
                    "alias.reverted",
                    "model_alias",
                    f"{model}/{alias}",
                    before={"platform": source.platform, "version": None},
                    after=self._pointer(source, restore[1], (model, active.version)),
                    reason=what,
                )
            )
            incident = open_incident(
                w,
                caller,
                model=model,
                version=active.version,
                severity=Severity.MEDIUM,
                title=f"Alias '{alias}' removed outside Steward on {model}",
                description=what + f". Put {alias} back on version {restore[1]}.",
                source=f"guard:{source.platform}",
                actions=[
                    IncidentAction(w.at, caller.name, "alias_restored", f"restored {alias} on {restore[1]}")
                ],
                audit_seqs=[event.seq],
                reason=what,
            )
        return f"alias_restored: incident {incident.id}"

    @staticmethod
    def _pointer(source: ModelSource, version: str | None, steward: tuple[str, int] | None) -> dict[str, Any]:
        return {
            "platform": source.platform,
            "location": source.location,
            "version": version,
            "steward_version": f"{steward[0]}/{steward[1]}" if steward else None,
        }

    # -- Steward deployments → platform aliases ------------------------------------------------

    def sync(self, caller: Caller, source: ModelSource, event: AuditEvent) -> list[str]:
        """After an event of :data:`SYNC_ACTIONS` commits, make the platform's guarded aliases
        follow: set after a promotion or a rollback, removed after a retirement."""
        if event.action == "model.retired":
            return self.sync_retirement(caller, source, event)
        return self.sync_deployment(caller, source, event)

    def sync_deployment(self, caller: Caller, source: ModelSource, event: AuditEvent) -> list[str]:
        """After a deployment commits (a promotion's ``deployment.recorded``, or a rollback), set
        the guarded aliases of its environment at the platform."""
        if event.action not in ("deployment.recorded", "deployment.rolled_back") or not event.after:
            return []
        model, version = str(event.after["model"]), int(event.after["version"])
        environment = str(event.after["environment"])
        with self.store.read() as tx:
            try:
                aliases = [a for a, env in guards_for(tx, model).items() if env == environment]
            except NotFound:
                return []
            target = platform_version(tx, source, model, version) if aliases else None
        if not aliases or target is None:
            return []
        done: list[str] = []
        for alias in aliases:
            try:
                source.set_alias(target[0], alias, target[1])
                done.append(alias)
            except StewardError as error:
                log.warning(
                    "could not set %s on %s version %s: %s", alias, target[0], target[1], error.message
                )
        if done:
            with writing(self.store, self.bus, caller.origin, self.clock) as w:
                for alias in done:
                    w.emit(
                        DomainEvent(
                            "alias.synced",
                            "model_alias",
                            f"{model}/{alias}",
                            after=self._pointer(source, target[1], (model, version)),
                            reason=f"deployment of {model} version {version} to {environment} recorded",
                        )
                    )
        return done

    def sync_retirement(self, caller: Caller, source: ModelSource, event: AuditEvent) -> list[str]:
        """After a model's retirement commits (every deployment ended), remove its guarded aliases
        at the platform, from the platform models its ended deployments are linked to. Returns
        the aliases removed, as ``platform model@alias``."""
        if event.action != "model.retired":
            return []
        model = event.subject_id
        ended = (event.before or {}).get("active_deployments") or []
        with self.store.read() as tx:
            try:
                guarded = set(guards_for(tx, model))
            except NotFound:
                return []
            places: set[str] = set()
            for deployment in ended:
                if isinstance(deployment, dict) and isinstance(deployment.get("version"), int):
                    linked = platform_version(tx, source, model, deployment["version"])
                    if linked is not None:
                        places.add(linked[0])
        done: list[tuple[str, str, str]] = []
        for place in sorted(places):
            try:
                found = source.model(place)
            except StewardError as error:
                log.warning("could not read %s at %s: %s", place, source.platform, error.message)
                continue
            if found is None:
                continue
            for alias in sorted(guarded & set(found.aliases)):
                try:
                    source.delete_alias(place, alias)
                    done.append((place, alias, str(found.aliases[alias])))
                except StewardError as error:
                    log.warning("could not remove %s from %s: %s", alias, place, error.message)
        if done:
            with writing(self.store, self.bus, caller.origin, self.clock) as w:
                for place, alias, was in done:
                    w.emit(
                        DomainEvent(
                            "alias.synced",
                            "model_alias",
                            f"{model}/{alias}",
                            before=self._pointer(source, was, None),
                            after=self._pointer(source, None, None),
                            reason=f"{model} was retired: nothing of it is deployed any more "
                            f"(removed {alias} from {place})",
                        )
                    )
        return [f"{place}@{alias}" for place, alias, _ in done]
