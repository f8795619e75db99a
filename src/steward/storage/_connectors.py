"""Rows for source platforms: version source links, harvest jobs, webhook deliveries, alias guards.

Used through ``SqlTransaction.sources``. A source link ties a version to its id on a platform
(unique per platform), so a harvest finds what it recorded before, and the same artefact found
twice links a second source to one version instead of registering it again.

A harvest writes in batches: the ``*_among``/``*s`` reads answer for a whole batch in one query
(per few hundred keys), and :meth:`SqlSources.insert_versions` registers many versions with one
statement per table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError as SqlIntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from steward.domain import HarvestJob, ModelVersion, SourceLink
from steward.errors import Conflict, NotFound
from steward.storage._bulk import chunks
from steward.storage._subjects import model_id, version_id
from steward.storage._tables import (
    Base,
    SqlDataset,
    SqlDatasetVersion,
    SqlModel,
    SqlModelVersion,
    SqlTrainingRun,
    SqlVersionDataset,
    SqlVersionTag,
    UTCDateTime,
)


class SqlVersionSource(Base):
    __tablename__ = "version_sources"
    __table_args__ = (UniqueConstraint("platform", "external_id", name="uq_version_sources_platform_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(512))
    uri: Mapped[str] = mapped_column(String(2048))
    digest_method: Mapped[str] = mapped_column(String(16))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON)
    linked_by: Mapped[str] = mapped_column(String(256))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SqlHarvestJob(Base):
    __tablename__ = "harvest_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(64))
    location: Mapped[str] = mapped_column(String(2048))
    experiments: Mapped[list[Any]] = mapped_column(JSON)
    models: Mapped[list[Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), index=True)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SqlWebhookDelivery(Base):
    """Deliveries already accepted, by the sender's delivery id: a replay is refused."""

    __tablename__ = "webhook_deliveries"

    delivery_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    platform: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class SqlAliasGuard(Base):
    """An alias guarded for one model, and the environment a version must be deployed to."""

    __tablename__ = "alias_guards"

    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), primary_key=True)
    alias: Mapped[str] = mapped_column(String(128), primary_key=True)
    environment: Mapped[str] = mapped_column(String(64))


def to_link(row: SqlVersionSource | Row[Any]) -> SourceLink:
    return SourceLink(
        platform=row.platform,
        external_id=row.external_id,
        uri=row.uri,
        digest_method=row.digest_method,
        attributes=dict(row.attributes),
        linked_by=row.linked_by,
        linked_at=row.linked_at,
    )


