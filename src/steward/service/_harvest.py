"""Harvest a source platform (MLflow) into governance records: the use case behind
``steward harvest mlflow`` and ``POST /api/v1/harvests``, and behind the webhook receiver.

The service sees the platform through the :class:`~steward.domain.ModelSource` port only. A harvest
is incremental and idempotent: it writes only what differs from what Steward recorded before, so a
second run writes nothing (no record, no audit event) and says so.

Work is committed in batches: whole registered models, up to ``VERSION_BATCH`` versions (or one
model's versions) per write transaction, each with its audit events and one signed checkpoint
(``_harvest_write``). Whatever fails later (the platform goes away), everything committed before
stays. A record the store refuses does not sink its batch: the batch is written again in halves
until the refused record stands alone, and that one is skipped with the reason. The summary
counts what happened and why.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import cast

from steward._read_ahead import ReadAhead
from steward.domain import (
    Action,
    ModelSource,
    ModelVersion,
    SourceArtifact,
    SourceModel,
    SourceRun,
    SourceSettings,
    SourceVersion,
    check_name,
)
from steward.errors import InvalidInput, NotFound, StewardError
from steward.service._caller import Caller, connector_caller
from steward.service._events import Clock, EventBus, writing
from steward.service._guard import GuardService
from steward.service._harvest_guard import guard_bypasses, seen_aliases, unguarded_aliases
from steward.service._harvest_jobs import HarvestJobs
from steward.service._harvest_support import (
    HarvestSummary,
    Progress,
    RecordUrl,
    Skip,
    decision_text,
    decision_texts,
    record_links,
    write_back_tags,
)
from steward.service._harvest_write import BatchWrite, Context
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
VERSION_BATCH = 200  # versions per write transaction (a model with more is written whole)
READ_AHEAD = 250  # versions the listing thread hands over at a time


@dataclass(frozen=True, slots=True)
class _Group:
    """A registered model and the versions of it one write takes: all of them, or a part while a
    refused record is isolated. ``every`` holds all of them, newest last (its tags fill the model's
    governance fields the model's own tags leave out)."""

    model: SourceModel
    versions: tuple[SourceVersion, ...]
    every: tuple[SourceVersion, ...]


@dataclass(frozen=True, slots=True)
class _Fetched:
    """What a batch read before writing: the records of its linked versions (by platform id) and
    the artefacts of the others."""

    current: dict[str, ModelVersion]
    artifacts: dict[str, SourceArtifact]


def _registry(source: ModelSource, names: Sequence[str] | None) -> Iterator[SourceModel | SourceVersion]:
    """The registered models (all, or ``names``), then their versions."""
    models = list(source.models(names))
    yield from models
    yield from source.versions(models)


def _groups(
    models: Sequence[SourceModel], versions: Iterable[SourceVersion], only_runs: set[str] | None
) -> Iterator[_Group]:
    """Each model with its versions (those of ``only_runs``, when given), as soon as the listing
    moves past it (the port lists a model's versions together), then the models it listed no
    version of (unless only some runs' versions are wanted). Should a source break that promise, a
    model met again is one more group: a harvest writes only what differs, so nothing is lost."""
    by_name = {m.name: m for m in models}
    met: set[str] = set()

    def group(name: str, found: list[SourceVersion]) -> _Group | None:
        met.add(name)
        chosen = tuple(
            sorted(
                (v for v in found if only_runs is None or v.run_id in only_runs),
                key=lambda v: int(v.version) if v.version.isdigit() else 0,
            )
        )
        if only_runs is not None and not chosen:
            return None
        return _Group(by_name[name], chosen, chosen)

    name: str | None = None
    found: list[SourceVersion] = []
    for version in versions:
        if version.model not in by_name:
            continue
        if version.model != name:
            if name is not None and (ready := group(name, found)) is not None:
                yield ready
            name, found = version.model, []
        found.append(version)
    if name is not None and (ready := group(name, found)) is not None:
        yield ready
    for model in models:
        if model.name not in met and (ready := group(model.name, [])) is not None:
            yield ready


def _batches(groups: Iterable[_Group], size: int = VERSION_BATCH) -> Iterator[list[_Group]]:
    """Whole models, consecutive, up to ``size`` versions a batch (a bigger model on its own)."""
    batch: list[_Group] = []
    count = 0
    for group in groups:
        weight = max(1, len(group.versions))
        if batch and count + weight > size:
            yield batch
            batch, count = [], 0
        batch.append(group)
        count += weight
    if batch:
        yield batch


def _regroup(units: Sequence[tuple[_Group, SourceVersion]]) -> list[_Group]:
    groups: list[_Group] = []
    for group, version in units:
        if groups and groups[-1].model.name == group.model.name:
            groups[-1] = replace(groups[-1], versions=(*groups[-1].versions, version))
        else:
            groups.append(replace(group, versions=(version,)))
    return groups


class HarvestService(HarvestJobs):
    def __init__(
        self,
        store: SqlStore,
        bus: EventBus,
        clock: Clock,
        guard: GuardService | None = None,
        *,
        batch_size: int = VERSION_BATCH,
    ) -> None:
        self.store = store
        self.bus = bus
        self.clock = clock
        self.guard = guard
        self.batch_size = batch_size  # versions per write transaction (whole models)

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
        ctx = Context(caller, source, settings or SourceSettings(), summary, record_url, write_back)
        if self.guard is not None:
            origin = caller.origin
            agent = f"steward-harvest (requested by {caller.name})"[:512]
            ctx.guard_caller = connector_caller(
                source.platform, origin.request_id, origin.client_address, agent
            )
        report = progress or (lambda _stage, _done, _total: None)
        try:
            source.check()
            # the registry's listing starts now, beside the runs' harvest (the versions are
            # written after the runs, which their lineage names)
            with ReadAhead(
                _registry(source, models or None), chunk=READ_AHEAD, name="steward-harvest-listing"
            ) as listing:
                with self.store.read() as tx:
                    ctx.linked = tx.sources.linked_ids(source.platform)
                harvested_runs: set[str] | None = None
                if experiments or not models:
                    harvested_runs = self._harvest_runs(ctx, experiments or None, report)
                self._harvest_models(
                    ctx,
                    models or None,
                    listing,
                    harvested_runs if experiments and not models else None,
                    report,
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
        ctx = Context(caller, source, settings or SourceSettings(), summary, record_url, True)
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
        self._harvest_batch(ctx, [_Group(src_model, (found,), (found,))], isolate=False)
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
        ctx = Context(caller, source, settings or SourceSettings(), summary, None, False)  # type: ignore[arg-type]
        with writing(self.store, self.bus, caller.origin, self.clock) as w:
            batch = BatchWrite(w, ctx, platform)
            batch.ensure_model(fresh or model, (), ())
            batch.flush()
        batch.pending.commit(ctx)
        return summary

    # -- runs ----------------------------------------------------------------------------------

    def _harvest_runs(self, ctx: Context, names: Sequence[str] | None, report: Progress) -> set[str]:
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

    def _record_runs(self, ctx: Context, runs: Sequence[SourceRun]) -> None:
        ids = {r.run_id for r in runs}
        with self.store.read() as tx:
            recorded = tx.sources.recorded_runs(ids)
        todo = [r for r in runs if r.run_id not in recorded]
        ctx.summary.unchanged["run"] += len(runs) - len(todo)
        if not todo:
            return
        with writing(self.store, self.bus, ctx.caller.origin, self.clock) as w:
            batch = BatchWrite(w, ctx, ctx.source.platform)
            batch.know_runs({r.run_id for r in todo})
            for run in todo:
                batch.record_run(run)
        batch.pending.commit(ctx)

    # -- models and versions -------------------------------------------------------------------

    def _harvest_models(
        self,
        ctx: Context,
        names: Sequence[str] | None,
        listing: Iterable[SourceModel | SourceVersion],
        only_runs: set[str] | None,
        report: Progress,
    ) -> None:
        """Write the registry's ``listing`` (see :func:`_registry`) model by model as it comes."""
        items = iter(listing)
        models: list[SourceModel] = []
        first: list[SourceVersion] = []
        for item in items:
            if isinstance(item, SourceVersion):
                first.append(item)
                break
            models.append(item)
        for missing in sorted(set(names or ()) - {m.name for m in models}):
            ctx.summary.skip("model", missing, f"no registered model named {missing!r} at the source")
        done = 0
        report("versions", 0, None)
        versions = itertools.chain(first, cast(Iterator[SourceVersion], items))
        for batch in _batches(_groups(models, versions, only_runs), self.batch_size):
            try:
                self._harvest_batch(ctx, batch)
            except StewardError as error:
                if error.code == "unavailable":
                    raise
                # a failed fetch is retried model by model; a failure after it names the whole batch
                names = ", ".join(g.model.name for g in batch)
                ctx.summary.errors.append(f"model{'s' if len(batch) > 1 else ''} {names}: {error.message}")
            done += sum(len(g.versions) for g in batch)
            report("versions", done, None)
        report("versions", done, done)

    def _harvest_batch(self, ctx: Context, batch: list[_Group], *, isolate: bool = True) -> None:
        """Registered models and their versions: fetch what is missing, write in one transaction,
        then write back and guard. A model whose fetch fails (not for unavailability) is retried
        alone, so it is the only one lost (``isolate``; else the error is raised)."""
        valid: list[_Group] = []
        for group in batch:
            try:
                check_name("model", group.model.name)
            except InvalidInput as error:
                ctx.summary.skip(
                    "model",
                    group.model.name,
                    f"not a valid Steward model name ({error.message}); rename it at the platform "
                    "to harvest it",
                )
                for v in group.versions:
                    ctx.summary.skip(
                        "version",
                        v.external_id,
                        f"its model name {group.model.name!r} is not a valid Steward model name",
                    )
                continue
            valid.append(group)
        if not valid:
            return
        try:
            fetched = self._fetch(ctx, valid)
        except StewardError as error:
            if error.code == "unavailable" or not isolate or len(valid) == 1:
                raise
            for group in valid:
                try:
                    self._harvest_batch(ctx, [group])
                except StewardError as alone:
                    if alone.code == "unavailable":
                        raise
                    ctx.summary.errors.append(f"model {group.model.name}: {alone.message}")
            return
        touched = self._write_batch(ctx, valid, fetched, isolate)
        if ctx.write_back:
            self._write_back(ctx, touched)
        written = [g for g in valid if ctx.models.get(g.model.name)]
        with self.store.read() as tx:
            unguarded = unguarded_aliases(tx, ctx.source, [g.model for g in written], ctx.linked, ctx.summary)
        if self.guard is None or ctx.guard_caller is None:
            return
        for group in written:
            found = unguarded[group.model.name]
            if not found:
                continue
            name = group.model.name
            skip = {a for a, _ in found} if name in ctx.new_models else ctx.seen.get(name, set())
            guard_bypasses(self.guard, ctx.guard_caller, ctx.source, group.model, found, skip, ctx.summary)

    def _fetch(self, ctx: Context, groups: Sequence[_Group]) -> _Fetched:
        """Read what Steward has of the batch, then fetch from the platform only what is missing."""
        source, versions = ctx.source, [v for g in groups for v in g.versions]
        with self.store.read() as tx:
            known = tx.find_versions(
                ctx.linked[v.external_id] for v in versions if v.external_id in ctx.linked
            )
            current: dict[str, ModelVersion] = {}
            for v in versions:
                key = ctx.linked.get(v.external_id)
                if key is not None and key in known:
                    current[v.external_id] = known[key]
            if ctx.guard_caller is not None:
                for group in groups:
                    if group.model.name not in ctx.seen:
                        ctx.seen[group.model.name] = seen_aliases(tx, source, group.model, ctx.linked, known)
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
                ctx.summary.skip("version", v.external_id, error.message)
        return _Fetched(current, artifacts)

    def _write(
        self, ctx: Context, groups: Sequence[_Group], fetched: _Fetched
    ) -> list[tuple[SourceVersion, str, int]]:
        """One write transaction for ``groups``: their models, their versions, their events."""
        touched: list[tuple[SourceVersion, str, int]] = []
        with writing(self.store, self.bus, ctx.caller.origin, self.clock) as w:
            batch = BatchWrite(w, ctx, ctx.source.platform)
            batch.prepare([v for g in groups for v in g.versions], fetched.current, fetched.artifacts)
            for group in groups:
                if not batch.ensure_model(group.model, group.every, group.versions):
                    continue
                for v in group.versions:
                    target = batch.version(
                        v, fetched.current.get(v.external_id), fetched.artifacts.get(v.external_id)
                    )
                    if target is not None:
                        touched.append((v, *target))
            batch.flush()
        batch.pending.commit(ctx)
        return touched

    def _write_batch(
        self, ctx: Context, groups: list[_Group], fetched: _Fetched, isolate: bool
    ) -> list[tuple[SourceVersion, str, int]]:
        try:
            return self._write(ctx, groups, fetched)
        except StewardError as error:
            if error.code == "unavailable" or not isolate:
                raise
        # a record of the batch was refused: the models alone first (a model refused loses its
        # versions, reported once), then the versions in halves until each refused one is alone
        touched: list[tuple[SourceVersion, str, int]] = []
        kept: list[_Group] = []
        for group in groups:
            if group.model.name not in ctx.models:
                try:
                    self._write(ctx, [replace(group, versions=())], fetched)
                except StewardError as error:
                    if error.code == "unavailable":
                        raise
                    ctx.summary.errors.append(f"model {group.model.name}: {error.message}")
                    continue
            kept.append(group)
        self._halves(ctx, [(g, v) for g in kept for v in g.versions], fetched, touched)
        return touched

    def _halves(
        self,
        ctx: Context,
        units: Sequence[tuple[_Group, SourceVersion]],
        fetched: _Fetched,
        touched: list[tuple[SourceVersion, str, int]],
    ) -> None:
        middle = len(units) // 2
        for part in (units[:middle], units[middle:]):
            if not part:
                continue
            try:
                touched.extend(self._write(ctx, _regroup(part), fetched))
            except StewardError as error:
                if error.code == "unavailable":
                    raise
                if len(part) > 1:
                    self._halves(ctx, part, fetched, touched)
                else:
                    ctx.summary.skip(
                        "version", part[0][1].external_id, f"Steward could not record it: {error.message}"
                    )

    def _write_back(self, ctx: Context, touched: Sequence[tuple[SourceVersion, str, int]]) -> None:
        if not touched:
            return
        with self.store.read() as tx:
            records = tx.find_versions((m, n) for _, m, n in touched)
            decisions = decision_texts(tx, records)
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
