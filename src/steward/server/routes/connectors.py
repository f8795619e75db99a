"""Source platforms: harvest jobs, the MLflow webhook receiver, guarded aliases."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from steward import wire
from steward.connectors.mlflow import webhook
from steward.domain import Action, Origin
from steward.errors import StewardError, Unauthenticated
from steward.server._deliveries import Delivery, refusal_reason
from steward.server._mlflow import MlflowWiring, shown
from steward.server._threads import in_thread
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
    """Harvest an MLflow tracking server in the background; poll the job for its summary.

    Only the tracking server this server is connected to (``STEWARD_MLFLOW_TRACKING_URI``) and
    those in ``STEWARD_MLFLOW_ALLOWED_TRACKING_URIS`` may be harvested: the server calls them with
    its own MLflow credentials. Any other ``tracking_uri`` is refused with 422 (rule ``allowed``).
    """
    wiring = _wiring(request)
    caller.authorize(Action.HARVEST_RUN)
    source = wiring.harvest_source(body.tracking_uri, body.digest)
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
    "/connectors/mlflow", response_model=wire.MlflowConnectorOut, openapi_extra=action(Action.HARVEST_READ)
)
def mlflow_connector(request: Request, caller: CallerDep) -> wire.MlflowConnectorOut:
    """The MLflow connector of this server process: the tracking server it is connected to, those
    REST harvests may reach, and what its webhook receiver did since the process started —
    deliveries accepted by event, refused by reason, failed by error code, and how long recent
    deliveries took from arrival to the commit of their change and to the answer."""
    caller.authorize(Action.HARVEST_READ)
    wiring = _wiring(request)
    return wire.MlflowConnectorOut(
        tracking_uri=shown(wiring.source.location) if wiring.source is not None else None,
        harvest_tracking_uris=wiring.harvest_uris(),
        webhook_secret_set=wiring.secret is not None,
        deliveries=wire.DeliveriesOut.model_validate(wiring.deliveries.snapshot()),
    )


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
    Refusals are counted by reason, and accepted deliveries timed, in ``GET /connectors/mlflow``.
    """
    arrived, received_at = time.monotonic(), steward.clock()
    wiring = _wiring(request)
    body = await request.body()
    headers = dict(request.headers)
    client = request.client.host if request.client else ""
    agent = request.headers.get("user-agent", "")[:512]
    stage = "authenticate"
    try:
        if webhook.is_signed(headers):
            secret = wiring.secret
            if secret is None:
                raise Unauthenticated(
                    "this server has no STEWARD_MLFLOW_WEBHOOK_SECRET, so it cannot verify MLflow's "
                    "signature",
                    {"reason": "no_secret"},
                )
            delivery_id, sent = webhook.verify(secret, headers, body, steward.clock())
            caller = connector_caller("mlflow", delivery_id, client, agent)
        else:
            caller = await in_thread(_token_caller, request, steward, client, agent)
            delivery_id = headers.get(webhook.DELIVERY_HEADER.lower()) or f"manual-{uuid.uuid4().hex}"
            sent = steward.clock()
        stage = "parse"
        event = webhook.parse(body, delivery_id, sent)
        wiring.deliveries.arrived(caller.origin.request_id)
        stage = "deliver"
        if wiring.warming:
            await in_thread(wiring.wait_until_warm)
        outcome = await in_thread(
            steward.receiver.deliver,
            caller,
            wiring.source,
            event,
            settings=wiring.source_settings,
            record_url=wiring.record_url,
        )
    except StewardError as error:
        if stage == "deliver":
            wiring.deliveries.first_commit(caller.origin.request_id)
        reason = refusal_reason(error, stage)
        if reason is None:
            wiring.deliveries.failed(error.code)
            log.warning("MLflow delivery failed (%s): %s", error.code, error.message)
        else:
            wiring.deliveries.refused(reason)
            log.warning("MLflow delivery refused (%s, %s): %s", reason, error.code, error.message)
        raise
    seconds = time.monotonic() - arrived
    committed = wiring.deliveries.first_commit(caller.origin.request_id)
    wiring.deliveries.accepted(
        Delivery(
            event.type,
            event.model,
            event.sent_at,
            received_at,
            seconds,
            outcome,
            None if committed is None else committed - arrived,
        )
    )
    log.info("MLflow %s on %s in %.3f s: %s", event.type, event.model, seconds, outcome)
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
