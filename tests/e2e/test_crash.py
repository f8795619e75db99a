"""A real `steward serve`, killed with SIGKILL while clients write: after a restart the log verifies
(chain, tree and every signed checkpoint) and every request that was answered with success is in it."""

from __future__ import annotations

import base64
import json
import threading
import time
from pathlib import Path

import pytest

import steward
from steward import wire
from steward.ledger import parse_verifiers, verify_checkpoint, verify_checkpoint_consistency, verify_evidence
from tests.e2e.conftest import start_server, steward_cli

pytestmark = pytest.mark.e2e

WRITERS = 4
DIGEST = "sha256:" + "cd" * 32


def writer(
    url: str, token: str, number: int, done: list[tuple[str, int | None]], stop: threading.Event
) -> None:
    """Create models and register versions until the server goes away; note each success."""
    with steward.Client(url, token, timeout=10) as client:
        n = 0
        while not stop.is_set():
            name = f"w{number}-{n}"
            try:
                client.create_model(
                    wire.ModelCreate(name=name, owner="crash", risk_tier=steward.RiskTier.LOW)
                )
                done.append((name, None))
                client.register_version(
                    name, wire.VersionCreate(artifact_uri=f"s3://m/{name}", artifact_digest=DIGEST)
                )
                done.append((name, 1))
            except steward.StewardError:
                return  # the server is gone (or the answer never came): not a success
            n += 1


def test_a_killed_server_leaves_a_log_that_verifies_with_every_answered_write(
    database_url: str, tmp_path: Path
) -> None:
    env = {"STEWARD_DATABASE_URL": database_url, "STEWARD_LEDGER_KEY_PATH": str(tmp_path / "ledger.key")}
    steward_cli("user", "create", "ops", "--role", "admin", env=env)
    token = json.loads(steward_cli("token", "create", "ops", "--json", env=env).stdout)["token"]

    server = start_server(database_url, tmp_path, env)
    done: list[tuple[str, int | None]] = []
    stop = threading.Event()
    try:
        with steward.Client(server.url, token) as client:
            keys = parse_verifiers(k.vkey for k in client.ledger_keys())
            kept = client.checkpoint_note()  # an auditor's copy, before the crash
        threads = [
            threading.Thread(target=writer, args=(server.url, token, i, done, stop), daemon=True)
            for i in range(WRITERS)
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while len(done) < 60 and time.monotonic() < deadline:
            time.sleep(0.02)
        server.process.kill()  # kill -9, mid-way through the writers' requests
        server.process.wait(timeout=10)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        server.stop()
    assert len(done) >= 20, f"too few writes before the kill: {len(done)}\n{server.log.read_text()[-2000:]}"

    restarted = start_server(database_url, tmp_path, env)
    try:
        with steward.Client(restarted.url, token) as client:
            verdict = client.verify_audit()
            assert verdict.ok, verdict.problem
            created = {
                e.subject_id
                for e in client.iterate(wire.AuditEventOut, "/audit/events", action="model.created")
            }
            registered = {
                e.subject_id
                for e in client.iterate(
                    wire.AuditEventOut, "/audit/events", action="model_version.registered"
                )
            }
            for name, version in done:
                if version is None:
                    assert name in created, f"model {name} was answered 201 but is not in the log"
                else:
                    assert f"{name}/{version}" in registered, (
                        f"version {name}/1 was answered 201 but is not in the log"
                    )
                    assert client.get_version(name, version).artifact_digest == DIGEST
            latest = client.checkpoint()
            assert latest.size == verdict.events, "the last committed write has its signed checkpoint"
            old = verify_checkpoint(kept, keys).checkpoint
            new = verify_checkpoint(latest.note, keys).checkpoint
            verify_checkpoint_consistency(
                old, new, [base64.b64decode(h) for h in client.consistency_proof(old.size).hashes]
            )
            name = next(n for n, v in done if v == 1)
            report = verify_evidence(client.export_evidence(name, 1), keys)
            assert [e.action for e in report.events] == ["model.created", "model_version.registered"]
    finally:
        restarted.stop()
    result = steward_cli("audit", "verify", env=env, check=False)
    assert result.returncode == 0, result.stderr
