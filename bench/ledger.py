"""The audit ledger in the database: write throughput, proofs, verification, the read access log.

Run with ``uv run python bench/ledger.py`` (``--quick`` for a short run). Prints figures; asserts
nothing. Targets from issue 3:

- sustained audited writes through the service: >= 5,000 events/s batched (many events per
  transaction), >= 500/s one request at a time over REST;
- inclusion proof from the database at 1,000,000 events: p50 <= 1 ms;
- full verification (chain, tree, every kept checkpoint): >= 200,000 events/s;
- the read access log on a read-heavy workload: <= 5 % slower reads.

SQLite runs in a temporary folder; PostgreSQL comes from ``STEWARD_BENCH_PG_URL`` (a database this
bench may fill) or from a throwaway server started like the test suite does (Debian's binaries).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import httpx
import uvicorn
from _keepalive import KeepAlive, get_many  # the script's folder is on the path
from fastapi import FastAPI
from sqlalchemy import func, insert, select, update
from starlette.types import ASGIApp, Receive, Scope, Send

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from steward import wire  # noqa: E402
from steward.domain import DomainEvent, Origin, RiskTier, Role  # noqa: E402
from steward.errors import NotFound  # noqa: E402
from steward.ledger import (  # noqa: E402
    GENESIS_HASH,
    Checkpoint,
    append_leaves,
    chain_hash,
    generate_signer,
    leaf_hash,
    sign_checkpoint,
    verify_batches,
)
from steward.server import create_app  # noqa: E402
from steward.server._access import ReadAccessLog  # noqa: E402
from steward.service import Caller, KeyFile, MemoryKeys, Steward, local_operator  # noqa: E402
from steward.service._events import writing  # noqa: E402
from steward.settings import Settings  # noqa: E402
from steward.storage import RUN_WIDTH, SqlTransaction, event_bytes  # noqa: E402
from steward.storage._tables import (  # noqa: E402
    SqlAuditEvent,
    SqlCheckpoint,
    SqlLedgerHead,
    SqlLedgerKey,
    SqlLedgerNode,
    SqlReadAccess,
)

ORIGIN = Origin(actor="bench", request_id="bench", client_address="10.0.0.1", user_agent="bench/1.0")


def now() -> datetime:
    return datetime.now(UTC)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# -- databases ---------------------------------------------------------------------------------


@contextlib.contextmanager
def postgres() -> Iterator[Callable[[], str] | None]:
    """A maker of fresh PostgreSQL databases (their URLs), or ``None`` when none can be had.

    ``STEWARD_BENCH_PG_URL`` names a server and maintenance database to create them on; otherwise
    a throwaway server is started from Debian's binaries, like the test suite does.
    """
    from tests.conftest import _server_from_url, _throwaway_server

    given = os.environ.get("STEWARD_BENCH_PG_URL")
    try:
        with contextlib.ExitStack() as stack:
            server = _server_from_url(given) if given else stack.enter_context(_throwaway_server("bench"))
            made: list[str] = []

            def make() -> str:
                made.append(server.create_database())
                return server.steward_url(made[-1])

            try:
                yield make
            finally:
                for name in made:
                    server.drop_database(name)
    except Exception as error:
        print(f"\n(no PostgreSQL figures: {error})")
        yield None
    except BaseException as error:  # pytest.skip raises outside pytest: no binaries here
        if isinstance(error, KeyboardInterrupt | SystemExit | GeneratorExit):
            raise
        print(f"\n(no PostgreSQL figures: {error})")
        yield None


def open_keyed(url: str, key_path: Path | None = None) -> Steward:
    core = Steward.open(url, migrate=True)
    core.ledger.use_keys(KeyFile(key_path) if key_path else MemoryKeys())
    core.ledger.start()
    return core


# -- writes ------------------------------------------------------------------------------------


def batched_writes(core: Steward, transactions: int, per_transaction: int) -> float:
    """Events/s through the service's write path (emit, chain, tree append, signed checkpoint)."""

    def one(number: int) -> None:
        with writing(core.store, core.bus, ORIGIN, now) as w:
            for i in range(per_transaction):
                w.emit(
                    DomainEvent(
                        "model.updated",
                        "model",
                        f"bench-{number}",
                        before={"owner": "team-a", "revision": i},
                        after={"owner": "team-b", "revision": i + 1},
                        reason="bench",
                    )
                )

    one(-1)  # warm up
    started = time.perf_counter()
    for number in range(transactions):
        one(number)
    return transactions * per_transaction / (time.perf_counter() - started)


