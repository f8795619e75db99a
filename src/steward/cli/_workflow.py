"""``steward review …``, ``promote``, ``rollback``, ``retire``, ``version deprecate``,
``model attest`` and ``model history``: the approval workflow from the command line.

A refused promotion or rollback exits 7 (``policy_violation``) after printing every reason; a
sign-off refused by separation of duties exits 10 (``separation_of_duties``) naming the rule.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape

from steward import wire
from steward.cli._app import app, state_of
from steward.cli._models import model_app, version_app
from steward.cli._output import Json, Limit, emit_json, out, record, table
from steward.cli._workflow_ops import WorkflowOps
from steward.domain import ReviewDecision, ReviewStage
from steward.errors import PolicyViolation

review_app = typer.Typer(
    help="The approval workflow: sign stages, the review queue, periodic reviews, conditions.",
    no_args_is_help=True,
)
app.add_typer(review_app, name="review")

Stage = Annotated[ReviewStage, typer.Option("--stage", help="The workflow stage signed.")]
Comment = Annotated[str, typer.Option("--comment", help="What the review found (required).")]
Evidence = Annotated[
    list[str] | None, typer.Option("--evidence", help="A link to evidence relied on (URL; repeatable).")
]
ActAs = Annotated[
    str | None,
    typer.Option(
        "--as",
        help="Local database only: act as this stored principal (signing needs the stage's role).",
        show_default=False,
    ),
]
Reason = Annotated[str, typer.Option("--reason", help="Why (required; kept in the audit trail).")]


def _ops(ctx: typer.Context, act_as: str | None = None) -> WorkflowOps:
    return WorkflowOps(state_of(ctx).backend(), act_as)


def waited(seconds: int) -> str:
    """``3d 4h``, ``5h 10m``, ``12m``: how long something has waited."""
    days, rest = divmod(max(0, seconds), 86_400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def print_reasons(title: str, mark: str, reasons: list[dict[str, Any]]) -> None:
    if not reasons:
        return
    out.print(f"{title}:")
    for reason in reasons:
        rule = str(reason.get("rule", ""))
        message = escape(str(reason.get("message", "")).removeprefix(rule + ": "))
        out.print(f"  {mark} [bold]{escape(rule)}[/bold]: {message}")
        out.print(
            f"      measured {escape(_value(reason.get('measured')))}; "
            f"required {escape(_value(reason.get('required')))}"
        )


def _refused(error: PolicyViolation, as_json: bool, what: str) -> typer.Exit:
    """Print a refused promotion or rollback with every reason; the exit to raise."""
    if as_json:
        emit_json({"error": error.to_dict()})
    else:
        details = error.details
        where = f"{details.get('model')} v{details.get('version')} to {details.get('environment')}"
        ids = f"{what} {details.get('promotion')}"
        if details.get("gate_decision"):
            ids += f", gate decision {details['gate_decision']}"
        out.print(
            f"[red]DENIED[/red]: {what} of {escape(where)} ({ids}, audit event {details.get('audit_seq')})"
        )
        print_reasons("denied because", "✗", list(details.get("reasons", [])))
        print_reasons("warnings", "!", list(details.get("warnings", [])))
    return typer.Exit(PolicyViolation.exit_code)


# -- reviews -----------------------------------------------------------------------------------


def _sign(
    ctx: typer.Context,
    model: str,
    version: int,
    body: dict[str, Any],
    act_as: str | None,
    as_json: bool,
) -> None:
    spec = wire.parse(wire.ReviewCreate, body)
    review = _ops(ctx, act_as).review(model, version, spec)
    if as_json:
        emit_json(review)
        return
    out.print(
        f"{review.decision.value.replace('_', ' ')}: [bold]{review.stage.value}[/bold] of {model} v{version} "
        f"by {review.reviewer} as {review.role.value} (review {review.id}, audit event {review.audit_seq})"
    )
    for condition in review.conditions:
        out.print(f"  condition {condition.id}: {escape(condition.text)}")


@review_app.command("approve")
def review_approve(
    ctx: typer.Context,
    model: str,
    version: int,
    stage: Stage,
    comment: Comment,
    condition: Annotated[
        list[str] | None,
        typer.Option("--condition", help="Approve on this condition (repeatable; open until met)."),
    ] = None,
    evidence: Evidence = None,
    act_as: ActAs = None,
    as_json: Json = False,
) -> None:
    """Approve a stage of MODEL VERSION (with --condition: approved with conditions).

    Exits 10 (separation_of_duties) when the caller registered or trained the version, signed
    another of its stages, or lacks the stage's role; 6 when an earlier stage is not approved.
    """
    decision = ReviewDecision.APPROVED_WITH_CONDITIONS if condition else ReviewDecision.APPROVED
    body = {
        "stage": stage.value,
        "decision": decision.value,
        "comment": comment,
        "conditions": condition or [],
        "evidence": evidence or [],
    }
    _sign(ctx, model, version, body, act_as, as_json)


@review_app.command("reject")
def review_reject(
    ctx: typer.Context,
    model: str,
    version: int,
    stage: Stage,
    comment: Comment,
    evidence: Evidence = None,
    act_as: ActAs = None,
    as_json: Json = False,
) -> None:
    """Reject a stage of MODEL VERSION (after an approval of that stage: revoke it)."""
    body = {"stage": stage.value, "decision": "rejected", "comment": comment, "evidence": evidence or []}
    _sign(ctx, model, version, body, act_as, as_json)


@review_app.command("list")
def review_list(
    ctx: typer.Context, model: str, version: int, limit: Limit = 1000, as_json: Json = False
) -> None:
    """The reviews of MODEL VERSION, oldest first."""
    reviews = _ops(ctx).list_reviews(model, version, limit)
    if as_json:
        emit_json(reviews)
        return
    table(
        reviews,
        [
            ("id", lambda r: r.id),
            ("time", lambda r: f"{r.created_at:%Y-%m-%d %H:%M}"),
            ("stage", lambda r: r.stage.value),
            ("decision", lambda r: r.decision.value),
            ("reviewer", lambda r: f"{r.reviewer} ({r.role.value})"),
            ("conditions", lambda r: sum(c.open for c in r.conditions) or "-"),
            ("comment", lambda r: r.comment),
        ],
    )


@review_app.command("queue")
def review_queue(
    ctx: typer.Context,
    stage: Annotated[ReviewStage | None, typer.Option("--stage", help="Only this stage.")] = None,
    limit: Annotated[int, typer.Option(help="Most items to show.", min=1)] = 100,
    act_as: ActAs = None,
    as_json: Json = False,
) -> None:
    """What waits for a sign-off by your roles (everything, if you sign no stage), oldest first."""
    items = _ops(ctx, act_as).queue(stage, limit)
    if as_json:
        emit_json(items)
        return
    table(
        items,
        [
            ("model", lambda p: p.model),
            ("version", lambda p: p.version),
            ("tier", lambda p: p.risk_tier.value),
            ("stage", lambda p: p.stage.value),
            ("signed by", lambda p: ", ".join(r.value for r in p.roles)),
            ("waiting", lambda p: waited(p.waited_seconds)),
            ("since", lambda p: f"{p.waiting_since:%Y-%m-%d %H:%M}"),
            ("registered by", lambda p: p.registered_by),
        ],
    )


@review_app.command("due")
def review_due(
    ctx: typer.Context,
    show_all: Annotated[bool, typer.Option("--all", help="Every model, not only the overdue ones.")] = False,
    limit: Limit = 1000,
    as_json: Json = False,
) -> None:
    """Models whose periodic review or owner attestation is overdue, soonest due first."""
    items = _ops(ctx).due(overdue_only=not show_all, limit=limit)
    if as_json:
        emit_json(items)
        return
    table(
        items,
        [
            ("model", lambda d: d.model),
            ("tier", lambda d: d.risk_tier.value),
            ("owner", lambda d: d.owner),
            ("cadence", lambda d: f"{d.cadence_months} months"),
            (
                "review due",
                lambda d: f"{d.review_due_at:%Y-%m-%d}" + (" OVERDUE" if d.review_overdue else ""),
            ),
            (
                "attestation due",
                lambda d: f"{d.attestation_due_at:%Y-%m-%d}" + (" OVERDUE" if d.attestation_overdue else ""),
            ),
            ("in production", lambda d: d.production_version),
        ],
    )


@review_app.command("conditions")
def review_conditions(
    ctx: typer.Context,
    model: str,
    version: int,
    show_all: Annotated[bool, typer.Option("--all", help="Met conditions too.")] = False,
    limit: Limit = 1000,
    as_json: Json = False,
) -> None:
    """The conditions MODEL VERSION's approvals were given under (open ones, unless --all)."""
    items = _ops(ctx).conditions(model, version, open_only=not show_all, limit=limit)
    if as_json:
        emit_json(items)
        return
    table(
        items,
        [
            ("id", lambda c: c.id),
            ("stage", lambda c: c.stage.value if c.stage else ""),
            ("condition", lambda c: c.text),
            ("state", lambda c: "open" if c.open else f"met by {c.met_by} {c.met_at:%Y-%m-%d}"),
            ("note", lambda c: c.note),
        ],
    )


