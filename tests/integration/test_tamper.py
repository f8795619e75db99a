"""Tampering with the audit log directly in the database is found, and named at the right event.

Each test builds a small log through the service, changes ``audit_events`` behind Steward's back
with plain SQL, and asks ``steward.audit.verify`` for its verdict.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import text

from steward import wire
from steward.domain import Role
from steward.ledger import GENESIS_HASH
from steward.ledger._event import seal
from steward.service import Caller, Steward
from tests.integration.support import model_spec, version_spec

COLUMNS = (
    "time",
    "actor",
    "action",
    "subject_type",
    "subject_id",
    "before",
    "after",
    "reason",
    "request_id",
    "client_address",
    "user_agent",
)


@pytest.fixture
def log(steward: Steward, admin: Caller) -> Steward:
    """Nine events written through the service alone (as the CLI on a database does: no ledger key)."""
    return write_log(steward, admin)


@pytest.fixture
def keyed_log(app: Any, steward: Steward, admin: Caller) -> Steward:
    """The same log written while a server holds the ledger key: every write keeps a signed checkpoint."""
    return write_log(steward, admin)


def write_log(steward: Steward, admin: Caller) -> Steward:
    """Nine events: principal, model (created, updated twice), dataset, run, two versions, a check."""
    steward.identity.create_principal(admin, wire.PrincipalCreate(name="dana", roles=[Role.DATA_SCIENTIST]))
    steward.registry.create_model(admin, model_spec("credit", tags={"team": "risk"}))
    steward.registry.update_model(admin, "credit", wire.ModelUpdate(revision=1, owner="team-a", reason="r1"))
    steward.registry.update_model(admin, "credit", wire.ModelUpdate(revision=2, owner="team-b"))
    steward.registry.create_dataset(admin, wire.DatasetCreate(name="customers"))
    steward.registry.record_run(admin, wire.TrainingRunCreate(run_id="run-1"))
    steward.registry.register_version(admin, "credit", version_spec(1, training_run="run-1"))
    steward.registry.register_version(admin, "credit", version_spec(2))
    steward.checks.record(admin, "credit", 1, "documentation")
    verdict = steward.audit.verify(admin)
    assert (verdict.ok, verdict.events, verdict.first_bad_seq, verdict.problem) == (True, 9, None, None)
    return steward


def sql(steward: Steward, statement: str, **params: Any) -> int:
    with steward.store.engine.begin() as conn:
        result = conn.execute(text(statement), params)
        return int(result.rowcount or 0)


def row(steward: Steward, seq: int) -> dict[str, Any]:
    with steward.store.engine.connect() as conn:
        found = (
            conn.execute(text("SELECT * FROM audit_events WHERE seq = :seq"), {"seq": seq}).mappings().one()
        )
    return dict(found)


def broken(steward: Steward, admin: Caller, first_bad: int) -> str:
    verdict = steward.audit.verify(admin)
    assert verdict.ok is False
    assert verdict.first_bad_seq == first_bad, verdict
    assert verdict.problem
    assert verdict.events == first_bad - 1, "the events before the first bad one verified"
    return verdict.problem


def test_untampered_log_verifies(log: Steward, admin: Caller) -> None:
    verdict = log.audit.verify(admin)
    assert verdict.ok
    assert verdict.events == 9
    assert verdict.head_hash == row(log, 9)["hash"]
    assert row(log, 1)["prev_hash"] == GENESIS_HASH


@pytest.mark.parametrize(
    ("column", "value", "k"),
    [
        ("actor", "mallory", 1),
        ("action", "model.created", 5),
        ("subject_id", "someone-else", 9),
        ("reason", "it was always like this", 3),
        ("time", "2000-01-01T00:00:00.000000Z", 7),
        ("client_address", "203.0.113.7", 2),
    ],
)
def test_changed_field_is_named(log: Steward, admin: Caller, column: str, value: str, k: int) -> None:
    assert sql(log, f"UPDATE audit_events SET {column} = :v WHERE seq = :k", v=value, k=k) == 1
    problem = broken(log, admin, k)
    assert str(k) in problem


@pytest.mark.parametrize("k", [2, 9])
def test_changed_before_or_after_json_is_named(log: Steward, admin: Caller, k: int) -> None:
    original = row(log, k)
    column = "after"
    document = json.loads(original[column])
    document["owner" if "owner" in document else "forged"] = "mallory"
    assert (
        sql(
            log,
            f"UPDATE audit_events SET {column} = :v WHERE seq = :k",
            v=json.dumps(document, sort_keys=True, separators=(",", ":")),
            k=k,
        )
        == 1
    )
    broken(log, admin, k)


def test_reformatted_json_is_a_change_too(log: Steward, admin: Caller) -> None:
    """The stored bytes are the hashed bytes: even a re-indented document no longer matches."""
    original = row(log, 3)
    pretty = json.dumps(json.loads(original["after"]), indent=2)
    assert pretty != original["after"]
    sql(log, "UPDATE audit_events SET after = :v WHERE seq = 3", v=pretty)
    broken(log, admin, 3)


@pytest.mark.parametrize("k", [1, 4, 8])
def test_deleted_event_is_named(log: Steward, admin: Caller, k: int) -> None:
    assert sql(log, "DELETE FROM audit_events WHERE seq = :k", k=k) == 1
    problem = broken(log, admin, k)
    assert str(k) in problem


def test_deleted_last_event_is_named(log: Steward, admin: Caller) -> None:
    assert sql(log, "DELETE FROM audit_events WHERE seq = 9") == 1
    broken(log, admin, 9)


def test_deleted_tail_is_named(log: Steward, admin: Caller) -> None:
    assert sql(log, "DELETE FROM audit_events WHERE seq >= 6") == 4
    broken(log, admin, 6)


def _forged_fields(seq: int) -> dict[str, Any]:
    return {
        "seq": seq,
        "time": "2030-01-01T00:00:00.000000Z",
        "actor": "mallory",
        "action": "model.created",
        "subject_type": "model",
        "subject_id": "backdoor",
        "before": None,
        "after": {"name": "backdoor", "owner": "mallory"},
        "reason": "",
        "request_id": "",
        "client_address": "",
        "user_agent": "",
    }


def _insert(steward: Steward, fields: dict[str, Any], prev_hash: str, event_hash: str) -> None:
    sql(
        steward,
        "INSERT INTO audit_events (seq, time, actor, action, subject_type, subject_id, before, after, "
        "reason, request_id, client_address, user_agent, prev_hash, hash) VALUES (:seq, :time, :actor, "
        ":action, :subject_type, :subject_id, :before, :after, :reason, :request_id, :client_address, "
        ":user_agent, :prev_hash, :hash)",
        **{
            **fields,
            "before": None if fields["before"] is None else json.dumps(fields["before"]),
            "after": json.dumps(fields["after"], sort_keys=True, separators=(",", ":")),
        },
        prev_hash=prev_hash,
        hash=event_hash,
    )


def test_forged_row_with_a_bogus_hash_is_named(log: Steward, admin: Caller) -> None:
    _insert(log, _forged_fields(10), row(log, 9)["hash"], "f" * 64)
    broken(log, admin, 10)


def test_forged_row_with_a_well_computed_hash_is_named(log: Steward, admin: Caller) -> None:
    """A forger who knows the hashing still cannot move the ledger head and the tree."""
    fields = _forged_fields(10)
    prev = row(log, 9)["hash"]
    _, forged_hash = seal(prev, fields)
    _insert(log, fields, prev, forged_hash)
    broken(log, admin, 10)


def forge_tail(steward: Steward) -> None:
    """Append a well-hashed event and move the ledger head to it: all a forger without the key can do."""
    fields = _forged_fields(10)
    prev = row(steward, 9)["hash"]
    _, forged_hash = seal(prev, fields)
    _insert(steward, fields, prev, forged_hash)
    sql(steward, "UPDATE ledger_head SET size = 10, head_hash = :h WHERE id = 1", h=forged_hash)


def rewrite_history(steward: Steward, k: int) -> None:
    """Change event ``k`` and recompute every later hash and the head, as a forger would."""
    prev = row(steward, k - 1)["hash"] if k > 1 else GENESIS_HASH
    seq = k
    while True:
        try:
            stored = row(steward, seq)
        except Exception:  # no more rows
            break
        fields: dict[str, Any] = {c: stored[c] for c in COLUMNS}
        fields["seq"] = seq
        fields["before"] = None if stored["before"] is None else json.loads(stored["before"])
        fields["after"] = None if stored["after"] is None else json.loads(stored["after"])
        if seq == k:
            fields["actor"] = "mallory"
        _, new_hash = seal(prev, fields)
        sql(
            steward,
            "UPDATE audit_events SET actor = :actor, prev_hash = :p, hash = :h WHERE seq = :seq",
            actor=fields["actor"],
            p=prev,
            h=new_hash,
            seq=seq,
        )
        prev = new_hash
        seq += 1
    sql(steward, "UPDATE ledger_head SET head_hash = :h WHERE id = 1", h=prev)


def test_forged_row_and_moved_head_is_named(log: Steward, admin: Caller) -> None:
    """The chain and the head agree with the forged event; the Merkle tree has no leaf for it."""
    forge_tail(log)
    broken(log, admin, 10)


@pytest.mark.parametrize("k", [4, 9])
def test_rewritten_history_is_named(log: Steward, admin: Caller, k: int) -> None:
    """The chain is consistent again after the rewrite; the tree's leaf ``k`` is not."""
    rewrite_history(log, k)
    broken(log, admin, k)


