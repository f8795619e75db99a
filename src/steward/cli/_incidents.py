"""``steward incident list|show|open|resolve``."""

from __future__ import annotations

from typing import Annotated, Any, cast

import typer

from steward import wire
from steward.cli._app import app, state_of
from steward.cli._backend import Backend, LocalBackend, RemoteBackend
from steward.cli._output import Json, emit_json, out, record, table
from steward.domain import IncidentState, Severity

incident_app = typer.Typer(help="Incidents on models in use.", no_args_is_help=True)
app.add_typer(incident_app, name="incident")


def _fields(i: wire.IncidentOut) -> list[tuple[str, Any]]:
    return [
        ("id", i.id),
        ("model", f"{i.model} v{i.version}" if i.version else i.model),
        ("severity", i.severity.value),
        ("state", i.state.value),
        ("title", i.title),
        ("description", i.description),
        ("source", i.source),
        ("opened", f"{i.opened_at:%Y-%m-%d %H:%M:%S} by {i.opened_by}"),
        ("resolved", f"{i.resolved_at:%Y-%m-%d %H:%M:%S} by {i.resolved_by}" if i.resolved_at else None),
        ("resolution", i.resolution),
        ("actions", [f"{a.at:%H:%M:%S} {a.actor}: {a.action} ({a.detail})" for a in i.actions]),
        ("audit events", [str(s) for s in i.audit_seqs]),
    ]


@incident_app.command("list")
def incident_list(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Option(help="Only this model's incidents.")] = None,
    state: Annotated[IncidentState | None, typer.Option(help="Only incidents in this state.")] = None,
    limit: Annotated[int, typer.Option(help="Most incidents to show.", min=1)] = 100,
    as_json: Json = False,
) -> None:
    """List incidents, newest first."""
    backend = state_of(ctx).backend()
    remote = _remote(backend)
    items: list[wire.IncidentOut] = []
    token = None
    while len(items) < limit:
        size = min(1000, limit - len(items))
        if isinstance(backend, LocalBackend):
            page = backend.steward.incidents.list(backend.caller, model, state, size, token)
            items += [wire.IncidentOut.model_validate(i) for i in page.items]
            token = page.next_token
        else:
            found = remote.list_incidents(
                model=model, state=state.value if state else None, page_size=size, page_token=token
            )
            items += found.items
            token = found.next_page_token
        if not token:
            break
    if as_json:
        emit_json(items)
        return
    table(
        items,
        [
            ("id", lambda i: i.id),
            ("model", lambda i: i.model),
            ("version", lambda i: i.version),
            ("severity", lambda i: i.severity.value),
            ("state", lambda i: i.state.value),
            ("opened", lambda i: f"{i.opened_at:%Y-%m-%d %H:%M}"),
            ("title", lambda i: i.title),
        ],
    )


@incident_app.command("show")
def incident_show(ctx: typer.Context, incident_id: int, as_json: Json = False) -> None:
    """One incident, with the actions taken and its audit event numbers."""
    backend = state_of(ctx).backend()
    remote = _remote(backend)
    if isinstance(backend, LocalBackend):
        found = wire.IncidentOut.model_validate(backend.steward.incidents.get(backend.caller, incident_id))
    else:
        found = remote.get_incident(incident_id)
    emit_json(found) if as_json else record(_fields(found))


@incident_app.command("open")
def incident_open(
    ctx: typer.Context,
    model: str,
    severity: Annotated[Severity, typer.Option(help="How bad it is.")],
    title: Annotated[str, typer.Option(help="One line saying what is wrong.")],
    version: Annotated[int | None, typer.Option(help="The version concerned.")] = None,
    description: Annotated[str, typer.Option(help="What happened, what is affected.")] = "",
    as_json: Json = False,
) -> None:
    """Open an incident on a model."""
    spec = wire.parse(
        wire.IncidentCreate,
        {
            "model": model,
            "version": version,
            "severity": severity.value,
            "title": title,
            "description": description,
        },
    )
    backend = state_of(ctx).backend()
    remote = _remote(backend)
    if isinstance(backend, LocalBackend):
        opened = wire.IncidentOut.model_validate(backend.steward.incidents.open(backend.caller, spec))
    else:
        opened = remote.open_incident(spec)
    emit_json(opened) if as_json else out.print(f"opened incident [bold]{opened.id}[/bold] on {opened.model}")


@incident_app.command("resolve")
def incident_resolve(
    ctx: typer.Context,
    incident_id: int,
    resolution: Annotated[str, typer.Option(help="How it was resolved.")],
    as_json: Json = False,
) -> None:
    """Resolve an open incident."""
    spec = wire.parse(wire.IncidentResolve, {"resolution": resolution})
    backend = state_of(ctx).backend()
    remote = _remote(backend)
    if isinstance(backend, LocalBackend):
        done = wire.IncidentOut.model_validate(
            backend.steward.incidents.resolve(backend.caller, incident_id, spec)
        )
    else:
        done = remote.resolve_incident(incident_id, spec)
    emit_json(done) if as_json else out.print(f"resolved incident [bold]{done.id}[/bold]")


def _remote(backend: Backend) -> RemoteBackend:
    """The SDK behind ``--server`` (only used when the backend is not the local database)."""
    return cast(RemoteBackend, backend)
