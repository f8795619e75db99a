"""The approval workflow: reviews and their conditions, the review queue, periodic reviews and
attestations, promotion, rollback, retirement, deprecation and the deployment history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from steward import wire
from steward.domain import Action, ReviewStage
from steward.server.deps import CallerDep, StewardDep, action
from steward.server.routes._common import PageSize, PageToken
from steward.wire import page_out

router = APIRouter(tags=["workflow"])
ModelName = Annotated[str, Path(max_length=128)]
VersionNumber = Annotated[int, Path(ge=1)]
ConditionId = Annotated[int, Path(ge=1)]
VERSION = "/models/{name}/versions/{version}"


# -- reviews -----------------------------------------------------------------------------------


@router.post(
    f"{VERSION}/reviews",
    status_code=201,
    response_model=wire.ReviewOut,
    openapi_extra=action(Action.REVIEW_SIGN),
)
def record_review(
    name: ModelName, version: VersionNumber, body: wire.ReviewCreate, caller: CallerDep, steward: StewardDep
) -> wire.ReviewOut:
    """Sign one workflow stage of the version: approved, rejected or approved with conditions.

    Refused with 403 `separation_of_duties` (naming each rule) when the caller registered the
    version, trained it, signed another of its stages or lacks the stage's role; with 409
    `invalid_transition` when an earlier stage is not approved yet.
    """
    return wire.ReviewOut.model_validate(steward.reviews.review(caller, name, version, body))


@router.get(
    f"{VERSION}/reviews",
    response_model=wire.Page[wire.ReviewOut],
    openapi_extra=action(Action.REVIEW_READ),
)
def list_reviews(
    name: ModelName,
    version: VersionNumber,
    caller: CallerDep,
    steward: StewardDep,
    page_size: PageSize = 50,
    page_token: PageToken = None,
) -> wire.Page[wire.ReviewOut]:
    """The version's reviews, oldest first."""
    found = steward.reviews.list_reviews(caller, name, version, page_size, page_token)
    return page_out(wire.ReviewOut, found)


@router.get(
    f"{VERSION}/conditions",
    response_model=wire.Page[wire.ReviewConditionOut],
    openapi_extra=action(Action.REVIEW_READ),
)
def list_conditions(
    name: ModelName,
    version: VersionNumber,
    caller: CallerDep,
    steward: StewardDep,
    state: Annotated[str, Query(pattern="^(open|all)$", description="`open` (default) or `all`.")] = "open",
    page_size: PageSize = 50,
    page_token: PageToken = None,
) -> wire.Page[wire.ReviewConditionOut]:
    """The conditions the version's approvals were given under, oldest first."""
    found = steward.reviews.list_conditions(caller, name, version, state == "open", page_size, page_token)
    return page_out(wire.ReviewConditionOut, found)


@router.post(
    "/conditions/{condition_id}/meet",
    response_model=wire.ReviewConditionOut,
    openapi_extra=action(Action.REVIEW_CONDITION_RESOLVE),
)
def meet_condition(
    condition_id: ConditionId, body: wire.ConditionMeet, caller: CallerDep, steward: StewardDep
) -> wire.ReviewConditionOut:
    """Mark an open condition met, saying how.

    Refused with 403 `separation_of_duties` (rules `separation.condition_registrant`,
    `separation.condition_run_author`) when the caller registered the version or trained it.
    """
    return wire.ReviewConditionOut.model_validate(steward.reviews.meet_condition(caller, condition_id, body))


@router.get(
    "/reviews/pending",
    response_model=wire.Page[wire.PendingReviewOut],
    openapi_extra=action(Action.REVIEW_READ),
)
def pending_reviews(
    caller: CallerDep,
    steward: StewardDep,
    stage: ReviewStage | None = None,
    page_size: PageSize = 50,
    page_token: PageToken = None,
) -> wire.Page[wire.PendingReviewOut]:
    """What waits for the caller's roles (everything, for a caller who signs no stage), oldest
    first, with how long each has waited."""
    page = steward.reviews.pending(caller, stage, page_size, page_token)
    return page_out(wire.PendingReviewOut, page)


@router.get(
    "/reviews/due",
    response_model=wire.Page[wire.ReviewDueOut],
    openapi_extra=action(Action.REVIEW_READ),
)
def due_reviews(
    caller: CallerDep,
    steward: StewardDep,
    state: Annotated[
        str, Query(pattern="^(overdue|all)$", description="`overdue` (default) or `all` models.")
    ] = "overdue",
    page_size: PageSize = 50,
    page_token: PageToken = None,
) -> wire.Page[wire.ReviewDueOut]:
    """Models whose periodic review or owner attestation is overdue, soonest due first."""
    found = steward.reviews.due(caller, state == "overdue", page_size, page_token)
    return page_out(wire.ReviewDueOut, found)


