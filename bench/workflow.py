"""The approval workflow at scale: the full high-risk path over REST, then the review queue and the
history with 10,000 versions and 40,000 reviews.

    uv run python bench/workflow.py                                  # both backends, full scale
    uv run python bench/workflow.py --backend sqlite
    uv run python bench/workflow.py --path-versions 50 --versions 1000 --samples 50   # a smoke run

**The path.** A real ``steward serve`` process on a fresh database (SQLite file, or PostgreSQL:
a throwaway server from Debian's binaries unless ``STEWARD_BENCH_PG_URL`` names one), and one
HTTP client per person, each with their own token. ``--path-versions`` versions of one high-risk
model each go the whole way, one request per step: the data scientist registers it (with its run,
training data and code commit), the validator records its fairness check (a high-risk model is
not promoted without one), the ML engineer evaluates the gates for production, four different
people sign the four stages (automated gates, independent validation, compliance review, business
sign-off), and a deployer promotes it to production, which replaces the version promoted before.
Every step is the real use case: its audit event, Merkle leaf and signed checkpoint included.

**The reads.** The database is then filled up to ``--versions`` versions and four reviews per
version (40,000 at 10,000) over 50-version high-risk models: 96% of the versions signed at every
stage, one in ten of those promoted (each promotion with its gate decision, replacing the one
before), 4% still waiting at some stage, and independent validations signed again to make the
review count exact. These rows are written straight through the store (``SqlTransaction``), one
transaction per model, without audit events: the figures measured here are reads, and loading
40,000 reviews through the use cases would take most of an hour. Then the server times, after a
warm-up, ``--samples`` calls of the review queue (as a validator, a compliance officer, a business
owner and an auditor, who sees every stage), of the history (every deployment of a model, and
what was in production on a date) for random models, and of the periodic reviews due (the first
page, and every model in one page of 1,000). Target: p50 <= 20 ms.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from registry_scale import postgres_database, steward_serve

from steward import wire
from steward.checks import data_quality_check, expectations_from_dicts, fairness_check
from steward.domain import (
    DatasetRole,
    DatasetUse,
    Deployment,
    DeploymentState,
    Model,
    ModelVersion,
    PolicyDecision,
    Promotion,
    PromotionKind,
    Review,
    ReviewDecision,
    ReviewStage,
    RiskTier,
    Role,
    VersionState,
)
from steward.service import KeyFile, Steward, local_operator

API = "/api/v1"
PATH_MODEL = "path-scorer"
PER_MODEL = 50
WARMUP = 20
STAGES = list(ReviewStage)
PEOPLE: dict[str, Role] = {
    "dana": Role.DATA_SCIENTIST,
    "eli": Role.ML_ENGINEER,
    "vera": Role.VALIDATOR,
    "vito": Role.VALIDATOR,
    "carl": Role.COMPLIANCE_OFFICER,
    "bo": Role.BUSINESS_OWNER,
    "otto": Role.ML_ENGINEER,
    "audrey": Role.AUDITOR,
}
SIGNER = {
    ReviewStage.AUTOMATED_GATES: ("eli", Role.ML_ENGINEER),
    ReviewStage.INDEPENDENT_VALIDATION: ("vera", Role.VALIDATOR),
    ReviewStage.COMPLIANCE_REVIEW: ("carl", Role.COMPLIANCE_OFFICER),
    ReviewStage.BUSINESS_SIGNOFF: ("bo", Role.BUSINESS_OWNER),
}
START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def _digest(*parts: object) -> str:
    return "sha256:" + hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def _since(began: float) -> float:
    return time.perf_counter() - began


def _fair() -> dict[str, Any]:
    labels = np.tile([1, 0, 1, 0], 50)
    return dict(fairness_check(labels, labels.copy(), {"sex": np.repeat(np.array(["F", "M"]), 100)}).values)


# -- setup: people, their tokens, the data and run every version uses ---------------------------


def setup(steward: Steward) -> dict[str, str]:
    """Principals with a token each, a high-risk model, approved training data with a passing
    data-quality check, and the training run; returns name → token."""
    operator = local_operator(name="bench-setup")
    tokens = {}
    for name, role in PEOPLE.items():
        steward.identity.create_principal(operator, wire.PrincipalCreate(name=name, roles=[role]))
        tokens[name] = steward.identity.create_token(
            operator, wire.TokenCreate(principal=name, name="bench")
        )[1]
    registry = steward.registry
    registry.create_dataset(operator, wire.DatasetCreate(name="loans", source="warehouse", approved=True))
    registry.add_dataset_version(
        operator,
        "loans",
        wire.DatasetVersionCreate(version="2025-01", uri="s3://loans/2025-01", digest=_digest("l")),
    )
    quality = data_quality_check(
        {"age": np.array([25.0, 40.0, 61.0])},
        expectations_from_dicts([{"type": "value_range", "column": "age", "min": 18, "max": 65}]),
    )
    steward.checks.record_dataset(
        operator, "loans", "2025-01", quality.kind, quality.status, quality.values, quality.messages
    )
    registry.record_run(
        operator,
        wire.TrainingRunCreate(run_id="train-1", platform="mlflow", user="dana", code_commit="4f2a9c1"),
    )
    registry.create_model(operator, wire.ModelCreate(**_model_fields(PATH_MODEL)))
    return tokens


def _model_fields(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "owner": "risk-analytics",
        "risk_tier": RiskTier.HIGH,
        "use_case": "consumer lending",
        "intended_use": "Rank applications for manual underwriting review.",
        "limitations": "Not validated for small-business lending.",
        "regulatory_scopes": ["sr-11-7"],
    }


# -- the full high-risk path over REST ----------------------------------------------------------


@dataclass
class PathStats:
    versions: int = 0
    seconds: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)
    requests: int = 0


def run_path(base: str, tokens: dict[str, str], count: int) -> PathStats:
    """``count`` versions through register → fairness check → evaluate → 4 reviews → promote."""
    clients = {
        name: httpx.Client(base_url=base + API, headers={"Authorization": f"Bearer {t}"}, timeout=60)
        for name, t in tokens.items()
    }
    stats = PathStats(versions=count)
    fairness = {"kind": "fairness", "status": "pass", "values": _fair()}

    def step(label: str, who: str, path: str, body: dict[str, Any]) -> Any:
        began = time.perf_counter()
        response = clients[who].post(path, json=body)
        stats.steps[label] = stats.steps.get(label, 0.0) + _since(began)
        stats.requests += 1
        if response.status_code not in (200, 201):
            raise SystemExit(f"{label} failed: {response.status_code} {response.text[:500]}")
        return response.json()

    try:
        began = time.perf_counter()
        for i in range(1, count + 1):
            body = {
                "artifact_uri": f"s3://models/{PATH_MODEL}/{i}/model.pkl",
                "artifact_digest": _digest(PATH_MODEL, i),
                "training_run": "train-1",
                "metrics": {"accuracy": 0.91, "auc": 0.87},
                "code_repository": "https://git.example.com/risk/scorer",
                "code_commit": "4f2a9c1",
                "environment": {"python_version": "3.11.9", "dependency_lock_digest": _digest("lock", i)},
                "datasets": [{"dataset": "loans", "version": "2025-01", "role": "training"}],
            }
            number = step("register", "dana", f"/models/{PATH_MODEL}/versions", body)["version"]
            version = f"/models/{PATH_MODEL}/versions/{number}"
            step("fairness check", "vera", f"{version}/checks", fairness)
            decision = step("evaluate", "eli", f"{version}/evaluations", {"target": "production"})
            if not decision["allow"]:
                raise SystemExit(f"the gates deny version {number}: {decision['denies']}")
            for stage in STAGES:
                who = SIGNER[stage][0]
                review = {"stage": stage.value, "decision": "approved", "comment": f"{stage.value} ok"}
                step(f"review {stage.value}", who, f"{version}/reviews", review)
            step("promote", "otto", f"{version}/promotions", {"target": "production", "reason": "release"})
            if i % 200 == 0:
                print(f"  {i:,} versions through the path, {_since(began):.0f} s", flush=True)
        stats.seconds = _since(began)
    finally:
        for client in clients.values():
            client.close()
    return stats


# -- the rest of the inventory, straight through the store ---------------------------------------


@dataclass
class Inventory:
    models: list[str] = field(default_factory=list)
    versions: int = 0
    reviews: int = 0
    deployments: int = 0
    seconds: float = 0.0
    first: datetime = START
    last: datetime = START


def plan(versions: int, reviews_wanted: int) -> tuple[list[int], list[bool]]:
    """Reviews per version (4 for 96%, 0 to 3 for the rest) and which full ones are signed again."""
    base = [4 if g % 100 < 96 else (g % 100) - 96 for g in range(versions)]
    extra = max(0, reviews_wanted - sum(base))
    full = [g for g, n in enumerate(base) if n == 4]
    again = [False] * versions
    for g in full[:: max(1, len(full) // extra)][:extra] if extra else []:
        again[g] = True
    return base, again


def load_inventory(steward: Steward, versions: int, reviews_wanted: int) -> Inventory:
    inv = Inventory()
    began = time.perf_counter()
    counts, again = plan(versions, reviews_wanted)
    use = (DatasetUse("loans", "2025-01", DatasetRole.TRAINING),)
    models = (versions + PER_MODEL - 1) // PER_MODEL
    g = 0
    for m in range(models):
        name = f"scorer-{m:04d}"
        made = START + timedelta(minutes=m)
        with steward.store.write() as tx:
            fields = _model_fields(name)
            tx.insert_model(Model(**fields, created_by="dana", created_at=made, updated_at=made))
            current: Deployment | None = None
            for number in range(1, PER_MODEL + 1):
                if g >= versions:
                    break
                at = made + timedelta(days=7 * number)
                tx.insert_version(
                    ModelVersion(
                        model=name,
                        version=number,
                        artifact_uri=f"s3://models/{name}/{number}",
                        artifact_digest=_digest(name, number),
                        training_run="train-1",
                        datasets=use,
                        code_commit="4f2a9c1",
                        metrics={"accuracy": 0.91, "auc": 0.87},
                        registered_by="dana",
                        created_at=at,
                        updated_at=at,
                    )
                )
                vid = tx.workflow.version_id(name, number)
                signed = counts[g]
                for k, stage in enumerate(STAGES[:signed]):
                    who, role = SIGNER[stage]
                    tx.workflow.insert_review(
                        Review(
                            0,
                            name,
                            number,
                            stage,
                            ReviewDecision.APPROVED,
                            who,
                            role,
                            at + timedelta(hours=k + 1),
                        ),
                        vid,
                    )
                if again[g]:
                    tx.workflow.insert_review(
                        Review(
                            0,
                            name,
                            number,
                            ReviewStage.INDEPENDENT_VALIDATION,
                            ReviewDecision.APPROVED,
                            "vito",
                            Role.VALIDATOR,
                            at + timedelta(days=2),
                        ),
                        vid,
                    )
                inv.reviews += signed + again[g]
                state = VersionState.APPROVED if signed == 4 else VersionState.VALIDATED if signed else None
                if signed == 4 and number % 10 == 0:  # promoted, replacing the version promoted before
                    when = at + timedelta(days=3)
                    decision = tx.gates.insert_decision(
                        PolicyDecision(
                            id=0,
                            model=name,
                            version=number,
                            environment="production",
                            allow=True,
                            denies=(),
                            warnings=(),
                            bundle_name="steward-builtin",
                            bundle_version="1.1.0",
                            bundle_digest=_digest("bundle"),
                            input_digest=_digest(name, number, "input"),
                            engine="regorus",
                            engine_version="0.13.0",
                            input={},
                            created_by="otto",
                            created_at=when,
                        ),
                        vid,
                    )
                    if current is not None:
                        tx.deployments.end_deployment(current.id, DeploymentState.REPLACED.value, when)
                    deployment = tx.deployments.insert_deployment(
                        Deployment(
                            0,
                            name,
                            number,
                            "production",
                            "k8s://prod",
                            "otto",
                            when,
                            replaces=current.id if current else None,
                        )
                    )
                    tx.workflow.insert_promotion(
                        Promotion(
                            0,
                            name,
                            number,
                            "production",
                            PromotionKind.PROMOTION,
                            True,
                            "otto",
                            when,
                            "release",
                            gate_decision=decision.id,
                            deployment=deployment,
                            replaced=current,
                        ),
                        vid,
                    )
                    current = deployment
                    inv.deployments += 1
                    inv.last = max(inv.last, when)
                    state = VersionState.DEPLOYED_PRODUCTION
                if state is not None:
                    found = tx.find_version(name, number)
                    assert found is not None
                    tx.workflow.set_version_state(
                        ModelVersion(**{**_fields(found), "state": state, "revision": found.revision + 1}),
                        found.revision,
                    )
                    if state is VersionState.DEPLOYED_PRODUCTION and number > 10:
                        before = tx.find_version(name, number - 10)
                        assert before is not None
                        tx.workflow.set_version_state(
                            ModelVersion(
                                **{
                                    **_fields(before),
                                    "state": VersionState.APPROVED,
                                    "revision": before.revision + 1,
                                }
                            ),
                            before.revision,
                        )
                g += 1
                inv.versions += 1
        inv.models.append(name)
        if (m + 1) % 40 == 0:
            print(
                f"  {inv.versions:,} versions, {inv.reviews:,} reviews loaded, {_since(began):.0f} s",
                flush=True,
            )
    inv.seconds = _since(began)
    return inv


def _fields(version: ModelVersion) -> dict[str, Any]:
    return {name: getattr(version, name) for name in ModelVersion.__dataclass_fields__}


# -- the reads ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    label: str
    p50: float
    p95: float
    note: str


def time_reads(base: str, tokens: dict[str, str], inv: Inventory, samples: int) -> list[Timing]:
    rng = random.Random(5)
    span = (inv.last - inv.first).total_seconds()
    clients = {
        name: httpx.Client(base_url=base + API, headers={"Authorization": f"Bearer {t}"}, timeout=60)
        for name, t in tokens.items()
    }

    def get(who: str, path: str, **params: Any) -> Callable[[], Any]:
        def call() -> Any:
            response = clients[who].get(path, params=params)
            response.raise_for_status()
            return response.json()

        return call

    models = inv.models or [PATH_MODEL]

    def history(at: bool) -> Callable[[], Any]:
        def call() -> Any:
            model = rng.choice(models)
            params = {"at": (inv.first + timedelta(seconds=rng.uniform(0, span))).isoformat()} if at else {}
            response = clients["audrey"].get(f"/models/{model}/history", params=params)
            response.raise_for_status()
            return response.json()

        return call

    sizes = {
        who: len(get(who, "/reviews/pending", page_size=1000)()["items"])
        for who in ("vera", "carl", "bo", "audrey")
    }
    reads: list[tuple[str, Callable[[], Any], str]] = [
        ("queue, validator (page 50)", get("vera", "/reviews/pending"), f"{sizes['vera']} waiting"),
        ("queue, compliance officer", get("carl", "/reviews/pending"), f"{sizes['carl']} waiting"),
        ("queue, business owner", get("bo", "/reviews/pending"), f"{sizes['bo']} waiting"),
        ("queue, auditor (every stage)", get("audrey", "/reviews/pending"), f"{sizes['audrey']}+ waiting"),
        ("history of a model", history(at=False), f"{PER_MODEL // 10} deployments each"),
        ("history on a date", history(at=True), "the deployment then"),
        ("periodic reviews due (page 50)", get("audrey", "/reviews/due"), f"{len(inv.models) + 1} models"),
        (
            "periodic reviews due, every model",
            get("audrey", "/reviews/due", page_size=1000, state="all"),
            "one page",
        ),
    ]
    rows = []
    try:
        for label, call, note in reads:
            for _ in range(WARMUP):
                call()
            times = []
            for _ in range(samples):
                began = time.perf_counter()
                call()
                times.append(_since(began) * 1000)
            rows.append(Timing(label, statistics.median(times), statistics.quantiles(times, n=20)[18], note))
    finally:
        for client in clients.values():
            client.close()
    return rows


# -- one backend ----------------------------------------------------------------------------------


def bench(backend: str, url: str, where: str, folder: Path, args: argparse.Namespace) -> None:
    key = folder / f"{backend}.ledger.key"
    steward = Steward.open(url, migrate=True)
    steward.ledger.use_keys(KeyFile(key))
    try:
        tokens = setup(steward)
    finally:
        steward.close()
    print(
        f"[{backend}] {where}: {args.path_versions:,} versions through the high-risk path over REST",
        flush=True,
    )
    with steward_serve(url, key, folder / f"{backend}.serve.log") as (base, _pid):
        path = run_path(base, tokens, args.path_versions)
    rest_versions = max(0, args.versions - args.path_versions)
    rest_reviews = max(0, 4 * args.versions - 4 * args.path_versions)
    print(f"[{backend}] loading {rest_versions:,} more versions and {rest_reviews:,} reviews", flush=True)
    steward = Steward.open(url)
    try:
        inv = load_inventory(steward, rest_versions, rest_reviews)
    finally:
        steward.close()
    print(f"[{backend}] timing {args.samples} calls per read over HTTP", flush=True)
    with steward_serve(url, key, folder / f"{backend}.serve2.log") as (base, _pid):
        timings = time_reads(base, tokens, inv, args.samples)

    total_versions = path.versions + inv.versions
    total_reviews = 4 * path.versions + inv.reviews
    per = path.seconds / max(1, path.versions)
    print(f"\n{backend}: {where}")
    print(
        f"  full high-risk path, {path.versions:,} versions over REST: {path.seconds:.1f} s "
        f"({per * 1000:.1f} ms per version, {path.requests / max(path.seconds, 1e-9):.0f} requests/s; "
        f"{path.requests // max(1, path.versions)} requests each, one at a time)"
    )
    for label, seconds in path.steps.items():
        print(f"    {label:<32} {seconds * 1000 / max(1, path.versions):7.2f} ms per version")
    print(
        f"  reads with {total_versions:,} versions and {total_reviews:,} reviews "
        f"({inv.deployments + path.versions:,} promotions; {inv.seconds:.0f} s to load the store rows)"
    )
    print(f"    {'read (HTTP, ms)':<32} {'p50':>7} {'p95':>7}")
    for t in timings:
        print(f"    {t.label:<32} {t.p50:7.2f} {t.p95:7.2f}   {t.note}")
    print("  target: p50 <= 20 ms for the queue and the history")
    print(
        f"  (load average {', '.join(f'{n:.1f}' for n in os.getloadavg())} on {os.cpu_count()} CPUs)",
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--path-versions", type=int, default=1000, help="versions through the path over REST")
    parser.add_argument(
        "--versions", type=int, default=10_000, help="versions for the reads (4 reviews each)"
    )
    parser.add_argument("--samples", type=int, default=300, help="timed calls per read")
    parser.add_argument("--dir", type=Path, help="keep the SQLite database and logs here")
    args = parser.parse_args(argv)
    folder = args.dir or Path(tempfile.mkdtemp(prefix="steward-bench-workflow-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        if args.backend in ("sqlite", "both"):
            db = folder / "workflow.db"
            if db.exists():
                raise SystemExit(f"{db} exists: the bench needs a fresh database (another --dir)")
            bench("sqlite", f"sqlite:///{db}", f"SQLite file {db}", folder, args)
        if args.backend in ("postgres", "both"):
            with contextlib.ExitStack() as stack:
                url, where = stack.enter_context(postgres_database())
                bench("postgres", url, where, folder, args)
    finally:
        if args.dir is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
