"""One write transaction of a harvest: a batch of versions and their audit events, in few queries.

A batch asks its questions once, set-based, inside its transaction (which of its platform ids are
linked by now, which versions already hold its artefact digests, the next numbers of its models,
which of its runs are recorded), decides version by version in memory, and registers its new
versions with one statement per table at the end (:meth:`BatchWrite.flush`). Every change still
emits its own event, in order, in this transaction, so the ledger appends them all and signs one
checkpoint when it commits. What a batch counts and links is kept apart (:class:`Pending`) and
added to the harvest's only once its transaction committed: a batch rolled back counts nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from steward import wire
from steward.domain import (
    Dataset,
    DatasetUse,
    DatasetVersion,
    DomainEvent,
    Model,
    ModelSource,
    ModelState,
    ModelVersion,
    SourceArtifact,
    SourceLink,
    SourceModel,
    SourceRun,
    SourceSettings,
    SourceVersion,
)
from steward.errors import InvalidInput, NotFound
from steward.service import _mapping as mapping
from steward.service._caller import Caller
from steward.service._events import Writer
from steward.service._harvest_support import HarvestSummary, RecordUrl
from steward.service._registry import version_from_spec
from steward.service._snapshots import changes, snapshot


@dataclass
class Context:
    """One harvest (or one webhook's sync): where from, for whom, and what it learnt so far."""

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
    # the models whose records this harvest made current: may their versions be written (not retired)?
    models: dict[str, bool] = field(default_factory=dict)
    seen: dict[str, set[str]] = field(default_factory=dict)  # guard mode: aliases recorded before


@dataclass
class Pending:
    """What one write transaction counted and learnt, added to the harvest's when it commits."""

    summary: HarvestSummary
    linked: dict[str, tuple[str, int]] = field(default_factory=dict)
    models: dict[str, bool] = field(default_factory=dict)
    new_models: set[str] = field(default_factory=set)

    def commit(self, ctx: Context) -> None:
        ctx.summary.merge(self.summary)
        ctx.linked.update(self.linked)
        ctx.models.update(self.models)
        ctx.new_models |= self.new_models


class BatchWrite:
    """The records of one batch, written in the transaction of ``w``."""

    def __init__(self, w: Writer, ctx: Context, platform: str) -> None:
        self.w = w
        self.ctx = ctx
        self.platform = platform
        self.pending = Pending(HarvestSummary(ctx.summary.platform, ctx.summary.location))
        self._recorded: set[str] = set()
        self._linked_now: dict[str, tuple[str, int]] = {}
        self._digests: dict[str, tuple[str, int]] = {}
        self._numbers: dict[str, int] = {}
        self._datasets: set[str] = set()
        self._dataset_versions: set[tuple[str, str]] = set()
        self._new_models: list[Model] = []
        self._new: list[ModelVersion] = []
        self._links: list[tuple[str, int, SourceLink]] = []

    # -- the batch's questions, asked once ---------------------------------------------------

    def know_runs(self, run_ids: set[str]) -> None:
        self._recorded |= self.w.tx.sources.recorded_runs(run_ids - self._recorded)

    def prepare(
        self,
        versions: Sequence[SourceVersion],
        current: Mapping[str, ModelVersion],
        artifacts: Mapping[str, SourceArtifact],
    ) -> None:
        """Read, for all of ``versions`` at once, what deciding each one needs."""
        if not versions:
            return
        sources = self.w.tx.sources
        self.know_runs({v.run_id for v in versions if v.run_id})
        # linked since the harvest read them (a concurrent delivery)? writes are serial from here
        self._linked_now = sources.linked_among(
            self.platform, [v.external_id for v in versions if v.external_id not in current]
        )
        self._digests = sources.versions_with_digests(
            artifacts[v.external_id].digest
            for v in versions
            if v.external_id in artifacts and v.external_id not in current
        )
        self._numbers = sources.next_version_numbers({v.model for v in versions})

    def flush(self) -> None:
        """Write the models created, versions registered and sources linked since the last flush."""
        sources = self.w.tx.sources
        self.w.tx.insert_models(self._new_models)
        sources.insert_versions(self._new)
        sources.add_links(self._links)
        self._new_models, self._new, self._links = [], [], []

    # -- runs and datasets -------------------------------------------------------------------

    def record_run(self, run: SourceRun) -> bool:
        """Record a finished run and its dataset inputs; ``False`` when it cannot be recorded yet."""
        summary, w = self.pending.summary, self.w
        if run.deleted:
            summary.skip("run", run.run_id, "the run was deleted at the source")
            return False
        if not run.finished:
            summary.skip("run", run.run_id, f"the run is {run.status.lower()}: harvest again when it ends")
            return False
        if run.run_id in self._recorded:
            return True
        self.dataset_uses(run)
        record = mapping.training_run(run, self.platform, self.ctx.caller.name, w.at)
        stored = w.tx.datasets.insert_run(record)
        w.emit(DomainEvent("training_run.recorded", "training_run", stored.run_id, after=snapshot(stored)))
        summary.created["run"] += 1
        self._recorded.add(run.run_id)
        return True

    def dataset_uses(self, run: SourceRun) -> tuple[DatasetUse, ...]:
        """Record the run's dataset inputs (once) and give their uses with roles, in the order the
        store keeps them (by dataset, then role)."""
        summary, w, by = self.pending.summary, self.w, self.ctx.caller.name
        uses: list[DatasetUse] = []
        for ds in run.datasets:
            problem = mapping.dataset_valid(ds)
            if problem is not None:
                summary.skip("dataset", f"{ds.name}@{ds.digest}", problem)
                continue
            if ds.name not in self._datasets:
                if w.tx.datasets.find_dataset(ds.name) is None:
                    stored_ds = w.tx.datasets.insert_dataset(
                        Dataset(
                            name=ds.name,
                            source=ds.source_type,
                            created_by=by,
                            created_at=w.at,
                            updated_at=w.at,
                        )
                    )
                    w.emit(
                        DomainEvent("dataset.created", "dataset", stored_ds.name, after=snapshot(stored_ds))
                    )
                    summary.created["dataset"] += 1
                self._datasets.add(ds.name)
            if (ds.name, ds.digest) not in self._dataset_versions:
                if w.tx.datasets.find_dataset_version(ds.name, ds.digest) is None:
                    dv = w.tx.datasets.insert_dataset_version(
                        DatasetVersion(
                            dataset=ds.name,
                            version=ds.digest,
                            uri=mapping.dataset_uri(ds),
                            digest=mapping.dataset_digest(ds),
                            schema_digest=mapping.sha256_of(ds.schema) if ds.schema else None,
                            row_count=ds.row_count,
                            created_by=by,
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
                    summary.created["dataset_version"] += 1
                self._dataset_versions.add((ds.name, ds.digest))
            role = mapping.dataset_role(ds.context)
            if role is None:
                summary.skip(
                    "dataset_use",
                    f"{run.run_id}:{ds.name}@{ds.digest}",
                    f"input has no known context ({ds.context!r}); tag it training, validation or test",
                )
                continue
            uses.append(DatasetUse(ds.name, ds.digest, role))
        return tuple(sorted(dict.fromkeys(uses), key=lambda u: (u.dataset, u.role.value)))

    def _run_for(self, v: SourceVersion) -> tuple[SourceRun | None, bool]:
        """The version's run and whether Steward has it recorded (recording it now if it can)."""
        if not v.run_id:
            return None, False
        run = self.ctx.runs.get(v.run_id)
        if run is None:
            if v.run_id in self.ctx.runs:
                self.pending.summary.skip(
                    "run",
                    v.run_id,
                    f"the run of {v.model} v{v.version} was deleted at the source; the version is kept "
                    "without it",
                )
            return None, v.run_id in self._recorded
        return run, self.record_run(run)

    # -- models ------------------------------------------------------------------------------

    def ensure_model(
        self, src: SourceModel, every: Sequence[SourceVersion], versions: Sequence[SourceVersion]
    ) -> bool:
        """Create or refresh the model's record, once per harvest; ``False`` (its ``versions``
        skipped) when the record is read-only."""
        summary, w = self.pending.summary, self.w
        known = self.pending.models.get(src.name, self.ctx.models.get(src.name))
        if known is not None:
            if not known:
                for v in versions:
                    summary.skip("version", v.external_id, "its model is retired in Steward")
            return known
        fallback = every[-1].tags if every else {}
        gov = mapping.governance(src.tags, fallback, self.ctx.settings)
        for problem in gov.problems:
            summary.skip("model_field", src.name, problem)
        current = w.tx.find_model(src.name)
        if current is None:
            stored = mapping.new_model(src, gov, self.platform, self.ctx.caller.name, w.at)
            self._new_models.append(stored)  # written by flush(), before the versions
            w.emit(DomainEvent("model.created", "model", stored.name, after=snapshot(stored)))
            summary.created["model"] += 1
            self.pending.new_models.add(stored.name)
            if gov.missing:
                summary.incomplete.append(f"{src.name}: missing {', '.join(gov.missing)}")
            self.pending.models[src.name] = True
            return True
        if current.state is ModelState.RETIRED:
            summary.skip("model", src.name, "the model is retired in Steward; its record is read-only")
            for v in versions:
                summary.skip("version", v.external_id, "its model is retired in Steward")
            self.pending.models[src.name] = False
            return False
        refreshed = mapping.refreshed_model(current, src, gov, self.platform)
        record = current
        if refreshed == current:
            summary.unchanged["model"] += 1
        else:
            record = w.tx.update_model(replace(refreshed, updated_at=w.at), current.revision)
            before, after = changes(snapshot(current), snapshot(record))
            w.emit(
                DomainEvent(
                    "model.updated",
                    "model",
                    record.name,
                    before=before,
                    after=after,
                    reason=f"harvested from {self.platform}",
                )
            )
            summary.updated["model"] += 1
        if mapping.INCOMPLETE_TAG in record.tags:
            summary.incomplete.append(f"{src.name}: missing {record.tags[mapping.INCOMPLETE_TAG]}")
        self.pending.models[src.name] = True
        return True

    # -- versions ----------------------------------------------------------------------------

    def version(
        self, v: SourceVersion, current: ModelVersion | None, artifact: SourceArtifact | None
    ) -> tuple[str, int] | None:
        """Register, update, link or leave one version; the record it is (or ``None``: skipped)."""
        run, recorded = self._run_for(v)
        uses = self.dataset_uses(run) if run is not None and recorded else ()
        wanted = mapping.desired(v, run, recorded, uses)
        attributes = mapping.link_attributes(v, self.ctx.source.location)
        if current is None:
            known = self._linked_now.get(v.external_id)
            if known is not None:
                self.pending.linked[v.external_id] = known
                current = self.w.tx.find_version(*known)
        if current is not None:
            return self._refresh(v, current, wanted, attributes)
        if artifact is None:
            return None
        link = SourceLink(
            platform=self.platform,
            external_id=v.external_id,
            uri=v.source[:2048],
            digest_method=artifact.method,
            attributes=attributes,
            linked_by=self.ctx.caller.name,
            linked_at=self.w.at,
        )
        same = self._digests.get(artifact.digest)
        if same is not None:
            return self._link(v, same, link, artifact.digest)
        return self._register(v, wanted, artifact, link)

    def _refresh(
        self, v: SourceVersion, current: ModelVersion, wanted: mapping.Desired, attributes: dict[str, Any]
    ) -> tuple[str, int]:
        summary, w = self.pending.summary, self.w
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
            w.tx.sources.set_link_attributes(self.platform, v.external_id, attributes)
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
                reason=f"changed at {self.platform}: {v.external_id}",
            )
        )
        summary.updated["version"] += 1
        return stored.model, stored.version

    def _link(
        self, v: SourceVersion, target: tuple[str, int], link: SourceLink, digest: str
    ) -> tuple[str, int]:
        model, number = target
        self._links.append((model, number, link))
        self.pending.linked[v.external_id] = target
        self.w.emit(
            DomainEvent(
                "model_version.source_linked",
                "model_version",
                f"{model}/{number}",
                after={"source": snapshot(link, skip=("linked_at",)), "artifact_digest": digest},
                reason=f"the same artefact ({digest}) is registered at {v.external_id}",
            )
        )
        self.pending.summary.linked["version"] += 1
        return target

    def _register(
        self, v: SourceVersion, wanted: mapping.Desired, artifact: SourceArtifact, link: SourceLink
    ) -> tuple[str, int] | None:
        summary, w = self.pending.summary, self.w
        try:
            spec = wire.parse(
                wire.VersionCreate,
                {
                    "artifact_uri": v.source[:2048] or artifact.uri,
                    "artifact_digest": artifact.digest,
                    "source_platform": self.platform,
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
        number = self._numbers.get(v.model, 1)
        self._numbers[v.model] = number + 1
        stored = version_from_spec(
            spec, v.model, number, wanted.datasets or (), self.ctx.caller.name, w.at, (link,)
        )
        self._new.append(stored)  # written by flush(), with the batch's other new versions
        self._digests.setdefault(artifact.digest, (stored.model, number))
        self.pending.linked[v.external_id] = (stored.model, number)
        w.emit(
            DomainEvent(
                "model_version.registered",
                "model_version",
                f"{stored.model}/{number}",
                after=snapshot(stored),
                reason=f"harvested from {v.external_id}",
            )
        )
        summary.created["version"] += 1
        return stored.model, number
