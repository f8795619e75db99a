"""Steward's REST API against MLflow's on the same registry, and the harvest against a bare listing.

Loads the same model versions (default 10,000 across 500 models, tags owner/tier/status, a
production alias in MLflow and a production deployment in Steward per model: in Steward the newest
version of each model is promoted the governed way, with its run, data and sign-offs, which MLflow
has no counterpart for and which its load time includes) into a real
``mlflow server`` and a real ``steward serve`` on this machine (both one worker, SQLite), then times
the same four queries through each REST API:

    get a version | list a model's versions | search versions by tag | resolve the production version

and prints p50/p95 for each and the ratio MLflow/Steward (target: Steward >= 10x faster), beside
the HTTP floor: the same client against a no-op FastAPI route on uvicorn (``_noop_app.py``), whose
time bounds the ratio any server on this stack could reach (MLflow p50 / floor p50). Every query
goes through one kept-alive ``http.client`` connection per server (``--client httpx`` for httpx,
whose own time per request is larger than a quick query's). Then it
times the MLflow client listing the registry alone (all registered models and versions, paged),
and ``steward harvest``'s use case on the same data (``--digest metadata``: the bench versions have
no artefact files; no write-back), and prints versions per second and the ratio (target <= 1.5x).

Prints figures, asserts nothing:  uv run python bench/vs_mlflow.py [--versions 1000] [--queries 200]
(``--dir DIR`` keeps the loaded registries in DIR; a later run with the same DIR times them again
without the five-minute load.)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from _keepalive import KeepAlive

ENV = {
    "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_up(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url} exited early:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer in {timeout} s")


def start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        return subprocess.Popen(
            args, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )


def model_name(i: int) -> str:
    return f"bench-model-{i:04d}"


def tags_of(i: int, v: int) -> dict[str, str]:
    return {
        "owner": f"team-{i % 25}",
        "tier": ("high", "medium", "low")[i % 3],
        "status": ("ok", "review")[v % 2],
    }


def load_mlflow(url: str, models: int, per_model: int) -> float:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=url, registry_uri=url)
    started = time.perf_counter()

    def one_model(i: int) -> None:
        name = model_name(i)
        client.create_registered_model(
            name, tags={"owner": f"team-{i % 25}", "tier": ("high", "medium", "low")[i % 3]}
        )
        for v in range(1, per_model + 1):
            client.create_model_version(name, f"s3://bench/{name}/{v}", tags=tags_of(i, v))
        client.set_registered_model_alias(name, "production", str(per_model))

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one_model, range(models)))
    return time.perf_counter() - started


def load_steward(database_url: str, models: int, per_model: int) -> tuple[float, str]:
    from governance import Signers, promote

    from steward import wire
    from steward.domain import RiskTier, Role
    from steward.service import Steward, local_operator

    core = Steward.open(database_url, migrate=True)
    admin = local_operator(name="local:bench")
    started = time.perf_counter()
    signers = Signers.create(core)
    core.registry.create_dataset(
        admin, wire.DatasetCreate(name="bench-data", source="warehouse", approved=True)
    )
    core.registry.add_dataset_version(
        admin,
        "bench-data",
        wire.DatasetVersionCreate(version="v1", uri="s3://bench/data", digest=f"sha256:{0:064x}"),
    )
    for i in range(models):
        name, tier = model_name(i), (RiskTier.HIGH, RiskTier.MEDIUM, RiskTier.LOW)[i % 3]
        core.registry.create_model(
            admin,
            wire.ModelCreate(
                name=name,
                owner=f"team-{i % 25}",
                risk_tier=tier,
                tags={"owner": f"team-{i % 25}", "tier": tier.value},
                intended_use="Benchmark traffic only.",
                limitations="Synthetic.",
                regulatory_scopes=["sr-11-7"],
            ),
        )
        run = f"bench-run-{i}"
        core.registry.record_run(admin, wire.TrainingRunCreate(run_id=run, code_commit="4f2a9c1"))
        for v in range(1, per_model + 1):
            digest = f"sha256:{(i * 100_000 + v):064x}"
            governed: dict[str, object] = {}
            if v == per_model:  # the one promoted: traceable, measured, its environment captured
                governed = {
                    "training_run": run,
                    "code_commit": "4f2a9c1",
                    "metrics": {"accuracy": 0.93, "auc": 0.9},
                    "environment": {"python_version": "3.11.9", "dependency_lock_digest": digest},
                    "datasets": [{"dataset": "bench-data", "version": "v1", "role": "training"}],
                }
            core.registry.register_version(
                admin,
                name,
                wire.VersionCreate(
                    artifact_uri=f"s3://bench/{name}/{v}",
                    artifact_digest=digest,
                    tags=tags_of(i, v),
                    **governed,
                ),
            )
        promote(core, signers, name, per_model, "production", tier, endpoint="bench")
    elapsed = time.perf_counter() - started
    core.identity.create_principal(admin, wire.PrincipalCreate(name="bench", roles=[Role.AUDITOR]))
    _, token = core.identity.create_token(admin, wire.TokenCreate(principal="bench"))
    core.close()
    return elapsed, token


def timings(call: Callable[[], tuple[int, bytes]], n: int) -> list[float]:
    found = []
    for _ in range(n):
        started = time.perf_counter()
        status, body = call()
        found.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise SystemExit(f"a query answered {status}: {body[:300]!r}")
    return found


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--models", type=int, default=None, help="default: versions / 20")
    parser.add_argument("--queries", type=int, default=200, help="samples per query and API")
    parser.add_argument(
        "--client", choices=["http.client", "httpx"], default="http.client", help="the HTTP client"
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="keep both registries here; a folder a previous run loaded is timed again without loading",
    )
    args = parser.parse_args()
    import mlflow  # noqa: F401  (imported for its side effect: it sets up its own logging; quieten it after)

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    models = args.models or max(1, args.versions // 20)
    per_model = max(1, args.versions // models)
    total = models * per_model
    root = args.dir or Path(tempfile.mkdtemp(prefix="steward-vs-mlflow-"))
    root.mkdir(parents=True, exist_ok=True)
    record = root / "loaded.json"  # what an earlier run loaded into --dir: sizes and the token
    loaded = json.loads(record.read_text()) if record.exists() else None
    if loaded is not None and (loaded["models"], loaded["per_model"]) != (models, per_model):
        raise SystemExit(
            f"--dir {root} holds {loaded['models']} models x {loaded['per_model']} versions, not "
            f"{models} x {per_model}: run with --versions {loaded['models'] * loaded['per_model']} "
            f"--models {loaded['models']}, or give another --dir"
        )
    env = {**os.environ, **ENV}
    os.environ.update(ENV)
    bin_dir = Path(sys.executable).parent
    mlflow_port, steward_port = free_port(), free_port()
    mlflow_url, steward_url = f"http://127.0.0.1:{mlflow_port}", f"http://127.0.0.1:{steward_port}"
    processes: list[subprocess.Popen[bytes]] = []
    try:
        mlflow_server = start(
            [
                str(bin_dir / "mlflow"),
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(mlflow_port),
                "--workers",
                "1",
                "--backend-store-uri",
                f"sqlite:///{root / 'mlflow.db'}",
                "--artifacts-destination",
                str(root / "art"),
            ],
            root / "mlflow.log",
            env,
        )
        processes.append(mlflow_server)
        wait_up(f"{mlflow_url}/health", mlflow_server, root / "mlflow.log")
        database_url = f"sqlite:///{root / 'steward.db'}"
        if loaded is not None:
            print(f"timing the registries {root} holds (loaded by an earlier run)")
            token = loaded["token"]
        else:
            print(f"loading {total} versions of {models} models (tags owner, tier, status)…", flush=True)
            mlflow_load = load_mlflow(mlflow_url, models, per_model)
            steward_load, token = load_steward(database_url, models, per_model)
            record.write_text(json.dumps({"models": models, "per_model": per_model, "token": token}))
            print(
                f"  loaded MLflow in {mlflow_load:.1f} s (REST, 8 threads), "
                f"Steward in {steward_load:.1f} s (service)"
            )
        steward = start(
            [sys.executable, "-m", "steward", "serve", "--host", "127.0.0.1", "--port", str(steward_port)],
            root / "steward.log",
            {**env, "STEWARD_DATABASE_URL": database_url},
        )
        processes.append(steward)
        wait_up(f"{steward_url}/api/v1/health", steward, root / "steward.log")

        floor_port = free_port()
        floor = start(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "_noop_app:app",
                "--app-dir",
                str(Path(__file__).parent),
                "--port",
                str(floor_port),
                "--log-level",
                "warning",
            ],
            root / "noop.log",
            env,
        )
        processes.append(floor)
        wait_up(f"http://127.0.0.1:{floor_port}/noop", floor, root / "noop.log")

        rng = random.Random(7)

        def pick() -> tuple[int, int]:
            return rng.randrange(models), rng.randrange(1, per_model + 1)

        m = KeepAlive(f"{mlflow_url}/api/2.0/mlflow", library=args.client)
        s = KeepAlive(f"{steward_url}/api/v1", {"Authorization": f"Bearer {token}"}, args.client)

        def mlflow_get() -> tuple[int, bytes]:
            i, v = pick()
            return m.get("/model-versions/get", params={"name": model_name(i), "version": str(v)})

        def steward_get() -> tuple[int, bytes]:
            i, v = pick()
            return s.get(f"/models/{model_name(i)}/versions/{v}")

        def mlflow_list() -> tuple[int, bytes]:
            return m.get(
                "/model-versions/search",
                params={"filter": f"name='{model_name(pick()[0])}'", "max_results": 100},
            )

        def steward_list() -> tuple[int, bytes]:
            return s.get(f"/models/{model_name(pick()[0])}/versions", params={"page_size": 100})

        def mlflow_tag() -> tuple[int, bytes]:
            return m.get(
                "/model-versions/search",
                params={"filter": f"tags.owner = 'team-{rng.randrange(25)}'", "max_results": 100},
            )

        def steward_tag() -> tuple[int, bytes]:
            return s.get("/versions", params={"tag": f"owner=team-{rng.randrange(25)}", "page_size": 100})

        def mlflow_alias() -> tuple[int, bytes]:
            return m.get(
                "/registered-models/alias", params={"name": model_name(pick()[0]), "alias": "production"}
            )

        def steward_alias() -> tuple[int, bytes]:
            return s.get(f"/models/{model_name(pick()[0])}/deployments", params={"environment": "production"})

        queries = [
            ("get a version", mlflow_get, steward_get),
            ("list a model's versions", mlflow_list, steward_list),
            ("search versions by tag (100)", mlflow_tag, steward_tag),
            ("resolve production version", mlflow_alias, steward_alias),
        ]
        print(
            f"\nREST queries, {args.queries} samples each (ms), {total} versions, one worker each, "
            f"client {args.client} (keep-alive):"
        )
        print(
            f"{'query':32} {'MLflow p50':>11} {'p95':>8} {'Steward p50':>12} {'p95':>8} "
            f"{'ratio p50':>10} {'p95':>7}"
        )
        noop = KeepAlive(f"http://127.0.0.1:{floor_port}", library=args.client)
        timings(lambda: noop.get("/noop"), 20)
        floor_p50 = pct(timings(lambda: noop.get("/noop"), args.queries), 0.5)
        for label, ask_mlflow, ask_steward in queries:
            timings(ask_mlflow, 5)  # each warmed just before it is timed
            a = timings(ask_mlflow, args.queries)
            timings(ask_steward, 5)
            b = timings(ask_steward, args.queries)
            print(
                f"{label:32} {pct(a, 0.5):11.2f} {pct(a, 0.95):8.2f} {pct(b, 0.5):12.2f} {pct(b, 0.95):8.2f} "
                f"{pct(a, 0.5) / pct(b, 0.5):9.1f}x {pct(a, 0.95) / pct(b, 0.95):6.1f}x"
                f"   (floor bound {pct(a, 0.5) / floor_p50:.1f}x)"
            )
        print(
            f"HTTP floor (no-op FastAPI route on uvicorn, same client): p50 {floor_p50:.2f} ms; "
            "'floor bound' is MLflow p50 / floor p50, the most any server on this stack could reach"
        )
        noop.close()
        m.close()
        s.close()

        # harvest throughput against the MLflow client's bare listing of the same data
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=mlflow_url, registry_uri=mlflow_url)
        started = time.perf_counter()
        listed, token_ = 0, None
        while True:
            models_page = client.search_registered_models(max_results=1000, page_token=token_)
            token_ = models_page.token
            if not token_:
                break
        token_ = None
        while True:
            versions_page = client.search_model_versions(max_results=10_000, page_token=token_)
            listed += len(versions_page)
            token_ = versions_page.token
            if not token_:
                break
        bare = time.perf_counter() - started

        from steward.connectors.mlflow import MlflowSource
        from steward.service import Steward, local_operator

        for stale in root.glob("harvest.db*"):  # a kept folder's harvest starts from nothing again
            stale.unlink()
        core = Steward.open(f"sqlite:///{root / 'harvest.db'}", migrate=True)
        started = time.perf_counter()
        summary = core.harvests.harvest(
            local_operator(name="local:bench"),
            MlflowSource(mlflow_url, digest="metadata"),
            models=None,
            experiments=None,
            write_back=False,
        )
        harvest = time.perf_counter() - started
        core.close()
        created = summary.created.get("version", 0)
        print(
            f"\nMLflow client listing alone: {listed} versions in {bare:.2f} s "
            f"({listed / bare:,.0f} versions/s)"
        )
        print(
            f"steward harvest (metadata digest, no write-back): {created} versions in {harvest:.2f} s "
            f"({created / harvest:,.0f} versions/s), {harvest / bare:.2f}x the bare listing (target <= 1.5x)"
        )
        again_started = time.perf_counter()
        core = Steward.open(f"sqlite:///{root / 'harvest.db'}")
        again = core.harvests.harvest(
            local_operator(name="local:bench"), MlflowSource(mlflow_url, digest="metadata"), write_back=False
        )
        again_time = time.perf_counter() - again_started
        core.close()
        print(
            f"second (incremental) harvest: changed={again.changed}, "
            f"{again.unchanged.get('version', 0)} versions "
            f"unchanged in {again_time:.2f} s, {again_time / bare:.2f}x the bare listing"
        )
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        if args.dir is None:  # a folder of our own: both servers have stopped writing to it
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
