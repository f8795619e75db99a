"""A real ``mlflow server`` for the connector's tests, and real scikit-learn models to register in it.

The server runs once per test session (per xdist worker), lean: one worker, SQLite backend,
artefacts in a temporary folder, loopback only, job execution and telemetry off. Webhooks may
target loopback (``MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS``) over plain http, and their list is cached
for one second only, so a webhook registered mid-session sees the next event.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

MLFLOW_ENV = {
    "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http,https",
    "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true",
    "MLFLOW_WEBHOOK_CACHE_TTL": "1",
    "MLFLOW_WEBHOOK_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "NO_PROXY": "127.0.0.1,localhost",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class MlflowServer:
    url: str
    root: Path
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        """Stop the server and every process it started (``mlflow server`` runs uvicorn as a child
        of its own): a graceful stop, then a kill of what is left. When this returns, the port
        refuses connections, so a test that stops MLflow mid-harvest knows it is gone."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):  # a child the graceful stop left behind
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        host, port = self.url.removeprefix("http://").split(":")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection((host, int(port)), timeout=1).close()
            except OSError:
                return
            time.sleep(0.1)
        raise AssertionError(f"MLflow at {self.url} still answers after its processes were stopped")


def start_mlflow(
    root: Path, *, port: int | None = None, app: str | None = None, extra_env: dict[str, str] | None = None
) -> MlflowServer:
    """Start (or, on the same ``root`` and ``port``, restart) a server; ``app`` names an MLflow
    server app such as ``basic-auth``."""
    from cryptography.fernet import Fernet

    root.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log = root / "mlflow.log"
    env = {
        **os.environ,
        **MLFLOW_ENV,
        "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        **(extra_env or {}),
    }
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "MLFLOW_TRACKING_URI"):
        env.pop(name, None)
    executable = Path(sys.executable).with_name("mlflow")
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [
                str(executable),
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
                "--backend-store-uri",
                f"sqlite:///{root / 'mlflow.db'}",
                "--artifacts-destination",
                str(root / "artifacts"),
                *(["--app-name", app] if app else []),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=root,
            start_new_session=True,  # a group of its own, so stop() reaches uvicorn too
        )
    server = MlflowServer(f"http://127.0.0.1:{port}", root, process)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"mlflow server exited early:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{server.url}/health", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.3)
    server.stop()
    raise AssertionError(f"mlflow server did not answer within 120 s:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """One real MLflow tracking server (with registry and artefact proxy) for the session."""
    saved = {k: os.environ.get(k) for k in MLFLOW_ENV}
    os.environ.update(MLFLOW_ENV)
    server = start_mlflow(tmp_path_factory.mktemp("mlflow"))
    import mlflow

    mlflow.set_tracking_uri(server.url)
    mlflow.set_registry_uri(server.url)
    try:
        yield server
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


COMMIT = "0123456789abcdef0123456789abcdef01234567"


def train(
    name: str,
    experiment: str,
    *,
    seed: int = 0,
    register: bool = True,
    c: float = 1.0,
    contexts: tuple[str, str] = ("training", "validation"),
    serialization: str = "cloudpickle",
) -> tuple[str, str | None, str]:
    """Train a logistic regression on generated data in a real run: parameters, metrics, a git
    commit, a training and a validation dataset input, the logged model (registered as ``name``
    unless ``register`` is false). Serialised with cloudpickle by default, whose bytes are the same
    for the same trained model (skops writes a zip with timestamps).
    Gives ``(run id, version or None, model URI)``."""
    import mlflow
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    features = rng.normal(size=(120, 4))
    labels = (features[:, 0] + 0.5 * features[:, 1] > 0).astype(int)
    train_x, val_x, train_y, val_y = features[:90], features[90:], labels[:90], labels[90:]
    mlflow.set_experiment(experiment)
    with mlflow.start_run() as run:
        mlflow.set_tag("mlflow.source.git.commit", COMMIT)
        mlflow.log_input(
            mlflow.data.from_numpy(train_x, targets=train_y, name=f"{name}-train"), context=contexts[0]
        )
        frame = pd.DataFrame(val_x, columns=["a", "b", "c", "d"]).assign(label=val_y)
        mlflow.log_input(
            mlflow.data.from_pandas(frame, targets="label", name=f"{name}-val"), context=contexts[1]
        )
        model = LogisticRegression(C=c, random_state=seed, max_iter=200).fit(train_x, train_y)
        mlflow.log_params({"C": c, "seed": seed})
        mlflow.log_metric("accuracy", float(model.score(val_x, val_y)))
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            pip_requirements=["scikit-learn"],
            serialization_format=serialization,
            registered_model_name=name if register else None,
        )
    version = str(info.registered_model_version) if register and info.registered_model_version else None
    return run.info.run_id, version, info.model_uri


def client() -> Any:
    from mlflow import MlflowClient

    return MlflowClient()


def wait_for(check: Any, timeout: float = 30.0, interval: float = 0.05) -> Any:
    """Poll ``check()`` until it gives something truthy; give it (or fail after ``timeout``)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as error:  # the record may not exist yet
            last = error
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    raise AssertionError(f"not within {timeout} s; last: {last!r}")
