"""The application factory: the only place the server is built."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from steward import __version__, wire
from steward.server import errors, ui
from steward.server._access import ReadAccessLog
from steward.server._middleware import RequestLimits
from steward.server._mlflow import MlflowWiring
from steward.server.routes import (
    admin,
    connectors,
    evidence,
    gates,
    incidents,
    ledger,
    models,
    policy,
    workflow,
)
from steward.service import KeyFile, MemoryKeys, Steward
from steward.settings import Settings

API = "/api/v1"

FIRST_RUN = (
    "This server has no users yet. Create the first admin and a token on the server's machine:\n"
    "  steward user create alice --role admin\n"
    "  steward token create alice\n"
    "then call the API with 'Authorization: Bearer <token>'."
)


def create_app(settings: Settings | None = None, steward: Steward | None = None) -> FastAPI:
    """A Steward server over ``steward`` (or over ``settings.database_url``)."""
    settings = settings or Settings()
    owned = steward is None
    core = steward or Steward.open(
        settings.database_url, migrate=settings.auto_migrate, workflow=settings.workflow()
    )
    if core.ledger.keys_location is None:  # the ledger key: loaded (or created) here, once
        key_path = settings.resolved_ledger_key_path()
        core.ledger.use_keys(KeyFile(key_path) if key_path else MemoryKeys())
    core.ledger.start()
    core.identity.cache_authentication(settings.auth_cache_seconds)
    recorder = core.reads.start_recording()
    mlflow = MlflowWiring.from_settings(settings)
    mlflow.install(core)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        mlflow.close()
        recorder.flush()
        if owned:
            core.close()

    app = FastAPI(
        title="Steward",
        version=__version__,
        summary="A governed model registry.",
        openapi_url=f"{API}/openapi.json",
        docs_url=f"{API}/docs",
        redoc_url=None,
        lifespan=lifespan,
        # Every error, a refused input included, is the one shape server/errors.py sends; saying so
        # here also keeps FastAPI from documenting its own 422 body, which Steward never sends.
        responses={"default": {"model": wire.ErrorOut, "description": "An error: docs/reference/errors.md."}},
    )
    app.state.steward = core
    app.state.settings = settings
    app.state.mlflow = mlflow
    errors.install(app)
    app.add_middleware(ReadAccessLog, recorder=recorder)
    app.add_middleware(RequestLimits, max_body_bytes=settings.max_body_bytes)
    for module in (models, evidence, admin, ledger, incidents, connectors, gates, policy, workflow):
        app.include_router(module.router, prefix=API)

    @app.get(f"{API}/health", tags=["server"], response_model=wire.Health)
    def health() -> JSONResponse:
        """Liveness, schema revision, and whether the first admin still needs creating."""
        current, head = core.schema()
        with core.store.read() as tx:
            principals = tx.identity.count_principals()
        body = wire.Health(
            status="ok",
            version=__version__,
            database=core.store.backend,
            schema_revision=current,
            schema_head=head,
            principals=principals,
            first_run=FIRST_RUN if principals == 0 else None,
        )
        return JSONResponse(body.model_dump(exclude={"first_run"} if principals else None))

    ui.install(app)  # the web UI: inventory at "/", pages over the same services

    return app
