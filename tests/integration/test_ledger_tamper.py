"""Tampering with the stored ledger is detected and located, by `audit verify` (service and CLI)
and by `ledger verify --checkpoint FILE`; an evidence bundle with any byte changed fails
`evidence verify`.

The attacker has write access to the database but not the ledger's signing key. Each write
transaction keeps a signed checkpoint, so even a rewrite that recomputes every later hash and tree
node is located at the first event it changed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from steward import wire
from steward.errors import IntegrityError
from steward.ledger import generate_signer, parse_verifiers, verify_evidence
from steward.service import Caller, KeyFile, Steward
from steward.storage import AuditFilter
from tests.integration.ledger_support import (
    cli,
    forge_append,
    head_size,
    key_file,
    populate,
    rehash,
    resign,
    sql,
    stored_events,
)

KEPT = 8  # the size of the checkpoint the auditor kept
EVENTS = 11


@pytest.fixture
def key_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "keys" / "ledger.key"
    monkeypatch.setenv("STEWARD_LEDGER_KEY_PATH", str(path))
    return path


@pytest.fixture
def log(steward: Steward, admin: Caller, key_path: Path) -> Steward:
    """A populated log signed with the key in ``key_path`` (the CLI finds it there too)."""
    steward.ledger.use_keys(KeyFile(key_path))
    steward.ledger.start()
    populate(steward, admin)
    assert head_size(steward) == EVENTS
    return steward


@pytest.fixture
def auditor(
    log: Steward, database_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> tuple[Path, Path]:
    """What an auditor kept: the checkpoint of size ``KEPT`` and the log's verifier key."""
    checkpoint = tmp_path / "kept.checkpoint"
    assert (
        cli(database_url, capsys, "ledger", "checkpoint", "--size", str(KEPT), "-o", str(checkpoint)).code
        == 0
    )
    keys = json.loads(cli(database_url, capsys, "ledger", "keys", "--json").out)
    assert [k["active"] for k in keys] == [True]
    return checkpoint, key_file(tmp_path / "ledger.pub", keys[0]["vkey"])


def swap_contents(steward: Steward, a: int, b: int) -> None:
    columns = ("time", "actor", "action", "subject_type", "subject_id", "before", "after", "reason")
    rows = {int(r[0]): r for r in stored_events(steward)}
    for target, source in ((a, b), (b, a)):
        values = dict(zip(columns, rows[source][1:9], strict=True))
        sql(
            steward,
            f"UPDATE audit_events SET {', '.join(f'{c} = :{c}' for c in columns)} WHERE seq = :s",
            s=target,
            **values,
        )


def delete_and_renumber(steward: Steward, seq: int) -> None:
    sql(steward, "DELETE FROM audit_events WHERE seq = :s", s=seq)
    for later in range(seq + 1, EVENTS + 1):
        sql(steward, "UPDATE audit_events SET seq = :n WHERE seq = :s", n=later - 1, s=later)


def replace_key(steward: Steward, key_path: Path) -> None:
    """Sign with an attacker's key: register it (retiring the real one), put it in the key file,
    rewrite event 5 and re-sign every checkpoint from 5 on."""
    attacker = generate_signer(steward.ledger.signer().name)
    sql(steward, "UPDATE ledger_keys SET retired_at = '2030-01-01 00:00:00'")
    sql(
        steward,
        "INSERT INTO ledger_keys (name, key_id, vkey, valid_from) VALUES (:n, :k, :v, '2030-01-01 00:00:00')",
        n=attacker.name,
        k=f"{attacker.key_id:08x}",
        v=attacker.verifier.encode(),
    )
    key_path.write_text(attacker.encode() + "\n")
    sql(steward, "UPDATE audit_events SET reason = 'nothing to see' WHERE seq = 5")
    rehash(steward)
    resign(steward, attacker, 5)


