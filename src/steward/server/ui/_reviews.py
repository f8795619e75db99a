"""The review queue, with a form to sign each waiting stage the viewer may sign, and the reviews
part of the model page.

The queue is :meth:`WorkflowService.pending` (the queue of ``GET /api/v1/reviews/pending`` and
``steward review queue``), and a form's post calls :meth:`WorkflowService.review`, the use case
behind ``POST /api/v1/models/{name}/versions/{v}/reviews``: the same role table, the same
separation-of-duties rules of the policy bundle, the same order of stages. A refusal shows the
queue again with the reason beside the form (each rule that refused, each field that is wrong) and
the status of the one code→status table; a sign-off redirects back to the queue (POST, redirect,
GET) with a one-time confirmation.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Form, Path, Query, Request
from starlette.responses import RedirectResponse, Response

from steward import wire
from steward.domain import (
    LONG_TEXT_MAX,
    STAGE_LABELS,
    STAGE_ORDER,
    WAITING_STATES,
    Action,
    PendingReview,
    Review,
    ReviewDecision,
    ReviewStage,
    Role,
    SignoffStatus,
    next_stage,
)
from steward.errors import InvalidInput, StewardError
from steward.server.errors import STATUS
from steward.server.ui._session import Flash
from steward.server.ui._web import (
    ROLE_NAMES,
    PageRoute,
    Viewer,
    ViewerDep,
    model_href,
    query_string,
    render,
    steward_of,
    ui_state,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

QUEUE = "/reviews"
QUEUE_PAGE = 50
ENVIRONMENTS = ("staging", "production")
FormKey = tuple[str, int, str]  # (model, version, stage) of one form

DECISION_DONE = {
    ReviewDecision.APPROVED: "approved",
    ReviewDecision.APPROVED_WITH_CONDITIONS: "approved",  # the message names the conditions
    ReviewDecision.REJECTED: "rejected",
}

# What each built-in separation-of-duties rule means, said to the person it refused.
SEPARATION_PLAIN = {
    "separation.registrant": "You registered this version",
    "separation.run_author": "You are the author of its training run",
    "separation.one_stage": "You signed another stage of this version",
    "separation.stage_role": "This stage is signed in a role you do not hold",
    "policy.error": "The separation-of-duties rules did not evaluate, so nobody may sign",
}

_TITLES = {
    "separation_of_duties": "Refused by separation of duties",
    "policy_violation": "Refused by the gates",
    "invalid_input": "Not signed: the form needs a change",
    "invalid_transition": "Not signed: this stage cannot be signed now",
    "permission_denied": "Not allowed",
    "not_found": "Not found",
}

_FORM_FIELDS = ("stage", "decision", "comment", "conditions", "evidence")


# -- refusals, as the page shows them ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a form's post was not acted on: a title, the service's message, each rule that refused
    (``(rule, in plain words, the rule's own message)``) and each form field that is wrong."""

    status: int
    code: str
    title: str
    message: str
    rules: tuple[tuple[str, str, str], ...] = ()
    fields: Mapping[str, str] = field(default_factory=dict)


def _field_message(error: Mapping[str, Any]) -> tuple[str, str]:
    """``(form field, what is wrong)`` of one invalid-input error of a review."""
    path, rule = str(error.get("field", "")), str(error.get("rule", ""))
    message = str(error.get("message", "invalid")).removeprefix("Value error, ")
    name = path.split("[", 1)[0].split(".", 1)[0]
    line = path[len(name) :].strip("[]")
    where = f"line {int(line) + 1}: " if line.isdigit() else ""
    if name == "comment" and rule in ("string_too_short", "missing"):
        return name, "enter a comment: what you checked and why you decided so"
    if name == "evidence" and rule == "string_pattern_mismatch":
        return name, f"{where}not a link; give one link per line, such as https://wiki.example.com/page"
    if name in ("stage", "decision") and rule == "enum":
        allowed = ", ".join(ReviewStage if name == "stage" else ReviewDecision)
        return name, f"must be one of {allowed}"
    return (name if name in _FORM_FIELDS else "form"), where + message


