"""Web UI figures: server time of the inventory and a model page at 2,000 models and 20,000 versions.

Run with ``uv run python bench/ui.py [--db URL]`` (default: a fresh SQLite file in a temporary
folder; ``--quick`` for a short run: 400 models, 4,000 versions, fewer requests). Prints figures;
asserts nothing. Target: p50 <= 50 ms for each page.

The inventory rows, and policy decisions and checks for every version (so the pages run their gate
queries over about 40,000 of each), are bulk-inserted in one transaction straight into the tables
(no audit events: the pages measured only read them), so seeding takes seconds; the principal that
signs in is made through the service. Server time is measured around the ASGI application, so it
excludes the test client; every page is requested through a signed-in session, as a browser would.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import insert, select
from starlette.types import ASGIApp, Receive, Scope, Send

from steward import wire
from steward.domain import Role
from steward.server import create_app
from steward.service import Steward, local_operator
from steward.settings import Settings
from steward.storage._gates import SqlCheckResult, SqlPolicyDecision
from steward.storage._tables import (
    SqlDataset,
    SqlDatasetVersion,
    SqlDeployment,
    SqlModel,
    SqlModelVersion,
    SqlTrainingRun,
    SqlVersionDataset,
)

MODELS = 2_000
VERSIONS_PER_MODEL = 10  # 20,000 versions
REQUESTS = 60
WARMUP = 10
OWNERS = [f"team-{i:02d}" for i in range(40)]
SCOPES = ["sr-11-7", "eu-ai-act-high-risk", "hipaa", "pci-dss", "solvency-ii"]


class Timed:
    """ASGI wrapper that keeps the server-side wall time and process CPU time of each request.

    On a busy machine wall time includes waiting for a CPU; CPU time does not, so the two together
    tell the cost of a page from the load of the machine it was measured on.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.samples: list[float] = []
        self.cpu: list[float] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started, cpu = time.perf_counter(), time.process_time()
        await self.app(scope, receive, send)
        if scope["type"] == "http":
            self.samples.append(time.perf_counter() - started)
            self.cpu.append(time.process_time() - cpu)

    def clear(self) -> None:
        self.samples.clear()
        self.cpu.clear()