@review_app.command("meet")
def review_meet(
    ctx: typer.Context,
    condition_id: int,
    note: Annotated[str, typer.Option("--note", help="How the condition was met (required).")],
    act_as: ActAs = None,
    as_json: Json = False,
) -> None:
    """Mark condition CONDITION_ID met.

    Exits 10 (separation_of_duties) when the caller registered the version or trained it.
    """
    met = _ops(ctx, act_as).meet(condition_id, wire.parse(wire.ConditionMeet, {"note": note}))
    emit_json(met) if as_json else out.print(f"condition {met.id} of {met.model} v{met.version} met")


# -- promotion, rollback, retirement, deprecation ------------------------------------------------


@app.command("promote")
def promote(
    ctx: typer.Context,
    model: str,
    version: int,
    to: Annotated[str, typer.Option("--to", help="The target environment (production, staging, …).")],
    reason: Reason,
    endpoint: Annotated[
        str | None, typer.Option(help="Where it runs there (default: where the replaced version ran).")
    ] = None,
    as_json: Json = False,
) -> None:
    """Promote MODEL VERSION through the gates and the sign-offs the target needs.

    Exits 0 when promoted, 7 (policy_violation) when denied, printing every reason.
    """
    spec = wire.parse(wire.PromotionCreate, {"target": to, "reason": reason, "endpoint": endpoint})
    try:
        done = _ops(ctx).promote(model, version, spec)
    except PolicyViolation as error:
        raise _refused(error, as_json, "promotion") from None
    if as_json:
        emit_json(done)
        return
    deployment = done.deployment
    replaced = f", replacing v{done.replaced.version}" if done.replaced else ""
    out.print(
        f"[green]PROMOTED[/green]: {model} v{version} to {done.environment} (deployment "
        f"{deployment.id if deployment else '-'}{replaced}; gate decision {done.gate_decision})"
    )
    print_reasons("warnings", "!", [w.model_dump() for w in done.warnings])


