"""Inventory, model page (with its lineage graph, reviews and promotion history) and dashboard."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, TypeVar

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from steward.domain import (
    STAGE_LABELS,
    Action,
    Deployment,
    DeploymentState,
    IncidentState,
    ModelState,
    ModelVersion,
    PolicyDecision,
    RiskTier,
)
from steward.errors import InvalidInput
from steward.server.ui import _charts, _inventory, _reviews
from steward.server.ui._lineage import layout
from steward.server.ui._web import (
    ROLE_NAMES,
    PageRoute,
    ViewerDep,
    is_htmx,
    model_href,
    query_string,
    reads,
    render,
    steward_of,
)
from steward.service import Caller, Steward
from steward.storage import ModelFilter, VersionFilter

router = APIRouter(route_class=PageRoute, include_in_schema=False)

E = TypeVar("E", bound=StrEnum)
Text = Annotated[str | None, Query(max_length=256)]
PageToken = Annotated[str | None, Query(max_length=512)]
PROMOTIONS_SHOWN = 50


def choice(kind: type[E], field: str, value: str | None) -> E | None:
    """An enum value from a form field; empty means "any", anything else unknown is refused."""
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise InvalidInput.field(field, "choice", f"must be one of {allowed} (got {value!r})") from None


def open_incidents(steward: Steward, caller: Caller, model: str | None = None) -> Counter[str]:
    """Open incidents per model (there are few open at any time, so they are all read)."""
    counts: Counter[str] = Counter()
    token = None
    while True:
        page = steward.incidents.list(
            caller, model=model, state=IncidentState.OPEN, page_size=1000, page_token=token
        )
        counts.update(i.model for i in page.items)
        token = page.next_token
        if token is None:
            return counts


def linker(base: str, current: dict[str, object]) -> Callable[..., str]:
    """``link(page=2)`` → ``base`` with the current parameters and the given changes."""

    def link(**changes: object) -> str:
        return base + query_string({**current, **changes})

    return link


# -- inventory -------------------------------------------------------------------------------


@router.get("/", openapi_extra=reads(Action.MODEL_READ))
def inventory(
    request: Request,
    viewer: ViewerDep,
    q: Text = None,
    owner: Text = None,
    tier: Text = None,
    state: Text = None,
    scope: Text = None,
    sort: Annotated[str, Query(max_length=32)] = "name",
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "asc",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 50,
) -> Response:
    if sort not in _inventory.SORTS:
        raise InvalidInput.field("sort", "choice", f"must be one of {', '.join(_inventory.SORTS)}")
    if size not in _inventory.PAGE_SIZES:
        size = 50
    steward = steward_of(request)
    where = ModelFilter(
        owner=owner or None,
        risk_tier=choice(RiskTier, "tier", tier),
        state=choice(ModelState, "state", state),
        scope=scope or None,
        text=q or None,
    )
    summaries = steward.registry.model_summaries(viewer.caller, where)
    rows = _inventory.rows_of(summaries, steward.clock(), steward.workflow)
    paged = _inventory.page_of(_inventory.sort_rows(rows, sort, order == "desc"), page, size)
    gates = steward.gates.gate_status(viewer.caller, [r.model.name for r in paged.rows])
    filters: dict[str, object] = {
        "q": q,
        "owner": owner,
        "tier": tier,
        "state": state,
        "scope": scope,
        "size": size if size != 50 else None,
    }
    current = {
        **filters,
        "sort": sort if sort != "name" else None,
        "order": order if order != "asc" else None,
    }
    context = {
        "paged": paged,
        "filters": filters,
        "sort": sort,
        "order": order,
        "sorts": _inventory.SORTS,
        "link": linker("/", current),
        "sort_link": linker("/", filters),
        "owners": sorted({s.owner for s in summaries}),
        "scopes": sorted({sc for s in summaries for sc in s.regulatory_scopes}),
        "tiers": list(RiskTier),
        "states": list(ModelState),
        "page_sizes": _inventory.PAGE_SIZES,
        "overdue": sum(r.overdue for r in rows),
        "incidents": open_incidents(steward, viewer.caller),
        "gates": gates,
        "model_href": model_href,
    }
    template = "_inventory_results.html" if is_htmx(request, "inventory-results") else "inventory.html"
    return render(request, template, context)


# -- model page ------------------------------------------------------------------------------


@router.get("/models/{name}", openapi_extra=reads(Action.MODEL_READ))
def model_page(
    request: Request,
    viewer: ViewerDep,
    name: Annotated[str, Path(max_length=128)],
    version: Annotated[int | None, Query(ge=1)] = None,
    page_token: PageToken = None,
) -> Response:
    steward = steward_of(request)
    registry = steward.registry
    caller = viewer.caller
    model = registry.get_model(caller, name)
    incidents = steward.incidents.list(caller, model=name, page_size=20)
    versions = registry.search_versions(caller, VersionFilter(model=name), 50, page_token)
    deployments = registry.model_deployments(caller, name)
    active: dict[int, list[Deployment]] = {}
    for d in deployments:
        if d.state is DeploymentState.ACTIVE:
            active.setdefault(d.version, []).append(d)
    production = next(
        (d for d in deployments if d.environment == "production" and d.state is DeploymentState.ACTIVE),
        None,
    )
    selected = version or (
        production.version if production else (versions.items[0].version if versions.items else None)
    )
    lineage = registry.lineage(caller, name, selected) if selected is not None else None
    shown = sorted({v.version for v in versions.items} | ({selected} if selected is not None else set()))
    decisions = steward.gates.latest_decisions(caller, name, shown)
    signoffs = steward.reviews.signoff_status(caller, name, selected) if selected is not None else None
    checks = steward.checks.latest(caller, name, shown)
    review = (
        None
        if model.state is ModelState.RETIRED or model.created_at is None
        else _inventory.review_status(
            steward.workflow, model.risk_tier, model.review_cadence_months, model.created_at, steward.clock()
        )
    )
    context = {
        "model": model,
        "versions": versions,
        "deployments": sorted(deployments, key=lambda d: d.id, reverse=True),
        "active": active,
        "production": production,
        "selected": selected,
        "lineage": lineage,
        "graph": layout(lineage) if lineage is not None else None,
        "lineage_nodes": list({n.id: n for n in lineage.nodes}.values()) if lineage is not None else [],
        "review": review,
        "review_due": _inventory.due_day(review) if review is not None else None,
        "overdue": review is not None and review.overdue,
        "decisions": decisions,
        "checks": checks,
        "gate": steward.gates.gate_status(caller, [name]).get(name),
        "finding_rows": finding_rows,
        "flat_values": flat_values,
        "base": model_href(name),
        "page_token": page_token,
        "metrics_of": top_metrics,
        "incidents": incidents,
        "open_incidents": sum(i.state is IncidentState.OPEN for i in incidents.items),
        "evidence": viewer.may(Action.EVIDENCE_READ),
        "signoffs": signoffs,
        "stage_rows": _reviews.stage_rows(signoffs) if signoffs is not None else [],
        "open_conditions": _reviews.open_conditions(signoffs) if signoffs is not None else 0,
        "may_sign": viewer.may(Action.REVIEW_SIGN),
        "promotion_log": steward.reviews.promotion_log(caller, name, PROMOTIONS_SHOWN),
        "stage_labels": STAGE_LABELS,
        "role_names": ROLE_NAMES,
        "link_of": _reviews.link_of,
    }
    if is_htmx(request, "lineage"):
        return render(request, "_version_swap.html", context)
    return render(request, "model.html", context)


def top_metrics(version: ModelVersion, keep: int = 3) -> list[tuple[str, float]]:
    return sorted(version.metrics.items())[:keep]


def shown_value(value: object) -> str:
    """A measured or required value as text: scalars as they are, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:.4g}"
    return json.dumps(value, sort_keys=True, separators=(", ", ": "), default=str)


