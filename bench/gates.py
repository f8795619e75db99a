"""Benchmarks of the automated gates in the product: decision latency through the service and over
REST, and the fairness check on a million rows beside fairlearn.

    uv run python bench/gates.py                          # 1,000 decisions, 1,000,000 rows
    uv run python bench/gates.py --decisions 300 --rows 200000
    uv run python bench/gates.py --skip-fairness --dir /tmp/gates   # keep the database

Decision latency, on a SQLite file with the ledger key configured (as ``steward`` runs), for two
governed high-risk versions evaluated in turn for production, one that passes every built-in rule
and one that breaks several:

- ``engine call``: ``PolicyService.decide`` on the version's input document (input validation,
  input digest and the regorus evaluation of the built-in bundle, compiled once and reused);
  target p50 <= 1 ms;
- ``input document``: ``GateService.gate_input`` (one read transaction over the records);
- ``evaluate``: ``GateService.evaluate``, the whole use case: input document, the assigned
  bundle, the engine call, the decision and its ``gate.evaluated`` audit event stored together,
  the ledger's Merkle leaves and signed checkpoint;
- ``REST evaluate``: ``POST /api/v1/models/{name}/versions/{v}/evaluations`` against a real
  ``steward serve`` process on the same database, over HTTP with keep-alive (the SDK's httpx
  client), as a CI job calling ``steward gate check --server`` would; target p50 <= 10 ms;
- ``REST gate-input``: ``GET …/gate-input`` the same way.

Fairness: ``bench/gates_pure.py``'s comparison (``steward.checks.fairness_values`` against
fairlearn's ``MetricFrame`` on 1,000,000 rows with 4 groups and a planted disparity, each timed
``--runs`` times after a warm-up), imported and run as is. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from gates_pure import bench_fairness, percentile

from steward import wire
from steward.checks import data_quality_check, expectations_from_dicts, fairness_check
from steward.domain import CheckProvenance, DatasetRole, RiskTier, Role, SourceFile
from steward.errors import NotFound
from steward.service import Caller, KeyFile, Steward, local_operator


def _digest(seed: str) -> str:
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def governed(steward: Steward, admin: Caller, name: str, *, gaps: bool) -> int:
    """A high-risk model and one version; ``gaps`` leaves several rules to deny."""
    steward.registry.create_model(
        admin,
        wire.ModelCreate(
            name=name,
            owner="risk-analytics",
            risk_tier=RiskTier.HIGH,
            use_case="consumer lending",
            intended_use="Rank applications for manual underwriting review.",
            limitations="" if gaps else "Not validated for small-business lending.",
            regulatory_scopes=["eu-ai-act-high-risk"],
        ),
    )
    dataset = f"{name}-applications"
    steward.registry.create_dataset(
        admin, wire.DatasetCreate(name=dataset, source="warehouse", approved=not gaps)
    )
    steward.registry.add_dataset_version(
        admin,
        dataset,
        wire.DatasetVersionCreate(version="2024-06", uri=f"s3://{dataset}", digest=_digest(dataset)),
    )
    steward.registry.record_run(admin, wire.TrainingRunCreate(run_id=f"{name}-run", platform="mlflow"))
    number = steward.registry.register_version(
        admin,
        name,
        wire.VersionCreate(
            artifact_uri=f"s3://models/{name}",
            artifact_digest=_digest(name),
            training_run=f"{name}-run",
            metrics={"accuracy": 0.72 if gaps else 0.91, "auc": 0.87},
            code_commit="4f2a9c1",
            environment=wire.EnvironmentIn(python_version="3.11.7", dependency_lock_digest=_digest("lock")),
            datasets=[wire.DatasetUseIn(dataset=dataset, version="2024-06", role=DatasetRole.TRAINING)],
        ),
    ).version
    rng = np.random.default_rng(3)
    rows = 20_000
    sex = rng.choice(np.array(["F", "M"]), size=rows)
    labels = (rng.random(rows) < 0.4).astype(np.int64)
    score = rng.random(rows) + 0.35 * labels - (0.3 if gaps else 0.0) * (sex == "F")
    fairness = fairness_check(labels, (score > 0.7).astype(np.int64), {"sex": sex})
    source = SourceFile(_digest(f"{name}-predictions"), rows, "csv", "predictions.csv")
    columns = {"label": "y", "prediction": "p", "sensitive": ["sex"], "positive": "1"}
    provenance = CheckProvenance("computed", "steward check fairness (bench)", source, columns)
    steward.checks.record_outcome(admin, name, number, fairness, provenance)
    quality = data_quality_check(
        {"age": np.array([25.0, 40.0, 61.0])},
        expectations_from_dicts([{"type": "value_range", "column": "age", "min": 18, "max": 65}]),
    )
    steward.checks.record_dataset(
        admin, dataset, "2024-06", quality.kind, quality.status, quality.values, quality.messages
    )
    return number


Figures = tuple[float, float, float, float]


def timed(count: int, call: Callable[[int], Any]) -> Figures:
    """``(p50, p95, p99, CPU)`` in ms of ``count`` calls after two warm-up calls; CPU is this
    process's CPU time per call (wall times stretch on a shared machine, CPU time much less)."""
    call(0)
    call(1)
    samples = []
    cpu = time.process_time()
    for index in range(count):
        start = time.perf_counter()
        call(index)
        samples.append(time.perf_counter() - start)
    cpu = (time.process_time() - cpu) / count
    return (
        percentile(samples, 0.5) * 1e3,
        percentile(samples, 0.95) * 1e3,
        percentile(samples, 0.99) * 1e3,
        cpu * 1e3,
    )


