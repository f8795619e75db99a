"""The MLflow wiring of one server: the tracking server it guards, the webhook secret, the tracking
servers REST harvests may reach, the harvest job runner, the receiver's delivery counts, and the
sinks that set guarded aliases after a promotion or a rollback (and remove them after a
retirement) and write Steward's tags back after a gate evaluation or a change of a version's
state."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from steward.connectors.mlflow import MlflowSource
from steward.domain import AuditEvent, SourceSettings
from steward.errors import InvalidInput
from steward.server._deliveries import DeliveryStats
from steward.service import (
    SYNC_ACTIONS,
    Caller,
    RecordUrl,
    Steward,
    connector_caller,
    record_links,
    written_versions,
)
from steward.settings import Settings

log = logging.getLogger("steward.connectors")


def source_settings(settings: Settings) -> SourceSettings:
    return SourceSettings(
        owner_tag=settings.mlflow_owner_tag,
        risk_tier_tag=settings.mlflow_risk_tier_tag,
        use_case_tag=settings.mlflow_use_case_tag,
    )


def tracking_key(uri: str) -> tuple[object, ...] | None:
    """``uri`` compared as a server: scheme and host in lower case, the default port spelled out,
    no trailing slash; ``None`` when it is not an http(s) URL."""
    try:
        parts = urlsplit(uri.strip())
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return (
        parts.scheme.lower(),
        parts.username,
        parts.password,
        parts.hostname.lower(),
        port,
        parts.path.rstrip("/"),
        parts.query,
        parts.fragment,
    )


def shown(uri: str) -> str:
    """``uri`` without a password in it, for messages and the status endpoint."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri.rstrip("/")
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl().rstrip("/")


@dataclass
class MlflowWiring:
    source: MlflowSource | None
    secret: str | None
    source_settings: SourceSettings
    record_url: RecordUrl
    allowed_tracking_uris: tuple[str, ...] = ()
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="steward-harvest")
    )
    writer: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="steward-write-back")
    )
    deliveries: DeliveryStats = field(default_factory=lambda: DeliveryStats(datetime.now(UTC)))
    _pending: set[tuple[str, int]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _warming: threading.Thread | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> MlflowWiring:
        secret = settings.mlflow_webhook_secret
        return cls(
            source=MlflowSource(settings.mlflow_tracking_uri) if settings.mlflow_tracking_uri else None,
            secret=secret.get_secret_value() if secret is not None else None,
            source_settings=source_settings(settings),
            record_url=record_links(settings.record_base_url()),
            allowed_tracking_uris=tuple(settings.mlflow_allowed_tracking_uris),
        )

    def harvest_uris(self) -> list[str]:
        """The tracking servers a REST harvest may reach (shown without passwords)."""
        uris = [self.source.location] if self.source is not None else []
        return [shown(u) for u in [*uris, *self.allowed_tracking_uris]]

    def harvest_source(self, tracking_uri: str, digest: str = "auto") -> MlflowSource:
        """The tracking server a REST harvest asked for, if this server may call it: the one it is
        connected to (STEWARD_MLFLOW_TRACKING_URI) or one allowed by
        STEWARD_MLFLOW_ALLOWED_TRACKING_URIS. Any other is refused, since the server's MLflow
        credentials would go to it."""
        wanted = tracking_key(tracking_uri)
        allowed = [self.source.location] if self.source is not None else []
        allowed += self.allowed_tracking_uris
        if wanted is None or wanted not in {tracking_key(u) for u in allowed}:
            listed = ", ".join(self.harvest_uris()) or "none"
            raise InvalidInput.field(
                "tracking_uri",
                "allowed",
                f"{shown(tracking_uri)!r} is not a tracking server this server may harvest (it would "
                "send its MLflow credentials there); allowed: "
                f"{listed} (STEWARD_MLFLOW_TRACKING_URI and STEWARD_MLFLOW_ALLOWED_TRACKING_URIS)",
            )
        return MlflowSource(tracking_uri, digest=digest)

    def submit(self, steward: Steward, caller: Caller, job_id: int, source: MlflowSource) -> None:
        self.executor.submit(
            steward.harvests.run_job,
            caller,
            job_id,
            source,
            settings=self.source_settings,
            record_url=self.record_url,
        )

    def install(self, steward: Steward) -> None:
        """Set guarded aliases at MLflow after each promotion and rollback (and remove them after a
        retirement); write Steward's tags back after each gate evaluation and change of a version's
        state; time deliveries' commits."""
        deliveries = self.deliveries
        steward.bus.after_commit(lambda event: deliveries.committed(event.request_id, time.monotonic()))
        source = self.source
        if source is None:
            return
        caller = connector_caller("mlflow", user_agent="steward-guard")
        writer = connector_caller("mlflow", user_agent="steward-write-back")
        # importing MLflow takes seconds: start it now, in the background, not on the first delivery
        self._warming = threading.Thread(target=source.warm, name="steward-mlflow-warm", daemon=True)
        self._warming.start()

        def sink(event: AuditEvent) -> None:
            if event.action not in SYNC_ACTIONS:
                return
            try:
                steward.guard.sync(caller, source, event)
            except Exception:  # a sink never breaks the change that committed
                log.exception("could not sync MLflow aliases after event %s (%s)", event.seq, event.action)

        def write_back(event: AuditEvent) -> None:
            for key in written_versions(event):
                self._queue_write_back(steward, writer, source, key)

        steward.bus.after_commit(sink)
        steward.bus.after_commit(write_back)

    @property
    def warming(self) -> bool:
        """Whether the background warm-up (MLflow's import, the clients' first calls) still runs."""
        return self._warming is not None and self._warming.is_alive()

    def wait_until_warm(self) -> None:
        """Block until the warm-up has finished: a delivery that arrives during it waits once, instead
        of paying the set-up in the middle of its own calls."""
        if self._warming is not None:
            self._warming.join()

    def _queue_write_back(
        self, steward: Steward, caller: Caller, source: MlflowSource, key: tuple[str, int]
    ) -> None:
        """Write one version's tags back in the background (off the request thread, so MLflow being
        slow or down never holds up the change). A version already waiting is not queued twice:
        its turn reads the record as it is then."""
        with self._lock:
            if key in self._pending:
                return
            self._pending.add(key)

        def push() -> None:
            with self._lock:
                self._pending.discard(key)
            try:
                steward.write_back.push(caller, source, *key, record_url=self.record_url)
            except Exception:  # logged, never raised into the executor
                log.exception("could not write Steward's tags back to MLflow for %s/%s", *key)

        try:
            self.writer.submit(push)
        except RuntimeError:  # shutting down
            with self._lock:
                self._pending.discard(key)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.writer.shutdown(wait=False, cancel_futures=True)
