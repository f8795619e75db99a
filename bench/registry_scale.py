"""The registry at scale: load 100,000 model versions, then time the read API over real HTTP.

    uv run python bench/registry_scale.py                      # both backends, 100,000 versions
    uv run python bench/registry_scale.py --backend sqlite     # SQLite only
    uv run python bench/registry_scale.py --quick              # 10,000 versions (a spot run)
    uv run python bench/registry_scale.py --versions 20000 --samples 500 --dir /tmp/reg

The inventory: 50 versions per model (2,000 models at 100,000 versions) across 40 owning teams,
tags on models (team, business unit, framework, criticality) and versions (status, team,
trained_by, pipeline, framework), 200 datasets with 10 digested versions each (every version
trains on one and is tested on another), one training run per version, and a staging deployment
per model and a production one per model trained on approved data (six in seven), each made the
governed way: the gate decision, the sign-offs the tier needs there (by four different people) and
the promotion (``bench/governance.py``). Everything is written through the service's public use
cases (``RegistryService.create_model``, ``record_run``, ``register_version``, ``promote``…) with
the ledger key configured, as ``steward`` does on the database: one transaction per use case, each
with its audit event, Merkle tree append and signed checkpoint, so the load throughput printed is
that of the real write path.

Then a real ``steward serve`` process runs on a free loopback port over the loaded database, and
the SDK (``steward.Client`` over httpx) times, after a warm-up, ``--samples`` calls of each query
with random targets: get a version by model name and number, list a model's versions (first page),
search versions by a version tag, search versions by model owner, and a version's lineage. Times
are the SDK call as a user sees it (HTTP round trip, server work, response parsing), in ms.

SQLite is a file in a fresh temporary folder (or ``--dir``, which keeps it: a later run with the
same ``--dir`` and size skips the load). PostgreSQL is a throwaway server started from Debian's
binaries (``/usr/lib/postgresql/*/bin``; data in a temporary folder, ``synchronous_commit=off``,
the counterpart of SQLite's WAL ``synchronous=NORMAL``) unless ``STEWARD_BENCH_PG_URL`` names a
server, on which a database ``steward_bench_<random>`` is created and dropped afterwards.

Target at 100,000 versions on SQLite: p50 <= 10 ms and p95 <= 30 ms for each query. Prints
figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import random
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from governance import Signers, promote

from steward import Client, wire
from steward.domain import DatasetRole, Origin, RiskTier, Role
from steward.service import Caller, KeyFile, Steward, local_operator

VERSIONS_PER_MODEL = 50
TEAMS = 40
DATASETS = 200
DATASET_VERSIONS = 10
PEOPLE = 100
WARMUP = 30
PG_URL_VARIABLE = "STEWARD_BENCH_PG_URL"
PG_USER = "postgres"

DOMAINS = ["credit", "fraud", "claims", "churn", "pricing", "aml", "clinical", "ops", "marketing", "cx"]
PURPOSES = ["scorer", "detector", "triage", "ranker", "forecaster", "classifier", "router", "monitor"]
STATUSES = ["superseded"] * 8 + ["candidate", "champion", "archived"]
FRAMEWORKS = ["sklearn", "lightgbm", "xgboost", "pytorch"]
SCOPES = ["sr-11-7", "eu-ai-act-high-risk", "pci-dss", "hipaa", "solvency-ii", "amld6"]
STAGING, PRODUCTION = VERSIONS_PER_MODEL, VERSIONS_PER_MODEL - 2  # the versions promoted there
TIERS = (RiskTier.HIGH, RiskTier.MEDIUM, RiskTier.LOW)


def _digest(*parts: object) -> str:
    return "sha256:" + hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def _commit(*parts: object) -> str:
    return hashlib.sha1("|".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()


# -- the inventory ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """What the inventory holds: model ``i`` is ``names[i]``, owned by ``owners[i]``."""

    models: int

    @property
    def versions(self) -> int:
        return self.models * VERSIONS_PER_MODEL

    def name(self, i: int) -> str:
        return f"{DOMAINS[i % len(DOMAINS)]}-{PURPOSES[i // len(DOMAINS) % len(PURPOSES)]}-{i:05d}"

    def team(self, i: int) -> str:
        return f"{DOMAINS[i % TEAMS % len(DOMAINS)]}-analytics-{i % TEAMS:02d}"

    def teams(self) -> list[str]:
        return sorted({self.team(i) for i in range(min(self.models, TEAMS))})


@dataclass
class LoadStats:
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    version_seconds: float = 0.0
    transactions: int = 0
    events: int = 0


@dataclass
class Loader:
    steward: Steward
    shape: Shape
    rng: random.Random = field(default_factory=lambda: random.Random(20260501))
    stats: LoadStats = field(default_factory=LoadStats)

    def _caller(self, name: str, role: Role) -> Caller:
        principal = self.steward.identity.create_principal(
            local_operator(name="bench-setup"), wire.PrincipalCreate(name=name, roles=[role])
        )
        self.stats.transactions += 1
        return Caller(principal, Origin(actor=name, client_address="10.1.2.3", user_agent="bench-loader"))

    def run(self, progress: Callable[[str], None]) -> str:
        """Load the inventory; returns an auditor's API token for the reads."""
        started, cpu = time.perf_counter(), time.process_time()
        registry = self.steward.registry
        scientist = self._caller("dana", Role.DATA_SCIENTIST)
        self._caller("audrey", Role.AUDITOR)
        _, token = self.steward.identity.create_token(
            local_operator(name="bench-setup"), wire.TokenCreate(principal="audrey", name="bench")
        )
        for d in range(DATASETS):
            name = f"dataset-{d:03d}"
            source = f"warehouse://{DOMAINS[d % len(DOMAINS)]}/{name}"
            registry.create_dataset(
                scientist,
                wire.DatasetCreate(
                    name=name,
                    description=f"Curated {DOMAINS[d % len(DOMAINS)]} records, table {d}",
                    source=source,
                    owner="data-platform",
                    approved=_approved(d),
                ),
            )
            for v in range(DATASET_VERSIONS):
                registry.add_dataset_version(
                    scientist,
                    name,
                    wire.DatasetVersionCreate(
                        version=f"2026-{v + 1:02d}",
                        uri=f"{source}/2026-{v + 1:02d}",
                        digest=_digest(name, v),
                        schema_digest=_digest(name, "schema", v // 4),
                        row_count=self.rng.randint(40_000, 4_000_000),
                    ),
                )
        self.stats.transactions += DATASETS * (1 + DATASET_VERSIONS)
        for i in range(self.shape.models):
            team = self.shape.team(i)
            registry.create_model(
                scientist,
                wire.ModelCreate(
                    name=self.shape.name(i),
                    owner=team,
                    risk_tier=TIERS[i % 3],
                    description=f"{DOMAINS[i % len(DOMAINS)]} model {i}, maintained by {team}.",
                    use_case=f"{PURPOSES[i // len(DOMAINS) % len(PURPOSES)]} for {DOMAINS[i % len(DOMAINS)]}",
                    intended_use="Decision support; a person decides.",
                    limitations="Validated on 2025-2026 data only.",
                    regulatory_scopes=self.rng.sample(SCOPES, 1 + i % 3),
                    tags={
                        "team": team,
                        "business_unit": DOMAINS[i % len(DOMAINS)],
                        "framework": FRAMEWORKS[i % len(FRAMEWORKS)],
                        "criticality": ("tier-1", "tier-2", "tier-3")[i % 3],
                    },
                    review_cadence_months=(6, 12, 24)[i % 3],
                    source_links={"repository": f"https://git.example.com/ml/{self.shape.name(i)}"},
                ),
            )
        self.stats.transactions += self.shape.models
        progress(f"  {self.shape.models:,} models and {DATASETS:,} datasets in {_since(started):.0f} s")
        start_day = datetime(2025, 1, 1, tzinfo=UTC)
        done = 0
        for number in range(1, VERSIONS_PER_MODEL + 1):  # round-robin: versions interleave in time
            for i in range(self.shape.models):
                self._version(scientist, i, number, start_day + timedelta(days=7 * number, minutes=i))
                done += 1
                if done % 10_000 == 0:
                    rate = done / self.stats.version_seconds
                    progress(f"  {done:,} versions, {_since(started):.0f} s (register_version {rate:.0f}/s)")
        signers = Signers.create(self.steward)
        self.stats.transactions += len(signers.by_role)
        for i in range(self.shape.models):
            name, tier = self.shape.name(i), TIERS[i % 3]
            places = [("staging", STAGING)]
            if _approved(i % DATASETS):  # a model trained on unapproved data does not reach production
                places.append(("production", PRODUCTION))
            for environment, number in places:
                stages = len(self.steward.workflow.stages_for(tier, environment))
                target = f"k8s://eu-west-1/{environment}/{name}"
                promote(self.steward, signers, name, number, environment, tier, endpoint=target)
                # gate decision, sign-offs, promotion (and a fairness check for a high-risk model)
                self.stats.transactions += (
                    2 + stages + (tier is RiskTier.HIGH and environment == "production")
                )
        self.stats.seconds = _since(started)
        self.stats.cpu_seconds = time.process_time() - cpu
        with self.steward.store.read() as tx:
            self.stats.events = tx.ledger_head().size
        return token

    def _version(self, caller: Caller, i: int, number: int, when: datetime) -> None:
        name, rng = self.shape.name(i), self.rng
        run_id = f"run-{i:05d}-{number:02d}-{rng.getrandbits(32):08x}"
        metrics = {"auc": round(rng.uniform(0.6, 0.95), 4), "accuracy": round(rng.uniform(0.7, 0.99), 4)}
        if number in (STAGING, PRODUCTION):  # promoted: above every tier's floors
            metrics = {"auc": max(metrics["auc"], 0.8), "accuracy": max(metrics["accuracy"], 0.85)}
        commit = _commit(name, number)
        self.steward.registry.record_run(
            caller,
            wire.TrainingRunCreate(
                run_id=run_id,
                platform="mlflow",
                experiment=f"{name}-training",
                user=f"person-{rng.randrange(PEOPLE):03d}",
                parameters={"max_depth": str(rng.choice([4, 6, 8])), "learning_rate": "0.05"},
                metrics=metrics,
                code_commit=commit,
                started_at=when,
                ended_at=when + timedelta(minutes=rng.randint(8, 95)),
            ),
        )
        dataset = f"dataset-{i % DATASETS:03d}"
        trained_on = min(DATASET_VERSIONS, 1 + number // 5)
        spec = wire.VersionCreate(
            artifact_uri=f"s3://models/{name}/{number}/model.pkl",
            artifact_digest=_digest(name, "artifact", number),
            source_platform="mlflow",
            external_id=f"models:/{name}/{number}",
            training_run=run_id,
            description=f"Retrained on {dataset}@2026-{trained_on:02d}.",
            metrics=metrics,
            parameters={"features": str(rng.randint(18, 140)), "max_depth": "6", "seed": str(number)},
            tags={
                "status": "candidate" if number == VERSIONS_PER_MODEL else rng.choice(STATUSES),
                "team": self.shape.team(i),
                "trained_by": f"person-{rng.randrange(PEOPLE):03d}",
                "pipeline": rng.choice(["nightly", "weekly", "manual"]),
                "framework": FRAMEWORKS[i % len(FRAMEWORKS)],
            },
            datasets=[
                wire.DatasetUseIn(
                    dataset=dataset, version=f"2026-{trained_on:02d}", role=DatasetRole.TRAINING
                ),
                wire.DatasetUseIn(dataset=dataset, version=f"2026-{DATASET_VERSIONS:02d}", role="test"),
            ],
            code_repository=f"https://git.example.com/ml/{name}",
            code_commit=commit,
            environment=wire.EnvironmentIn(
                python_version="3.11.9",
                dependency_lock_digest=_digest(name, "lock", number),
                container_image_digest=_digest(name, "image", number),
            ),
        )
        began = time.perf_counter()
        self.steward.registry.register_version(caller, name, spec)
        self.stats.version_seconds += _since(began)
        self.stats.transactions += 2


def _approved(dataset: int) -> bool:
    """Whether dataset number ``dataset`` is an approved source (six in seven are)."""
    return dataset % 7 != 0


def _since(began: float) -> float:
    return time.perf_counter() - began


# -- databases ------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pg_bin() -> Path | None:
    def major(path: Path) -> int:
        found = re.search(r"/(\d+)/bin$", str(path))
        return int(found.group(1)) if found else 0

    for directory in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=major, reverse=True):
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    return None


def _as_cluster_owner(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as ``postgres`` then."""
    if os.geteuid() != 0:
        return args
    return ["runuser", "-u", PG_USER, "--", *args]


def _pg_run(args: list[str]) -> None:
    done = subprocess.run(_as_cluster_owner(args), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[tuple[str, str]]:
    """``(server URL, description)`` of a PostgreSQL server started for this run, stopped after."""
    bin_dir = _pg_bin()
    if bin_dir is None:
        raise RuntimeError(f"no PostgreSQL binaries under /usr/lib/postgresql and {PG_URL_VARIABLE} unset")
    root = Path(tempfile.mkdtemp(prefix="steward-bench-pg-"))
    if os.geteuid() == 0:
        import pwd

        owner = pwd.getpwnam(PG_USER)
        os.chown(root, owner.pw_uid, owner.pw_gid)
    data, log = root / "data", root / "server.log"
    try:
        _pg_run([str(bin_dir / "initdb"), "-D", str(data), "-U", PG_USER, "--auth=trust", "-E", "UTF8",
                 "--locale=C.UTF-8"])  # fmt: skip
        port = _free_port()
        options = (
            f"-h 127.0.0.1 -p {port} -k {root} -c synchronous_commit=off -c shared_buffers=512MB "
            "-c max_connections=100"
        )
        _pg_run([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options,
                 "start"])  # fmt: skip
        version = bin_dir.parent.name
        yield (
            f"postgresql+psycopg://{PG_USER}@127.0.0.1:{port}/postgres",
            f"throwaway PostgreSQL {version} (synchronous_commit=off, shared_buffers=512MB)",
        )
    finally:
        if (data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError):
                _pg_run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def postgres_database() -> Iterator[tuple[str, str]]:
    """``(URL of an empty database, description)`` on ``STEWARD_BENCH_PG_URL`` or a throwaway server."""
    import psycopg
    from sqlalchemy.engine import make_url

    given = os.environ.get(PG_URL_VARIABLE)
    with contextlib.ExitStack() as stack:
        server, what = (
            (given, f"PostgreSQL at {PG_URL_VARIABLE}")
            if given
            else stack.enter_context(throwaway_postgres())
        )
        url = make_url(server).set(drivername="postgresql+psycopg")
        maintenance = url.set(drivername="postgresql").render_as_string(hide_password=False)
        name = f"steward_bench_{secrets.token_hex(4)}"
        with psycopg.connect(maintenance, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            yield url.set(database=name).render_as_string(hide_password=False), what
        finally:
            with psycopg.connect(maintenance, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- the server -----------------------------------------------------------------------------------


@contextlib.contextmanager
def steward_serve(database_url: str, key_path: Path, log: Path) -> Iterator[tuple[str, int]]:
    """A real ``steward serve`` process over ``database_url``; yields its base URL and process id."""
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


# -- the queries ----------------------------------------------------------------------------------


def queries(client: Client, shape: Shape, rng: random.Random) -> dict[str, Callable[[], Any]]:
    def model() -> str:
        return shape.name(rng.randrange(shape.models))

    def number() -> int:
        return rng.randint(1, VERSIONS_PER_MODEL)

    teams = shape.teams()
    return {
        "get version (name, number)": lambda: client.get_version(model(), number()),
        "list a model's versions (page 1)": lambda: client.list_versions(model()),
        "search versions by tag (team=…)": lambda: client.search_versions(tags={"team": rng.choice(teams)}),
        "search versions by owner": lambda: client.search_versions(owner=rng.choice(teams)),
        "lineage of a version": lambda: client.lineage(model(), number()),
    }


@dataclass(frozen=True)
class Timing:
    query: str
    p50: float
    p95: float
    server_cpu: float | None  # mean CPU ms per request in the server process (Linux only)
    client_cpu: float  # mean CPU ms per call in this process (SDK, httpx, parsing)


def _process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) ``pid`` has used so far, from ``/proc``; ``None`` elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def time_queries(base_url: str, pid: int, token: str, shape: Shape, samples: int) -> list[Timing]:
    """Wall times of each query after a warm-up, and the CPU each side spent per call.

    The CPU figures do not grow when other processes compete for the machine, so they tell what
    a call costs where the wall times only tell how long it took here.
    """
    rng = random.Random(7)
    rows = []
    with Client(base_url, token=token, user_agent="bench-reader") as client:
        for label, call in queries(client, shape, rng).items():
            for _ in range(WARMUP):
                call()
            times = []
            server, client_cpu = _process_cpu(pid), time.process_time()
            for _ in range(samples):
                began = time.perf_counter()
                call()
                times.append(_since(began) * 1000)
            client_ms = (time.process_time() - client_cpu) * 1000 / samples
            server_after = _process_cpu(pid)
            server_ms = (
                None if server is None or server_after is None else (server_after - server) * 1000 / samples
            )
            p95 = statistics.quantiles(times, n=20)[18]
            rows.append(Timing(label, statistics.median(times), p95, server_ms, client_ms))
    return rows


# -- the run --------------------------------------------------------------------------------------


@dataclass
class Result:
    backend: str
    where: str
    load: LoadStats | None
    versions: int
    timings: list[Timing]


def bench(backend: str, url: str, where: str, folder: Path, shape: Shape, samples: int) -> Result:
    key_path = folder / f"{backend}.ledger.key"
    token_file = folder / f"{backend}.token"
    steward = Steward.open(url, migrate=True)
    stats: LoadStats | None = None
    try:
        with steward.store.read() as tx:
            present = tx.count_models()
        if present == shape.models and token_file.exists():
            print(f"[{backend}] {where}: reusing the {shape.versions:,} versions loaded before", flush=True)
            token = token_file.read_text().strip()
        elif present:
            raise SystemExit(f"{url} holds {present} models, not {shape.models}: use an empty --dir")
        else:
            print(f"[{backend}] {where}: loading {shape.versions:,} versions ...", flush=True)
            steward.ledger.use_keys(KeyFile(key_path))
            loader = Loader(steward, shape)
            token = loader.run(lambda line: print(line, flush=True))
            token_file.write_text(token)
            stats = loader.stats
    finally:
        steward.close()
    print(f"[{backend}] timing {samples} calls per query over HTTP ...", flush=True)
    with steward_serve(url, key_path, folder / f"{backend}.serve.log") as (base, pid):
        timings = time_queries(base, pid, token, shape, samples)
    return Result(backend, where, stats, shape.versions, timings)


def report(results: list[Result], samples: int) -> None:
    print()
    load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load} (1, 5, 15 min) at the end")
    for r in results:
        print(f"{r.backend}: {r.where}, {r.versions:,} versions")
        if r.load is not None:
            s = r.load
            print(
                f"  load: {s.transactions:,} write transactions ({s.events:,} audit events) "
                f"in {s.seconds:.0f} s; "
                f"{r.versions / s.seconds:,.0f} versions/s overall, "
                f"{r.versions / s.version_seconds:,.0f} versions/s in register_version alone "
                f"(loader CPU {s.cpu_seconds:.0f} s)"
            )
        print(
            f"  {'query (SDK over HTTP, ms)':<36} {'p50':>7} {'p95':>7}   "
            f"CPU/call: server  client  (n={samples})"
        )
        for t in r.timings:
            server = "     n/a" if t.server_cpu is None else f"{t.server_cpu:8.2f}"
            print(f"  {t.query:<36} {t.p50:7.2f} {t.p95:7.2f}             {server} {t.client_cpu:7.2f}")
    print("target (SQLite, 100,000 versions): p50 <= 10 ms, p95 <= 30 ms per query")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--versions", type=int, default=100_000, help="model versions to load (50 per model)")
    parser.add_argument("--quick", action="store_true", help="10,000 versions: a spot run")
    parser.add_argument("--samples", type=int, default=300, help="timed calls per query")
    parser.add_argument("--dir", type=Path, help="keep the SQLite database here (reused by later runs)")
    args = parser.parse_args(argv)
    shape = Shape(models=max(1, (10_000 if args.quick else args.versions) // VERSIONS_PER_MODEL))
    folder = args.dir or Path(tempfile.mkdtemp(prefix="steward-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        if args.backend in ("sqlite", "both"):
            path = folder / "steward.db"
            results.append(
                bench("sqlite", f"sqlite:///{path}", f"SQLite file {path}", folder, shape, args.samples)
            )
        if args.backend in ("postgres", "both"):
            for stale in (folder / "postgres.token", folder / "postgres.ledger.key"):
                stale.unlink(missing_ok=True)  # a PostgreSQL database never outlives the run
            with postgres_database() as (url, where):
                results.append(bench("postgres", url, where, folder, shape, args.samples))
    finally:
        if args.dir is None:
            shutil.rmtree(folder, ignore_errors=True)
    report(results, args.samples)


if __name__ == "__main__":
    main()