def finding_rows(decision: PolicyDecision) -> list[tuple[str, str, str, str, str]]:
    """``(deny | warn, rule, message, measured, required)`` of a decision, denials first (the
    message without the ``rule:`` it starts with, as the rule has its own column)."""
    return [
        (
            kind,
            str(f.get("rule", "")),
            str(f.get("message", "")).removeprefix(f"{f.get('rule', '')}: "),
            "" if f.get("measured") is None else shown_value(f.get("measured")),
            "" if f.get("required") is None else shown_value(f.get("required")),
        )
        for kind, findings in (("deny", decision.denies), ("warn", decision.warnings))
        for f in findings
    ]


def flat_values(values: Mapping[str, object], prefix: str = "") -> list[tuple[str, str]]:
    """A check's measured values as ``(dotted.path, value)`` leaves, in key order."""
    leaves: list[tuple[str, str]] = []
    for key in sorted(values):
        value, path = values[key], f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            leaves.extend(flat_values(value, path + "."))
        else:
            leaves.append((path, shown_value(value)))
    return leaves


@router.get("/models/{name}/versions/{version}/evidence", openapi_extra=reads(Action.EVIDENCE_READ))
def evidence_bundle(
    request: Request,
    viewer: ViewerDep,
    name: Annotated[str, Path(max_length=128)],
    version: Annotated[int, Path(ge=1)],
) -> Response:
    """The version's evidence bundle as a download (the same bundle as the REST API's)."""
    bundle = steward_of(request).evidence.export(viewer.caller, name, version)
    return Response(
        bundle,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}-v{version}.evidence.json"'},
    )


