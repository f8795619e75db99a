"""Datasets, dataset versions and training runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from steward import wire
from steward.domain import Action
from steward.server.deps import CallerDep, StewardDep, action
from steward.server.routes._common import PageSize, PageToken
from steward.wire import page_out

router = APIRouter(tags=["datasets and runs"])
DatasetName = Annotated[str, Path(max_length=128)]


@router.post(
    "/datasets", status_code=201, response_model=wire.DatasetOut, openapi_extra=action(Action.DATASET_WRITE)
)
def create_dataset(body: wire.DatasetCreate, caller: CallerDep, steward: StewardDep) -> wire.DatasetOut:
    """Create a dataset's record: a source of training, validation or test data, whose versions are
    added under it."""
    return wire.DatasetOut.model_validate(steward.registry.create_dataset(caller, body))


@router.get("/datasets", response_model=wire.Page[wire.DatasetOut], openapi_extra=action(Action.DATASET_READ))
def list_datasets(
    caller: CallerDep,
    steward: StewardDep,
    q: Annotated[str | None, Query(max_length=256)] = None,
    page_size: PageSize = 50,
    page_token: PageToken = None,
) -> wire.Page[wire.DatasetOut]:
    """Datasets by name; ``q`` keeps those whose name contains it (any case)."""
    page = steward.registry.list_datasets(caller, page_size, page_token, q)
    return page_out(wire.DatasetOut, page)


@router.get("/datasets/{name}", response_model=wire.DatasetOut, openapi_extra=action(Action.DATASET_READ))
def get_dataset(name: DatasetName, caller: CallerDep, steward: StewardDep) -> wire.DatasetOut:
    """A dataset's record."""
    return wire.DatasetOut.model_validate(steward.registry.get_dataset(caller, name))


@router.patch("/datasets/{name}", response_model=wire.DatasetOut, openapi_extra=action(Action.DATASET_WRITE))
def update_dataset(
    name: DatasetName, body: wire.DatasetUpdate, caller: CallerDep, steward: StewardDep
) -> wire.DatasetOut:
    """Change a dataset's record (for example, approve it as a source)."""
    return wire.DatasetOut.model_validate(steward.registry.update_dataset(caller, name, body))


@router.post(
    "/datasets/{name}/versions",
    status_code=201,
    response_model=wire.DatasetVersionOut,
    openapi_extra=action(Action.DATASET_WRITE),
)
def add_dataset_version(
    name: DatasetName, body: wire.DatasetVersionCreate, caller: CallerDep, steward: StewardDep
) -> wire.DatasetVersionOut:
    """Add a version of the dataset: where its data is and the digest of its content."""
    return wire.DatasetVersionOut.model_validate(steward.registry.add_dataset_version(caller, name, body))


@router.get(
    "/datasets/{name}/versions",
    response_model=wire.Page[wire.DatasetVersionOut],
    openapi_extra=action(Action.DATASET_READ),
)
def list_dataset_versions(
    name: DatasetName,
    caller: CallerDep,
    steward: StewardDep,
    page_size: PageSize = 50,
    page_token: PageToken = None,
) -> wire.Page[wire.DatasetVersionOut]:
    """A dataset's versions, oldest first."""
    page = steward.registry.list_dataset_versions(caller, name, page_size, page_token)
    return page_out(wire.DatasetVersionOut, page)


@router.post(
    "/runs", status_code=201, response_model=wire.TrainingRunOut, openapi_extra=action(Action.RUN_WRITE)
)
def record_run(body: wire.TrainingRunCreate, caller: CallerDep, steward: StewardDep) -> wire.TrainingRunOut:
    """Record a training run on its platform (parameters, metrics, code commit) for versions to name."""
    return wire.TrainingRunOut.model_validate(steward.registry.record_run(caller, body))


@router.get("/runs", response_model=wire.Page[wire.TrainingRunOut], openapi_extra=action(Action.RUN_READ))
def list_runs(
    caller: CallerDep,
    steward: StewardDep,
    experiment: Annotated[str | None, Query(max_length=256)] = None,
    page_size: PageSize = 50,
    page_token: PageToken = None,
) -> wire.Page[wire.TrainingRunOut]:
    """Training runs, newest first; ``experiment`` keeps one experiment's."""
    page = steward.registry.list_runs(caller, page_size, page_token, experiment)
    return page_out(wire.TrainingRunOut, page)


@router.get("/runs/{run_id}", response_model=wire.TrainingRunOut, openapi_extra=action(Action.RUN_READ))
def get_run(
    run_id: Annotated[str, Path(max_length=256)], caller: CallerDep, steward: StewardDep
) -> wire.TrainingRunOut:
    """A training run by its platform's ``run_id``."""
    return wire.TrainingRunOut.model_validate(steward.registry.get_run(caller, run_id))
