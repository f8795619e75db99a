"""Harvests asked for over REST: queued as a job row, run in the background, polled for a summary."""

from __future__ import annotations

import time
from dataclasses import replace

from steward import wire
from steward.domain import Action, HarvestJob, ModelSource, SourceSettings
from steward.errors import NotFound
from steward.service._caller import Caller
from steward.service._events import Clock, EventBus
from steward.service._harvest_support import HarvestSummary, Progress, RecordUrl
from steward.storage import SqlStore


class HarvestJobs:
    """The job half of :class:`~steward.service.HarvestService` (a mixin: it needs ``harvest``)."""

    store: SqlStore
    bus: EventBus
    clock: Clock

    def harvest(
        self,
        caller: Caller,
        source: ModelSource,
        *,
        experiments: list[str] | tuple[str, ...] | None = None,
        models: list[str] | tuple[str, ...] | None = None,
        settings: SourceSettings | None = None,
        progress: Progress | None = None,
        write_back: bool = True,
        record_url: RecordUrl | None = None,
    ) -> HarvestSummary:
        raise NotImplementedError

    # -- jobs (REST) ---------------------------------------------------------------------------

    def enqueue(self, caller: Caller, spec: wire.HarvestCreate, platform: str = "mlflow") -> HarvestJob:
        caller.authorize(Action.HARVEST_RUN)
        with self.store.write() as tx:
            return tx.sources.insert_job(
                HarvestJob(
                    id=0,
                    platform=platform,
                    location=spec.tracking_uri.rstrip("/"),
                    experiments=tuple(spec.experiments),
                    models=tuple(spec.models),
                    requested_by=caller.name,
                    created_at=self.clock(),
                )
            )

    def get_job(self, caller: Caller, job_id: int) -> HarvestJob:
        caller.authorize(Action.HARVEST_READ)
        with self.store.read() as tx:
            found = tx.sources.find_job(job_id)
        if found is None:
            raise NotFound(f"harvest {job_id} does not exist", {"harvest": job_id})
        return found

    def run_job(
        self,
        caller: Caller,
        job_id: int,
        source: ModelSource,
        *,
        settings: SourceSettings | None = None,
        record_url: RecordUrl | None = None,
    ) -> HarvestJob:
        """Run a queued job, saving its progress as it goes; the job ends ``succeeded`` or ``failed``."""
        job = replace(self.get_job(caller, job_id), state="running", started_at=self.clock())
        self._save_job(job)
        last = [time.monotonic()]

        def progress(stage: str, done: int, total: int | None) -> None:
            if time.monotonic() - last[0] >= 1.0:
                last[0] = time.monotonic()
                self._save_job(replace(job, summary={"stage": stage, "done": done, "total": total}))

        try:
            summary = self.harvest(
                caller,
                source,
                experiments=job.experiments or None,
                models=job.models or None,
                settings=settings,
                progress=progress,
                record_url=record_url,
            )
            failed = summary.failure is not None
            job = replace(
                job,
                state="failed" if failed else "succeeded",
                summary=summary.to_dict(),
                error=summary.failure.message if summary.failure else "",
                finished_at=self.clock(),
            )
        except Exception as error:  # a job must end, whatever happened
            job = replace(
                job, state="failed", error=f"{type(error).__name__}: {error}", finished_at=self.clock()
            )
        self._save_job(job)
        return job

    def _save_job(self, job: HarvestJob) -> None:
        with self.store.write() as tx:
            tx.sources.save_job(job)
