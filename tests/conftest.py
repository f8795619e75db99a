"""Fixtures every tier shares: a database URL for each backend, each test on a fresh database.

``database_url`` is parametrised over ``sqlite`` (a real file in ``tmp_path``) and ``postgresql``
(marked ``postgres``). PostgreSQL comes from ``STEWARD_TEST_DATABASE_URL`` when it is set;
otherwise the suite starts a throwaway server from Debian's binaries once per test session (once
per xdist worker, on its own port and data directory) and stops it at the end. Either way every
test gets a database of its own (``CREATE DATABASE steward_<random>``), dropped afterwards. The
databases are copies of a template the suite migrates once per session, so tests stay fast;
``Steward.open(url, migrate=True)`` then checks the schema and finds it at head.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

PG_URL_VARIABLE = "STEWARD_TEST_DATABASE_URL"
PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
PG_USER = "postgres"  # the unprivileged account that owns the throwaway cluster when we are root


@dataclass(frozen=True)
class PgServer:
    """A PostgreSQL server the suite may create and drop databases on."""

    host: str
    port: int
    user: str
    password: str | None
    maintenance_db: str
    template: str | None = None

    def _conninfo(self, database: str) -> str:
        auth = self.user if self.password is None else f"{self.user}:{self.password}"
        return f"postgresql://{auth}@{self.host}:{self.port}/{database}"

    def steward_url(self, database: str) -> str:
        """The URL form Steward takes: ``postgresql+psycopg://USER@HOST:PORT/DB``."""
        return "postgresql+psycopg" + self._conninfo(database).removeprefix("postgresql")

    def create_database(self, template: str | None = None) -> str:
        import psycopg

        name = f"steward_{secrets.token_hex(6)}"
        copy = f' TEMPLATE "{template}"' if template else ""
        with psycopg.connect(self._conninfo(self.maintenance_db), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{copy}')
        return name

    def fresh_database(self) -> str:
        """A new database; copied from the migrated template, so ``upgrade`` finds nothing to do."""
        return self.create_database(self.template)

    def with_template(self) -> PgServer:
        """This server with a template database migrated to the newest schema once (fast copies)."""
        from dataclasses import replace

        from steward.storage import make_engine, upgrade

        name = self.create_database()
        engine = make_engine(self.steward_url(name))
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        return replace(self, template=name)

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self._conninfo(self.maintenance_db), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _server_from_url(url: str) -> PgServer:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return PgServer(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or PG_USER,
        password=parsed.password,
        maintenance_db=parsed.database or "postgres",
    )


def _pg_bin_dir() -> Path | None:
    def major(path: Path) -> int:
        found = re.search(r"/(\d+)/bin$", str(path))
        return int(found.group(1)) if found else 0

    candidates = sorted((Path(p) for p in Path("/").glob(PG_BIN_GLOB.lstrip("/"))), key=major)
    for directory in reversed(candidates):
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_cluster_owner(args: list[str]) -> list[str]:
    """Run as ``postgres`` when we are root (PostgreSQL refuses to run as root)."""
    if os.geteuid() != 0:
        return args
    runuser = shutil.which("runuser")
    if runuser is not None:
        return [runuser, "-u", PG_USER, "--", *args]
    return ["su", PG_USER, "-s", "/bin/sh", "-c", " ".join(args)]


def _run(args: list[str]) -> None:
    done = subprocess.run(_as_cluster_owner(args), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def _cannot_run(reason: str) -> NoReturn:
    """Skip the PostgreSQL tier on a developer's machine that lacks it; in CI (``CI`` set), fail:
    a green CI run must have covered PostgreSQL."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the PostgreSQL tier: {reason}", pytrace=False)
    pytest.skip(reason)


@contextlib.contextmanager
def _throwaway_server(worker: str) -> Iterator[PgServer]:
    bin_dir = _pg_bin_dir()
    if bin_dir is None:
        _cannot_run(
            f"PostgreSQL tests need {PG_URL_VARIABLE} or Debian's PostgreSQL binaries "
            f"({PG_BIN_GLOB}/initdb and pg_ctl); none found"
        )
    if os.geteuid() == 0:
        try:
            import pwd

            owner = pwd.getpwnam(PG_USER)
        except KeyError:
            _cannot_run(f"running as root and there is no {PG_USER!r} user to run PostgreSQL as")
    shm = Path("/dev/shm")  # a RAM disk, when there is one, makes databases cheap
    base = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
    root = Path(tempfile.mkdtemp(prefix=f"steward-pg-{worker}-", dir=base))
    if os.geteuid() == 0:
        os.chown(root, owner.pw_uid, owner.pw_gid)
    data = root / "data"
    log = root / "server.log"
    try:
        _run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                PG_USER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ]
        )
        port = 0
        for _attempt in range(5):  # another worker may grab the free port first
            port = _free_port()
            options = (
                f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off -c full_page_writes=off "
                "-c synchronous_commit=off -c max_connections=300"
            )
            try:
                _run(
                    [
                        str(bin_dir / "pg_ctl"),
                        "-D",
                        str(data),
                        "-l",
                        str(log),
                        "-w",
                        "-t",
                        "60",
                        "-o",
                        options,
                        "start",
                    ]
                )
                break
            except RuntimeError as error:
                if _attempt == 4:
                    raise RuntimeError(
                        f"PostgreSQL did not start:\n{log.read_text(errors='replace')}"
                    ) from error
        yield PgServer("127.0.0.1", port, PG_USER, None, "postgres")
    finally:
        if (data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError):
                _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """The PostgreSQL server of this session (or this xdist worker)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _cannot_run("PostgreSQL tests need psycopg (the [postgres] extra)")
    given = os.environ.get(PG_URL_VARIABLE)
    if given:
        server = _server_from_url(given).with_template()
        try:
            yield server
        finally:
            assert server.template is not None
            server.drop_database(server.template)
        return
    with _throwaway_server(os.environ.get("PYTEST_XDIST_WORKER", "main")) as server:
        yield server.with_template()


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


def _database(request: pytest.FixtureRequest, directory: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{directory / 'steward.db'}"
        return
    server: PgServer = request.getfixturevalue("pg_server")
    name = server.fresh_database()
    try:
        yield server.steward_url(name)
    finally:
        server.drop_database(name)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database of its own for this test, on each backend."""
    yield from _database(request, tmp_path)


@pytest.fixture(scope="module", params=BACKENDS)
def module_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One database per test module and backend, for tests that must leave it unchanged anyway."""
    yield from _database(request, tmp_path_factory.mktemp("db"))