def digest(*parts: object) -> str:
    return "sha256:" + hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def seed(steward: Steward, models: int) -> None:
    rng = random.Random(11)
    now = datetime.now(UTC)
    with steward.store.engine.begin() as conn:
        dataset_id = conn.execute(
            insert(SqlDataset).returning(SqlDataset.id),
            [
                {
                    "name": "bench-data",
                    "description": "",
                    "source": "s3://bench",
                    "owner": "data",
                    "approved": True,
                    "created_by": "bench",
                    "created_at": now,
                    "updated_at": now,
                    "revision": 1,
                }
            ],
        ).scalar_one()
        conn.execute(
            insert(SqlDatasetVersion),
            [
                {
                    "dataset_id": dataset_id,
                    "version": f"v{i}",
                    "uri": f"s3://bench/v{i}",
                    "digest": digest("data", i),
                    "schema_digest": None,
                    "row_count": 1000,
                    "created_by": "bench",
                    "created_at": now,
                }
                for i in range(10)
            ],
        )
        data_ids = list(conn.execute(select(SqlDatasetVersion.id)).scalars())
        conn.execute(
            insert(SqlModel),
            [
                {
                    "name": f"model-{i:04d}",
                    "owner": rng.choice(OWNERS),
                    "risk_tier": rng.choice(["high", "medium", "low"]),
                    "state": rng.choice(["active"] * 8 + ["under_review", "retired"]),
                    "description": f"Benchmark model {i}",
                    "use_case": rng.choice(["credit decisions", "fraud scoring", "churn", "triage"]),
                    "intended_use": "benchmark",
                    "limitations": "none",
                    "regulatory_scopes": rng.sample(SCOPES, rng.randint(0, 2)),
                    "tags": {},
                    "source_links": {},
                    "review_cadence_months": rng.choice([None, 6, 12, 24]),
                    "created_by": "bench",
                    "created_at": now - timedelta(days=rng.randint(30, 900)),
                    "updated_at": now - timedelta(days=rng.randint(0, 900)),
                    "revision": 1,
                }
                for i in range(models)
            ],
        )
        model_ids = dict(conn.execute(select(SqlModel.name, SqlModel.id)).all())
        conn.execute(
            insert(SqlTrainingRun),
            [
                {
                    "run_id": f"run-{m}-{v}",
                    "platform": "mlflow",
                    "experiment": f"exp-{m}",
                    "user": "dana",
                    "parameters": {"depth": "6"},
                    "metrics": {"auc": 0.8},
                    "parent_run_id": None,
                    "code_commit": hashlib.sha1(f"{m}{v}".encode(), usedforsecurity=False).hexdigest(),
                    "started_at": now,
                    "ended_at": now,
                    "created_by": "bench",
                    "created_at": now,
                }
                for m in range(models)
                for v in range(1, VERSIONS_PER_MODEL + 1)
            ],
        )
        run_ids = dict(conn.execute(select(SqlTrainingRun.run_id, SqlTrainingRun.id)).all())
        conn.execute(
            insert(SqlModelVersion),
            [
                {
                    "model_id": model_ids[f"model-{m:04d}"],
                    "version": v,
                    "artifact_uri": f"s3://models/{m}/{v}",
                    "artifact_digest": digest(m, v),
                    "source_platform": "mlflow",
                    "external_id": None,
                    "training_run_id": run_ids[f"run-{m}-{v}"],
                    "description": "",
                    "metrics": {"auc": round(rng.uniform(0.7, 0.95), 4), "accuracy": 0.9},
                    "parameters": {},
                    "tags": {},
                    "code_repository": f"https://git.example.com/{m}",
                    "code_commit": hashlib.sha1(f"{m}{v}".encode(), usedforsecurity=False).hexdigest(),
                    "python_version": "3.11.9",
                    "dependency_lock_digest": digest("lock", m, v),
                    "container_image_digest": None,
                    "state": rng.choice(["registered", "validated", "approved", "deprecated"]),
                    "registered_by": "dana",
                    "created_at": now - timedelta(days=rng.randint(0, 120)),
                    "updated_at": now,
                    "revision": 1,
                }
                for m in range(models)
                for v in range(1, VERSIONS_PER_MODEL + 1)
            ],
        )
        versions = conn.execute(select(SqlModelVersion.id, SqlModelVersion.model_id)).all()
        conn.execute(
            insert(SqlVersionDataset),
            [
                {"version_id": vid, "dataset_version_id": data_ids[vid % len(data_ids)], "role": role}
                for vid, _ in versions
                for role in ("training", "test")
            ],
        )
        last = {}
        for vid, mid in versions:
            last[mid] = vid
        deployments = []
        for mid, vid in last.items():
            deployments.append((mid, vid - 1, "production"))
            deployments.append((mid, vid, "staging"))
        conn.execute(
            insert(SqlDeployment),
            [
                {
                    "model_id": mid,
                    "version_id": vid,
                    "environment": env,
                    "target": f"k8s://{env}/{mid}",
                    "deployed_by": "eli",
                    "deployed_at": now,
                    "state": "active",
                    "replaces_id": None,
                    "reason": "bench",
                    "ended_at": None,
                }
                for mid, vid, env in deployments
                if mid % 2 == 0 or env == "staging"  # half the models run in production
            ],
        )
        seed_gates(conn, rng, [vid for vid, _ in versions], set(last.values()), now)


DENIES = [
    {
        "rule": "metrics.floor",
        "message": "metrics.floor: metric auc is 0.71; required >= 0.75",
        "measured": 0.71,
        "required": 0.75,
    },
    {
        "rule": "lineage.code_commit",
        "message": "lineage.code_commit: code commit is missing",
        "measured": None,
        "required": "code commit",
    },
]
WARNINGS = [
    {
        "rule": "fairness.reported",
        "message": "fairness.reported: the fairness check was reported by its caller",
        "measured": "reported",
        "required": "computed",
    },
]


def seed_gates(
    conn: Any, rng: random.Random, version_ids: list[int], newest: set[int], now: datetime
) -> None:
    """Policy decisions (production and staging, some versions evaluated twice) and checks
    (fairness with its measured values, documentation) for every version: about 40,000 of each."""
    fairness = {
        "rows": 5000,
        "attributes": {
            "sex": {
                "demographic_parity_ratio": 0.91,
                "equalized_odds_difference": 0.04,
                "groups": {g: {"count": 2500, "selection_rate": 0.4} for g in ("F", "M")},
            }
        },
        "thresholds": {"min_ratio": 0.8},
    }
    document = {"schema_version": 1, "model": {"name": "bench", "tags": {}}, "padding": "x" * 2000}
    decisions: list[dict[str, Any]] = []
    checks: list[dict[str, Any]] = []
    for vid in version_ids:
        targets = ["staging", "production"] + (["production"] if vid in newest else [])
        for target in targets:
            allow = rng.random() < 0.6
            decisions.append(
                {
                    "version_id": vid,
                    "environment": target,
                    "allow": allow,
                    "denies": [] if allow else DENIES[: rng.randint(1, 2)],
                    "warnings": WARNINGS,
                    "bundle_name": "steward-builtin",
                    "bundle_version": "1.1.0",
                    "bundle_digest": digest("bundle"),
                    "input_digest": digest("input", vid, target),
                    "engine": "regorus",
                    "engine_version": "0.2",
                    "input_document": document,
                    "audit_seq": None,
                    "created_by": "eli",
                    "created_at": now - timedelta(days=rng.randint(0, 90)),
                }
            )
        for kind, status, values in (
            ("fairness", "pass", fairness),
            ("documentation", rng.choice(["pass", "fail"]), {"completeness": 0.8}),
        ):
            checks.append(
                {
                    "version_id": vid,
                    "dataset_version_id": None,
                    "kind": kind,
                    "status": status,
                    "values": values,
                    "messages": [],
                    "created_by": "vera",
                    "created_at": now - timedelta(days=rng.randint(0, 90)),
                }
            )
    conn.execute(insert(SqlPolicyDecision), decisions)
    conn.execute(insert(SqlCheckResult), checks)