@app.command("rollback")
def rollback(
    ctx: typer.Context,
    model: str,
    to: Annotated[str, typer.Option("--to", help="A version number, or 'previous'.")],
    reason: Reason,
    environment: Annotated[str, typer.Option("--env", help="The environment.")] = "production",
    as_json: Json = False,
) -> None:
    """Put back the previous approved version of MODEL (or --to VERSION) in one step.

    Exits 7 (policy_violation) when the target version's approvals were revoked.
    """
    target: int | str = int(to) if to.isdigit() else to
    spec = wire.parse(wire.RollbackCreate, {"to": target, "environment": environment, "reason": reason})
    try:
        done = _ops(ctx).rollback(model, spec)
    except PolicyViolation as error:
        raise _refused(error, as_json, "rollback") from None
    if as_json:
        emit_json(done)
        return
    replaced = f" (was v{done.replaced.version})" if done.replaced else ""
    out.print(
        f"[green]ROLLED BACK[/green]: {model} in {done.environment} is v{done.version} again{replaced}, "
        f"deployment {done.deployment.id if done.deployment else '-'}"
    )


@app.command("retire")
def retire(ctx: typer.Context, model: str, reason: Reason, as_json: Json = False) -> None:
    """Retire MODEL: every deployment ends; the record stays, read-only, forever."""
    done = _ops(ctx).retire(model, wire.parse(wire.RetirementCreate, {"reason": reason}))
    if as_json:
        emit_json(done)
        return
    ended = ", ".join(str(i) for i in done.ended_deployments) or "none"
    out.print(f"retired {model} on {done.retired_at:%Y-%m-%d} (deployments ended: {ended})")


