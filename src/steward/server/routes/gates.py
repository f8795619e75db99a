"""Automated gates of a version: its policy input, evaluations (decisions) and check results."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from steward import wire
from steward.domain import Action
from steward.server.deps import CallerDep, StewardDep, action
from steward.server.routes._common import PageSize, PageToken
from steward.wire import page_out

router = APIRouter(tags=["gates"])
ModelName = Annotated[str, Path(max_length=128)]
VersionNumber = Annotated[int, Path(ge=1)]
DecisionId = Annotated[int, Path(ge=1)]
DatasetName = Annotated[str, Path(max_length=128)]
DatasetVersion = Annotated[str, Path(max_length=128)]
Kind = Annotated[str | None, Query(max_length=64, description="Only checks of this kind.")]
VERSION = "/models/{name}/versions/{version}"


@router.get(
    f"{VERSION}/gate-input",
    response_model=dict[str, Any],
    openapi_extra=action(Action.GATE_READ),
)
def gate_input(
    name: ModelName,
    version: VersionNumber,
    caller: CallerDep,
    steward: StewardDep,
    target: Annotated[
        str, Query(min_length=1, max_length=64, description="The target environment.")
    ] = "production",
) -> dict[str, Any]:
    """The policy input document (schema version 2) the version would be evaluated on now."""
    return steward.gates.gate_input(caller, name, version, target)


@router.post(
    f"{VERSION}/evaluations",
    status_code=201,
    response_model=wire.PolicyDecisionOut,
    openapi_extra=action(Action.GATE_EVALUATE),
)
def evaluate(
    name: ModelName,
    version: VersionNumber,
    body: wire.EvaluationCreate,
    caller: CallerDep,
    steward: StewardDep,
) -> wire.PolicyDecisionOut:
    """Evaluate the assigned policy bundle for promoting the version to `target`, and record it.

    The decision (allow, every denial and warning, bundle and input digests, the input document)
    is stored in the audit trail. A denial is an answer (201 with `allow: false`), not an error.
    """
    return wire.PolicyDecisionOut.model_validate(steward.gates.evaluate(caller, name, version, body.target))


@router.get(
    f"{VERSION}/evaluations",
    response_model=wire.Page[wire.PolicyDecisionOut],
    openapi_extra=action(Action.GATE_READ),
)
def list_evaluations(
    name: ModelName,
    version: VersionNumber,
    caller: CallerDep,
    steward: StewardDep,
    page_size: PageSize = 50,
    page_token: PageToken = None,
) -> wire.Page[wire.PolicyDecisionOut]:
    """The version's decisions, newest first (without their input documents)."""
    page = steward.gates.list_decisions(caller, name, version, page_size, page_token)
    return page_out(wire.PolicyDecisionOut, page)


@router.get(
    f"{VERSION}/evaluations/{{decision_id}}",
    response_model=wire.PolicyDecisionOut,
    openapi_extra=action(Action.GATE_READ),
)
def get_evaluation(
    name: ModelName, version: VersionNumber, decision_id: DecisionId, caller: CallerDep, steward: StewardDep
) -> wire.PolicyDecisionOut:
    """One decision, with the input document it evaluated."""
    return wire.PolicyDecisionOut.model_validate(
        steward.gates.get_decision(caller, name, version, decision_id)
    )


@router.get(
    f"{VERSION}/evaluations/{{decision_id}}/replay",
    response_model=wire.ReplayOut,
    openapi_extra=action(Action.GATE_READ),
)
def replay_evaluation(
    name: ModelName, version: VersionNumber, decision_id: DecisionId, caller: CallerDep, steward: StewardDep
) -> wire.ReplayOut:
    """Evaluate a recorded decision again from its bundle digest and stored input document.

    `same` says whether the answer is the one recorded.
    """
    return wire.ReplayOut.model_validate(steward.gates.replay(caller, name, version, decision_id))


@router.post(
    f"{VERSION}/checks",
    status_code=201,
    response_model=wire.CheckResultOut,
    openapi_extra=action(Action.CHECK_RECORD),
)
def record_check(
    name: ModelName, version: VersionNumber, body: wire.CheckCreate, caller: CallerDep, steward: StewardDep
) -> wire.CheckResultOut:
    """Record a check of the version (documentation and lineage: computed by Steward).

    Fairness and data quality are `computed` when `provenance` names the file `steward check`
    computed them from (checked against the values), and `reported` otherwise.
    """
    result = steward.checks.record(
        caller,
        name,
        version,
        body.kind,
        body.status,
        body.values,
        body.messages,
        wire.provenance_of(body.provenance),
    )
    return wire.CheckResultOut.model_validate(result)


@router.get(
    f"{VERSION}/checks",
    response_model=wire.Page[wire.CheckResultOut],
    openapi_extra=action(Action.CHECK_READ),
)
def list_checks(
    name: ModelName,
    version: VersionNumber,
    caller: CallerDep,
    steward: StewardDep,
    kind: Kind = None,
    page_size: PageSize = 50,
    page_token: PageToken = None,
) -> wire.Page[wire.CheckResultOut]:
    """The version's check results, newest first."""
    return page_out(
        wire.CheckResultOut, steward.checks.list(caller, name, version, kind, page_size, page_token)
    )


@router.post(
    "/datasets/{name}/versions/{version}/checks",
    status_code=201,
    response_model=wire.CheckResultOut,
    openapi_extra=action(Action.CHECK_RECORD),
)
def record_dataset_check(
    name: DatasetName, version: DatasetVersion, body: wire.CheckCreate, caller: CallerDep, steward: StewardDep
) -> wire.CheckResultOut:
    """Record a check (data quality) of a dataset version, seen by every model version using it."""
    result = steward.checks.record_dataset(
        caller,
        name,
        version,
        body.kind,
        body.status,
        body.values,
        body.messages,
        wire.provenance_of(body.provenance),
    )
    return wire.CheckResultOut.model_validate(result)


@router.get(
    "/datasets/{name}/versions/{version}/checks",
    response_model=wire.Page[wire.CheckResultOut],
    openapi_extra=action(Action.CHECK_READ),
)
def list_dataset_checks(
    name: DatasetName,
    version: DatasetVersion,
    caller: CallerDep,
    steward: StewardDep,
    kind: Kind = None,
    page_size: PageSize = 50,
    page_token: PageToken = None,
) -> wire.Page[wire.CheckResultOut]:
    """The dataset version's check results, newest first."""
    return page_out(
        wire.CheckResultOut, steward.checks.list_dataset(caller, name, version, kind, page_size, page_token)
    )