def figures(samples: tuple[list[float], list[float]]) -> str:
    wall, cpu = (sorted(s * 1000 for s in series) for series in samples)
    p95 = wall[min(len(wall) - 1, round(0.95 * (len(wall) - 1)))]
    return (
        f"p50 {statistics.median(wall):6.1f} ms   p95 {p95:6.1f} ms   max {wall[-1]:6.1f} ms"
        f"   (CPU p50 {statistics.median(cpu):5.1f} ms)"
    )


def measure(
    client: TestClient, timed: Timed, args: argparse.Namespace, path: str, **kwargs: Any
) -> tuple[list[float], list[float]]:
    for _ in range(args.warmup):
        assert client.get(path, **kwargs).status_code == 200, path
    timed.clear()
    for _ in range(args.requests):
        client.get(path, **kwargs)
    return list(timed.samples), list(timed.cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", help="database URL (default: SQLite in a temporary folder)")
    parser.add_argument("--quick", action="store_true", help="Small sizes, for a smoke run.")
    args = parser.parse_args()
    args.models = 400 if args.quick else MODELS  # 400: the inventory still has a page 7 of 50
    args.requests, args.warmup = (20, 3) if args.quick else (REQUESTS, WARMUP)
    with tempfile.TemporaryDirectory(prefix="steward-bench-ui-") as folder:
        run(args, args.db or f"sqlite:///{Path(folder) / 'steward.db'}")


def run(args: argparse.Namespace, url: str) -> None:
    steward = Steward.open(url, migrate=True)
    started = time.perf_counter()
    seed(steward, args.models)
    operator = local_operator(name="bench")
    steward.identity.create_principal(
        operator, wire.PrincipalCreate(name="carl", roles=[Role.COMPLIANCE_OFFICER])
    )
    _, token = steward.identity.create_token(operator, wire.TokenCreate(principal="carl"))
    seconds = time.perf_counter() - started
    print(
        f"seeded {args.models} models, {args.models * VERSIONS_PER_MODEL} versions, their gate decisions and"
        f" checks in {seconds:.1f} s"
    )
    print(f"database: {steward.store.backend} ({url})")

    timed = Timed(create_app(Settings(database_url=url), steward=steward))
    with TestClient(timed) as client:
        form = client.get("/signin").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert csrf is not None
        client.post("/signin", data={"token": token, "csrf_token": csrf.group(1)})
        late = f"model-{min(1234, args.models - 1):04d}"  # model-1234 at full scale
        pages: list[tuple[str, Callable[[], tuple[list[float], list[float]]]]] = [
            ("inventory (first page, by name)", lambda: measure(client, timed, args, "/")),
            (
                "inventory sorted by review due",
                lambda: measure(client, timed, args, "/?sort=review_due&order=desc"),
            ),
            (
                "inventory filtered (tier + text)",
                lambda: measure(client, timed, args, "/?tier=high&q=fraud"),
            ),
            (
                "inventory htmx fragment",
                lambda: measure(
                    client,
                    timed,
                    args,
                    "/?page=7",
                    headers={"HX-Request": "true", "HX-Target": "inventory-results"},
                ),
            ),
            ("model page (10 versions, lineage)", lambda: measure(client, timed, args, f"/models/{late}")),
            (
                "model page, older version lineage",
                lambda: measure(client, timed, args, "/models/model-0042?version=3"),
            ),
            ("dashboard", lambda: measure(client, timed, args, "/dashboard")),
            (
                "review queue (automated gates, all)",
                lambda: measure(client, timed, args, "/reviews?stage=automated_gates"),
            ),
        ]
        print(
            f"server time over {args.requests} requests each (after {args.warmup} warm-up),"
            " target p50 <= 50 ms:"
        )
        for name, run in pages:
            print(f"  {name:<36} {figures(run())}")
    steward.close()


if __name__ == "__main__":
    main()
