"""`steward demo`, the newcomer's first command, run as a real process and read over REST."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from steward import Client
from tests.e2e.conftest import free_port

TOKEN_LINE = re.compile(r"^\s+(\S+)\s+([a-z_]+)\s+(stw_\S+)\s*$")


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """The demo server's URL and a token per role, parsed from what it prints."""
    port = free_port()
    log = tmp_path / "demo.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "steward",
                "demo",
                "--port",
                str(port),
                "--no-open",
                "--dir",
                str(tmp_path),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "COLUMNS": "200"},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"steward demo exited early:\n{log.read_text()}"
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"steward demo did not answer within 60 s:\n{log.read_text()}"
            time.sleep(0.2)
        printed = log.read_text()
        assert f"Steward demo at {url}" in printed
        tokens = {m.group(2): m.group(3) for m in map(TOKEN_LINE.match, printed.splitlines()) if m}
        yield url, tokens
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_demo_serves_a_realistic_governed_inventory(demo: tuple[str, dict[str, str]]) -> None:
    url, tokens = demo
    roles = {
        "admin",
        "data_scientist",
        "ml_engineer",
        "validator",
        "compliance_officer",
        "business_owner",
        "auditor",
    }
    assert set(tokens) == roles

    with Client(url, tokens["auditor"]) as client:
        models = client.list_models(page_size=200).items
        assert len(models) >= 6
        assert {m.risk_tier.value for m in models} == {"high", "medium", "low"}
        assert len({m.owner for m in models}) >= 3
        for model in models:
            versions = client.list_versions(model.name, page_size=50).items
            assert 2 <= len(versions) <= 5, f"{model.name} has {len(versions)} versions"
            assert all(v.artifact_digest.startswith("sha256:") for v in versions)
        production = [
            d for d in client.list_deployments(environment="production").items if d.state.value == "active"
        ]
        assert production, "one model runs in production"
        lineage = client.lineage(production[0].model, production[0].version)
        kinds = {node.kind for node in lineage.nodes}
        assert {"dataset_version", "training_run", "deployment"} <= kinds
        # production got there through the workflow, and newer versions wait for their sign-offs
        entry = client.history(production[0].model).entries[0]
        assert entry.kind == "promotion" and entry.gate_decision is not None
        # its fairness check was computed from the validation predictions the demo wrote, as
        # `steward check fairness` computes one, so the gate has no "only reported" warning
        fairness = client.list_checks(production[0].model, production[0].version, kind="fairness").items
        assert fairness and fairness[0].status == "pass"
        assert fairness[0].provenance.method == "computed"
        assert fairness[0].provenance.file is not None
        assert fairness[0].provenance.file.name == "validation-predictions.csv"
        assert "fairness.reported" not in {w.rule for w in entry.gate_decision.warnings}
        assert len({a.reviewer for a in entry.approvals}) == len(entry.approvals) >= 1
        assert client.pending_reviews().items, "versions wait in the review queue"
        assert client.verify_audit().ok

    # every printed token works, and the roles hold: the auditor may not write
    for role, token in tokens.items():
        assert (
            httpx.get(f"{url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        ), role
    refused = httpx.post(
        f"{url}/api/v1/models",
        headers={"Authorization": f"Bearer {tokens['auditor']}"},
        json={"name": "x", "owner": "o", "risk_tier": "low"},
    )
    assert refused.status_code == 403
    assert httpx.get(f"{url}/", follow_redirects=False).status_code in (302, 303)  # the UI asks to sign in