@contextlib.contextmanager
def served(app: ASGIApp) -> Iterator[str]:
    """A real uvicorn server over ``app`` on a free port, in a thread."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def token_for(core: Steward, name: str, role: Role) -> str:
    admin = local_operator(name="local:bench")
    try:
        core.identity.get_principal(admin, name)
    except NotFound:
        core.identity.create_principal(admin, wire.PrincipalCreate(name=name, roles=[role]))
    _, secret = core.identity.create_token(admin, wire.TokenCreate(principal=name))
    return secret


@contextlib.contextmanager
def serve_process(url: str, key_path: Path) -> Iterator[str]:
    """``steward serve`` in its own process (as deployed: the client does not share its CPU time)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "STEWARD_DATABASE_URL": url, "STEWARD_LEDGER_KEY_PATH": str(key_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "steward", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def rest_writes(core: Steward, url: str, key_path: Path, requests: int) -> float:
    """Audited writes/s, one request at a time, over HTTP to a real server process (keep-alive)."""
    token = token_for(core, "bench-writer", Role.ADMIN)
    with serve_process(url, key_path) as base:
        http = KeepAlive(base, _auth(token))  # http.client: see _keepalive.py

        def post(name: str) -> None:
            status, body = http.post("/api/v1/models", _model(name))
            if status != 201:
                raise SystemExit(f"POST /api/v1/models answered {status}: {body[:300]!r}")

        try:
            for i in range(20):
                post(f"warm-{i}")
            started = time.perf_counter()
            for i in range(requests):
                post(f"rest-{i}")
            return requests / (time.perf_counter() - started)
        finally:
            http.close()


def ledger_share(core: Steward, writes: int, rounds: int) -> tuple[float, float]:
    """Seconds per one-event write use case (``create_model``) without and with the ledger's
    before-commit hook (tree append + signed checkpoint), alternating rounds, medians."""
    admin = local_operator(name="local:bench")
    hooks = list(core.bus._before_commit)
    numbers = iter(range(10**9))

    def timed() -> float:
        started = time.perf_counter()
        for _ in range(writes):
            spec = wire.ModelCreate(name=f"share-{next(numbers)}", owner="bench", risk_tier=RiskTier.LOW)
            core.registry.create_model(admin, spec)
        return (time.perf_counter() - started) / writes

    timed()
    without: list[float] = []
    with_: list[float] = []
    for _ in range(rounds):
        core.bus._before_commit[:] = []
        without.append(timed())
        core.bus._before_commit[:] = hooks
        with_.append(timed())
    return statistics.median(without), statistics.median(with_)


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _model(name: str) -> dict[str, str]:
    return {"name": name, "owner": "bench", "risk_tier": "low"}


# -- a million events --------------------------------------------------------------------------


def fill(core: Steward, events: int, per_transaction: int = 10_000) -> float:
    """Bulk-load ``events`` audit events as batched writes would leave them (chain, tree nodes, one
    signed checkpoint per batch), bypassing Python per-event overhead; return seconds taken."""
    signer = generate_signer("bench.steward/audit")
    started = time.perf_counter()
    size, prev = 0, GENESIS_HASH
    frontier: tuple[bytes, ...] = ()
    engine = core.store.engine
    with engine.begin() as conn:
        conn.execute(
            insert(SqlLedgerKey).values(
                name=signer.name,
                key_id=f"{signer.key_id:08x}",
                vkey=signer.verifier.encode(),
                valid_from=now(),
            )
        )
    while size < events:
        count = min(per_transaction, events - size)
        rows: list[dict[str, object]] = []
        leaves: list[bytes] = []
        for seq in range(size + 1, size + count + 1):
            row: dict[str, Any] = {  # the columns event_bytes covers, as its keywords
                "seq": seq,
                "time": f"2025-01-01T00:{seq // 60 % 60:02d}:{seq % 60:02d}.000000Z",
                "actor": "user:alice",
                "action": "model_version.registered",
                "subject_type": "model_version",
                "subject_id": f"fraud-detector/{seq}",
                "before": None,
                "after": '{"metrics":{"auc":0.91},"state":"registered"}',
                "reason": "",
                "request_id": f"req-{seq:08d}",
                "client_address": "10.0.0.1",
                "user_agent": "steward-cli/0.1",
            }
            data = event_bytes(**row)
            current = chain_hash(prev, data)
            rows.append({**row, "prev_hash": prev, "hash": current})
            leaves.append(leaf_hash(data))
            prev = current
        appended = append_leaves(size, frontier, leaves)
        note = sign_checkpoint(Checkpoint(signer.name, appended.size, appended.root, timestamp=now()), signer)
        with engine.begin() as conn:
            conn.execute(insert(SqlAuditEvent), rows)
            conn.execute(
                insert(SqlLedgerNode),
                [{"level": n.level, "idx": n.index, "hash": n.hash} for n in appended.nodes],
            )
            conn.execute(
                insert(SqlCheckpoint).values(
                    size=appended.size,
                    root=appended.root.hex(),
                    time=now(),
                    note=note,
                    key_id=f"{signer.key_id:08x}",
                )
            )
            conn.execute(
                update(SqlLedgerHead).where(SqlLedgerHead.id == 1).values(size=appended.size, head_hash=prev)
            )
        size, frontier = appended.size, appended.frontier
    return time.perf_counter() - started


def proof_latency(core: Steward, caller: Caller, events: int, samples: int) -> tuple[float, float]:
    rng = random.Random(7)
    timings = []
    for _ in range(samples):
        seq = rng.randrange(1, events + 1)
        started = time.perf_counter()
        core.ledger.inclusion_proof(caller, seq)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings), percentile(timings, 0.95)