def process_cpu(pid: int) -> float | None:
    """CPU seconds a process has used (Linux), or ``None``."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def row(label: str, figures: Figures, note: str = "", server_cpu: float | None = None) -> None:
    p50, p95, p99, cpu = figures
    server = "" if server_cpu is None else f" + {server_cpu:5.2f} server"
    print(f"  {label:<26} {p50:>8.3f} {p95:>8.3f} {p99:>8.3f} {cpu:>8.3f}{server}   {note}")


def served(count: int, pid: int, call: Callable[[int], Any]) -> tuple[Figures, float | None]:
    """:func:`timed`, and the server's CPU ms per call."""
    before = process_cpu(pid)
    figures = timed(count, call)
    after = process_cpu(pid)
    server = None if before is None or after is None else (after - before) * 1e3 / (count + 2)
    return figures, server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def steward_serve(database_url: str, key_path: Path, log: Path) -> Iterator[tuple[str, int]]:
    """A real ``steward serve`` process over ``database_url``; yields its base URL and pid."""
    port = _free_port()
    env = {**os.environ, "STEWARD_LEDGER_KEY_PATH": str(key_path), "STEWARD_DATABASE_URL": database_url}
    command = [sys.executable, "-m", "steward", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"steward serve exited ({process.returncode}):\n{log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"steward serve did not answer in 120 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def bench_decisions(count: int, folder: Path) -> None:
    url = f"sqlite:///{folder / 'gates.db'}"
    key = folder / "ledger.key"
    steward = Steward.open(url, migrate=True)
    steward.ledger.use_keys(KeyFile(key))
    admin = local_operator(name="local:bench")
    try:
        models = []
        for name, gaps in (("passing", False), ("failing", True)):
            try:
                steward.registry.get_model(admin, name)  # kept from an earlier run (--dir)
                models.append((name, 1))
            except NotFound:
                models.append((name, governed(steward, admin, name, gaps=gaps)))
        docs = [steward.gates.gate_input(admin, name, number) for name, number in models]
        bundle = steward.policies.builtin()
        outcomes = [steward.policies.decide(bundle, doc) for doc in docs]
        print(
            f"decision latency, built-in bundle {bundle.name} {bundle.version} on "
            f"{steward.policies.engine.name} {steward.policies.engine.version}, SQLite, "
            f"{count} calls each (passing/failing version in turn: "
            f"{len(outcomes[0].denies)}/{len(outcomes[1].denies)} denials)"
        )
        print(f"  {'':<26} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'CPU ms':>8}")
        row(
            "engine call (in-process)",
            timed(count, lambda i: steward.policies.decide(bundle, docs[i % 2])),
            "target p50 <= 1 ms",
        )
        row("input document", timed(count, lambda i: steward.gates.gate_input(admin, *models[i % 2])))
        row(
            "evaluate (service)",
            timed(count, lambda i: steward.gates.evaluate(admin, *models[i % 2])),
            "input + engine + decision + audit event + checkpoint",
        )

        name = f"bench-{int(time.time())}"
        steward.identity.create_principal(admin, wire.PrincipalCreate(name=name, roles=[Role.ML_ENGINEER]))
        _, token = steward.identity.create_token(admin, wire.TokenCreate(principal=name))
    finally:
        steward.close()

    with (
        steward_serve(url, key, folder / "serve.log") as (base, pid),
        httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http,
    ):
        paths = [f"/api/v1/models/{m}/versions/{n}" for m, n in models]

        def evaluate(i: int) -> None:
            response = http.post(f"{paths[i % 2]}/evaluations", json={"target": "production"})
            response.raise_for_status()

        def gate_input(i: int) -> None:
            http.get(f"{paths[i % 2]}/gate-input").raise_for_status()

        figures, server = served(count, pid, evaluate)
        row("REST evaluate", figures, "target p50 <= 10 ms; real server, HTTP keep-alive", server)
        figures, server = served(count, pid, gate_input)
        row("REST gate-input", figures, "", server)
    print(
        f"  (CPU ms: this process per call, + the server's for REST; load average {os.getloadavg()[0]:.1f}"
        f" on {os.cpu_count()} CPUs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--decisions", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each fairness computation")
    parser.add_argument("--dir", type=Path, default=None, help="Keep the database here.")
    parser.add_argument("--skip-fairness", action="store_true")
    args = parser.parse_args()
    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
        bench_decisions(args.decisions, args.dir)
    else:
        with tempfile.TemporaryDirectory(prefix="steward-gates-") as folder:
            bench_decisions(args.decisions, Path(folder))
    if not args.skip_fairness:
        print()
        bench_fairness(args.rows, args.runs)


if __name__ == "__main__":
    main()
