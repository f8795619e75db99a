"""Source platforms: harvest jobs, the MLflow webhook receiver, guarded aliases."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from steward import wire
from steward.connectors.mlflow import MlflowSource, webhook
from steward.domain import Action, Origin
from steward.errors import StewardError, Unauthenticated
from steward.server._mlflow import MlflowWiring
from steward.server.deps import CallerDep, StewardDep, action
from steward.service import Caller, connector_caller

router = APIRouter(tags=["connectors"])
log = logging.getLogger("steward.connectors")
ModelName = Annotated[str, Path(max_length=128)]


def _wiring(request: Request) -> MlflowWiring:
    wiring: MlflowWiring = request.app.state.mlflow
    return wiring


@router.post(
    "/harvests", status_code=202, response_model=wire.HarvestOut, openapi_extra=action(Action.HARVEST_RUN)
)
def start_harvest(
    body: wire.HarvestCreate, request: Request, caller: CallerDep, steward: StewardDep, response: Response
) -> wire.HarvestOut:
    """Harvest an MLflow tracking server in the background; poll the job for its summary."""
    wiring = _wiring(request)
    source = MlflowSource(body.tracking_uri, digest=body.digest)
    job = steward.harvests.enqueue(caller, body)
    wiring.submit(steward, caller, job.id, source)
    response.headers["Location"] = f"/api/v1/harvests/{job.id}"
    return wire.HarvestOut.model_validate(job)


@router.get(
    "/harvests/{harvest_id}", response_model=wire.HarvestOut, openapi_extra=action(Action.HARVEST_READ)
)
def get_harvest(
    harvest_id: Annotated[int, Path(ge=1)], caller: CallerDep, steward: StewardDep
) -> wire.HarvestOut:
    """A harvest job: its state and summary (created, updated, unchanged, skipped with reasons)."""
    return wire.HarvestOut.model_validate(steward.harvests.get_job(caller, harvest_id))


@router.get(
    "/models/{name}/alias-guards", response_model=wire.AliasGuardsOut, openapi_extra=action(Action.MODEL_READ)
)
def get_alias_guards(name: ModelName, caller: CallerDep, steward: StewardDep) -> wire.AliasGuardsOut:
    """The aliases Steward guards for this model at source platforms, and their environments."""
    steward.registry.get_model(caller, name)
    guards, defaults = steward.guard.get_guards(caller, name)
    return wire.AliasGuardsOut(model=name, guards=guards, defaults=defaults)


@router.put(
    "/models/{name}/alias-guards",
    response_model=wire.AliasGuardsOut,
    openapi_extra=action(Action.MODEL_UPDATE),
)
def set_alias_guards(
    name: ModelName, body: wire.AliasGuardsUpdate, caller: CallerDep, steward: StewardDep
) -> wire.AliasGuardsOut:
    """Replace the guarded aliases (``null``: back to the defaults; ``{}``: guard nothing)."""
    guards, defaults = steward.guard.set_guards(caller, name, body.guards)
    return wire.AliasGuardsOut(model=name, guards=guards, defaults=defaults)


@router.post(
    "/connectors/mlflow/webhook",
    response_model=wire.ConnectorEventOut,
    openapi_extra=action(Action.HARVEST_RUN),
)
async def mlflow_webhook(request: Request, steward: StewardDep) -> wire.ConnectorEventOut:
    """Receive an MLflow webhook delivery, signed with the shared secret (or sent with a token).

    MLflow signs with HMAC-SHA256 (``X-MLflow-Signature``, ``X-MLflow-Timestamp``,
    ``X-MLflow-Delivery-Id``); forged or stale deliveries get 401, a delivery id seen before 409,
    a malformed body 422. Without a signature, the request needs a token allowed ``harvest.run``.
    """
    wiring = _wiring(request)
    body = await request.body()
    headers = dict(request.headers)
    client = request.client.host if request.client else ""
    agent = request.headers.get("user-agent", "")[:512]
    try:
        if webhook.is_signed(headers):
            secret = wiring.secret
            if secret is None:
                raise Unauthenticated(
                    "this server has no STEWARD_MLFLOW_WEBHOOK_SECRET, so it cannot verify MLflow's signature"
                )
            delivery_id, sent = webhook.verify(secret, headers, body, steward.clock())
            caller = connector_caller("mlflow", delivery_id, client, agent)
        else:
            caller = await run_in_threadpool(_token_caller, request, steward, client, agent)
            delivery_id = headers.get(webhook.DELIVERY_HEADER.lower()) or f"manual-{uuid.uuid4().hex}"
            sent = steward.clock()
        event = webhook.parse(body, delivery_id, sent)
        outcome = await run_in_threadpool(
            steward.receiver.deliver,
            caller,
            wiring.source,
            event,
            settings=wiring.source_settings,
            record_url=wiring.record_url,
        )
    except StewardError as error:
        log.warning("MLflow delivery refused (%s): %s", error.code, error.message)
        raise
    log.info("MLflow %s on %s: %s", event.type, event.model, outcome)
    return wire.ConnectorEventOut(accepted=True, event=event.type, outcome=outcome)


def _token_caller(request: Request, steward: StewardDep, client: str, agent: str) -> Caller:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated(
            "an MLflow delivery must be signed (X-MLflow-Signature); any other sender needs "
            "'Authorization: Bearer stw_…'"
        )
    principal = steward.identity.authenticate(token.strip())
    request_id = request.scope.get("state", {}).get("request_id", "")
    caller = Caller(principal, Origin(principal.name, request_id, client, agent))
    caller.authorize(Action.HARVEST_RUN)
    return caller