def test_keyed_log_verifies_with_checkpoints(keyed_log: Steward, admin: Caller) -> None:
    verdict = keyed_log.audit.verify(admin)
    assert verdict.ok
    assert verdict.checkpoints >= 9
    assert verdict.trusted_keys


def test_keyed_forged_tail_is_named(keyed_log: Steward, admin: Caller) -> None:
    forge_tail(keyed_log)
    problem = broken(keyed_log, admin, 10)
    assert "10" in problem


@pytest.mark.parametrize("k", [4, 9])
def test_keyed_rewritten_history_is_named(keyed_log: Steward, admin: Caller, k: int) -> None:
    rewrite_history(keyed_log, k)
    broken(keyed_log, admin, k)


def test_keyed_changed_field_is_named(keyed_log: Steward, admin: Caller) -> None:
    sql(keyed_log, "UPDATE audit_events SET subject_id = 'x' WHERE seq = 6")
    broken(keyed_log, admin, 6)


def test_event_inserted_in_the_middle_is_named(log: Steward, admin: Caller) -> None:
    """Shift events 5..9 up by one and slip a forged event in at 5."""
    for seq in range(9, 4, -1):
        sql(log, "UPDATE audit_events SET seq = :new WHERE seq = :old", new=seq + 1, old=seq)
    fields = _forged_fields(5)
    prev = row(log, 4)["hash"]
    _, forged_hash = seal(prev, fields)
    _insert(log, fields, prev, forged_hash)
    problem = broken(log, admin, 5)  # the forged event chains well, but event 6 links to 4
    assert "5" in problem