TAMPERING: dict[str, tuple[Callable[[Steward, Path], object], int]] = {
    "edit a field": (lambda s, _: sql(s, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 5"), 5),
    "edit a field and rewrite every later hash": (
        lambda s, _: (
            sql(s, 'UPDATE audit_events SET after = \'{"owner":"mallory"}\' WHERE seq = 5'),
            rehash(s),
        ),
        5,
    ),
    "delete an event": (lambda s, _: sql(s, "DELETE FROM audit_events WHERE seq = 6"), 6),
    "delete an event, renumber and rewrite": (lambda s, _: (delete_and_renumber(s, 6), rehash(s)), 6),
    "swap two events": (lambda s, _: swap_contents(s, 4, 7), 4),
    "swap two events and rewrite": (lambda s, _: (swap_contents(s, 4, 7), rehash(s)), 4),
    "append a forged event without the key": (lambda s, _: forge_append(s), EVENTS + 1),
    "append a forged event with another key": (
        lambda s, _: forge_append(s, generate_signer("mallory")),
        EVENTS + 1,
    ),
    "replace the signing key": (lambda s, path: replace_key(s, path), 5),
}


def test_an_intact_log_verifies_everywhere(
    log: Steward,
    admin: Caller,
    auditor: tuple[Path, Path],
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    checkpoint, pub = auditor
    verdict = log.audit.verify(admin)
    assert (verdict.ok, verdict.events, verdict.checkpoints) == (True, EVENTS, EVENTS)
    run = cli(database_url, capsys, "audit", "verify", "--key", str(pub))
    assert run.code == 0, run.err
    assert f"{EVENTS} events verify" in run.out
    run = cli(database_url, capsys, "ledger", "verify", "--checkpoint", str(checkpoint), "--key", str(pub))
    assert run.code == 0, run.err
    assert f"checkpoint of size {KEPT}" in run.out and f"today's log of size {EVENTS}" in run.out


@pytest.mark.parametrize("how", list(TAMPERING))
def test_tampering_is_detected_and_located(
    how: str,
    log: Steward,
    admin: Caller,
    auditor: tuple[Path, Path],
    key_path: Path,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tamper, first_bad = TAMPERING[how]
    checkpoint, pub = auditor
    tamper(log, key_path)

    verdict = log.audit.verify(admin)
    assert not verdict.ok
    assert verdict.first_bad_seq == first_bad, verdict.problem
    assert verdict.events == first_bad - 1
    pinned = log.audit.verify(admin, keys=parse_verifiers([pub.read_text()]))
    assert pinned.first_bad_seq == first_bad, pinned.problem

    run = cli(database_url, capsys, "audit", "verify")
    assert run.code == IntegrityError.exit_code == 11
    assert f"does not verify at event {first_bad}:" in run.err

    run = cli(database_url, capsys, "ledger", "verify", "--checkpoint", str(checkpoint), "--key", str(pub))
    assert run.code == 11
    assert f"at event {first_bad}:" in run.err


def test_a_complete_rewrite_needs_an_outside_anchor(
    log: Steward,
    admin: Caller,
    auditor: tuple[Path, Path],
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Whoever rewrites everything, registry included, with a key of their own, fools a verifier
    that trusts the database; the auditor's key or kept checkpoint does not."""
    checkpoint, pub = auditor
    attacker = generate_signer(log.ledger.signer().name)
    sql(
        log,
        "UPDATE ledger_keys SET vkey = :v, key_id = :k",
        v=attacker.verifier.encode(),
        k=f"{attacker.key_id:08x}",
    )
    sql(log, "UPDATE audit_events SET reason = 'rewritten' WHERE seq = 5")
    rehash(log)
    resign(log, attacker, 1)
    assert log.audit.verify(admin).ok  # the database alone vouches for itself
    run = cli(database_url, capsys, "audit", "verify", "--key", str(pub))
    assert run.code == 11 and "at event 1:" in run.err  # nothing after the auditor's key vouches for
    run = cli(database_url, capsys, "ledger", "verify", "--checkpoint", str(checkpoint), "--key", str(pub))
    assert run.code == 11 and "does not verify" in run.err


def test_rotation_keeps_old_keys_published_and_vouched_for(
    log: Steward,
    admin: Caller,
    auditor: tuple[Path, Path],
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    checkpoint, pub = auditor
    run = cli(database_url, capsys, "ledger", "rotate-key", "--reason", "yearly rotation")
    assert run.code == 0, run.err
    keys = json.loads(cli(database_url, capsys, "ledger", "keys", "--json").out)
    assert [k["active"] for k in keys] == [False, True]
    log.ledger.use_keys(KeyFile(Path(log.ledger.keys_location or "")))  # reload the rotated file
    log.registry.update_model(admin, "model-2", wire.ModelUpdate(revision=1, owner="x"))
    rotation = log.audit.list_events(admin, AuditFilter(action="ledger.key_rotated")).items
    assert [(e.reason, e.after["key_id"]) for e in rotation] == [("yearly rotation", keys[1]["key_id"])]  # type: ignore[index]
    with log.store.read() as tx:
        note = tx.ledger.checkpoint(rotation[0].seq).note  # type: ignore[union-attr]
    assert note.count("\n— ") == 2, "the rotation's checkpoint is signed by the old and the new key"
    # the auditor still trusts only the old key: the old key vouched for the new one
    assert cli(database_url, capsys, "audit", "verify", "--key", str(pub)).code == 0
    run = cli(database_url, capsys, "ledger", "verify", "--checkpoint", str(checkpoint), "--key", str(pub))
    assert run.code == 0, run.err


def test_an_evidence_bundle_with_any_byte_changed_fails(
    log: Steward,
    admin: Caller,
    auditor: tuple[Path, Path],
    tmp_path: Path,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, pub = auditor
    bundle = tmp_path / "model-0-v1.evidence.json"
    run = cli(database_url, capsys, "evidence", "export", "model-0", "1", "-o", str(bundle))
    assert run.code == 0, run.err
    data = bundle.read_bytes()
    keys = parse_verifiers([pub.read_text()])
    report = verify_evidence(data, keys)
    assert report.model == "model-0" and report.version == 1
    # every byte, changed: each variant must fail, and fail as an integrity error
    for position in range(len(data)):
        changed = bytearray(data)
        changed[position] ^= 0x01 if data[position] not in b"\n" else 0x02
        with pytest.raises(IntegrityError):
            verify_evidence(bytes(changed), keys)
    run = cli(database_url, capsys, "evidence", "verify", str(bundle), "--key", str(pub))
    assert run.code == 0, run.err
    middle = bytearray(data)
    middle[len(data) // 2] = ord("A") if middle[len(data) // 2] != ord("A") else ord("B")
    bundle.write_bytes(bytes(middle))
    run = cli(database_url, capsys, "evidence", "verify", str(bundle), "--key", str(pub))
    assert run.code == 11, run.out
    assert "error (integrity_error)" in run.err