@version_app.command("deprecate")
def version_deprecate(
    ctx: typer.Context, model: str, version: int, reason: Reason, as_json: Json = False
) -> None:
    """Deprecate MODEL VERSION (refused while it is deployed)."""
    done = _ops(ctx).deprecate(model, version, wire.parse(wire.DeprecationCreate, {"reason": reason}))
    emit_json(done) if as_json else out.print(f"deprecated {model} v{version}")


@model_app.command("attest")
def model_attest(
    ctx: typer.Context,
    model: str,
    statement: Annotated[str, typer.Option(help="What you attest (default: the record is current).")] = "",
    act_as: ActAs = None,
    as_json: Json = False,
) -> None:
    """Attest, as MODEL's owner, that its governance record is current.

    The owner is the principal named in the record's owner field, or a business_owner (for an
    owner that names a team); anyone else exits 10 (separation_of_duties).
    """
    done = _ops(ctx, act_as).attest(model, wire.parse(wire.AttestationCreate, {"statement": statement}))
    if as_json:
        emit_json(done)
        return
    out.print(f"attested {model} is current (attestation {done.id}, by {done.attested_by})")


@model_app.command("history")
def model_history(
    ctx: typer.Context,
    model: str,
    at: Annotated[
        str | None, typer.Option("--at", help="A date (its end, UTC) or a time with its zone.")
    ] = None,
    environment: Annotated[str, typer.Option("--env", help="The environment.")] = "production",
    as_json: Json = False,
) -> None:
    """Which version of MODEL was deployed (on a date), who approved it and on what evidence."""
    found = _ops(ctx).history(model, at, environment)
    if as_json:
        emit_json(found)
        return
    if at is not None:
        if not found.entries:
            out.print(f"nothing of {model} was in {environment} at {at}")
        for entry in found.entries:
            d = entry.deployment
            record(
                [
                    ("version", d.version),
                    ("deployed", f"{d.deployed_at:%Y-%m-%d %H:%M} by {d.deployed_by} ({entry.kind})"),
                    ("ended", f"{d.ended_at:%Y-%m-%d %H:%M} ({d.state.value})" if d.ended_at else None),
                    ("reason", entry.reason),
                    (
                        "approved by",
                        [f"{r.stage.value}: {r.reviewer} ({r.role.value})" for r in entry.approvals],
                    ),
                    ("gate decision", entry.gate_decision.id if entry.gate_decision else None),
                    ("evidence", entry.evidence),
                ]
            )
    else:
        table(
            found.entries,
            [
                ("deployed", lambda e: f"{e.deployment.deployed_at:%Y-%m-%d %H:%M}"),
                (
                    "ended",
                    lambda e: f"{e.deployment.ended_at:%Y-%m-%d %H:%M}" if e.deployment.ended_at else "",
                ),
                ("version", lambda e: e.deployment.version),
                ("how", lambda e: e.kind),
                ("by", lambda e: e.requested_by),
                ("approved by", lambda e: ", ".join(r.reviewer for r in e.approvals) or "-"),
                ("decision", lambda e: e.gate_decision.id if e.gate_decision else ""),
                ("reason", lambda e: e.reason),
            ],
        )
    gone = found.retirement
    if gone is not None:
        out.print(f"retired {gone.retired_at:%Y-%m-%d} by {gone.retired_by}: {escape(gone.reason)}")
