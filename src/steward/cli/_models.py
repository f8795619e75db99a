"""``steward model …``, ``steward version …`` and ``steward lineage``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from steward import wire
from steward.cli._app import app, state_of
from steward.cli._output import Json, emit_json, out, record, table
from steward.cli._parse import dataset_uses, numbers, pairs
from steward.domain import ModelState, RiskTier, VersionState

model_app = typer.Typer(help="Governance records of models.", no_args_is_help=True)
version_app = typer.Typer(help="Versions (trained artefacts) of a model.", no_args_is_help=True)
app.add_typer(model_app, name="model")
app.add_typer(version_app, name="version")

Tags = Annotated[list[str] | None, typer.Option("--tag", help="KEY=VALUE (repeatable).")]


def _model_fields(m: wire.ModelOut) -> list[tuple[str, Any]]:
    return [
        ("name", m.name),
        ("owner", m.owner),
        ("risk tier", m.risk_tier.value),
        ("state", m.state.value),
        ("use case", m.use_case),
        ("intended use", m.intended_use),
        ("limitations", m.limitations),
        ("description", m.description),
        ("regulatory scopes", m.regulatory_scopes),
        ("tags", m.tags),
        (
            "review cadence",
            f"{m.review_cadence_months} months" if m.review_cadence_months else None,
        ),
        ("created", f"{m.created_at:%Y-%m-%d %H:%M} by {m.created_by}"),
        ("revision", m.revision),
    ]


@model_app.command("create")
def model_create(
    ctx: typer.Context,
    name: str,
    owner: Annotated[str, typer.Option(help="Person or team accountable for the model.")],
    tier: Annotated[RiskTier, typer.Option("--tier", help="Risk tier.")],
    use_case: Annotated[str, typer.Option(help="The business use case.")] = "",
    intended_use: Annotated[str, typer.Option(help="What the model may be used for.")] = "",
    limitations: Annotated[str, typer.Option(help="Known limitations.")] = "",
    description: Annotated[str, typer.Option(help="Free text.")] = "",
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", help="Regulatory scope, e.g. sr-11-7 (repeatable)."),
    ] = None,
    tag: Tags = None,
    review_cadence: Annotated[int | None, typer.Option(help="Months between periodic reviews.")] = None,
    as_json: Json = False,
) -> None:
    """Create the governance record of a model."""
    spec = wire.parse(
        wire.ModelCreate,
        {
            "name": name,
            "owner": owner,
            "risk_tier": tier.value,
            "use_case": use_case,
            "intended_use": intended_use,
            "limitations": limitations,
            "description": description,
            "regulatory_scopes": scope or [],
            "tags": pairs("--tag", tag),
            "review_cadence_months": review_cadence,
        },
    )
    model = state_of(ctx).backend().create_model(spec)
    emit_json(model) if as_json else out.print(
        f"created model [bold]{model.name}[/bold] ({model.risk_tier.value} risk, owner {model.owner})"
    )


@model_app.command("list")
def model_list(
    ctx: typer.Context,
    owner: Annotated[str | None, typer.Option(help="Only this owner's models.")] = None,
    tier: Annotated[RiskTier | None, typer.Option("--tier", help="Only this risk tier.")] = None,
    state: Annotated[ModelState | None, typer.Option(help="Only models in this state.")] = None,
    scope: Annotated[str | None, typer.Option(help="Only models in this regulatory scope.")] = None,
    tag: Tags = None,
    q: Annotated[
        str | None, typer.Option("--search", "-q", help="Text in name, description or use case.")
    ] = None,
    limit: Annotated[int, typer.Option(help="Most models to show.", min=1)] = 100,
    as_json: Json = False,
) -> None:
    """List models (filters combine)."""
    backend = state_of(ctx).backend()
    items: list[wire.ModelOut] = []
    token = None
    while len(items) < limit:
        page = backend.list_models(
            owner=owner,
            risk_tier=tier.value if tier else None,
            state=state.value if state else None,
            scope=scope,
            tags=pairs("--tag", tag),
            q=q,
            page_size=min(1000, limit - len(items)),
            page_token=token,
        )
        items.extend(page.items)
        token = page.next_page_token
        if not token:
            break
    if as_json:
        emit_json(items)
        return
    table(
        items,
        [
            ("name", lambda m: m.name),
            ("owner", lambda m: m.owner),
            ("tier", lambda m: m.risk_tier.value),
            ("state", lambda m: m.state.value),
            ("scopes", lambda m: ", ".join(m.regulatory_scopes)),
            ("use case", lambda m: m.use_case[:60]),
        ],
        title=f"{len(items)} models",
    )


@model_app.command("show")
def model_show(ctx: typer.Context, name: str, as_json: Json = False) -> None:
    """Show one model's record."""
    model = state_of(ctx).backend().get_model(name)
    emit_json(model) if as_json else record(_model_fields(model))