@router.post(
    "/models/{name}/attestations",
    status_code=201,
    response_model=wire.AttestationOut,
    openapi_extra=action(Action.MODEL_ATTEST),
)
def attest(
    name: ModelName, body: wire.AttestationCreate, caller: CallerDep, steward: StewardDep
) -> wire.AttestationOut:
    """The owner attests that the model's governance record is current.

    The owner is the principal named in the record's `owner`, or a `business_owner` (for an
    owner that names a team); anyone else is refused with 403 `separation_of_duties` (rule
    `separation.attestation_owner`).
    """
    return wire.AttestationOut.model_validate(steward.reviews.attest(caller, name, body))


# -- promotion, rollback, retirement, deprecation ------------------------------------------------


@router.post(
    f"{VERSION}/promotions",
    status_code=201,
    response_model=wire.PromotionOut,
    openapi_extra=action(Action.PROMOTION_PROMOTE),
)
def promote(
    name: ModelName,
    version: VersionNumber,
    body: wire.PromotionCreate,
    caller: CallerDep,
    steward: StewardDep,
) -> wire.PromotionOut:
    """Promote the version to `target` through the gates and the sign-offs the target needs.

    Denied: 409 `policy_violation` with every reason in `details.reasons`; the denial is recorded
    (`promotion.denied`) and can be read back from the version's promotions.
    """
    return wire.PromotionOut.model_validate(steward.promotions.promote(caller, name, version, body))


@router.get(
    f"{VERSION}/promotions",
    response_model=wire.Page[wire.PromotionOut],
    openapi_extra=action(Action.DEPLOYMENT_READ),
)
def list_promotions(
    name: ModelName,
    version: VersionNumber,
    caller: CallerDep,
    steward: StewardDep,
    page_size: PageSize = 50,
    page_token: PageToken = None,
) -> wire.Page[wire.PromotionOut]:
    """The version's promotion and rollback requests, allowed and denied, oldest first."""
    found = steward.promotions.list_promotions(caller, name, version, page_size, page_token)
    return page_out(wire.PromotionOut, found)


@router.post(
    "/models/{name}/rollbacks",
    status_code=201,
    response_model=wire.PromotionOut,
    openapi_extra=action(Action.DEPLOYMENT_ROLLBACK),
)
def rollback(
    name: ModelName, body: wire.RollbackCreate, caller: CallerDep, steward: StewardDep
) -> wire.PromotionOut:
    """Put the previous approved version back in one step (refused if its approvals were revoked)."""
    return wire.PromotionOut.model_validate(steward.promotions.rollback(caller, name, body))


@router.post(
    "/models/{name}/retirement",
    status_code=201,
    response_model=wire.RetirementOut,
    openapi_extra=action(Action.MODEL_RETIRE),
)
def retire(
    name: ModelName, body: wire.RetirementCreate, caller: CallerDep, steward: StewardDep
) -> wire.RetirementOut:
    """Retire the model: every deployment ends, the reason and date are recorded, the record is
    read-only from then on."""
    return wire.RetirementOut.model_validate(steward.promotions.retire(caller, name, body))


@router.post(
    f"{VERSION}/deprecation",
    response_model=wire.VersionOut,
    openapi_extra=action(Action.VERSION_DEPRECATE),
)
def deprecate(
    name: ModelName,
    version: VersionNumber,
    body: wire.DeprecationCreate,
    caller: CallerDep,
    steward: StewardDep,
) -> wire.VersionOut:
    """Deprecate a version that is deployed nowhere (it is not deployed again)."""
    return wire.VersionOut.model_validate(steward.promotions.deprecate(caller, name, version, body))


@router.get(
    "/models/{name}/history",
    response_model=wire.ModelHistoryOut,
    openapi_extra=action(Action.DEPLOYMENT_READ),
)
def history(
    name: ModelName,
    caller: CallerDep,
    steward: StewardDep,
    at: Annotated[
        str | None,
        Query(
            max_length=64,
            description="A time with its zone, or a date (the end of that day, UTC): only what was "
            "deployed then.",
        ),
    ] = None,
    environment: Annotated[str, Query(min_length=1, max_length=64)] = "production",
) -> wire.ModelHistoryOut:
    """Which version was in `environment` (on a date, or over time), who approved it and on what
    evidence."""
    when = wire.history_instant(at) if at is not None else None
    return wire.ModelHistoryOut.model_validate(steward.reviews.history(caller, name, when, environment))
