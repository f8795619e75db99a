"""``steward harvest mlflow``, ``steward mlflow connect`` and ``steward mlflow guard``."""

from __future__ import annotations

import secrets
import time
from typing import Annotated, Any, cast

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from steward import wire
from steward.cli._app import app, state_of
from steward.cli._backend import Backend, LocalBackend, RemoteBackend
from steward.cli._output import Json, emit_json, err, out, table
from steward.cli._parse import pairs
from steward.connectors.mlflow import DIGEST_MODES, MlflowSource, webhook
from steward.domain import SourceSettings
from steward.errors import InvalidInput, ServerError, error_for_code
from steward.service import record_links
from steward.settings import Settings

harvest_app = typer.Typer(help="Harvest metadata from the platforms teams train on.", no_args_is_help=True)
mlflow_app = typer.Typer(help="The MLflow connector: webhooks and guarded aliases.", no_args_is_help=True)
app.add_typer(harvest_app, name="harvest")
app.add_typer(mlflow_app, name="mlflow")

TrackingUri = Annotated[
    str,
    typer.Option("--tracking-uri", envvar="MLFLOW_TRACKING_URI", help="The MLflow tracking server's URL."),
]


def _source_settings(settings: Settings) -> SourceSettings:
    return SourceSettings(
        owner_tag=settings.mlflow_owner_tag,
        risk_tier_tag=settings.mlflow_risk_tier_tag,
        use_case_tag=settings.mlflow_use_case_tag,
    )


def print_summary(summary: dict[str, Any]) -> None:
    """The end of a harvest: what was created, updated, unchanged, skipped (with reasons)."""
    kinds = sorted({k for key in ("created", "updated", "unchanged", "linked") for k in summary.get(key, {})})
    rows = [
        (kind, *(summary.get(key, {}).get(kind, 0) for key in ("created", "updated", "linked", "unchanged")))
        for kind in kinds
    ]
    table(
        rows,
        [
            ("record", lambda r: r[0]),
            ("created", lambda r: r[1]),
            ("updated", lambda r: r[2]),
            ("linked", lambda r: r[3]),
            ("unchanged", lambda r: r[4]),
        ],
        title=f"harvest of {summary.get('location', '')}",
    )
    skipped = summary.get("skipped", [])
    if skipped:
        out.print(f"[bold]skipped[/bold] ({len(skipped)}):")
        for item in skipped:
            out.print(f"  {item['kind']} {item['id']}: {item['reason']}")
    for item in summary.get("incomplete", []):
        out.print(f"[yellow]incomplete[/yellow] {item} (tag steward.incomplete; set the MLflow tags)")
    for item in summary.get("unguarded", []):
        out.print(f"[yellow]unguarded alias[/yellow] {item}")
    for item in summary.get("guarded", []):
        out.print(f"[red]guard mode[/red] {item}")
    for item in summary.get("errors", []):
        err.print(f"[red]error[/red] {item}")
    written = summary.get("written_back", 0)
    if written:
        out.print(f"wrote Steward's tags back on {written} MLflow versions")
    verdict = "changes recorded" if summary.get("changed") else "nothing changed: Steward was up to date"
    out.print(f"{verdict} ({summary.get('seconds', 0)} s)")


@harvest_app.command("mlflow")
def harvest_mlflow(
    ctx: typer.Context,
    tracking_uri: TrackingUri,
    experiment: Annotated[
        list[str] | None, typer.Option("--experiment", help="Only this experiment's runs (repeatable).")
    ] = None,
    model: Annotated[
        list[str] | None, typer.Option("--model", help="Only this registered model (repeatable).")
    ] = None,
    digest: Annotated[
        str,
        typer.Option(
            help="Artefact digest: from the files (files), from MLflow's metadata (metadata), or files "
            "when reachable, else metadata (auto)."
        ),
    ] = "auto",
    write_back: Annotated[
        bool, typer.Option("--write-back/--no-write-back", help="Set steward.* tags on MLflow versions.")
    ] = True,
    as_json: Json = False,
) -> None:
    """Harvest an MLflow tracking server and registry into governance records (incremental)."""
    if digest not in DIGEST_MODES:
        raise InvalidInput.field("--digest", "choice", f"must be one of {', '.join(DIGEST_MODES)}")
    state = state_of(ctx)
    settings = state.settings()
    backend = state.backend()
    remote = _remote(backend)
    if isinstance(backend, LocalBackend):
        source = MlflowSource(tracking_uri, digest=digest)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=as_json,
        ) as bar:
            tasks: dict[str, Any] = {}

            def progress(stage: str, done: int, total: int | None) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(f"harvesting {stage}", total=total)
                bar.update(tasks[stage], completed=done, total=total)

            summary = backend.steward.harvests.harvest(
                backend.caller,
                source,
                experiments=experiment or None,
                models=model or None,
                settings=_source_settings(settings),
                progress=progress,
                write_back=write_back,
                record_url=record_links(settings.record_base_url()),
            )
        result = summary.to_dict()
        failure = summary.failure
    else:
        job = remote.start_harvest(
            wire.HarvestCreate(
                tracking_uri=tracking_uri,
                experiments=experiment or [],
                models=model or [],
                digest=digest,
            )
        )
        with err.status(f"harvest {job.id} running on the server…"):
            while job.state in ("queued", "running"):
                time.sleep(0.5)
                job = remote.get_harvest(job.id)
        result = dict(job.summary)
        failure = error_for_code("unavailable", job.error) if job.state == "failed" else None
        if failure is not None and not result:
            failure = ServerError(job.error or "the harvest failed")
    if as_json:
        emit_json(result)
    else:
        print_summary(result)
    if failure is not None:
        raise failure


