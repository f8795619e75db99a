"""Use cases of the registry: models, versions, datasets, training runs, deployments, lineage.

Each mutator checks the caller's role, validates against the records that exist, writes the change
and its audit event in one transaction, and returns the stored record.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from steward import wire
from steward.domain import (
    Action,
    Dataset,
    DatasetUse,
    DatasetVersion,
    Deployment,
    DomainEvent,
    Environment,
    Lineage,
    LineageEdge,
    LineageNode,
    Model,
    ModelVersion,
    Page,
    SourceLink,
    TrainingRun,
    ensure_model_writable,
)
from steward.errors import InvalidInput, NotFound
from steward.service._caller import Caller
from steward.service._events import Clock, EventBus, writing
from steward.service._snapshots import changes, snapshot
from steward.storage import ModelFilter, ModelSummary, SqlStore, VersionFilter


def utcnow() -> datetime:
    return datetime.now(UTC)


class RegistryService:
    """The governance record and its evidence."""

    def __init__(self, store: SqlStore, bus: EventBus, clock: Clock = utcnow) -> None:
        self.store = store
        self.bus = bus
        self.clock = clock

    # -- models ------------------------------------------------------------------------------

    def create_model(self, caller: Caller, spec: wire.ModelCreate) -> Model:
        caller.authorize(Action.MODEL_CREATE)
        with writing(self.store, self.bus, caller.origin, self.clock) as w:
            model = Model(
                name=spec.name,
                owner=spec.owner,
                risk_tier=spec.risk_tier,
                description=spec.description,
                use_case=spec.use_case,
                intended_use=spec.intended_use,
                limitations=spec.limitations,
                regulatory_scopes=tuple(dict.fromkeys(spec.regulatory_scopes)),
                tags=dict(spec.tags),
                review_cadence_months=spec.review_cadence_months,
                source_links=dict(spec.source_links),
                created_by=caller.name,
                created_at=w.at,
                updated_at=w.at,
            )
            stored = w.tx.insert_model(model)
            w.emit(DomainEvent("model.created", "model", stored.name, after=snapshot(stored)))
        return stored

    def get_model(self, caller: Caller, name: str) -> Model:
        caller.authorize(Action.MODEL_READ)
        with self.store.read(statements=1) as tx:
            model = tx.find_model(name)
        if model is None:
            raise NotFound(f"model {name!r} does not exist", {"model": name})
        return model

    def update_model(self, caller: Caller, name: str, spec: wire.ModelUpdate) -> Model:
        caller.authorize(Action.MODEL_UPDATE)
        with writing(self.store, self.bus, caller.origin, self.clock) as w:
            current = w.tx.find_model(name)
            if current is None:
                raise NotFound(f"model {name!r} does not exist", {"model": name})
            ensure_model_writable(current)
            given = spec.model_dump(exclude_unset=True, exclude={"revision", "reason"})
            if "regulatory_scopes" in given:
                given["regulatory_scopes"] = tuple(dict.fromkeys(given["regulatory_scopes"]))
            if "risk_tier" in given:
                given["risk_tier"] = spec.risk_tier
            updated = replace(current, **given, updated_at=w.at)
            stored = w.tx.update_model(updated, spec.revision)
            before, after = changes(snapshot(current), snapshot(stored))
            w.emit(
                DomainEvent("model.updated", "model", name, before=before, after=after, reason=spec.reason)
            )
        return stored

    def list_models(
        self, caller: Caller, where: ModelFilter, page_size: int = 50, page_token: str | None = None
    ) -> Page[Model]:
        caller.authorize(Action.MODEL_READ)
        with self.store.read() as tx:
            return tx.list_models(where, page_size, page_token)

    # -- versions ----------------------------------------------------------------------------

    def register_version(self, caller: Caller, model: str, spec: wire.VersionCreate) -> ModelVersion:
        caller.authorize(Action.VERSION_REGISTER)
        with writing(self.store, self.bus, caller.origin, self.clock) as w:
            owner = w.tx.find_model(model)
            if owner is None:
                raise NotFound(f"model {model!r} does not exist", {"model": model})
            ensure_model_writable(owner)
            if spec.training_run is not None and w.tx.datasets.find_run(spec.training_run) is None:
                raise InvalidInput.field(
                    "training_run",
                    "exists",
                    f"training run {spec.training_run!r} is not recorded; record it first "
                    "(POST /api/v1/runs)",
                )
            for i, use in enumerate(spec.datasets):
                if w.tx.datasets.find_dataset_version(use.dataset, use.version) is None:
                    raise InvalidInput.field(
                        f"datasets[{i}]",
                        "exists",
                        f"dataset version {use.dataset}@{use.version} is not recorded; record it first",
                    )
            uses = tuple(dict.fromkeys(DatasetUse(u.dataset, u.version, u.role) for u in spec.datasets))
            version = version_from_spec(spec, model, w.tx.next_version_number(model), uses, caller.name, w.at)
            stored = w.tx.insert_version(version)
            w.emit(
                DomainEvent(
                    "model_version.registered",
                    "model_version",
                    f"{model}/{stored.version}",
                    after=snapshot(stored),
                )
            )
        return stored

    def get_version(self, caller: Caller, model: str, version: int) -> ModelVersion:
        caller.authorize(Action.VERSION_READ)
        with self.store.read() as tx:
            found = tx.find_version(model, version)
            if found is None:
                if tx.find_model(model) is None:
                    raise NotFound(f"model {model!r} does not exist", {"model": model})
                raise NotFound(
                    f"model {model!r} has no version {version}",
                    {"model": model, "version": version},
                )
        return found

    def search_versions(
        self,
        caller: Caller,
        where: VersionFilter,
        page_size: int = 50,
        page_token: str | None = None,
    ) -> Page[ModelVersion]:
        caller.authorize(Action.VERSION_READ)
        with self.store.read() as tx:
            return tx.search_versions(where, page_size, page_token)

    # -- datasets ----------------------------------------------------------------------------

    def create_dataset(self, caller: Caller, spec: wire.DatasetCreate) -> Dataset:
        caller.authorize(Action.DATASET_WRITE)
        with writing(self.store, self.bus, caller.origin, self.clock) as w:
            stored = w.tx.datasets.insert_dataset(
                Dataset(
                    name=spec.name,
                    description=spec.description,
                    source=spec.source,
                    owner=spec.owner,
                    approved=spec.approved,
                    created_by=caller.name,
                    created_at=w.at,
                    updated_at=w.at,
                )
            )
            w.emit(DomainEvent("dataset.created", "dataset", stored.name, after=snapshot(stored)))
        return stored

    def update_dataset(self, caller: Caller, name: str, spec: wire.DatasetUpdate) -> Dataset:
        caller.authorize(Action.DATASET_WRITE)
        with writing(self.store, self.bus, caller.origin, self.clock) as w:
            current = w.tx.datasets.find_dataset(name)
            if current is None:
                raise NotFound(f"dataset {name!r} does not exist", {"dataset": name})
            given = spec.model_dump(exclude_unset=True, exclude={"revision", "reason"})
            stored = w.tx.datasets.update_dataset(replace(current, **given, updated_at=w.at), spec.revision)
            before, after = changes(snapshot(current), snapshot(stored))
            w.emit(
                DomainEvent(
                    "dataset.updated",
                    "dataset",
                    name,
                    before=before,
                    after=after,
                    reason=spec.reason,
                )
            )
        return stored

    def get_dataset(self, caller: Caller, name: str) -> Dataset:
        caller.authorize(Action.DATASET_READ)
        with self.store.read() as tx:
            found = tx.datasets.find_dataset(name)
        if found is None:
            raise NotFound(f"dataset {name!r} does not exist", {"dataset": name})
        return found

    def list_datasets(
        self,
        caller: Caller,
        page_size: int = 50,
        page_token: str | None = None,
        text: str | None = None,
    ) -> Page[Dataset]:
        caller.authorize(Action.DATASET_READ)
        with self.store.read() as tx:
            return tx.datasets.list_datasets(page_size, page_token, text)

    def add_dataset_version(
        self, caller: Caller, dataset: str, spec: wire.DatasetVersionCreate
    ) -> DatasetVersion:
        caller.authorize(Action.DATASET_WRITE)
        with writing(self.store, self.bus, caller.origin, self.clock) as w:
            stored = w.tx.datasets.insert_dataset_version(
                DatasetVersion(
                    dataset=dataset,
                    version=spec.version,
                    uri=spec.uri,
                    digest=spec.digest,
                    schema_digest=spec.schema_digest,
                    row_count=spec.row_count,
                    created_by=caller.name,
                    created_at=w.at,
                )
            )
            w.emit(
                DomainEvent(
                    "dataset_version.created",
                    "dataset_version",
                    f"{dataset}@{stored.version}",
                    after=snapshot(stored),
                )
            )
        return stored

    def list_dataset_versions(
        self, caller: Caller, dataset: str, page_size: int = 50, page_token: str | None = None
    ) -> Page[DatasetVersion]:
        """A dataset's versions, oldest first."""
        caller.authorize(Action.DATASET_READ)
        with self.store.read() as tx:
            return tx.datasets.list_dataset_versions(dataset, page_size, page_token)

    # -- training runs -----------------------------------------------------------------------

    def record_run(self, caller: Caller, spec: wire.TrainingRunCreate) -> TrainingRun:
        caller.authorize(Action.RUN_WRITE)
        if spec.started_at and spec.ended_at and spec.ended_at < spec.started_at:
            raise InvalidInput.field("ended_at", "order", "must not be before started_at")
        with writing(self.store, self.bus, caller.origin, self.clock) as w:
            stored = w.tx.datasets.insert_run(
                TrainingRun(
                    run_id=spec.run_id,
                    platform=spec.platform,
                    experiment=spec.experiment,
                    user=spec.user,
                    parameters=dict(spec.parameters),
                    metrics=dict(spec.metrics),
                    parent_run_id=spec.parent_run_id,
                    code_commit=spec.code_commit,
                    started_at=spec.started_at,
                    ended_at=spec.ended_at,
                    created_by=caller.name,
                    created_at=w.at,
                )
            )
            w.emit(
                DomainEvent("training_run.recorded", "training_run", stored.run_id, after=snapshot(stored))
            )
        return stored

    def get_run(self, caller: Caller, run_id: str) -> TrainingRun:
        caller.authorize(Action.RUN_READ)
        with self.store.read() as tx:
            found = tx.datasets.find_run(run_id)
        if found is None:
            raise NotFound(f"training run {run_id!r} does not exist", {"training_run": run_id})
        return found

    def list_runs(
        self,
        caller: Caller,
        page_size: int = 50,
        page_token: str | None = None,
        experiment: str | None = None,
    ) -> Page[TrainingRun]:
        caller.authorize(Action.RUN_READ)
        with self.store.read() as tx:
            return tx.datasets.list_runs(page_size, page_token, experiment)

    # -- deployments -------------------------------------------------------------------------
    #
    # A deployment is made only by the approval workflow: a promotion (gates, sign-offs,
    # traceability) or a rollback to an approved version (PromotionService). Every environment is
    # governed (an environment other than staging gets production's stages and gate profile), so
    # there is no use case that records one directly.

    def list_deployments(
        self,
        caller: Caller,
        model: str | None = None,
        environment: str | None = None,
        page_size: int = 50,
        page_token: str | None = None,
    ) -> Page[Deployment]:
        """Deployments (of one model, in one environment), oldest first."""
        caller.authorize(Action.DEPLOYMENT_READ)
        with self.store.read(statements=1) as tx:  # one statement (and, for no rows, a model lookup)
            return tx.deployments.list_deployments(
                page_size, page_token, model=model, environment=environment
            )

    # -- overview (figures over the whole inventory, for the web UI) ---------------------------

    def model_deployments(self, caller: Caller, model: str) -> list[Deployment]:
        """Every deployment of one model, oldest first (its page: what runs where, and since when)."""
        caller.authorize(Action.DEPLOYMENT_READ)
        with self.store.read() as tx:
            return tx.deployments.deployments_of(model)

    def model_summaries(self, caller: Caller, where: ModelFilter) -> list[ModelSummary]:
        """Every model matching ``where`` with its active production version (the inventory)."""
        caller.authorize(Action.MODEL_READ)
        with self.store.read() as tx:
            return tx.overview.model_summaries(where)

    def versions_registered_per_day(
        self, caller: Caller, since: datetime | None = None
    ) -> list[tuple[date, int]]:
        """``(UTC day, versions registered that day)``, oldest first."""
        caller.authorize(Action.VERSION_READ)
        with self.store.read() as tx:
            return tx.overview.count_versions_by_day(since)

    def deployment_counts(self, caller: Caller) -> list[tuple[str, str, int]]:
        """``(environment, state, count)`` over every recorded deployment."""
        caller.authorize(Action.DEPLOYMENT_READ)
        with self.store.read() as tx:
            return tx.overview.count_deployments()

    # -- lineage -----------------------------------------------------------------------------

    def lineage(self, caller: Caller, model: str, version: int) -> Lineage:
        """Upstream (datasets, run, code, environment) and downstream (deployments) of a version."""
        caller.authorize(Action.VERSION_READ)
        with self.store.read() as tx:
            record, run, datasets, deployments = tx.lineage_parts(model, version)
        root = f"version:{model}/{version}"
        nodes = [
            LineageNode(
                root,
                "model_version",
                f"{model} v{version}",
                {
                    "artifact_uri": record.artifact_uri,
                    "artifact_digest": record.artifact_digest,
                    "state": record.state.value,
                    "source_platform": record.source_platform,
                },
            )
        ]
        edges: list[LineageEdge] = []
        seen_datasets: set[str] = set()
        for dv, ds, role in datasets:
            node = f"dataset:{dv.dataset}@{dv.version}"
            if node not in seen_datasets:  # one node per dataset version; each role is an edge
                seen_datasets.add(node)
                nodes.append(
                    LineageNode(
                        node,
                        "dataset_version",
                        f"{dv.dataset}@{dv.version}",
                        {
                            "digest": dv.digest,
                            "schema_digest": dv.schema_digest,
                            "uri": dv.uri,
                            "source": ds.source,
                            "approved": ds.approved,
                        },
                    )
                )
            edges.append(
                LineageEdge(node, run_node(run) if run and role == "training" else root, f"{role}_data")
            )
        if run is not None:
            nodes.append(
                LineageNode(
                    run_node(run),
                    "training_run",
                    run.run_id,
                    {
                        "platform": run.platform,
                        "experiment": run.experiment,
                        "user": run.user,
                        "code_commit": run.code_commit,
                    },
                )
            )
            edges.append(LineageEdge(run_node(run), root, "produced"))
        if record.code_commit or record.code_repository:
            code = f"code:{record.code_repository or ''}@{record.code_commit or ''}"
            nodes.append(
                LineageNode(
                    code,
                    "code",
                    record.code_commit or record.code_repository or "",
                    {
                        "repository": record.code_repository,
                        "commit": record.code_commit,
                    },
                )
            )
            edges.append(LineageEdge(code, run_node(run) if run else root, "source_code"))
        env = record.environment
        if env.python_version or env.dependency_lock_digest or env.container_image_digest:
            env_id = f"environment:{model}/{version}"
            nodes.append(
                LineageNode(
                    env_id,
                    "environment",
                    env.python_version or "environment",
                    {
                        "python_version": env.python_version,
                        "dependency_lock_digest": env.dependency_lock_digest,
                        "container_image_digest": env.container_image_digest,
                    },
                )
            )
            edges.append(LineageEdge(env_id, root, "built_with"))
        for d in deployments:
            node = f"deployment:{d.id}"
            nodes.append(
                LineageNode(
                    node,
                    "deployment",
                    f"{d.environment} ({d.target})",
                    {
                        "environment": d.environment,
                        "target": d.target,
                        "state": d.state.value,
                        "deployed_at": d.deployed_at.isoformat(),
                        "deployed_by": d.deployed_by,
                    },
                )
            )
            edges.append(LineageEdge(root, node, "deployed_as"))
        return Lineage(root, tuple(nodes), tuple(edges))


def run_node(run: TrainingRun | None) -> str:
    return f"run:{run.run_id}" if run else ""


def version_from_spec(
    spec: wire.VersionCreate,
    model: str,
    number: int,
    datasets: tuple[DatasetUse, ...],
    registered_by: str,
    at: datetime,
    sources: tuple[SourceLink, ...] = (),
) -> ModelVersion:
    """The record a registration makes of a checked ``spec`` (over REST, the CLI or a harvest)."""
    return ModelVersion(
        model=model,
        version=number,
        artifact_uri=spec.artifact_uri,
        artifact_digest=spec.artifact_digest,
        source_platform=spec.source_platform,
        external_id=spec.external_id,
        training_run=spec.training_run,
        description=spec.description,
        metrics=dict(spec.metrics),
        parameters=dict(spec.parameters),
        tags=dict(spec.tags),
        datasets=datasets,
        code_repository=spec.code_repository,
        code_commit=spec.code_commit,
        environment=Environment(**spec.environment.model_dump()),
        registered_by=registered_by,
        created_at=at,
        updated_at=at,
        sources=sources,
    )