def refusal_of(exc: StewardError) -> Refusal:
    details = exc.details or {}
    rules: list[tuple[str, str, str]] = []
    fields: dict[str, str] = {}
    if exc.code == "separation_of_duties":
        for v in details.get("violations", []):
            rule = str(v.get("rule", ""))
            text = str(v.get("message", "")).removeprefix(f"{rule}: ")
            rules.append((rule, SEPARATION_PLAIN.get(rule, ""), text))
        if not rules:
            for rule in details.get("rules", []):
                rules.append((str(rule), SEPARATION_PLAIN.get(str(rule), ""), exc.message))
    elif exc.code == "policy_violation":
        for r in details.get("reasons", []):
            rule = str(r.get("rule", ""))
            rules.append((rule, "", str(r.get("message", "")).removeprefix(f"{rule}: ")))
    elif exc.code == "invalid_input":
        for e in details.get("errors", []):
            name, text = _field_message(e)
            fields.setdefault(name, text)
    return Refusal(
        status=STATUS.get(exc.code, 500),
        code=exc.code,
        title=_TITLES.get(exc.code, "Not signed"),
        message=exc.message,
        rules=tuple(rules),
        fields=fields,
    )


# -- the queue ---------------------------------------------------------------------------------


def stage_of(value: str | None) -> ReviewStage | None:
    """The queue's stage filter; empty means the viewer's own stages."""
    if not value:
        return None
    try:
        return ReviewStage(value)
    except ValueError:
        allowed = ", ".join(ReviewStage)
        raise InvalidInput.field("stage", "choice", f"must be one of {allowed} (got {value!r})") from None


def may_sign(viewer: Viewer, item: PendingReview) -> bool:
    """Whether the viewer holds a role that signs the item's stage (the separation-of-duties
    rules of the bundle still decide when the form is posted)."""
    return viewer.may(Action.REVIEW_SIGN) and bool(viewer.principal.roles & set(item.roles))


def same_person(a: str, b: str) -> bool:
    return bool(a.strip()) and a.strip().lower() == b.strip().lower()


def form_id(item: PendingReview) -> str:
    return f"sign-{item.model}-v{item.version}-{item.stage.value}".replace("/", "-").replace(" ", "-")


def queue_page(
    request: Request,
    viewer: Viewer,
    stage: ReviewStage | None,
    page_token: str | None,
    *,
    refusal: Refusal | None = None,
    target: FormKey | None = None,
    values: Mapping[str, str] | None = None,
) -> Response:
    steward = steward_of(request)
    page = steward.reviews.pending(viewer.caller, stage, QUEUE_PAGE, page_token)
    items = list(page.items)
    signs = viewer.may(Action.REVIEW_SIGN)
    mine = [s for s in STAGE_ORDER if any(i.stage is s and may_sign(viewer, i) for i in items)]
    current = {"stage": stage.value if stage else None}
    shown = target is not None and any(  # the refusal goes beside its form, if the page shows one
        (i.model, i.version, i.stage.value) == target and may_sign(viewer, i) for i in items
    )
    context = {
        "items": items,
        "stage": stage,
        "stages": list(ReviewStage),
        "stage_labels": STAGE_LABELS,
        "role_names": ROLE_NAMES,
        "signs": signs,
        "mine": mine,
        "may_sign": lambda item: may_sign(viewer, item),
        "registrant": lambda item: same_person(item.registered_by, viewer.principal.name),
        "needed": lambda item: steward.workflow.stages_for(item.risk_tier, "production"),
        "form_id": form_id,
        "next_token": page.next_token,
        "first_page": page_token is None,
        "back": QUEUE + query_string({**current, "page_token": page_token}),
        "link": lambda **changes: QUEUE + query_string({**current, **changes}),
        "model_href": model_href,
        "refusal": refusal,
        "target": target,
        "target_shown": shown,
        "values": values or {},
    }
    return render(request, "reviews.html", context, status=refusal.status if refusal else 200)