@mlflow_app.command("connect")
def mlflow_connect(
    ctx: typer.Context,
    tracking_uri: TrackingUri,
    receiver_url: Annotated[
        str | None,
        typer.Option(
            help="Where MLflow sends deliveries (default: this Steward's URL + "
            "/api/v1/connectors/mlflow/webhook)."
        ),
    ] = None,
    secret: Annotated[
        str | None,
        typer.Option(
            envvar="STEWARD_MLFLOW_WEBHOOK_SECRET",
            help="The shared secret (default: a new random one, printed once).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Register Steward's webhook at an MLflow server (model version, tag, alias and model events)."""
    state = state_of(ctx)
    base = (state.server or state.settings().record_base_url()).rstrip("/")
    url = receiver_url or f"{base}/api/v1/connectors/mlflow/webhook"
    generated = secret is None
    shared = secret or secrets.token_urlsafe(32)
    source = MlflowSource(tracking_uri)
    source.check()
    webhook_id = source.connect(url, shared, webhook.EVENTS)
    out.print(f"MLflow webhook [bold]{webhook_id}[/bold] sends {', '.join(webhook.EVENTS)} to {url}")
    if generated:
        out.print("set the same secret on the Steward server, then restart it:")
        out.print(f"  STEWARD_MLFLOW_WEBHOOK_SECRET={shared}")
    out.print(f"and on the Steward server: STEWARD_MLFLOW_TRACKING_URI={source.location}")
    out.print(
        "the MLflow server needs MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY set (to keep the secret across "
        "restarts); see docs/guides/mlflow.md"
    )


@mlflow_app.command("guard")
def mlflow_guard(
    ctx: typer.Context,
    model: str,
    alias: Annotated[
        list[str] | None,
        typer.Option("--alias", help="ALIAS=ENVIRONMENT to guard (repeatable; replaces the list)."),
    ] = None,
    defaults: Annotated[
        bool, typer.Option("--defaults", help="Go back to the defaults (production, champion).")
    ] = False,
    none: Annotated[bool, typer.Option("--none", help="Guard no alias of this model.")] = False,
    as_json: Json = False,
) -> None:
    """Show or set the aliases Steward guards for a model at MLflow (and their environments)."""
    backend = state_of(ctx).backend()
    remote = _remote(backend)
    change = alias is not None or defaults or none
    if sum([alias is not None, defaults, none]) > 1:
        raise InvalidInput.field("--alias", "exclusive", "give --alias, --defaults or --none, not several")
    spec = wire.parse(
        wire.AliasGuardsUpdate, {"guards": None if defaults else ({} if none else pairs("--alias", alias))}
    )
    if isinstance(backend, LocalBackend):
        steward, caller = backend.steward, backend.caller
        steward.registry.get_model(caller, model)
        guards, is_default = (
            steward.guard.set_guards(caller, model, spec.guards)
            if change
            else steward.guard.get_guards(caller, model)
        )
        result = wire.AliasGuardsOut(model=model, guards=guards, defaults=is_default)
    else:
        result = remote.set_alias_guards(model, spec) if change else remote.get_alias_guards(model)
    if as_json:
        emit_json(result)
        return
    shown = ", ".join(f"{a} → {e}" for a, e in sorted(result.guards.items())) or "none"
    out.print(f"{result.model}: guarded aliases {shown}{' (defaults)' if result.defaults else ''}")


def _remote(backend: Backend) -> RemoteBackend:
    """The SDK behind ``--server`` (only used when the backend is not the local database)."""
    return cast(RemoteBackend, backend)
