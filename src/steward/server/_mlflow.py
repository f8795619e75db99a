"""The MLflow wiring of one server: the tracking server it guards, the webhook secret, the harvest
job runner, and the sink that sets guarded aliases after Steward records a deployment."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from steward.connectors.mlflow import MlflowSource
from steward.domain import AuditEvent, SourceSettings
from steward.service import Caller, RecordUrl, Steward, connector_caller, record_links
from steward.settings import Settings

log = logging.getLogger("steward.connectors")


def source_settings(settings: Settings) -> SourceSettings:
    return SourceSettings(
        owner_tag=settings.mlflow_owner_tag,
        risk_tier_tag=settings.mlflow_risk_tier_tag,
        use_case_tag=settings.mlflow_use_case_tag,
    )


@dataclass
class MlflowWiring:
    source: MlflowSource | None
    secret: str | None
    source_settings: SourceSettings
    record_url: RecordUrl
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="steward-harvest")
    )

    @classmethod
    def from_settings(cls, settings: Settings) -> MlflowWiring:
        secret = settings.mlflow_webhook_secret
        return cls(
            source=MlflowSource(settings.mlflow_tracking_uri) if settings.mlflow_tracking_uri else None,
            secret=secret.get_secret_value() if secret is not None else None,
            source_settings=source_settings(settings),
            record_url=record_links(settings.record_base_url()),
        )

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
        """Set guarded aliases at MLflow after each deployment Steward records."""
        source = self.source
        if source is None:
            return
        caller = connector_caller("mlflow", user_agent="steward-guard")
        # importing MLflow takes seconds: start it now, in the background, not on the first delivery
        threading.Thread(target=source.warm, name="steward-mlflow-warm", daemon=True).start()

        def sink(event: AuditEvent) -> None:
            if event.action != "deployment.recorded":
                return
            try:
                steward.guard.sync_deployment(caller, source, event)
            except Exception:  # a sink never breaks the change that committed
                log.exception("could not set MLflow aliases after deployment event %s", event.seq)

        steward.bus.after_commit(sink)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