@model_app.command("update")
def model_update(
    ctx: typer.Context,
    name: str,
    revision: Annotated[
        int | None,
        typer.Option(help="The revision you read (default: the current one; a stale one is refused)."),
    ] = None,
    owner: Annotated[str | None, typer.Option()] = None,
    tier: Annotated[RiskTier | None, typer.Option("--tier")] = None,
    use_case: Annotated[str | None, typer.Option()] = None,
    intended_use: Annotated[str | None, typer.Option()] = None,
    limitations: Annotated[str | None, typer.Option()] = None,
    description: Annotated[str | None, typer.Option()] = None,
    scope: Annotated[
        list[str] | None, typer.Option("--scope", help="Replaces the scopes (repeatable).")
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="Replaces the tags: KEY=VALUE (repeatable).")
    ] = None,
    review_cadence: Annotated[int | None, typer.Option()] = None,
    reason: Annotated[str, typer.Option(help="Why; kept in the audit trail.")] = "",
    as_json: Json = False,
) -> None:
    """Change fields of a model's record."""
    backend = state_of(ctx).backend()
    given: dict[str, Any] = {
        "owner": owner,
        "risk_tier": tier.value if tier else None,
        "use_case": use_case,
        "intended_use": intended_use,
        "limitations": limitations,
        "description": description,
        "regulatory_scopes": scope,
        "tags": pairs("--tag", tag) if tag is not None else None,
        "review_cadence_months": review_cadence,
    }
    changes = {k: v for k, v in given.items() if v is not None}
    current = revision if revision is not None else backend.get_model(name).revision
    spec = wire.parse(wire.ModelUpdate, {"revision": current, "reason": reason, **changes})
    model = backend.update_model(name, spec)
    emit_json(model) if as_json else out.print(
        f"updated model [bold]{model.name}[/bold] (revision {model.revision})"
    )


def _version_fields(v: wire.VersionOut) -> list[tuple[str, Any]]:
    return [
        ("model", v.model),
        ("version", v.version),
        ("state", v.state.value),
        ("artifact", v.artifact_uri),
        ("digest", v.artifact_digest),
        ("source", f"{v.source_platform}" + (f" ({v.external_id})" if v.external_id else "")),
        ("training run", v.training_run),
        ("metrics", v.metrics),
        ("parameters", v.parameters),
        ("tags", v.tags),
        ("datasets", [f"{d.dataset}@{d.version} ({d.role.value})" for d in v.datasets]),
        (
            "code",
            f"{v.code_repository or ''}@{v.code_commit or ''}"
            if v.code_commit or v.code_repository
            else None,
        ),
        ("python", v.environment.python_version),
        ("lock digest", v.environment.dependency_lock_digest),
        ("image digest", v.environment.container_image_digest),
        ("registered", f"{v.created_at:%Y-%m-%d %H:%M} by {v.registered_by}"),
    ]