# -- dashboard -------------------------------------------------------------------------------


PROMOTION_LABELS = {"promotion.allowed": "allowed", "promotion.denied": "refused"}
VIOLATION_RULES_SHOWN = 12


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


@router.get("/dashboard")
def dashboard(request: Request, viewer: ViewerDep) -> Response:
    steward = steward_of(request)
    registry = steward.registry
    caller = viewer.caller
    today = steward.clock().date()
    rows = _inventory.rows_of(
        registry.model_summaries(caller, ModelFilter()), steward.clock(), steward.workflow
    )

    by_tier_state = Counter((r.model.risk_tier.value, r.model.state.value) for r in rows)
    tiers = [t.value for t in RiskTier]
    states = [s.value for s in ModelState]
    models_chart = _charts.bars(tiers, states, dict(by_tier_state))

    deployment_counts = registry.deployment_counts(caller)
    environments = sorted({env for env, _, _ in deployment_counts}, key=lambda e: (e != "production", e))
    deploy_states = [s.value for s in DeploymentState]
    deployments_chart = _charts.bars(
        environments, deploy_states, {(env, st): n for env, st, n in deployment_counts}
    )

    per_day = registry.versions_registered_per_day(caller)
    this_week = week_start(today)
    weeks = [this_week - timedelta(weeks=i) for i in range(11, -1, -1)]
    weekly = Counter[date]()
    for day, n in per_day:
        if day >= weeks[0]:
            weekly[week_start(day)] += n
    versions_chart = _charts.columns([(w.strftime("%d %b"), weekly[w]) for w in weeks])

    since = datetime.combine(weeks[0], time.min, tzinfo=UTC)
    promotions = Counter[tuple[str, str]]()
    for day, action, n in steward.gates.promotions_per_day(caller, since):
        promotions[(week_start(day).strftime("%d %b"), PROMOTION_LABELS[action])] += n
    week_labels = [w.strftime("%d %b") for w in weeks]
    promotions_chart = _charts.bars(week_labels, list(PROMOTION_LABELS.values()), dict(promotions))
    violations = steward.gates.violations_by_rule(caller, since)[:VIOLATION_RULES_SHOWN]
    violations_chart = _charts.bars(
        [rule for rule, _ in violations], ["denials"], {(rule, "denials"): n for rule, n in violations}
    )

    overdue = sorted((r for r in rows if r.overdue), key=lambda r: (r.review_due or today, r.model.name))
    overdue_chart = _charts.bars(
        tiers, ["overdue"], dict(Counter((r.model.risk_tier.value, "overdue") for r in overdue))
    )
    incidents = open_incidents(steward, caller)
    figures = {
        "incidents": sum(incidents.values()),
        "models": len(rows),
        "high_risk": sum(r.model.risk_tier is RiskTier.HIGH for r in rows),
        "versions": sum(n for _, n in per_day),
        "in_production": sum(r.model.production_version is not None for r in rows),
        "overdue": len(overdue),
        "promotions_allowed": sum(n for (_, outcome), n in promotions.items() if outcome == "allowed"),
        "promotions_refused": sum(n for (_, outcome), n in promotions.items() if outcome == "refused"),
    }
    context = {
        "figures": figures,
        "models_chart": models_chart,
        "deployments_chart": deployments_chart,
        "versions_chart": versions_chart,
        "weeks": [(w, weekly[w]) for w in weeks],
        "overdue_chart": overdue_chart,
        "promotions_chart": promotions_chart,
        "promotions": [(w, promotions[(w, "allowed")], promotions[(w, "refused")]) for w in week_labels],
        "violations_chart": violations_chart,
        "violations": violations,
        "overdue": overdue[:10],
        "overdue_total": len(overdue),
        "tier_state": by_tier_state,
        "tiers": tiers,
        "states": states,
        "deployment_counts": deployment_counts,
        "model_href": model_href,
    }
    return render(request, "dashboard.html", context)