def verification_rate(core: Steward, caller: Caller) -> tuple[float, bool, int, float]:
    """Events/s of ``audit verify`` from the database, and of its run-at-a-time pass over the same
    runs already in memory (what the database reads cost, and how fast this machine is right now)."""
    started = time.perf_counter()
    verdict = core.audit.verify(caller)
    rate = verdict.events / (time.perf_counter() - started)
    with core.store.read() as tx, tx.ledger.verification_batches() as batches:
        runs = list(batches)
    started = time.perf_counter()
    report = verify_batches(runs, width=RUN_WIDTH, first_position=1)
    return rate, verdict.ok and report.ok, verdict.checkpoints, report.size / (time.perf_counter() - started)


# -- the read access log -----------------------------------------------------------------------


@dataclass
class ReadCost:
    """Per GET of a record, without the read access log and with it: medians over alternating
    rounds of wall time and of the server's CPU time (the clients are processes of their own, so
    this process's CPU is the server's event loop, its thread pool and the log's writer thread;
    CPU time is what other load on the machine disturbs least), and the median of each round
    pair's ratio, which cancels the machine's drift between rounds."""

    wall_off: float
    wall_on: float
    cpu_off: float
    cpu_on: float
    wall_ratio: float
    cpu_ratio: float
    logged: int


