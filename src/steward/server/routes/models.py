"""Models, their versions, lineage and deployments.

Every route here is a coroutine: reads go through ``quick_read``; writes, which wait for the
database's write lock, run in the thread pool: one trip there and back, where a sync route takes
two (its body, then FastAPI's validation of its answer). Reads and writes answer their records as
they are (``server._json``); each route's wire schema stays its ``response_model``, for the OpenAPI
document."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from steward import wire
from steward.domain import Action, Deployment, Model, ModelState, ModelVersion, RiskTier, VersionState
from steward.server._json import page_response, record_response
from steward.server._threads import in_thread
from steward.server.deps import CallerDep, StewardDep, action, quick_read
from steward.server.routes._common import PageSize, PageToken, parse_tags
from steward.storage import ModelFilter, VersionFilter

router = APIRouter(tags=["models"])
ModelName = Annotated[str, Path(max_length=128)]
VersionNumber = Annotated[int, Path(ge=1)]


@router.post(
    "/models", status_code=201, response_model=wire.ModelOut, openapi_extra=action(Action.MODEL_CREATE)
)
async def create_model(body: wire.ModelCreate, caller: CallerDep, steward: StewardDep) -> Response:
    """Create the governance record of a model."""
    return record_response(await in_thread(steward.registry.create_model, caller, body), status=201)


@router.get("/models", response_model=wire.Page[wire.ModelOut], openapi_extra=action(Action.MODEL_READ))
async def list_models(
    caller: CallerDep,
    steward: StewardDep,
    owner: Annotated[str | None, Query(max_length=256)] = None,
    risk_tier: RiskTier | None = None,
    state: ModelState | None = None,
    scope: Annotated[str | None, Query(max_length=128, description="A regulatory scope.")] = None,
    tag: Annotated[list[str] | None, Query(description="KEY=VALUE; repeat to require several.")] = None,
    q: Annotated[
        str | None, Query(max_length=256, description="Text in name, description or use case.")
    ] = None,
    page_size: PageSize = 50,
    page_token: PageToken = None,
) -> Response:
    """List models with filters, by name."""
    where = ModelFilter(
        owner=owner, risk_tier=risk_tier, state=state, scope=scope, tags=parse_tags(tag), text=q
    )
    page = await quick_read(steward, steward.registry.list_models, caller, where, page_size, page_token)
    return page_response(Model, page)


@router.get("/models/{name}", response_model=wire.ModelOut, openapi_extra=action(Action.MODEL_READ))
async def get_model(name: ModelName, caller: CallerDep, steward: StewardDep) -> Response:
    """One model's record; the ``ETag`` header carries its revision."""
    model = await quick_read(steward, steward.registry.get_model, caller, name)
    return record_response(model, headers={"ETag": f'"{model.revision}"'})


@router.patch("/models/{name}", response_model=wire.ModelOut, openapi_extra=action(Action.MODEL_UPDATE))
async def update_model(
    name: ModelName, body: wire.ModelUpdate, caller: CallerDep, steward: StewardDep
) -> Response:
    """Change fields of a record; ``revision`` must be the one read (else 409 ``conflict``)."""
    return record_response(await in_thread(steward.registry.update_model, caller, name, body))


@router.post(
    "/models/{name}/versions",
    status_code=201,
    response_model=wire.VersionOut,
    openapi_extra=action(Action.VERSION_REGISTER),
)
async def register_version(
    name: ModelName, body: wire.VersionCreate, caller: CallerDep, steward: StewardDep
) -> Response:
    """Register a trained artefact as the model's next version."""
    version = await in_thread(steward.registry.register_version, caller, name, body)
    return record_response(version, status=201)


@router.get(
    "/models/{name}/versions",
    response_model=wire.Page[wire.VersionOut],
    openapi_extra=action(Action.VERSION_READ),
)
async def list_versions(
    name: ModelName,
    caller: CallerDep,
    steward: StewardDep,
    page_size: PageSize = 50,
    page_token: PageToken = None,
) -> Response:
    """A model's versions, newest first."""
    where = VersionFilter(model=name)
    page = await quick_read(steward, steward.registry.search_versions, caller, where, page_size, page_token)
    return page_response(ModelVersion, page)


@router.get(
    "/models/{name}/versions/{version}",
    response_model=wire.VersionOut,
    openapi_extra=action(Action.VERSION_READ),
)
async def get_version(
    name: ModelName, version: VersionNumber, caller: CallerDep, steward: StewardDep
) -> Response:
    """A model version's record: its artefact and digest, run, datasets, environment, state, and the
    platforms it also lives on."""
    found = await quick_read(steward, steward.registry.get_version, caller, name, version)
    return record_response(found)


@router.get(
    "/models/{name}/versions/{version}/lineage",
    response_model=wire.LineageOut,
    openapi_extra=action(Action.VERSION_READ),
)
async def lineage(
    name: ModelName, version: VersionNumber, caller: CallerDep, steward: StewardDep
) -> wire.LineageOut:
    """Upstream (datasets, run, code, environment) and downstream (deployments) as nodes and edges."""
    return wire.LineageOut.model_validate(
        await quick_read(steward, steward.registry.lineage, caller, name, version)
    )


@router.get("/versions", response_model=wire.Page[wire.VersionOut], openapi_extra=action(Action.VERSION_READ))
async def search_versions(
    caller: CallerDep,
    steward: StewardDep,
    model: Annotated[str | None, Query(max_length=128)] = None,
    owner: Annotated[str | None, Query(max_length=256, description="The model's owner.")] = None,
    state: VersionState | None = None,
    source_platform: Annotated[str | None, Query(max_length=64)] = None,
    artifact_digest: Annotated[str | None, Query(max_length=71)] = None,
    tag: Annotated[list[str] | None, Query(description="KEY=VALUE; repeat to require several.")] = None,
    page_size: PageSize = 50,
    page_token: PageToken = None,
) -> Response:
    """Search versions across models, newest first."""
    where = VersionFilter(
        model=model,
        owner=owner,
        state=state,
        source_platform=source_platform,
        artifact_digest=artifact_digest,
        tags=parse_tags(tag),
    )
    page = await quick_read(steward, steward.registry.search_versions, caller, where, page_size, page_token)
    return page_response(ModelVersion, page)


@router.get(
    "/models/{name}/deployments",
    response_model=wire.Page[wire.DeploymentOut],
    openapi_extra=action(Action.DEPLOYMENT_READ),
)
async def model_deployments(
    name: ModelName,
    caller: CallerDep,
    steward: StewardDep,
    environment: Annotated[str | None, Query(max_length=64)] = None,
    page_size: PageSize = 50,
    page_token: PageToken = None,
) -> Response:
    """The model's deployments, oldest first (each made by a promotion or a rollback).

    There is no way to record a deployment directly: a version reaches an environment through
    `POST /models/{name}/versions/{version}/promotions` (`steward promote`).
    """
    page = await quick_read(
        steward, steward.registry.list_deployments, caller, name, environment, page_size, page_token
    )
    return page_response(Deployment, page)


@router.get(
    "/deployments",
    response_model=wire.Page[wire.DeploymentOut],
    openapi_extra=action(Action.DEPLOYMENT_READ),
)
async def all_deployments(
    caller: CallerDep,
    steward: StewardDep,
    environment: Annotated[str | None, Query(max_length=64)] = None,
    page_size: PageSize = 50,
    page_token: PageToken = None,
) -> Response:
    """Every model's deployments, oldest first."""
    page = await quick_read(
        steward, steward.registry.list_deployments, caller, None, environment, page_size, page_token
    )
    return page_response(Deployment, page)
