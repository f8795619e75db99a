"""The verifiable ledger (checkpoints, keys, proofs), evidence bundles and the read access log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import PlainTextResponse

from steward import wire
from steward.domain import Action
from steward.server.deps import CallerDep, StewardDep, action
from steward.server.routes._common import Instant, PageSize, PageToken
from steward.storage import ReadAccessFilter
from steward.wire import page_out

router = APIRouter()

_NOTE = {
    200: {"content": {"text/plain": {}}, "description": "The checkpoint, as JSON or as its signed note."}
}


def _wants_note(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/plain" in accept and "application/json" not in accept


@router.get(
    "/ledger/checkpoint",
    response_model=wire.CheckpointOut,
    tags=["ledger"],
    responses=_NOTE,  # type: ignore[arg-type]
    openapi_extra=action(Action.LEDGER_READ),
)
def checkpoint(
    request: Request,
    caller: CallerDep,
    steward: StewardDep,
    size: Annotated[
        int | None, Query(ge=0, description="A kept checkpoint's size (default: latest).")
    ] = None,
) -> wire.CheckpointOut | Response:
    """The latest signed checkpoint: JSON, or its signed note with `Accept: text/plain`.

    The note is in the C2SP tlog-checkpoint format (origin, tree size, base64 root, timestamp, then
    the signature lines); `size` picks an earlier kept checkpoint."""
    found = steward.ledger.checkpoint(caller, size)
    if _wants_note(request):
        return PlainTextResponse(found.note, media_type="text/plain; charset=utf-8")
    return wire.CheckpointOut.of(found)


@router.get(
    "/ledger/keys",
    response_model=list[wire.LedgerKeyOut],
    tags=["ledger"],
    openapi_extra=action(Action.LEDGER_READ),
)
def keys(caller: CallerDep, steward: StewardDep) -> list[wire.LedgerKeyOut]:
    """Every key that signs or signed checkpoints, retired ones included, oldest first."""
    return [wire.LedgerKeyOut.model_validate(k) for k in steward.ledger.list_keys(caller)]


@router.get(
    "/ledger/proofs/inclusion",
    response_model=wire.InclusionProofOut,
    tags=["ledger"],
    openapi_extra=action(Action.LEDGER_READ),
)
def inclusion(
    caller: CallerDep,
    steward: StewardDep,
    seq: Annotated[int, Query(ge=1, description="The audit event's sequence number.")],
    size: Annotated[int | None, Query(ge=1, description="Tree size (default: latest checkpoint).")] = None,
) -> wire.InclusionProofOut:
    """Inclusion proof (RFC 9162 audit path) of event `seq`, leaf `seq - 1`, in the tree of `size`."""
    return wire.InclusionProofOut.of(steward.ledger.inclusion_proof(caller, seq, size))


@router.get(
    "/ledger/proofs/consistency",
    response_model=wire.ConsistencyProofOut,
    tags=["ledger"],
    openapi_extra=action(Action.LEDGER_READ),
)
def consistency(
    caller: CallerDep,
    steward: StewardDep,
    old_size: Annotated[int, Query(ge=0, description="Size of the older tree (a kept checkpoint).")],
    new_size: Annotated[
        int | None, Query(ge=0, description="Newer size (default: latest checkpoint).")
    ] = None,
) -> wire.ConsistencyProofOut:
    """Consistency proof (RFC 9162) that the tree of `old_size` is a prefix of the one of `new_size`."""
    return wire.ConsistencyProofOut.of(steward.ledger.consistency_proof(caller, old_size, new_size))


@router.get(
    "/models/{name}/versions/{version}/evidence",
    response_class=Response,
    tags=["evidence"],
    responses={200: {"content": {"application/json": {}}, "description": "The evidence bundle."}},
    openapi_extra=action(Action.EVIDENCE_READ),
)
def evidence(
    name: Annotated[str, Path(max_length=128)],
    version: Annotated[int, Path(ge=1)],
    caller: CallerDep,
    steward: StewardDep,
) -> Response:
    """The version's evidence bundle, one signed file an auditor verifies offline.

    A DSSE-signed in-toto statement holding the version's record, lineage and every audit event
    about it with inclusion proofs into a signed checkpoint. Verify it with
    `steward evidence verify FILE --key PUBKEY`."""
    bundle = steward.evidence.export(caller, name, version)
    filename = f"{name}-v{version}.evidence.json"
    return Response(
        bundle,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/audit/reads",
    response_model=wire.Page[wire.ReadAccessOut],
    tags=["audit"],
    openapi_extra=action(Action.ACCESS_LOG_READ),
)
def reads(
    caller: CallerDep,
    steward: StewardDep,
    principal: Annotated[str | None, Query(max_length=128)] = None,
    subject_type: Annotated[str | None, Query(max_length=64)] = None,
    subject_id: Annotated[str | None, Query(max_length=512)] = None,
    since: Instant = None,
    until: Instant = None,
    page_size: PageSize = 100,
    page_token: PageToken = None,
) -> wire.Page[wire.ReadAccessOut]:
    """Who read which record or evidence, when and from where, newest first."""
    where = ReadAccessFilter(
        principal=principal, subject_type=subject_type, subject_id=subject_id, since=since, until=until
    )
    page = steward.reads.list_reads(caller, where, page_size, page_token)
    return page_out(wire.ReadAccessOut, page)