@pytest.mark.parametrize(("i", "j"), [(2, 3), (1, 9)])
def test_swapped_contents_are_named(log: Steward, admin: Caller, i: int, j: int) -> None:
    a, b = row(log, i), row(log, j)
    assignments = ", ".join(f"{c} = :{c}" for c in COLUMNS)
    sql(log, f"UPDATE audit_events SET {assignments} WHERE seq = :seq", seq=i, **{c: b[c] for c in COLUMNS})
    sql(log, f"UPDATE audit_events SET {assignments} WHERE seq = :seq", seq=j, **{c: a[c] for c in COLUMNS})
    broken(log, admin, min(i, j))


@pytest.mark.parametrize(("i", "j"), [(2, 3), (3, 8)])
def test_swapped_whole_events_are_named(log: Steward, admin: Caller, i: int, j: int) -> None:
    """Two events traded places, each with its own hashes: the chain link breaks at the first."""
    sql(log, "UPDATE audit_events SET seq = -1 WHERE seq = :i", i=i)
    sql(log, "UPDATE audit_events SET seq = :i WHERE seq = :j", i=i, j=j)
    sql(log, "UPDATE audit_events SET seq = :j WHERE seq = -1", j=j)
    problem = broken(log, admin, i)
    assert str(i) in problem


def test_verify_over_http_names_the_same_event(log: Steward, admin: Caller, admin_api: Any) -> None:
    sql(log, "UPDATE audit_events SET reason = 'edited' WHERE seq = 3")
    body = admin_api.get("/api/v1/audit/verify").json()
    assert body["ok"] is False
    assert body["first_bad_seq"] == 3
    assert body["problem"]


def test_other_records_are_not_part_of_the_log(log: Steward, admin: Caller) -> None:
    """Changing a record without its event is not the log's business: the log still verifies,
    and the record's history shows what Steward wrote."""
    sql(log, "UPDATE models SET owner = 'mallory' WHERE name = 'credit'")
    assert log.audit.verify(admin).ok
    assert log.registry.get_model(admin, "credit").owner == "mallory"
