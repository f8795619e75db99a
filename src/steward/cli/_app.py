"""The ``steward`` command: ``noun verb``, listings with ``--json``, stable exit codes.

``--server URL`` (or ``STEWARD_SERVER``) with ``STEWARD_TOKEN`` talks to a server through the SDK;
otherwise commands work on the database at ``--db URL`` (or ``STEWARD_DATABASE_URL``, default:
SQLite in the user's data directory) as the local operator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import typer

from steward.cli._backend import Backend, LocalBackend, RemoteBackend
from steward.service import KeyFile, MemoryKeys, Steward
from steward.settings import Settings

app = typer.Typer(
    name="steward",
    help="Steward: a governed model registry.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@dataclass
class State:
    server: str | None = None
    token: str | None = None
    database_url: str | None = None
    _backend: Backend | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        settings = Settings()
        if self.database_url:
            settings = settings.model_copy(update={"database_url": self.database_url})
        return settings

    def backend(self, *, local_only: bool = False) -> Backend:
        """The SDK when ``--server`` is given (unless the command is local-only), else the database."""
        if self._backend is None:
            if self.server and not local_only:
                self._backend = RemoteBackend(self.server, self.token)
            else:
                settings = self.settings()
                steward = Steward.open(settings.database_url, migrate=True, workflow=settings.workflow())
                key_path = settings.resolved_ledger_key_path()  # loaded on the first signed write
                steward.ledger.use_keys(KeyFile(key_path) if key_path else MemoryKeys())
                self._backend = LocalBackend(steward)
        return self._backend

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None


@app.callback()
def root(
    ctx: typer.Context,
    server: Annotated[
        str | None,
        typer.Option(envvar="STEWARD_SERVER", help="Talk to this Steward server (its base URL)."),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(envvar="STEWARD_TOKEN", help="API token for --server.", show_default=False),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="STEWARD_DATABASE_URL",
            help="Work on this database directly (default: SQLite in the user's data directory).",
        ),
    ] = None,
) -> None:
    state = State(server=server, token=token, database_url=db)
    ctx.obj = state
    ctx.call_on_close(state.close)


def state_of(ctx: typer.Context) -> State:
    state: State = ctx.obj
    return state