@version_app.command("register")
def version_register(
    ctx: typer.Context,
    model: str,
    artifact_uri: Annotated[str, typer.Option("--artifact-uri", help="Where the artefact lives.")],
    digest: Annotated[str, typer.Option("--digest", help="sha256:<64 hex> of the artefact.")],
    source_platform: Annotated[str, typer.Option(help="mlflow, azureml, manual, …")] = "manual",
    external_id: Annotated[str | None, typer.Option(help="Id on the source platform.")] = None,
    run: Annotated[str | None, typer.Option("--run", help="Recorded training run id.")] = None,
    metric: Annotated[list[str] | None, typer.Option("--metric", help="NAME=NUMBER (repeatable).")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", help="NAME=VALUE (repeatable).")] = None,
    tag: Tags = None,
    dataset: Annotated[
        list[str] | None, typer.Option("--dataset", help="NAME@VERSION[:ROLE] (repeatable).")
    ] = None,
    code_repository: Annotated[str | None, typer.Option("--code-repo")] = None,
    commit: Annotated[str | None, typer.Option("--commit", help="Code commit (hex).")] = None,
    python_version: Annotated[str | None, typer.Option("--python")] = None,
    lock_digest: Annotated[
        str | None, typer.Option("--lock-digest", help="sha256 of the dependency lock file.")
    ] = None,
    image_digest: Annotated[
        str | None, typer.Option("--image-digest", help="sha256 of the container image.")
    ] = None,
    description: str = "",
    as_json: Json = False,
) -> None:
    """Register a trained artefact as the model's next version."""
    spec = wire.parse(
        wire.VersionCreate,
        {
            "artifact_uri": artifact_uri,
            "artifact_digest": digest,
            "source_platform": source_platform,
            "external_id": external_id,
            "training_run": run,
            "metrics": numbers("--metric", metric),
            "parameters": pairs("--param", param),
            "tags": pairs("--tag", tag),
            "datasets": dataset_uses(dataset),
            "code_repository": code_repository,
            "code_commit": commit,
            "environment": {
                "python_version": python_version,
                "dependency_lock_digest": lock_digest,
                "container_image_digest": image_digest,
            },
            "description": description,
        },
    )
    version = state_of(ctx).backend().register_version(model, spec)
    emit_json(version) if as_json else out.print(
        f"registered [bold]{version.model}[/bold] version {version.version}"
    )


@version_app.command("list")
def version_list(
    ctx: typer.Context,
    model: Annotated[
        str | None, typer.Argument(help="Only this model's versions (default: all models).")
    ] = None,
    owner: Annotated[str | None, typer.Option(help="Only versions of this owner's models.")] = None,
    state: Annotated[VersionState | None, typer.Option()] = None,
    tag: Tags = None,
    limit: Annotated[int, typer.Option(min=1)] = 100,
    as_json: Json = False,
) -> None:
    """List versions, newest first."""
    backend = state_of(ctx).backend()
    page = backend.search_versions(
        model=model,
        owner=owner,
        state=state.value if state else None,
        tags=pairs("--tag", tag),
        page_size=min(limit, 1000),
        page_token=None,
    )
    if as_json:
        emit_json(page.items)
        return
    table(
        page.items,
        [
            ("model", lambda v: v.model),
            ("version", lambda v: v.version),
            ("state", lambda v: v.state.value),
            ("source", lambda v: v.source_platform),
            ("run", lambda v: v.training_run),
            ("metrics", lambda v: ", ".join(f"{k}={n:g}" for k, n in list(v.metrics.items())[:3])),
            ("registered", lambda v: f"{v.created_at:%Y-%m-%d}"),
        ],
        title=f"{len(page.items)} versions",
    )


@version_app.command("show")
def version_show(ctx: typer.Context, model: str, version: int, as_json: Json = False) -> None:
    """Show one version."""
    found = state_of(ctx).backend().get_version(model, version)
    emit_json(found) if as_json else record(_version_fields(found))


@app.command("lineage")
def lineage(ctx: typer.Context, model: str, version: int, as_json: Json = False) -> None:
    """Upstream (datasets, run, code, environment) and downstream (deployments) of a version."""
    graph = state_of(ctx).backend().lineage(model, version)
    if as_json:
        emit_json(graph)
        return
    labels = {n.id: f"{n.kind} {n.label}" for n in graph.nodes}
    out.print(f"[bold]{labels[graph.root]}[/bold]")
    for edge in graph.edges:
        out.print(f"  {labels[edge.source]} --{edge.relation}--> {labels[edge.target]}")