class LogSwitch:
    """The app's middleware stack with the read access log and the same stack without it, over
    one router and one core: ``logging`` picks which one answers. "Without" is the server with no
    read log at all (no middleware, no note, no writes), so the whole cost is measured."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.with_log = app.build_middleware_stack()
        kept = app.user_middleware
        app.user_middleware = [m for m in kept if cast(Any, m.cls) is not ReadAccessLog]
        if len(app.user_middleware) == len(kept):  # pragma: no cover (create_app adds it)
            raise RuntimeError("the app has no read access log to switch off")
        try:
            self.without = app.build_middleware_stack()
        finally:
            app.user_middleware = kept
        self.logging = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self.app  # as Starlette.__call__ does before its stack
        await (self.with_log if self.logging else self.without)(scope, receive, send)


def read_cost(core: Steward, url: str, key_dir: Path, reads: int, rounds: int, clients: int) -> ReadCost:
    """GET a model without the read log and with it, in alternating rounds, ``clients`` at a time."""
    token = token_for(core, "bench-reader", Role.AUDITOR)
    admin = local_operator(name="local:bench")
    with core.store.read() as tx:
        exists = tx.find_model("read-me") is not None
    if not exists:
        core.registry.create_model(
            admin, wire.ModelCreate(name="read-me", owner="bench", risk_tier=RiskTier.LOW)
        )
    with core.store.read() as tx:
        before = _reads_logged(tx)
    app = create_app(Settings(database_url=url, ledger_key_path=key_dir / "ledger.key"), steward=core)
    switch = LogSwitch(app)
    # The clients are processes of their own, as a server's clients are: this process's CPU time
    # is then the server's alone (its event loop, its thread pool and the log's writer thread).
    spawn = multiprocessing.get_context("spawn")
    with served(switch) as base, ProcessPoolExecutor(clients, mp_context=spawn) as pool:
        recorder = core.reads.recorder
        if recorder is None:  # pragma: no cover (create_app starts it)
            raise RuntimeError("no read recorder")
        one_client = functools.partial(get_many, base, _auth(token), "/api/v1/models/read-me")

        def timed(logging: bool) -> tuple[float, float]:
            switch.logging = logging
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                list(pool.map(one_client, [reads // clients] * clients))
            except RuntimeError as error:  # get_many's: a read that failed is not timed
                raise SystemExit(f"a read failed: {error}") from error
            recorder.flush()  # the writes the log causes are part of its cost
            return (time.perf_counter() - wall) / reads, (time.process_time() - cpu) / reads

        timed(True)  # warm up both
        timed(False)
        off: list[tuple[float, float]] = []
        on: list[tuple[float, float]] = []
        for n in range(rounds):
            order = (True, False) if n % 2 == 0 else (False, True)  # which goes first alternates too
            pair = {logging: timed(logging) for logging in order}
            off.append(pair[False])
            on.append(pair[True])
    with core.store.read() as tx:
        logged = _reads_logged(tx) - before
    return ReadCost(
        statistics.median(w for w, _ in off),
        statistics.median(w for w, _ in on),
        statistics.median(c for _, c in off),
        statistics.median(c for _, c in on),
        statistics.median(b[0] / a[0] for a, b in zip(off, on, strict=True)),
        statistics.median(b[1] / a[1] for a, b in zip(off, on, strict=True)),
        logged,
    )


def _reads_logged(tx: SqlTransaction) -> int:
    statement = (
        select(func.count()).select_from(SqlReadAccess).where(SqlReadAccess.principal == "bench-reader")
    )
    return int(tx.s.connection().execute(statement).scalar_one())


# -- main --------------------------------------------------------------------------------------


def backend_figures(name: str, url: str, work: Path, args: argparse.Namespace) -> None:
    print(f"\n== {name} ==")
    key_path = work / f"{name}.ledger.key"
    core = open_keyed(url, key_path)
    try:
        rate = batched_writes(core, args.transactions, args.batch)
        print(
            f"batched writes through the service: {rate:,.0f} events/s "
            f"({args.transactions} transactions x {args.batch} events, each with its signed checkpoint; "
            "target >= 5,000)"
        )
        without, with_ = ledger_share(core, args.share_writes, args.rounds)
        print(
            f"one write use case (create_model) in-process: {without * 1e3:.2f} ms without the ledger, "
            f"{with_ * 1e3:.2f} ms with it (tree append + signed checkpoint: "
            f"{(with_ - without) * 1e3:+.2f} ms)"
        )
        rate = rest_writes(core, url, key_path, args.requests)
        print(
            f"one request at a time over REST (`steward serve` process, http.client keep-alive): {rate:,.0f} "
            f"audited writes/s ({args.requests} POST /models; target >= 500)"
        )
        for clients in (1, 4):
            cost = read_cost(core, url, work, args.reads, args.rounds, clients)
            print(
                f"read access log, GET /models/NAME, {clients} client(s): "
                f"wall {cost.wall_off * 1e3:.2f} -> {cost.wall_on * 1e3:.2f} ms, "
                f"server CPU {cost.cpu_off * 1e3:.2f} -> {cost.cpu_on * 1e3:.2f} ms per read; "
                f"paired rounds: wall {(cost.wall_ratio - 1) * 100:+.1f} %, "
                f"CPU {(cost.cpu_ratio - 1) * 100:+.1f} % (target <= 5 %); {cost.logged} reads logged"
            )
    finally:
        core.close()


def million(name: str, url: str, args: argparse.Namespace) -> None:
    print(f"\n== {name}: {args.events:,} events ==")
    core = Steward.open(url, migrate=True)
    caller = local_operator(name="local:bench")
    try:
        seconds = fill(core, args.events)
        print(
            f"loaded {args.events:,} events in {seconds:.0f} s "
            f"(bulk, {args.events // 10_000} signed checkpoints)"
        )
        p50, p95 = proof_latency(core, caller, args.events, args.proofs)
        print(
            f"inclusion proof from the database at {args.events:,} events: p50 {p50 * 1e3:.3f} ms, "
            f"p95 {p95 * 1e3:.3f} ms (target p50 <= 1 ms)"
        )
        rate, ok, checkpoints, pure = verification_rate(core, caller)
        print(
            f"full verification from the database (chain, tree, {checkpoints} signed checkpoints): "
            f"{rate:,.0f} events/s (ok={ok}; target >= 200,000 events/s); the same pass over events "
            f"already in memory: {pure:,.0f} events/s"
        )
    finally:
        core.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Small sizes, for a smoke run.")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    args.transactions, args.batch = (5, 500) if args.quick else (20, 1000)
    args.requests = 100 if args.quick else 1000
    args.share_writes = 30 if args.quick else 200
    args.reads, args.rounds = (300, 3) if args.quick else (1000, 15)
    args.events = 20_000 if args.quick else 1_000_000
    args.proofs = 200 if args.quick else 2000
    print(f"host: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="steward-bench-") as folder:
        work = Path(folder)
        backend_figures("SQLite", f"sqlite:///{work / 'writes.db'}", work, args)
        million("SQLite", f"sqlite:///{work / 'million.db'}", args)
        if not args.skip_postgres:
            with postgres() as new_database:
                if new_database is not None:
                    backend_figures("PostgreSQL", new_database(), work, args)
                    million("PostgreSQL", new_database(), args)


if __name__ == "__main__":
    main()
