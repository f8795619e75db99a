"""Platform events (webhook deliveries) into records: replay refusal, then the right use case.

The server authenticates a delivery (HMAC signature and timestamp) and parses it into a
:class:`~steward.domain.SourceEvent`; this service refuses a delivery id seen before, then keeps
the record current (harvesting the one version the event is about) and lets guard mode check
aliases. Steward's own write-back tags (``steward.*``) coming back are recognised and left alone,
unless someone changed them, in which case they are put back.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from steward.domain import (
    WRITE_BACK_PREFIX,
    ModelSource,
    ModelVersion,
    SourceEvent,
    SourceModel,
    SourceSettings,
)
from steward.errors import Conflict
from steward.service._caller import Caller
from steward.service._events import Clock
from steward.service._guard import GuardService
from steward.service._harvest import (
    HarvestService,
    HarvestSummary,
    RecordUrl,
    decision_text,
    write_back_tags,
)
from steward.storage import SqlStore, SqlTransaction, VersionFilter

FRESHNESS = timedelta(minutes=5)


def _outcome(summary: HarvestSummary) -> str:
    parts = [
        f"{kind} {what}"
        for what, counts in (
            ("created", summary.created),
            ("updated", summary.updated),
            ("linked", summary.linked),
        )
        for kind, n in counts.items()
        if n
    ]
    parts += [f"skipped {s.kind} ({s.reason})" for s in summary.skipped]
    return "; ".join(parts) or "unchanged"


class ReceiverService:
    def __init__(self, store: SqlStore, clock: Clock, harvests: HarvestService, guard: GuardService) -> None:
        self.store = store
        self.clock = clock
        self.harvests = harvests
        self.guard = guard

    def accept(self, platform: str, delivery_id: str) -> None:
        """Remember a delivery id, or refuse it as a replay (``Conflict``)."""
        now = self.clock()
        with self.store.write() as tx:
            fresh = tx.sources.accept_delivery(platform, delivery_id[:128], now, now - 2 * FRESHNESS)
        if not fresh:
            raise Conflict(
                f"delivery {delivery_id} was received before: a replay is refused",
                {"delivery_id": delivery_id, "reason": "replay"},
            )

    def forget(self, delivery_id: str) -> None:
        with self.store.write() as tx:
            tx.sources.forget_delivery(delivery_id[:128])

    def deliver(
        self,
        caller: Caller,
        source: ModelSource | None,
        event: SourceEvent,
        *,
        settings: SourceSettings | None = None,
        record_url: RecordUrl | None = None,
    ) -> str:
        """Accept a delivery once and act on it; if acting fails, the delivery is forgotten so the
        sender's retry of the same delivery is not refused as a replay."""
        self.accept(event.platform, event.delivery_id)
        try:
            return self.handle(caller, source, event, settings=settings, record_url=record_url)
        except Exception:
            self.forget(event.delivery_id)
            raise

    def handle(
        self,
        caller: Caller,
        source: ModelSource | None,
        event: SourceEvent,
        *,
        settings: SourceSettings | None = None,
        record_url: RecordUrl | None = None,
    ) -> str:
        """Act on one event; the answer says what happened, for the sender's delivery log."""
        kind = event.type
        if kind == "registered_model.created":
            url = f"mlflow-model:{event.model}"
            summary = self.harvests.sync_model(
                caller,
                source,
                SourceModel(event.model, url, event.description or "", dict(event.tags)),
                settings=settings,
            )
            return _outcome(summary)
        if kind not in {
            "model_version.created",
            "model_version_tag.set",
            "model_version_tag.deleted",
            "model_version_alias.created",
            "model_version_alias.deleted",
        }:
            return f"ignored: Steward does not act on {kind}"
        if source is None:
            return (
                "not acted on: this server has no MLflow tracking server configured "
                "(STEWARD_MLFLOW_TRACKING_URI)"
            )
        if kind.startswith("model_version_tag.") and (event.key or "").startswith(WRITE_BACK_PREFIX):
            return self._write_back_echo(source, event, record_url)
        if kind == "model_version_alias.deleted":
            return self._alias_deleted(caller, source, event, settings, record_url)
        if event.version is None:
            return "ignored: the event names no version"
        summary = self.harvests.sync_version(
            caller, source, event.model, event.version, settings=settings, record_url=record_url
        )
        outcome = _outcome(summary)
        if kind == "model_version_alias.created" and event.alias:
            outcome += "; " + self.guard.on_alias_set(caller, source, event.model, event.alias)
        return outcome

    def _write_back_echo(self, source: ModelSource, event: SourceEvent, record_url: RecordUrl | None) -> str:
        with self.store.read() as tx:
            link = tx.sources.find_linked(
                source.platform, source.external_id(event.model, event.version or "")
            )
            record = tx.find_version(*link) if link else None
            decision = decision_text(tx, record.model, record.version) if record else ""
        if record is None:
            return "ignored: a steward.* tag on a version Steward does not know"
        wanted = write_back_tags(record, record_url, decision).get(event.key or "")
        if wanted is None or (event.type.endswith(".set") and event.value == wanted):
            return "ignored: Steward's own write-back"
        source.set_version_tags(event.model, event.version or "", {event.key or "": wanted})
        return f"restored {event.key}: Steward's tags are written by Steward"

    def _alias_deleted(
        self,
        caller: Caller,
        source: ModelSource,
        event: SourceEvent,
        settings: SourceSettings | None,
        record_url: RecordUrl | None,
    ) -> str:
        alias = event.alias or ""
        with self.store.read() as tx:
            holders = [
                str(link.attributes.get("version"))
                for version in _versions_of(tx, event.model)
                for link in version.sources
                if link.platform == source.platform
                and link.attributes.get("location") == source.location
                and alias in (link.attributes.get("aliases") or [])
            ]
        outcomes = [
            _outcome(
                self.harvests.sync_version(
                    caller, source, event.model, v, settings=settings, record_url=record_url
                )
            )
            for v in holders
        ]
        outcomes.append(self.guard.on_alias_deleted(caller, source, event.model, alias, event.sent_at))
        return "; ".join(outcomes)


def _versions_of(tx: SqlTransaction, model: str) -> list[ModelVersion]:
    if tx.find_model(model) is None:
        return []
    found: list[ModelVersion] = []
    token = None
    while True:
        page = tx.search_versions(VersionFilter(model=model), 1000, token)
        found.extend(page.items)
        token = page.next_token
        if not token:
            return found


def sent_recently(sent_at: datetime, now: datetime) -> bool:
    return abs(now - sent_at) <= FRESHNESS
