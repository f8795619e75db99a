"""An auditor works against a real server with the CLI (`--server`): keeps a checkpoint and the key,
the operator rotates the key on the server's machine, and the auditor's old key still verifies
today's log (the rotation is vouched for by the old key) and, with the new key added, the evidence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import steward
from steward import wire
from tests.e2e.conftest import start_server, steward_cli

pytestmark = pytest.mark.e2e

DIGEST = "sha256:" + "ab" * 32


def test_an_auditor_verifies_over_http_across_a_key_rotation(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'steward.db'}"
    local = {"STEWARD_DATABASE_URL": database_url}
    steward_cli("user", "create", "ops", "--role", "admin", "--role", "auditor", env=local)
    token = json.loads(steward_cli("token", "create", "ops", "--json", env=local).stdout)["token"]
    server = start_server(database_url, tmp_path)
    try:
        remote = {"STEWARD_SERVER": server.url, "STEWARD_TOKEN": token}
        with steward.Client(server.url, token) as client:
            client.create_model(
                wire.ModelCreate(name="scorer", owner="risk", risk_tier=steward.RiskTier.HIGH)
            )
            client.register_version(
                "scorer", wire.VersionCreate(artifact_uri="s3://m/1", artifact_digest=DIGEST)
            )
            kept = tmp_path / "q1.checkpoint"
            kept.write_text(client.checkpoint_note())
            [key] = client.ledger_keys()
            old_key = tmp_path / "old.pub"
            old_key.write_text(key.vkey + "\n")

            # the operator rotates the key on the server's machine while it serves
            rotated = steward_cli("ledger", "rotate-key", "--reason", "yearly", "--json", env=local)
            new_key = tmp_path / "new.pub"
            new_key.write_text(json.loads(rotated.stdout)["vkey"] + "\n")
            client.update_model("scorer", wire.ModelUpdate(revision=1, owner="risk-2"))
            assert [k.active for k in client.ledger_keys()] == [False, True]

            # the auditor's old key vouches for the new one: today's log extends the kept checkpoint
            result = steward_cli(
                "ledger", "verify", "--checkpoint", str(kept), "--key", str(old_key), env=remote
            )
            assert "is consistent with today's log" in result.stdout

            bundle = tmp_path / "scorer-v1.json"
            bundle.write_bytes(client.export_evidence("scorer", 1))
            reads = client.list_reads(subject_type="evidence").items
            assert [(r.principal, r.subject_id) for r in reads] == [("ops", "scorer/1")]
        verified = steward_cli(
            "evidence", "verify", str(bundle), "--key", str(old_key), "--key", str(new_key)
        )
        assert "ok: evidence for model version scorer v1" in verified.stdout
        refused = steward_cli("evidence", "verify", str(bundle), "--key", str(old_key), check=False)
        assert refused.returncode == 11  # signed by the new key: the auditor must add it first
    finally:
        server.stop()
    assert steward_cli("audit", "verify", "--key", str(old_key), env=local).returncode == 0