@router.get(QUEUE)
def review_queue(
    request: Request,
    viewer: ViewerDep,
    stage: Annotated[str | None, Query(max_length=64)] = None,
    page_token: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    """What waits for the viewer's roles (one stage, whoever signs it, with ``stage``), oldest first."""
    return queue_page(request, viewer, stage_of(stage), page_token)


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def queue_of(back: str) -> tuple[str, ReviewStage | None, str | None]:
    """The queue page a form came from (only ever a page of the queue), and its filter and page."""
    where = urlsplit(back)
    if where.path != QUEUE or where.netloc or where.scheme:
        return QUEUE, None, None
    params = parse_qs(where.query)
    stage = None
    with contextlib.suppress(InvalidInput):
        stage = stage_of(params.get("stage", [""])[0])
    token = params.get("page_token", [None])[0]
    return QUEUE + query_string({"stage": stage.value if stage else None, "page_token": token}), stage, token


TextField = Annotated[str, Form(max_length=LONG_TEXT_MAX)]
ListField = Annotated[str, Form(max_length=32 * LONG_TEXT_MAX)]


@router.post("/models/{name}/versions/{version}/reviews")
def sign_stage(
    request: Request,
    viewer: ViewerDep,
    name: Annotated[str, Path(max_length=128)],
    version: Annotated[int, Path(ge=1)],
    stage: Annotated[str, Form(max_length=64)] = "",
    decision: Annotated[str, Form(max_length=64)] = "",
    comment: TextField = "",
    conditions: ListField = "",
    evidence: ListField = "",
    back: Annotated[str, Form(max_length=2048)] = QUEUE,
) -> Response:
    """Sign one stage of a version from the queue (the REST API's use case, with its refusals)."""
    steward = steward_of(request)
    queue, queue_stage, page_token = queue_of(back)
    body = {
        "stage": stage,
        "decision": decision,
        "comment": comment,
        "conditions": lines(conditions),
        "evidence": [link for line in lines(evidence) for link in line.split()],
    }
    try:
        spec: wire.ReviewCreate = wire.parse(wire.ReviewCreate, body)
        review = steward.reviews.review(viewer.caller, name, version, spec)
    except StewardError as exc:
        return queue_page(
            request,
            viewer,
            queue_stage,
            page_token,
            refusal=refusal_of(exc),
            target=(name, version, stage),
            values={"comment": comment, "conditions": conditions, "evidence": evidence},
        )
    response = RedirectResponse(queue, status_code=303)
    ui_state(request).codec.write_flash(
        request,
        response,
        viewer.session,
        Flash(
            signed_message(review),
            f"{model_href(name)}?version={version}#version-reviews",
            "See it on the model page",
        ),
    )
    return response


def signed_message(review: Review) -> str:
    """The confirmation of a sign-off: what was decided, in which role, and where it is recorded."""
    count = len(review.conditions)
    conditions = f", with {count} open condition{'' if count == 1 else 's'}" if count else ""
    return (
        f"You {DECISION_DONE[review.decision]} {STAGE_LABELS[review.stage]} of {review.model} "
        f"v{review.version} as {ROLE_NAMES[review.role].lower()}{conditions} "
        f"(review {review.id}, audit event {review.audit_seq})."
    )


@router.get("/models/{name}/versions/{version}/reviews")
def reviews_of_version(
    name: Annotated[str, Path(max_length=128)], version: Annotated[int, Path(ge=1)], viewer: ViewerDep
) -> Response:
    """Where a sign-in after an expired session lands: the version's reviews on its model page."""
    return RedirectResponse(f"{model_href(name)}?version={version}#version-reviews", status_code=303)


# -- the model page's reviews --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StageRow:
    """One stage of a version on the model page: who signs it, which environments need it, its
    reviews newest first (the first is the decision in force), and whether it waits in the queue."""

    stage: ReviewStage
    roles: tuple[Role, ...]
    needed_for: tuple[str, ...]
    reviews: tuple[Review, ...]
    waiting: bool = False

    @property
    def current(self) -> Review | None:
        return self.reviews[0] if self.reviews else None


def stage_rows(status: SignoffStatus) -> list[StageRow]:
    """The stages the version's workflow has (and any other stage someone signed), in order."""
    by_stage: dict[ReviewStage, list[Review]] = {}
    for review in sorted(status.reviews, key=lambda r: (r.created_at, r.id), reverse=True):
        by_stage.setdefault(review.stage, []).append(review)
    needed = {s for stages in status.stages.values() for s in stages}
    waits = (
        next_stage(status.stages.get("production", ()), [r.signed() for r in status.reviews])
        if status.version_state in WAITING_STATES
        else None
    )
    return [
        StageRow(
            stage=stage,
            roles=status.roles.get(stage, ()),
            needed_for=tuple(env for env in ENVIRONMENTS if stage in status.stages.get(env, ())),
            reviews=tuple(by_stage.get(stage, ())),
            waiting=stage is waits,
        )
        for stage in STAGE_ORDER
        if stage in needed or stage in by_stage
    ]


def open_conditions(status: SignoffStatus) -> int:
    return sum(c.open for r in status.reviews for c in r.conditions)


def link_of(uri: str) -> str | None:
    """An evidence link as a link to follow, when it is a web address (anything else is shown as
    text: a link never runs a script or leaves the web)."""
    return uri if uri.startswith(("https://", "http://")) else None