def to_job(row: SqlHarvestJob) -> HarvestJob:
    return HarvestJob(
        id=row.id,
        platform=row.platform,
        location=row.location,
        experiments=tuple(row.experiments),
        models=tuple(row.models),
        state=row.state,
        summary=dict(row.summary),
        error=row.error,
        requested_by=row.requested_by,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def links_by_version(session: Session, version_ids: Iterable[int]) -> dict[int, list[SourceLink]]:
    """Source links of many versions in one query (for ``_versions_out``)."""
    ids = list(version_ids)
    found: dict[int, list[SourceLink]] = {i: [] for i in ids}
    if not ids:
        return found
    for row in session.connection().execute(_LINKS, {"ids": ids}):  # rows, not ORM objects
        found[row.version_id].append(to_link(row))
    return found


_LINKS = (
    select(*SqlVersionSource.__table__.c)
    .where(SqlVersionSource.version_id.in_(bindparam("ids", expanding=True)))
    .order_by(SqlVersionSource.id)
)


class SqlSources:
    """Source-platform queries inside one transaction."""

    def __init__(self, session: Session) -> None:
        self.s = session

    # -- version source links ------------------------------------------------------------------

    def _version_pk(self, model: str, version: int) -> int:
        return version_id(self.s, model, version)

    def find_linked(self, platform: str, external_id: str) -> tuple[str, int] | None:
        """The (model, version) a platform's id is linked to."""
        found = self.s.execute(
            select(SqlModel.name, SqlModelVersion.version)
            .join(SqlModelVersion, SqlModelVersion.model_id == SqlModel.id)
            .join(SqlVersionSource, SqlVersionSource.version_id == SqlModelVersion.id)
            .where(SqlVersionSource.platform == platform, SqlVersionSource.external_id == external_id)
        ).one_or_none()
        return None if found is None else (found[0], int(found[1]))

    def linked_ids(self, platform: str) -> dict[str, tuple[str, int]]:
        """Every id of ``platform`` that is linked, with its (model, version): one query per harvest."""
        return {
            external_id: (model, int(version))
            for external_id, model, version in self.s.execute(
                select(SqlVersionSource.external_id, SqlModel.name, SqlModelVersion.version)
                .join(SqlModelVersion, SqlModelVersion.id == SqlVersionSource.version_id)
                .join(SqlModel, SqlModel.id == SqlModelVersion.model_id)
                .where(SqlVersionSource.platform == platform)
            )
        }

    def add_link(self, model: str, version: int, link: SourceLink) -> None:
        self.s.add(
            SqlVersionSource(
                version_id=self._version_pk(model, version),
                platform=link.platform,
                external_id=link.external_id,
                uri=link.uri,
                digest_method=link.digest_method,
                attributes=dict(link.attributes),
                linked_by=link.linked_by,
                linked_at=link.linked_at,
            )
        )
        self.s.flush()

    def set_link_attributes(self, platform: str, external_id: str, attributes: Mapping[str, Any]) -> None:
        self.s.execute(
            update(SqlVersionSource)
            .where(SqlVersionSource.platform == platform, SqlVersionSource.external_id == external_id)
            .values(attributes=dict(attributes))
            .execution_options(synchronize_session=False)
        )

    # -- many versions at once (a harvest's batch) ---------------------------------------------

    def linked_among(self, platform: str, external_ids: Iterable[str]) -> dict[str, tuple[str, int]]:
        """Which of these ids of ``platform`` are linked, with their (model, version)."""
        found: dict[str, tuple[str, int]] = {}
        for chunk in chunks(set(external_ids)):
            found.update(
                (external_id, (model, int(version)))
                for external_id, model, version in self.s.execute(
                    select(SqlVersionSource.external_id, SqlModel.name, SqlModelVersion.version)
                    .join(SqlModelVersion, SqlModelVersion.id == SqlVersionSource.version_id)
                    .join(SqlModel, SqlModel.id == SqlModelVersion.model_id)
                    .where(SqlVersionSource.platform == platform, SqlVersionSource.external_id.in_(chunk))
                )
            )
        return found

    def versions_with_digests(self, digests: Iterable[str]) -> dict[str, tuple[str, int]]:
        """For each of these artefact digests that is registered, its first (oldest) version."""
        found: dict[str, tuple[str, int]] = {}
        for chunk in chunks(set(digests)):
            for digest, model, version in self.s.execute(
                select(SqlModelVersion.artifact_digest, SqlModel.name, SqlModelVersion.version)
                .join(SqlModel, SqlModel.id == SqlModelVersion.model_id)
                .where(SqlModelVersion.artifact_digest.in_(chunk))
                .order_by(SqlModelVersion.id)
            ):
                found.setdefault(digest, (model, int(version)))
        return found

    def next_version_numbers(self, models: Iterable[str]) -> dict[str, int]:
        """The number the next version of each of these models gets; a model without versions (or
        without a record yet) is left out: its next number is 1."""
        found: dict[str, int] = {}
        for chunk in chunks(set(models)):
            for name, highest in self.s.execute(
                select(SqlModel.name, func.max(SqlModelVersion.version))
                .join(SqlModelVersion, SqlModelVersion.model_id == SqlModel.id)
                .where(SqlModel.name.in_(chunk))
                .group_by(SqlModel.name)
            ):
                found[name] = int(highest) + 1
        return found

    def recorded_runs(self, run_ids: Iterable[str]) -> set[str]:
        """Which of these training runs are recorded."""
        found: set[str] = set()
        for chunk in chunks(set(run_ids)):
            found.update(
                self.s.scalars(select(SqlTrainingRun.run_id).where(SqlTrainingRun.run_id.in_(chunk)))
            )
        return found

    def _version_pks(self, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int]:
        wanted = set(keys)
        found: dict[tuple[str, int], int] = {}
        for chunk in chunks(sorted(wanted)):
            for pk, name, number in self.s.execute(
                select(SqlModelVersion.id, SqlModel.name, SqlModelVersion.version)
                .join(SqlModel, SqlModel.id == SqlModelVersion.model_id)
                .where(
                    SqlModel.name.in_({m for m, _ in chunk}),
                    SqlModelVersion.version.in_({n for _, n in chunk}),
                )
            ):
                if (name, number) in wanted:
                    found[(name, int(number))] = int(pk)
        missing = sorted(wanted - set(found))
        if missing:
            model, version = missing[0]
            raise NotFound(f"model {model!r} has no version {version}", {"model": model, "version": version})
        return found

    def _pks(self, column: Any, key: Any, values: Iterable[str], kind: str) -> dict[str, int]:
        wanted = set(values)
        found: dict[str, int] = {}
        for chunk in chunks(wanted):
            found.update((k, int(pk)) for k, pk in self.s.execute(select(key, column).where(key.in_(chunk))))
        missing = sorted(wanted - set(found))
        if missing:
            raise NotFound(f"{kind.replace('_', ' ')} {missing[0]!r} does not exist", {kind: missing[0]})
        return found

    def insert_versions(self, versions: Sequence[ModelVersion]) -> None:
        """Register many versions, with their tags, dataset uses and source links, in one statement
        per table. The caller numbered them; their models, runs and dataset versions must exist
        (``NotFound`` names the first that does not), and a clash is refused as any insert is."""
        if not versions:
            return
        models = self._pks(SqlModel.id, SqlModel.name, (v.model for v in versions), "model")
        runs = self._pks(
            SqlTrainingRun.id,
            SqlTrainingRun.run_id,
            (v.training_run for v in versions if v.training_run is not None),
            "training_run",
        )
        uses = {(u.dataset, u.version) for v in versions for u in v.datasets}
        dataset_versions: dict[tuple[str, str], int] = {}
        for chunk in chunks(sorted(uses)):
            for pk, dataset, dversion in self.s.execute(
                select(SqlDatasetVersion.id, SqlDataset.name, SqlDatasetVersion.version)
                .join(SqlDataset, SqlDataset.id == SqlDatasetVersion.dataset_id)
                .where(
                    SqlDataset.name.in_({d for d, _ in chunk}),
                    SqlDatasetVersion.version.in_({n for _, n in chunk}),
                )
            ):
                dataset_versions[(dataset, dversion)] = int(pk)
        absent = sorted(uses - set(dataset_versions))
        if absent:
            dataset, dversion = absent[0]
            raise NotFound(
                f"dataset {dataset!r} has no version {dversion!r}", {"dataset": dataset, "version": dversion}
            )
        conn = self.s.connection()  # Core statements: no unit of work, one executemany each
        conn.execute(
            insert(SqlModelVersion),
            [
                {
                    "model_id": models[v.model],
                    "version": v.version,
                    "artifact_uri": v.artifact_uri,
                    "artifact_digest": v.artifact_digest,
                    "source_platform": v.source_platform,
                    "external_id": v.external_id,
                    "training_run_id": runs[v.training_run] if v.training_run is not None else None,
                    "description": v.description,
                    "metrics": dict(v.metrics),
                    "parameters": dict(v.parameters),
                    "tags": dict(v.tags),
                    "code_repository": v.code_repository,
                    "code_commit": v.code_commit,
                    "python_version": v.environment.python_version,
                    "dependency_lock_digest": v.environment.dependency_lock_digest,
                    "container_image_digest": v.environment.container_image_digest,
                    "state": v.state.value,
                    "registered_by": v.registered_by,
                    "created_at": v.created_at,
                    "updated_at": v.updated_at,
                    "revision": v.revision,
                }
                for v in versions
            ],
        )
        pks = self._version_pks((v.model, v.version) for v in versions)
        tags = [
            {"version_id": pks[(v.model, v.version)], "key": k, "value": value}
            for v in versions
            for k, value in v.tags.items()
        ]
        if tags:
            conn.execute(insert(SqlVersionTag), tags)
        datasets = [
            {
                "version_id": pks[(v.model, v.version)],
                "dataset_version_id": dataset_versions[(u.dataset, u.version)],
                "role": u.role.value,
            }
            for v in versions
            for u in dict.fromkeys(v.datasets)
        ]
        if datasets:
            conn.execute(insert(SqlVersionDataset), datasets)
        self.add_links([(v.model, v.version, link) for v in versions for link in v.sources], pks)

    def add_links(
        self,
        links: Sequence[tuple[str, int, SourceLink]],
        pks: Mapping[tuple[str, int], int] | None = None,
    ) -> None:
        """Link many sources to versions, ``(model, version, link)`` each, in one statement."""
        if not links:
            return
        known = dict(pks or {})
        missing = {(m, n) for m, n, _ in links} - set(known)
        if missing:
            known.update(self._version_pks(missing))
        self.s.connection().execute(
            insert(SqlVersionSource),
            [
                {
                    "version_id": known[(model, version)],
                    "platform": link.platform,
                    "external_id": link.external_id,
                    "uri": link.uri,
                    "digest_method": link.digest_method,
                    "attributes": dict(link.attributes),
                    "linked_by": link.linked_by,
                    "linked_at": link.linked_at,
                }
                for model, version, link in links
            ],
        )

    # -- harvested fields of a version ---------------------------------------------------------

    def update_version(self, version: ModelVersion, expected_revision: int) -> None:
        """Write a version's harvested fields (description, tags, run, metrics, parameters, datasets,
        code, environment) if its stored revision is still ``expected_revision``."""
        pk = self._version_pk(version.model, version.version)
        run_pk = None
        if version.training_run is not None:
            run_pk = self.s.scalar(
                select(SqlTrainingRun.id).where(SqlTrainingRun.run_id == version.training_run)
            )
            if run_pk is None:
                raise NotFound(
                    f"training run {version.training_run!r} does not exist",
                    {"training_run": version.training_run},
                )
        result = self.s.execute(
            update(SqlModelVersion)
            .where(SqlModelVersion.id == pk, SqlModelVersion.revision == expected_revision)
            .values(
                description=version.description,
                tags=dict(version.tags),
                metrics=dict(version.metrics),
                parameters=dict(version.parameters),
                training_run_id=run_pk,
                code_repository=version.code_repository,
                code_commit=version.code_commit,
                python_version=version.environment.python_version,
                dependency_lock_digest=version.environment.dependency_lock_digest,
                container_image_digest=version.environment.container_image_digest,
                updated_at=version.updated_at,
                revision=expected_revision + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(
                f"version {version.model}/{version.version} changed since revision {expected_revision} "
                "was read; read it again and retry",
                {"model": version.model, "version": version.version, "expected_revision": expected_revision},
            )
        self.s.execute(delete(SqlVersionTag).where(SqlVersionTag.version_id == pk))
        self.s.add_all(SqlVersionTag(version_id=pk, key=k, value=v) for k, v in version.tags.items())
        self.s.execute(delete(SqlVersionDataset).where(SqlVersionDataset.version_id == pk))
        for use in version.datasets:
            dv = self.s.scalar(
                select(SqlDatasetVersion.id)
                .join(SqlDataset, SqlDataset.id == SqlDatasetVersion.dataset_id)
                .where(SqlDataset.name == use.dataset, SqlDatasetVersion.version == use.version)
            )
            if dv is None:
                raise NotFound(
                    f"dataset {use.dataset!r} has no version {use.version!r}",
                    {"dataset": use.dataset, "version": use.version},
                )
            self.s.add(SqlVersionDataset(version_id=pk, dataset_version_id=dv, role=use.role.value))
        self.s.flush()
        self.s.expire_all()

    # -- harvest jobs --------------------------------------------------------------------------

    def insert_job(self, job: HarvestJob) -> HarvestJob:
        row = SqlHarvestJob(
            platform=job.platform,
            location=job.location,
            experiments=list(job.experiments),
            models=list(job.models),
            state=job.state,
            summary=dict(job.summary),
            error=job.error,
            requested_by=job.requested_by,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
        )
        self.s.add(row)
        self.s.flush()
        return to_job(row)

    def find_job(self, job_id: int) -> HarvestJob | None:
        row = self.s.get(SqlHarvestJob, job_id)
        return None if row is None else to_job(row)

    def save_job(self, job: HarvestJob) -> None:
        self.s.execute(
            update(SqlHarvestJob)
            .where(SqlHarvestJob.id == job.id)
            .values(
                state=job.state,
                summary=dict(job.summary),
                error=job.error,
                started_at=job.started_at,
                finished_at=job.finished_at,
            )
            .execution_options(synchronize_session=False)
        )

    # -- webhook deliveries --------------------------------------------------------------------

    def accept_delivery(self, platform: str, delivery_id: str, at: datetime, forget_before: datetime) -> bool:
        """Record a delivery id; ``False`` when it was seen before (a replay). Old ids are forgotten
        once their timestamps are too old to pass the freshness check anyway."""
        self.s.execute(delete(SqlWebhookDelivery).where(SqlWebhookDelivery.received_at < forget_before))
        if self.s.get(SqlWebhookDelivery, delivery_id) is not None:
            return False
        try:
            with self.s.begin_nested():
                self.s.add(SqlWebhookDelivery(delivery_id=delivery_id, platform=platform, received_at=at))
        except SqlIntegrityError:
            return False
        return True

    def forget_delivery(self, delivery_id: str) -> None:
        """Forget a delivery that could not be acted on, so the sender's retry is accepted."""
        self.s.execute(delete(SqlWebhookDelivery).where(SqlWebhookDelivery.delivery_id == delivery_id))

    # -- alias guards --------------------------------------------------------------------------

    def alias_guards(self, model: str) -> dict[str, str] | None:
        """The model's guarded aliases (alias → environment), or ``None`` when it keeps the defaults."""
        model_pk = model_id(self.s, model)
        rows = self.s.execute(
            select(SqlAliasGuard.alias, SqlAliasGuard.environment).where(SqlAliasGuard.model_id == model_pk)
        ).all()
        if not rows:
            return None
        return {alias: env for alias, env in rows if alias != ""}

    def alias_guards_of(self, models: Iterable[str]) -> dict[str, dict[str, str] | None]:
        """:meth:`alias_guards` of each of ``models``, in one query."""
        names = list(models)
        found: dict[str, dict[str, str] | None] = dict.fromkeys(names)
        if not names:
            return found
        rows = self.s.execute(
            select(SqlModel.name, SqlAliasGuard.alias, SqlAliasGuard.environment)
            .join(SqlModel, SqlModel.id == SqlAliasGuard.model_id)
            .where(SqlModel.name.in_(names))
        ).all()
        for name, alias, environment in rows:
            guards = found.get(name) or {}
            if alias != "":  # the marker of "guard nothing"
                guards[alias] = environment
            found[name] = guards
        return found

    def set_alias_guards(self, model: str, guards: Mapping[str, str] | None) -> None:
        """Replace the model's guards: ``None`` goes back to the defaults, an empty mapping stores a
        marker meaning "guard nothing"."""
        model_pk = model_id(self.s, model)
        self.s.execute(delete(SqlAliasGuard).where(SqlAliasGuard.model_id == model_pk))
        if guards is None:
            return
        rows = dict(guards) or {"": ""}
        self.s.add_all(SqlAliasGuard(model_id=model_pk, alias=a, environment=e) for a, e in rows.items())
        self.s.flush()
