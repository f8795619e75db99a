"""Harvest a source platform (MLflow) into governance records: the use case behind
``steward harvest mlflow`` and ``POST /api/v1/harvests``, and behind the webhook receiver.

The service sees the platform through the :class:`~steward.domain.ModelSource` port only. A harvest
is incremental and idempotent: it writes only what differs from what Steward recorded before, so a
second run writes nothing (no record, no audit event) and says so. Work is committed one registered
model at a time: whatever fails later (the platform goes away, a record is refused), everything
committed before stays, and the summary counts what happened and why.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from steward import wire
from steward.domain import (
    Action,
    Dataset,
    DatasetUse,
    DatasetVersion,
    DomainEvent,
    Environment,
    ModelSource,
    ModelState,
    ModelVersion,
    SourceArtifact,
    SourceLink,
    SourceModel,
    SourceRun,
    SourceSettings,
    SourceVersion,
    check_name,
)
from steward.errors import InvalidInput, NotFound, StewardError
from steward.service import _mapping as mapping
from steward.service._caller import Caller, connector_caller
from steward.service._events import Clock, EventBus, Writer, writing
from steward.service._guard import GuardService
from steward.service._harvest_guard import guard_bypasses, seen_aliases, unguarded_aliases
from steward.service._harvest_jobs import HarvestJobs
from steward.service._harvest_support import (
    HarvestSummary,
    Progress,
    RecordUrl,
    Skip,
    decision_text,
    record_links,
    versions_by_key,
    write_back_tags,
)
from steward.service._snapshots import changes, snapshot
from steward.storage import SqlStore

__all__ = [
    "HarvestService",
    "HarvestSummary",
    "Progress",
    "RecordUrl",
    "Skip",
    "decision_text",
    "record_links",
    "write_back_tags",
]

RUN_BATCH = 200


@dataclass
class _Context:
    caller: Caller
    source: ModelSource
    settings: SourceSettings
    summary: HarvestSummary
    record_url: RecordUrl | None
    write_back: bool
    runs: dict[str, SourceRun | None] = field(default_factory=dict)
    linked: dict[str, tuple[str, int]] = field(default_factory=dict)
    guard_caller: Caller | None = None  # set: guard mode acts on the bypasses this harvest finds
    new_models: set[str] = field(default_factory=set)


class HarvestService(HarvestJobs):
    def __init__(
        self, store: SqlStore, bus: EventBus, clock: Clock, guard: GuardService | None = None
    ) -> None:
        self.store = store
        self.bus = bus
        self.clock = clock
        self.guard = guard

    # -- the use case --------------------------------------------------------------------------

    def harvest(
        self,
        caller: Caller,
        source: ModelSource,
        *,
        experiments: Sequence[str] | None = None,
        models: Sequence[str] | None = None,
        settings: SourceSettings | None = None,
        progress: Progress | None = None,
        write_back: bool = True,
        record_url: RecordUrl | None = None,
    ) -> HarvestSummary:
        """Harvest experiments' runs (all, or ``experiments``) and registered models' versions
        (all, or ``models``). Failures are counted in the summary, not raised; ``failure`` holds
        the one that stopped it, if any. Guarded aliases moved outside Steward since it last
        looked are handled by guard mode, as a delivery would be (see ``_harvest_guard``)."""
        caller.authorize(Action.HARVEST_RUN)
        started = time.monotonic()
        summary = HarvestSummary(source.platform, source.location)
        ctx = _Context(caller, source, settings or SourceSettings(), summary, record_url, write_back)
        if self.guard is not None:
            origin = caller.origin
            agent = f"steward-harvest (requested by {caller.name})"[:512]
            ctx.guard_caller = connector_caller(
                source.platform, origin.request_id, origin.client_address, agent
            )
        report = progress or (lambda _stage, _done, _total: None)
        try:
            source.check()
            with self.store.read() as tx:
                ctx.linked = tx.sources.linked_ids(source.platform)
            harvested_runs: set[str] | None = None
            if experiments or not models:
                harvested_runs = self._harvest_runs(ctx, experiments or None, report)
            self._harvest_models(
                ctx, models or None, harvested_runs if experiments and not models else None, report
            )
        except StewardError as error:
            summary.failure = error
            summary.errors.append(error.message)
        summary.seconds = time.monotonic() - started
        return summary

    def sync_version(
        self,
        caller: Caller,
        source: ModelSource,
        model: str,
        version: str,
        *,
        settings: SourceSettings | None = None,
        record_url: RecordUrl | None = None,
    ) -> HarvestSummary:
        """Harvest one version now (a webhook said it changed)."""
        caller.authorize(Action.HARVEST_RUN)
        summary = HarvestSummary(source.platform, source.location)
        ctx = _Context(caller, source, settings or SourceSettings(), summary, record_url, True)
        src_model = source.model(model)
        found = source.version(model, version)
        if src_model is None or found is None:
            raise NotFound(
                f"{source.platform} has no version {version} of model {model!r}",
                {"model": model, "version": version},
            )
        with self.store.read() as tx:
            link = tx.sources.find_linked(source.platform, found.external_id)
        if link is not None:
            ctx.linked[found.external_id] = link
        self._harvest_group(ctx, src_model, [found])
        return summary

    def sync_model(
        self,
        caller: Caller,
        source: ModelSource | None,
        model: SourceModel,
        *,
        settings: SourceSettings | None = None,
    ) -> HarvestSummary:
        """Create (or complete) the record of one registered model (a webhook said it was created)."""
        caller.authorize(Action.HARVEST_RUN)
        platform = source.platform if source else "mlflow"
        summary = HarvestSummary(platform, source.location if source else "")
        fresh = source.model(model.name) if source is not None else None
        ctx = _Context(caller, source, settings or SourceSettings(), summary, None, False)  # type: ignore[arg-type]
        with writing(self.store, self.bus, caller.origin, self.clock) as w:
            self._ensure_model(w, ctx, fresh or model, platform, [])
        return summary

    # -- runs ----------------------------------------------------------------------------------

    def _harvest_runs(self, ctx: _Context, names: Sequence[str] | None, report: Progress) -> set[str]:
        found = ctx.source.experiments(names)
        for missing in sorted(set(names or ()) - {e.name for e in found}):
            ctx.summary.skip("experiment", missing, f"no experiment named {missing!r} at the source")
        done = 0
        seen: set[str] = set()
        batch: list[SourceRun] = []
        for run in ctx.source.runs(found):
            seen.add(run.run_id)
            ctx.runs[run.run_id] = run
            batch.append(run)
            if len(batch) >= RUN_BATCH:
                self._record_runs(ctx, batch)
                done += len(batch)
                report("runs", done, None)
                batch = []
        if batch:
            self._record_runs(ctx, batch)
            done += len(batch)
            report("runs", done, done)
        return seen

    def _record_runs(self, ctx: _Context, runs: Sequence[SourceRun]) -> None:
        with self.store.read() as tx:
            todo = [r for r in runs if tx.find_run(r.run_id) is None]
        ctx.summary.unchanged["run"] += len(runs) - len(todo)
        if not todo:
            return
        with writing(self.store, self.bus, ctx.caller.origin, self.clock) as w:
            for run in todo:
                self._record_run(w, ctx, run)

    def _record_run(self, w: Writer, ctx: _Context, run: SourceRun) -> bool:
        """Record a finished run and its dataset inputs; ``False`` when it cannot be recorded yet."""
        if run.deleted:
            ctx.summary.skip("run", run.run_id, "the run was deleted at the source")
            return False
        if not run.finished:
            ctx.summary.skip(
                "run", run.run_id, f"the run is {run.status.lower()}: harvest again when it ends"
            )
            return False
        if w.tx.find_run(run.run_id) is not None:
            return True
        self._dataset_uses(w, ctx, run)
        stored = w.tx.insert_run(mapping.training_run(run, ctx.source.platform, ctx.caller.name, w.at))
        w.emit(DomainEvent("training_run.recorded", "training_run", stored.run_id, after=snapshot(stored)))
        ctx.summary.created["run"] += 1
        return True

    def _dataset_uses(self, w: Writer, ctx: _Context, run: SourceRun) -> tuple[DatasetUse, ...]:
        """Record the run's dataset inputs (once) and give their uses with roles."""
        uses: list[DatasetUse] = []
        for ds in run.datasets:
            problem = mapping.dataset_valid(ds)
            if problem is not None:
                ctx.summary.skip("dataset", f"{ds.name}@{ds.digest}", problem)
                continue
            if w.tx.find_dataset(ds.name) is None:
                stored_ds = w.tx.insert_dataset(
                    Dataset(
                        name=ds.name,
                        source=ds.source_type,
                        created_by=ctx.caller.name,
                        created_at=w.at,
                        updated_at=w.at,
                    )
                )
                w.emit(DomainEvent("dataset.created", "dataset", stored_ds.name, after=snapshot(stored_ds)))
                ctx.summary.created["dataset"] += 1
            if w.tx.find_dataset_version(ds.name, ds.digest) is None:
                dv = w.tx.insert_dataset_version(
                    DatasetVersion(
                        dataset=ds.name,
                        version=ds.digest,
                        uri=mapping.dataset_uri(ds),
                        digest=mapping.dataset_digest(ds),
                        schema_digest=mapping.sha256_of(ds.schema) if ds.schema else None,
                        row_count=ds.row_count,
                        created_by=ctx.caller.name,
                        created_at=w.at,
                    )
                )
                w.emit(
                    DomainEvent(
                        "dataset_version.created",
                        "dataset_version",
                        f"{ds.name}@{dv.version}",
                        after=snapshot(dv),
                    )
                )
                ctx.summary.created["dataset_version"] += 1
            role = mapping.dataset_role(ds.context)
            if role is None:
                ctx.summary.skip(
                    "dataset_use",
                    f"{run.run_id}:{ds.name}@{ds.digest}",
                    f"input has no known context ({ds.context!r}); tag it training, validation or test",
                )
                continue
            uses.append(DatasetUse(ds.name, ds.digest, role))
        return tuple(dict.fromkeys(uses))

    # -- models and versions -------------------------------------------------------------------

    def _harvest_models(
        self,
        ctx: _Context,
        names: Sequence[str] | None,
        only_runs: set[str] | None,
        report: Progress,
    ) -> None:
        models = list(ctx.source.models(names))
        for missing in sorted(set(names or ()) - {m.name for m in models}):
            ctx.summary.skip("model", missing, f"no registered model named {missing!r} at the source")
        groups: dict[str, list[SourceVersion]] = {m.name: [] for m in models}
        for version in ctx.source.versions(models):
            if version.model in groups and (only_runs is None or version.run_id in only_runs):
                groups[version.model].append(version)
        total = sum(len(v) for v in groups.values())
        done = 0
        report("versions", 0, total)
        for model in models:
            versions = sorted(groups[model.name], key=lambda v: int(v.version) if v.version.isdigit() else 0)
            if only_runs is not None and not versions:
                continue
            try:
                self._harvest_group(ctx, model, versions)
            except StewardError as error:
                if error.code == "unavailable":
                    raise
                ctx.summary.errors.append(f"model {model.name}: {error.message}")
            done += len(versions)
            report("versions", done, total)

    def _harvest_group(self, ctx: _Context, src: SourceModel, versions: list[SourceVersion]) -> None:
        """One registered model and its versions: fetch what is missing, then write in one transaction."""
        summary, source = ctx.summary, ctx.source
        try:
            check_name("model", src.name)
        except InvalidInput:
            summary.skip("model", src.name, "the name is not a valid Steward model name")
            for v in versions:
                summary.skip("version", v.external_id, f"its model name {src.name!r} is not valid in Steward")
            return
        # read what Steward has, so only what is missing is fetched from the platform
        with self.store.read() as tx:
            current: dict[str, ModelVersion] = {}
            linked = [ctx.linked[v.external_id] for v in versions if v.external_id in ctx.linked]
            known = versions_by_key(tx, linked)
            for v in versions:
                key = ctx.linked.get(v.external_id)
                if key is not None and key in known:
                    current[v.external_id] = known[key]
            seen = seen_aliases(tx, source, src, ctx.linked, known) if ctx.guard_caller else set()
            wanted_runs = {
                v.run_id
                for v in versions
                if v.run_id
                and v.run_id not in ctx.runs
                and (
                    v.external_id not in current
                    or (
                        current[v.external_id].external_id in (None, v.external_id)
                        and current[v.external_id].training_run != v.run_id
                    )
                )
            }
        for run_id in sorted(wanted_runs):
            ctx.runs[run_id] = source.run(run_id)
        artifacts: dict[str, SourceArtifact] = {}
        for v in versions:
            if v.external_id in current:
                continue
            try:
                artifacts[v.external_id] = source.artifact(v)
            except StewardError as error:
                if error.code == "unavailable" and "artefact" not in error.message:
                    raise
                summary.skip("version", v.external_id, error.message)
        touched: list[tuple[SourceVersion, str, int]] = []
        with writing(self.store, self.bus, ctx.caller.origin, self.clock) as w:
            if self._ensure_model(w, ctx, src, source.platform, versions) is None:
                return
            for v in versions:
                target = self._harvest_version(
                    w, ctx, v, current.get(v.external_id), artifacts.get(v.external_id)
                )
                if target is not None:
                    touched.append((v, *target))
            unguarded = unguarded_aliases(w.tx, source, src, ctx.linked, summary)
        if ctx.write_back:
            self._write_back(ctx, touched)
        if self.guard is not None and ctx.guard_caller is not None and unguarded:
            skip = {a for a, _ in unguarded} if src.name in ctx.new_models else seen
            guard_bypasses(self.guard, ctx.guard_caller, source, src, unguarded, skip, summary)

    def _ensure_model(
        self, w: Writer, ctx: _Context, src: SourceModel, platform: str, versions: Sequence[SourceVersion]
    ) -> str | None:
        fallback = versions[-1].tags if versions else {}
        gov = mapping.governance(src.tags, fallback, ctx.settings)
        for problem in gov.problems:
            ctx.summary.skip("model_field", src.name, problem)
        current = w.tx.find_model(src.name)
        if current is None:
            stored = w.tx.insert_model(mapping.new_model(src, gov, platform, ctx.caller.name, w.at))
            w.emit(DomainEvent("model.created", "model", stored.name, after=snapshot(stored)))
            ctx.summary.created["model"] += 1
            ctx.new_models.add(stored.name)
            if gov.missing:
                ctx.summary.incomplete.append(f"{src.name}: missing {', '.join(gov.missing)}")
            return stored.name
        if current.state is ModelState.RETIRED:
            ctx.summary.skip("model", src.name, "the model is retired in Steward; its record is read-only")
            for v in versions:
                ctx.summary.skip("version", v.external_id, "its model is retired in Steward")
            return None
        refreshed = mapping.refreshed_model(current, src, gov, platform)
        if refreshed == current:
            ctx.summary.unchanged["model"] += 1
        else:
            stored = w.tx.update_model(replace(refreshed, updated_at=w.at), current.revision)
            before, after = changes(snapshot(current), snapshot(stored))
            w.emit(
                DomainEvent(
                    "model.updated",
                    "model",
                    stored.name,
                    before=before,
                    after=after,
                    reason=f"harvested from {platform}",
                )
            )
            ctx.summary.updated["model"] += 1
        if mapping.INCOMPLETE_TAG in (w.tx.find_model(src.name) or current).tags:
            ctx.summary.incomplete.append(
                f"{src.name}: missing {(w.tx.find_model(src.name) or current).tags[mapping.INCOMPLETE_TAG]}"
            )
        return current.name

    def _run_for(self, w: Writer, ctx: _Context, v: SourceVersion) -> tuple[SourceRun | None, bool]:
        """The version's run and whether Steward has it recorded (recording it now if it can)."""
        if not v.run_id:
            return None, False
        run = ctx.runs.get(v.run_id)
        if run is None:
            if v.run_id in ctx.runs:
                ctx.summary.skip(
                    "run",
                    v.run_id,
                    f"the run of {v.model} v{v.version} was deleted at the source; the version is kept "
                    "without it",
                )
            return None, w.tx.find_run(v.run_id) is not None
        return run, self._record_run(w, ctx, run)

    def _harvest_version(
        self,
        w: Writer,
        ctx: _Context,
        v: SourceVersion,
        current: ModelVersion | None,
        artifact: SourceArtifact | None,
    ) -> tuple[str, int] | None:
        summary, platform = ctx.summary, ctx.source.platform
        run, recorded = self._run_for(w, ctx, v)
        uses = self._dataset_uses(w, ctx, run) if run is not None and recorded else ()
        wanted = mapping.desired(v, run, recorded, uses)
        attributes = mapping.link_attributes(v, ctx.source.location)
        if current is None:  # linked since it was read (a concurrent delivery)? writes are serial here
            known = w.tx.sources.find_linked(platform, v.external_id)
            if known is not None:
                ctx.linked[v.external_id] = known
                current = w.tx.find_version(*known)
        if current is not None:
            link = next((s for s in current.sources if s.external_id == v.external_id), None)
            # the source a version was registered from owns its fields; a source linked later (the
            # same artefact registered again) only keeps its own link attributes current
            primary = current.external_id in (None, v.external_id)
            updated = mapping.apply(current, wanted, w.at) if primary else current
            if updated == current and link is not None and link.attributes == attributes:
                summary.unchanged["version"] += 1
                return current.model, current.version
            if updated != current:
                w.tx.sources.update_version(updated, current.revision)
            if link is None or link.attributes != attributes:
                w.tx.sources.set_link_attributes(platform, v.external_id, attributes)
            stored = w.tx.find_version(current.model, current.version)
            if stored is None:  # pragma: no cover (it was just written)
                raise NotFound(f"version {current.model}/{current.version} vanished")
            before, after = changes(snapshot(current), snapshot(stored))
            w.emit(
                DomainEvent(
                    "model_version.updated",
                    "model_version",
                    f"{stored.model}/{stored.version}",
                    before=before,
                    after=after,
                    reason=f"changed at {platform}: {v.external_id}",
                )
            )
            summary.updated["version"] += 1
            return stored.model, stored.version
        if artifact is None:
            return None
        link = SourceLink(
            platform=platform,
            external_id=v.external_id,
            uri=v.source[:2048],
            digest_method=artifact.method,
            attributes=attributes,
            linked_by=ctx.caller.name,
            linked_at=w.at,
        )
        same = w.tx.sources.versions_with_digest(artifact.digest)
        if same:
            model, number = same[0]
            w.tx.sources.add_link(model, number, link)
            ctx.linked[v.external_id] = (model, number)
            w.emit(
                DomainEvent(
                    "model_version.source_linked",
                    "model_version",
                    f"{model}/{number}",
                    after={"source": snapshot(link, skip=("linked_at",)), "artifact_digest": artifact.digest},
                    reason=f"the same artefact ({artifact.digest}) is registered at {v.external_id}",
                )
            )
            summary.linked["version"] += 1
            return model, number
        try:
            spec = wire.parse(
                wire.VersionCreate,
                {
                    "artifact_uri": v.source[:2048] or artifact.uri,
                    "artifact_digest": artifact.digest,
                    "source_platform": platform,
                    "external_id": v.external_id,
                    "training_run": wanted.training_run,
                    "description": wanted.description,
                    "metrics": wanted.metrics or {},
                    "parameters": wanted.parameters or {},
                    "tags": wanted.tags,
                    "code_repository": wanted.code_repository,
                    "code_commit": wanted.code_commit,
                    "environment": {
                        "python_version": artifact.python_version,
                        "dependency_lock_digest": artifact.dependency_lock_digest,
                    },
                },
            )
        except InvalidInput as error:
            summary.skip("version", v.external_id, f"Steward refuses its fields: {error.message}")
            return None
        stored = w.tx.insert_version(
            ModelVersion(
                model=v.model,
                version=w.tx.next_version_number(v.model),
                artifact_uri=spec.artifact_uri,
                artifact_digest=spec.artifact_digest,
                source_platform=platform,
                external_id=v.external_id,
                training_run=spec.training_run,
                description=spec.description,
                metrics=dict(spec.metrics),
                parameters=dict(spec.parameters),
                tags=dict(spec.tags),
                datasets=wanted.datasets or (),
                code_repository=spec.code_repository,
                code_commit=spec.code_commit,
                environment=Environment(**spec.environment.model_dump()),
                registered_by=ctx.caller.name,
                created_at=w.at,
                updated_at=w.at,
            )
        )
        w.tx.sources.add_link(stored.model, stored.version, link)
        ctx.linked[v.external_id] = (stored.model, stored.version)
        stored = replace(stored, sources=(link,))
        w.emit(
            DomainEvent(
                "model_version.registered",
                "model_version",
                f"{stored.model}/{stored.version}",
                after=snapshot(stored),
                reason=f"harvested from {v.external_id}",
            )
        )
        summary.created["version"] += 1
        return stored.model, stored.version

    def _write_back(self, ctx: _Context, touched: Sequence[tuple[SourceVersion, str, int]]) -> None:
        with self.store.read() as tx:
            records = {(m, n): tx.find_version(m, n) for _, m, n in touched}
            decisions = {(m, n): decision_text(tx, m, n) for _, m, n in touched}
        for v, model, number in touched:
            record = records.get((model, number))
            if record is None:
                continue
            wanted = write_back_tags(record, ctx.record_url, decisions[(model, number)])
            stale = {k: val for k, val in wanted.items() if v.tags.get(k) != val}
            if not stale:
                continue
            try:
                ctx.source.set_version_tags(v.model, v.version, stale)
                ctx.summary.written_back += 1
            except StewardError as error:
                ctx.summary.errors.append(f"write-back to {v.external_id}: {error.message}")
