"""``steward serve`` and ``steward demo``."""

from __future__ import annotations

import tempfile
import webbrowser
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from fastapi import FastAPI

from steward.cli._app import app, state_of
from steward.cli._output import err, out
from steward.server import create_app
from steward.service import Steward


@app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Address to listen on (STEWARD_HOST).")] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on (STEWARD_PORT; 0 picks a free one).")
    ] = None,
) -> None:
    """Run the API server on the configured database."""
    settings = state_of(ctx).settings()
    settings = settings.model_copy(
        update={k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    )
    steward = Steward.open(settings.database_url, migrate=settings.auto_migrate, workflow=settings.workflow())
    if not steward.identity.has_principals():
        err.print(
            "no users yet: create the first admin with\n"
            "  steward user create alice --role admin && steward token create alice"
        )
    _run(create_app(settings, steward=steward), settings.host, settings.port)


def _run(application: FastAPI, host: str, port: int) -> None:
    config = uvicorn.Config(
        application,
        host=host,
        port=port,
        log_level="info",
        proxy_headers=False,
        server_header=False,
    )
    uvicorn.Server(config).run()


@app.command("demo")
def demo(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Keep the demo database here (default: a fresh temporary folder)."),
    ] = None,
    open_browser: Annotated[
        bool, typer.Option("--open/--no-open", help="Open a browser at the server.")
    ] = True,
) -> None:
    """Start a server on a fresh SQLite database seeded with a realistic governed inventory."""
    from steward.cli._demo import seed

    folder = directory or Path(tempfile.mkdtemp(prefix="steward-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / 'steward.db'}"
    steward = Steward.open(url, migrate=True)
    with err.status("seeding the demo inventory…"):
        summary = seed(steward, folder)
    base = f"http://{host}:{port}"
    out.print(f"[bold]Steward demo[/bold] at {base}  (database {folder / 'steward.db'})")
    out.print(
        f"  {summary.models} models, {summary.versions} versions, {summary.datasets} datasets, "
        f"{summary.deployments} deployments, {summary.events} audit events"
    )
    out.print("  API docs:  " + f"{base}/api/v1/docs")
    out.print("  users and tokens (export one as STEWARD_TOKEN; use --server " + base + "):")
    for user, role, token in summary.tokens:
        out.print(f"    {user:<10} {role:<19} {token}")
    if open_browser:
        webbrowser.open(base)
    from steward.settings import Settings

    _run(create_app(Settings(database_url=url, host=host, port=port), steward=steward), host, port)
