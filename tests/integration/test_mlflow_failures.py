"""A harvest against an MLflow server that refuses the credentials (MLflow's own ``basic-auth``
server app), and against one that goes away in the middle: a clear failure, counted in the summary,
and nothing already harvested lost. Each test starts its own real ``mlflow server``."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from steward.connectors.mlflow import MlflowSource
from steward.service import Caller, Steward, local_operator
from steward.service._harvest import HarvestService
from steward.storage import ModelFilter
from tests.integration.mlflow_support import MLFLOW_ENV, MlflowServer, free_port, start_mlflow
from tests.integration.support import db_state

pytestmark = pytest.mark.xdist_group("mlflow-failures")

ADMIN_PASSWORD = "steward-test-admin-7c1e"


@pytest.fixture(autouse=True)
def lean_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client settings of the session's server (two quick retries, not MLflow's minutes)."""
    for name, value in MLFLOW_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def core(tmp_path: Path) -> Iterator[Steward]:
    steward = Steward.open(f"sqlite:///{tmp_path / 'steward.db'}", migrate=True)
    yield steward
    steward.close()


@pytest.fixture
def operator() -> Caller:
    return local_operator(name="local:harvester")


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Set (or clear) the credentials the MLflow client and the connector read."""
    for name in ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.delenv(name, raising=False)

    def use(user: str | None, password: str | None) -> None:
        for name, value in (("MLFLOW_TRACKING_USERNAME", user), ("MLFLOW_TRACKING_PASSWORD", password)):
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)

    return use


@pytest.fixture
def guarded_mlflow(tmp_path: Path) -> Iterator[MlflowServer]:
    """MLflow with its basic-auth app: every request needs a user's password."""
    root = tmp_path / "mlflow-auth"
    root.mkdir()
    config = root / "basic_auth.ini"
    config.write_text(
        "[mlflow]\n"
        "default_permission = READ\n"
        f"database_uri = sqlite:///{root / 'auth.db'}\n"
        "admin_username = admin\n"
        f"admin_password = {ADMIN_PASSWORD}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )
    server = start_mlflow(
        root,
        app="basic-auth",
        extra_env={
            "MLFLOW_AUTH_CONFIG_PATH": str(config),
            "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(16),
        },
    )
    yield server
    server.stop()


def register(url: str, names: list[str], versions: int) -> None:
    """Registered models whose versions each come from a run of their own."""
    from mlflow import MlflowClient

    mlflow = MlflowClient(tracking_uri=url, registry_uri=url)
    experiment = mlflow.create_experiment("failures")
    for name in names:
        mlflow.create_registered_model(name, tags={"owner": "team-risk", "risk_tier": "low"})
        for number in range(1, versions + 1):
            run = mlflow.create_run(experiment, tags={"mlflow.user": "dana"})
            mlflow.set_terminated(run.info.run_id)
            mlflow.create_model_version(name, f"s3://models/{name}/{number}", run_id=run.info.run_id)


def test_refused_credentials_are_a_clear_failure_that_writes_nothing(
    guarded_mlflow: MlflowServer, core: Steward, operator: Caller, credentials: Any
) -> None:
    credentials("admin", ADMIN_PASSWORD)
    register(guarded_mlflow.url, ["credit-limit"], 2)
    before = db_state(core)

    for user, password in ((None, None), ("admin", "not-the-password")):
        credentials(user, password)
        summary = core.harvests.harvest(operator, MlflowSource(guarded_mlflow.url, digest="metadata"))
        assert summary.failure is not None and summary.failure.code == "unauthenticated"
        message = summary.errors[0]
        assert f"MLflow at {guarded_mlflow.url} refused the credentials (HTTP 401)" in message
        assert "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD" in message
        assert summary.errors == [message] and not summary.created
        assert db_state(core) == before

    credentials("admin", ADMIN_PASSWORD)  # the same server, the right password: it all comes
    summary = core.harvests.harvest(operator, MlflowSource(guarded_mlflow.url, digest="metadata"))
    assert summary.failure is None, summary.errors
    assert (summary.created["model"], summary.created["version"], summary.created["run"]) == (1, 2, 2)


def test_mlflow_going_away_mid_harvest_keeps_every_batch_committed_before(
    tmp_path: Path, core: Steward, operator: Caller, credentials: Any
) -> None:
    root, port = tmp_path / "mlflow", free_port()
    server = start_mlflow(root, port=port)
    names = [f"scorer-{i}" for i in range(4)]
    try:
        register(server.url, names, 3)
        # one model per write transaction; each batch fetches its versions' runs from MLflow
        harvests = HarvestService(core.store, core.bus, core.clock, core.guard, batch_size=3)
        stopped: list[int] = []

        def progress(stage: str, done: int, _total: int | None) -> None:
            if stage == "versions" and done == 3 and not stopped:
                server.stop()  # after the first model is committed
                stopped.append(done)

        summary = harvests.harvest(
            operator,
            MlflowSource(server.url, digest="metadata", timeout=5),
            models=names,
            write_back=False,
            progress=progress,
        )
        assert stopped == [3]
        assert summary.failure is not None and summary.failure.code == "unavailable"
        assert f"MLflow at {server.url}" in summary.errors[-1]
        assert summary.created["model"] == 1 and summary.created["version"] == 3
        assert [m.name for m in core.registry.list_models(operator, ModelFilter()).items] == [names[0]]
        kept = [core.registry.get_version(operator, names[0], n) for n in (1, 2, 3)]
        assert [v.external_id for v in kept] == [
            f"{server.url}/#/models/{names[0]}/versions/{n}" for n in (1, 2, 3)
        ]
        assert core.audit.verify(operator).ok  # the committed batch is whole, with its checkpoint

        server = start_mlflow(root, port=port)  # back, same data and address: the rest comes
        again = harvests.harvest(
            operator, MlflowSource(server.url, digest="metadata"), models=names, write_back=False
        )
        assert again.failure is None, again.errors
        assert again.created["model"] == 3 and again.created["version"] == 9
        assert again.unchanged["version"] == 3 and not again.updated
        assert sorted(m.name for m in core.registry.list_models(operator, ModelFilter()).items) == names
        assert core.audit.verify(operator).ok
    finally:
        server.stop()
