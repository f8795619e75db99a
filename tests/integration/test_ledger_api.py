"""The ledger over REST and the SDK, the read access log, and the signing key's life: created on
first start (mode 0600, beside a SQLite database), checked against the registry, rotated."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import steward as sdk
from steward import wire
from steward.domain import Role
from steward.errors import IntegrityError
from steward.ledger import (
    generate_signer,
    parse_signer,
    parse_verifier,
    parse_verifiers,
    verify_checkpoint,
    verify_checkpoint_consistency,
    verify_evidence,
    verify_inclusion,
)
from steward.server import create_app
from steward.service import Caller, KeyFile, Steward
from steward.settings import Settings
from tests.integration.conftest import ClientFor, MakePrincipal
from tests.integration.ledger_support import cli, populate
from tests.integration.support import digest, model_body, version_body
from tests.integration.test_sdk import in_process

API = "/api/v1"


def b(text: str) -> bytes:
    return base64.b64decode(text)


def ok(response: object) -> dict:  # type: ignore[type-arg]
    assert 200 <= response.status_code < 300, response.text  # type: ignore[attr-defined]
    return response.json()  # type: ignore[attr-defined, no-any-return]


def test_checkpoints_keys_and_proofs_over_http(admin_api: TestClient) -> None:
    ok(admin_api.post(f"{API}/models", json=model_body("m")))
    first = ok(admin_api.get(f"{API}/ledger/checkpoint"))
    for seed in range(3):
        ok(admin_api.post(f"{API}/models/m/versions", json=version_body(seed)))
    keys = [parse_verifier(k["vkey"]) for k in ok(admin_api.get(f"{API}/ledger/keys"))]
    latest = ok(admin_api.get(f"{API}/ledger/checkpoint"))
    note = admin_api.get(f"{API}/ledger/checkpoint", headers={"Accept": "text/plain"})
    assert note.headers["content-type"].startswith("text/plain")
    assert note.text == latest["note"]
    signed = verify_checkpoint(note.text, keys).checkpoint
    assert (signed.origin, signed.size, base64.b64encode(signed.root).decode()) == (
        latest["origin"],
        latest["size"],
        latest["root"],
    )
    for seq in range(1, latest["size"] + 1):
        proof = ok(admin_api.get(f"{API}/ledger/proofs/inclusion", params={"seq": seq}))
        assert proof["tree_size"] == latest["size"] and proof["checkpoint"]["note"] == latest["note"]
        verify_inclusion(
            b(proof["leaf_hash"]), seq - 1, signed.size, [b(h) for h in proof["hashes"]], signed.root
        )
    old = verify_checkpoint(first["note"], keys).checkpoint
    proof = ok(admin_api.get(f"{API}/ledger/proofs/consistency", params={"old_size": old.size}))
    verify_checkpoint_consistency(old, signed, [b(h) for h in proof["hashes"]])
    kept = ok(admin_api.get(f"{API}/ledger/checkpoint", params={"size": first["size"]}))
    assert kept == first
    missing = admin_api.get(f"{API}/ledger/checkpoint", params={"size": 10_000})
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    bad = admin_api.get(f"{API}/ledger/proofs/inclusion", params={"seq": latest["size"] + 1})
    assert (bad.status_code, bad.json()["error"]["details"]["errors"][0]["field"]) == (422, "seq")


def test_the_sdk_fetches_verifies_and_exports(app: FastAPI, admin_token: str) -> None:
    client = sdk.Client("http://steward.test", admin_token, transport=in_process(app))
    client.create_dataset(wire.DatasetCreate(name="loans"))
    client.add_dataset_version(
        "loans", wire.DatasetVersionCreate(version="v1", uri="s3://d", digest=digest("d"))
    )
    client.record_run(wire.TrainingRunCreate(run_id="r1"))
    client.create_model(wire.ModelCreate(**model_body("m", risk_tier="low")))
    client.register_version(
        "m",
        wire.VersionCreate(
            **version_body(
                1,
                training_run="r1",
                metrics={"accuracy": 0.9},
                datasets=[{"dataset": "loans", "version": "v1", "role": "training"}],
            )
        ),
    )
    # a low-risk version reaches staging on the gates alone; the promotion records the deployment
    client.promote("m", 1, wire.PromotionCreate(target="staging", reason="try it", endpoint="ep"))
    client.create_model(wire.ModelCreate(**model_body("unrelated")))
    keys = parse_verifiers(k.vkey for k in client.ledger_keys())
    checkpoint = client.checkpoint()
    assert verify_checkpoint(client.checkpoint_note(), keys).checkpoint.size == checkpoint.size
    proof = client.inclusion_proof(2)
    verify_inclusion(b(proof.leaf_hash), 1, proof.tree_size, [b(h) for h in proof.hashes], b(proof.root))
    assert client.consistency_proof(1).new_size == checkpoint.size
    report = verify_evidence(client.export_evidence("m", 1), keys)
    assert [(e.action, e.subject_type) for e in report.events] == [
        ("dataset.created", "dataset"),
        ("dataset_version.created", "dataset_version"),
        ("training_run.recorded", "training_run"),
        ("model.created", "model"),
        ("model_version.registered", "model_version"),
        ("gate.evaluated", "model_version"),
        ("promotion.allowed", "model_version"),
        ("deployment.recorded", "deployment"),
    ]
    assert report.checkpoint.size == checkpoint.size
    assert {e.subject_id for e in report.events}.isdisjoint({"unrelated"})
    assert report.predicate["lineage"]["root"] == "version:m/1"
    with pytest.raises(sdk.NotFound):
        client.export_evidence("m", 9)


def test_reads_of_records_are_logged_for_auditors(
    admin_api: TestClient,
    make_principal: MakePrincipal,
    client_for: ClientFor,
    steward: Steward,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ok(admin_api.post(f"{API}/models", json=model_body("m")))
    ok(admin_api.post(f"{API}/models/m/versions", json=version_body(1)))
    _, scientist = make_principal(Role.DATA_SCIENTIST, name="dana")
    _, auditor = make_principal(Role.AUDITOR, name="audrey")
    _, officer = make_principal(Role.COMPLIANCE_OFFICER, name="colin")
    dana = client_for(scientist)
    dana.headers["User-Agent"] = "dana-notebook/1.0"
    ok(dana.get(f"{API}/models/m"))
    ok(dana.get(f"{API}/models/m/versions/1"))
    ok(dana.get(f"{API}/models/m/versions/1/lineage"))
    ok(dana.get(f"{API}/models", params={"owner": "team-risk"}))
    assert dana.get(f"{API}/models/missing").status_code == 404  # a failed read is not a read
    audrey = client_for(auditor)
    assert audrey.get(f"{API}/models/m/versions/1/evidence").status_code == 200
    ok(audrey.get(f"{API}/ledger/checkpoint"))  # the public ledger is not a record

    reads = ok(audrey.get(f"{API}/audit/reads"))["items"]
    assert [(r["principal"], r["action"], r["subject_type"], r["subject_id"]) for r in reads] == [
        ("audrey", "evidence.read", "evidence", "m/1"),
        ("dana", "model.read", "model", ""),
        ("dana", "version.read", "model_version", "m/1"),
        ("dana", "version.read", "model_version", "m/1"),
        ("dana", "model.read", "model", "m"),
    ]
    assert reads[1]["path"] == f"{API}/models?owner=team-risk"
    assert reads[2]["path"] == f"{API}/models/m/versions/1/lineage"
    assert {(r["client_address"], r["request_id"] != "") for r in reads} == {("testclient", True)}
    assert reads[-1]["user_agent"] == "dana-notebook/1.0"
    only_dana = ok(
        client_for(officer).get(f"{API}/audit/reads", params={"principal": "dana", "page_size": 2})
    )
    assert len(only_dana["items"]) == 2 and only_dana["next_page_token"]
    by_subject = ok(
        audrey.get(f"{API}/audit/reads", params={"subject_type": "model_version", "subject_id": "m/1"})
    )
    assert len(by_subject["items"]) == 2
    refused = dana.get(f"{API}/audit/reads")
    assert (refused.status_code, refused.json()["error"]["details"]["action"]) == (403, "access_log.read")
    run = cli(database_url, capsys, "audit", "reads", "--principal", "audrey", "--json")
    assert run.code == 0, run.err
    assert [r["subject_id"] for r in json.loads(run.out)] == ["m/1"]


# -- the key's life ----------------------------------------------------------------------------


@pytest.fixture
def sqlite_url(database_url: str) -> str:
    if not database_url.startswith("sqlite"):
        pytest.skip("the default key path is beside a SQLite database file")
    return database_url


def test_the_key_is_created_beside_the_database_on_first_start(sqlite_url: str, admin: Caller) -> None:
    path = Path(sqlite_url.removeprefix("sqlite:///") + ".ledger.key")
    assert not path.exists()
    first = Steward.open(sqlite_url, migrate=True)
    create_app(Settings(database_url=sqlite_url), steward=first)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    signer = parse_signer(path.read_text().strip())
    [key] = first.ledger.list_keys(admin)
    assert (key.vkey, key.active) == (signer.verifier.encode(), True)
    first.close()
    again = Steward.open(sqlite_url, migrate=True)
    create_app(Settings(database_url=sqlite_url), steward=again)  # the same key, not a new one
    assert [k.vkey for k in again.ledger.list_keys(admin)] == [key.vkey]
    assert path.read_text().strip() == signer.encode()
    again.close()


def test_a_server_refuses_a_key_that_is_not_the_logs(
    steward: Steward, database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "ledger.key"
    create_app(Settings(database_url=database_url, ledger_key_path=path), steward=steward)
    real = path.read_text()
    path.write_text(generate_signer("intruder").encode() + "\n")
    with pytest.raises(IntegrityError, match="is not one of this log's keys"):
        create_app(Settings(database_url=database_url, ledger_key_path=path), steward=Steward(steward.store))
    path.unlink()
    with pytest.raises(IntegrityError, match="is missing"):
        create_app(Settings(database_url=database_url, ledger_key_path=path), steward=Steward(steward.store))
    path.write_text(real)
    create_app(Settings(database_url=database_url, ledger_key_path=path), steward=Steward(steward.store))


def test_an_interrupted_rotation_is_finished_from_the_staged_key(
    steward: Steward, admin: Caller, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ledger.key"
    source = KeyFile(path)
    steward.ledger.use_keys(source)
    populate(steward, admin, models=1)
    old = path.read_text()
    monkeypatch.setattr(source, "promote", lambda: None)  # the process dies before moving the file
    key = steward.ledger.rotate_key(admin, "rotation")
    assert path.read_text() == old and path.with_name("ledger.key.new").exists()
    restarted = Steward(steward.store)
    restarted.ledger.use_keys(KeyFile(path))
    assert restarted.ledger.start() is not None
    assert parse_signer(path.read_text().strip()).verifier.encode() == key.vkey
    restarted.registry.update_model(admin, "model-0", wire.ModelUpdate(revision=2, owner="z"))
    assert restarted.audit.verify(admin, keys=parse_verifiers([steward.ledger.list_keys(admin)[0].vkey])).ok


def test_a_rotation_by_another_process_takes_effect_in_the_next_write(
    steward: Steward, admin: Caller, tmp_path: Path
) -> None:
    """A server keeps its key in memory; once `steward ledger rotate-key` (another process, sharing
    the key file) has committed, the server's very next checkpoint and bundle are signed by the new
    key, never again by the retired one."""
    path = tmp_path / "ledger.key"
    steward.ledger.use_keys(KeyFile(path))
    populate(steward, admin, models=1)
    [old] = steward.ledger.list_keys(admin)
    operator = Steward(steward.store)
    operator.ledger.use_keys(KeyFile(path))
    new = operator.ledger.rotate_key(admin, "yearly")
    steward.registry.update_model(admin, "model-0", wire.ModelUpdate(revision=2, owner="z"))
    latest = steward.ledger.checkpoint(admin)
    assert latest.key_id == new.key_id
    signed = verify_checkpoint(latest.note, parse_verifiers([old.vkey, new.vkey]))
    assert [k.encode() for k in signed.verified_by] == [new.vkey]
    bundle = steward.evidence.export(admin, "model-0", 1)
    with pytest.raises(IntegrityError, match=f"signed by key .*\\+{new.key_id}"):
        verify_evidence(bundle, parse_verifiers([old.vkey]))
    assert verify_evidence(bundle, parse_verifiers([old.vkey, new.vkey])).envelope_keys
    assert steward.audit.verify(admin, keys=parse_verifiers([old.vkey])).ok
