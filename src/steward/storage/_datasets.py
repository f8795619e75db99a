"""Datasets, their versions, and training runs, inside one transaction (``SqlTransaction.datasets``)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from steward.domain import Dataset, DatasetVersion, Page, TrainingRun
from steward.errors import AlreadyExists, Conflict, NotFound
from steward.storage import _convert as convert
from steward.storage._engine import contains
from steward.storage._pages import check_page_size, decode_token, page_of
from steward.storage._tables import SqlDataset, SqlDatasetVersion, SqlTrainingRun


class SqlDatasets:
    """Dataset, dataset-version and training-run queries inside one transaction."""

    def __init__(self, session: Session) -> None:
        self.s = session

    def _dataset_row(self, name: str) -> SqlDataset:
        row = self.s.scalars(select(SqlDataset).where(SqlDataset.name == name)).one_or_none()
        if row is None:
            raise NotFound(f"dataset {name!r} does not exist", {"dataset": name})
        return row

    def dataset_version_row(self, dataset: str, version: str) -> SqlDatasetVersion:
        ds = self._dataset_row(dataset)
        row = self.s.scalars(
            select(SqlDatasetVersion).where(
                SqlDatasetVersion.dataset_id == ds.id, SqlDatasetVersion.version == version
            )
        ).one_or_none()
        if row is None:
            raise NotFound(
                f"dataset {dataset!r} has no version {version!r}",
                {"dataset": dataset, "version": version},
            )
        return row

    def find_dataset(self, name: str) -> Dataset | None:
        row = self.s.scalars(select(SqlDataset).where(SqlDataset.name == name)).one_or_none()
        return None if row is None else convert.to_dataset(row)

    def insert_dataset(self, dataset: Dataset) -> Dataset:
        if self.find_dataset(dataset.name) is not None:
            raise AlreadyExists(f"dataset {dataset.name!r} already exists", {"dataset": dataset.name})
        row = SqlDataset(
            name=dataset.name,
            description=dataset.description,
            source=dataset.source,
            owner=dataset.owner,
            approved=dataset.approved,
            created_by=dataset.created_by,
            created_at=dataset.created_at,
            updated_at=dataset.updated_at,
            revision=dataset.revision,
        )
        self.s.add(row)
        self.s.flush()
        return convert.to_dataset(row)

    def update_dataset(self, dataset: Dataset, expected_revision: int) -> Dataset:
        row = self._dataset_row(dataset.name)
        result = self.s.execute(
            update(SqlDataset)
            .where(SqlDataset.id == row.id, SqlDataset.revision == expected_revision)
            .values(
                description=dataset.description,
                source=dataset.source,
                owner=dataset.owner,
                approved=dataset.approved,
                updated_at=dataset.updated_at,
                revision=expected_revision + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(
                f"dataset {dataset.name!r} changed since revision {expected_revision} was read",
                {
                    "dataset": dataset.name,
                    "expected_revision": expected_revision,
                    "current_revision": row.revision,
                },
            )
        self.s.expire(row)
        return convert.to_dataset(self._dataset_row(dataset.name))

    def list_datasets(self, page_size: int, token: str | None, text: str | None = None) -> Page[Dataset]:
        check_page_size(page_size)
        position = decode_token(token, "name")
        stmt = select(SqlDataset)
        if text:
            stmt = stmt.where(contains(text, SqlDataset.name))
        if position:
            stmt = stmt.where(SqlDataset.name > position["name"])
        rows = self.s.scalars(stmt.order_by(SqlDataset.name).limit(page_size + 1)).all()
        kept, next_token = page_of(rows, page_size, lambda r: {"name": r.name})
        return Page(tuple(convert.to_dataset(r) for r in kept), next_token)

    def find_dataset_version(self, dataset: str, version: str) -> DatasetVersion | None:
        found = self.s.execute(
            select(SqlDatasetVersion)
            .join(SqlDataset, SqlDataset.id == SqlDatasetVersion.dataset_id)
            .where(SqlDataset.name == dataset, SqlDatasetVersion.version == version)
        ).scalar_one_or_none()
        return None if found is None else convert.to_dataset_version(found, dataset)

    def insert_dataset_version(self, dv: DatasetVersion) -> DatasetVersion:
        ds = self._dataset_row(dv.dataset)
        if self.find_dataset_version(dv.dataset, dv.version) is not None:
            raise AlreadyExists(
                f"dataset {dv.dataset!r} already has version {dv.version!r}",
                {"dataset": dv.dataset, "version": dv.version},
            )
        row = SqlDatasetVersion(
            dataset_id=ds.id,
            version=dv.version,
            uri=dv.uri,
            digest=dv.digest,
            schema_digest=dv.schema_digest,
            row_count=dv.row_count,
            created_by=dv.created_by,
            created_at=dv.created_at,
        )
        self.s.add(row)
        self.s.flush()
        return convert.to_dataset_version(row, dv.dataset)

    def list_dataset_versions(self, dataset: str, page_size: int, token: str | None) -> Page[DatasetVersion]:
        """A dataset's versions, oldest first."""
        check_page_size(page_size)
        position = decode_token(token, "id")
        ds = self._dataset_row(dataset)
        stmt = select(SqlDatasetVersion).where(SqlDatasetVersion.dataset_id == ds.id)
        if position:
            stmt = stmt.where(SqlDatasetVersion.id > position["id"])
        rows = self.s.scalars(stmt.order_by(SqlDatasetVersion.id).limit(page_size + 1)).all()
        kept, next_token = page_of(rows, page_size, lambda r: {"id": r.id})
        return Page(tuple(convert.to_dataset_version(r, dataset) for r in kept), next_token)

    # -- training runs -----------------------------------------------------------------------

    def run_row(self, run_id: str) -> SqlTrainingRun:
        row = self.s.scalars(select(SqlTrainingRun).where(SqlTrainingRun.run_id == run_id)).one_or_none()
        if row is None:
            raise NotFound(f"training run {run_id!r} does not exist", {"training_run": run_id})
        return row

    def find_run(self, run_id: str) -> TrainingRun | None:
        row = self.s.scalars(select(SqlTrainingRun).where(SqlTrainingRun.run_id == run_id)).one_or_none()
        return None if row is None else convert.to_run(row)

    def insert_run(self, run: TrainingRun) -> TrainingRun:
        if self.find_run(run.run_id) is not None:
            raise AlreadyExists(f"training run {run.run_id!r} already exists", {"training_run": run.run_id})
        row = SqlTrainingRun(
            run_id=run.run_id,
            platform=run.platform,
            experiment=run.experiment,
            user=run.user,
            parameters=dict(run.parameters),
            metrics=dict(run.metrics),
            parent_run_id=run.parent_run_id,
            code_commit=run.code_commit,
            started_at=run.started_at,
            ended_at=run.ended_at,
            created_by=run.created_by,
            created_at=run.created_at,
        )
        self.s.add(row)
        self.s.flush()
        return convert.to_run(row)

    def list_runs(
        self, page_size: int, token: str | None, experiment: str | None = None
    ) -> Page[TrainingRun]:
        check_page_size(page_size)
        position = decode_token(token, "id")
        stmt = select(SqlTrainingRun)
        if experiment:
            stmt = stmt.where(SqlTrainingRun.experiment == experiment)
        if position:
            stmt = stmt.where(SqlTrainingRun.id < position["id"])
        rows = self.s.scalars(stmt.order_by(SqlTrainingRun.id.desc()).limit(page_size + 1)).all()
        kept, next_token = page_of(rows, page_size, lambda r: {"id": r.id})
        return Page(tuple(convert.to_run(r) for r in kept), next_token)
