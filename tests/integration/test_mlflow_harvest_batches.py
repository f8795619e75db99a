"""The harvest writes in batches: whole registered models, many versions per write transaction, each
transaction with its audit events and one signed checkpoint; a record the database refuses is
skipped with its reason while the rest of its batch lands. Against a real ``mlflow server`` and
each backend (SQLite, PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import text

from steward.connectors.mlflow import MlflowSource
from steward.service import Caller, HarvestService, MemoryKeys, Steward
from steward.service._events import EventBatch
from steward.service._snapshots import snapshot
from steward.storage import AuditFilter, SqlTransaction
from tests.integration.mlflow_support import MlflowServer, client, train
from tests.integration.mlflow_support import mlflow_server as mlflow_server  # the session fixture
from tests.integration.support import db_state

pytestmark = pytest.mark.e2e


def register(name: str, count: int, *, run_id: str | None = None) -> None:
    """``count`` versions of a registered model (made if missing), straight from artefact URIs."""
    mlf = client()
    if not any(m.name == name for m in mlf.search_registered_models(f"name = '{name}'")):
        mlf.create_registered_model(name, tags={"steward.owner": "team-batch"})
    for _ in range(count):
        number = len(mlf.search_model_versions(f"name = '{name}'")) + 1
        mlf.create_model_version(name, f"s3://batch/{name}/{number}", run_id=run_id, tags={"n": str(number)})


def transactions(steward: Steward) -> list[int]:
    """The number of events of each write transaction from now on (the ledger's hook sees each)."""
    sizes: list[int] = []

    def seen(_tx: SqlTransaction, batch: EventBatch, _at: datetime) -> None:
        sizes.append(len(batch))

    steward.bus.before_commit(seen)
    return sizes


def checkpoints(steward: Steward) -> int:
    with steward.store.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM ledger_checkpoints")).scalar_one())


def registered(steward: Steward, caller: Caller, prefix: str) -> list[Any]:
    found = steward.audit.list_events(caller, AuditFilter(action="model_version.registered"), page_size=1000)
    return [e for e in found.items if e.subject_id.startswith(prefix)]


def test_a_big_harvest_writes_whole_models_in_few_transactions_each_with_one_checkpoint(
    mlflow_server: MlflowServer, steward: Steward, admin: Caller
) -> None:
    prefix = f"batch-{uuid.uuid4().hex[:6]}"
    big, small = f"{prefix}-big", [f"{prefix}-s{i}" for i in range(4)]
    register(big, 25)
    train(small[0], f"{prefix}-exp", seed=21)  # one version with a run and two dataset inputs
    register(small[0], 4)
    for name in small[1:]:
        register(name, 5)
    steward.ledger.use_keys(MemoryKeys())
    harvests = HarvestService(steward.store, steward.bus, steward.clock, steward.guard, batch_size=10)
    sizes, signed = transactions(steward), checkpoints(steward)
    stages: list[tuple[str, int, int | None]] = []

    summary = harvests.harvest(
        admin,
        MlflowSource(mlflow_server.url, digest="metadata"),
        models=[big, *small],
        write_back=False,
        progress=lambda stage, done, total: stages.append((stage, done, total)),
    )
    assert summary.failure is None and summary.errors == [], summary.errors
    assert (summary.created["model"], summary.created["version"], summary.created["run"]) == (5, 45, 1)
    # the big model alone (more than a batch), then two small ones per batch: three transactions,
    # each with all its events (5 models, 45 versions, a run, 2 datasets and 2 dataset versions)
    # and one signed checkpoint, where one transaction per model would have made five
    assert len(sizes) == 3 and sum(sizes) == 55, sizes
    assert checkpoints(steward) - signed == 3
    assert steward.audit.verify(admin).ok
    # written while listed: the total is known once the listing ends
    versions = [(done, total) for stage, done, total in stages if stage == "versions"]
    assert versions == [(0, None), (25, None), (35, None), (45, None), (45, 45)]

    # one event per record, and what it says is the record as stored
    events = registered(steward, admin, prefix)
    assert len(events) == 45
    for event in events:
        model, number = event.subject_id.rsplit("/", 1)
        assert event.after == snapshot(steward.registry.get_version(admin, model, int(number)))
    first = steward.registry.get_version(admin, small[0], 1)
    assert first.training_run is not None and len(first.datasets) == 2
    assert [steward.registry.get_version(admin, big, n).tags["n"] for n in (1, 25)] == ["1", "25"]

    before = db_state(steward)
    again = harvests.harvest(
        admin, MlflowSource(mlflow_server.url, digest="metadata"), models=[big, *small], write_back=False
    )
    assert not again.changed and again.unchanged["version"] == 45 and again.unchanged["model"] == 5
    assert len(sizes) == 3  # no transaction wrote an event
    assert db_state(steward) == before

    # write-back reads the records and their newest decisions for the whole batch at once
    decision = steward.gates.evaluate(admin, small[1], 1)
    assert not decision.allow
    harvests.harvest(admin, MlflowSource(mlflow_server.url, digest="metadata"), models=[small[1]])
    tags = [client().get_model_version(small[1], str(n)).tags for n in (1, 2)]
    assert tags[0]["steward.decision"] == f"deny: {decision.denies[0]['message']}"[:500]
    assert (tags[0]["steward.state"], tags[1]["steward.decision"]) == ("registered", "not evaluated")


def refuse_link(steward: Steward, external_id: str) -> None:
    """A rule of the database itself (a trigger) that refuses one version's source link, as the
    store would refuse a record that breaks a constraint."""
    quoted = external_id.replace("'", "''")
    with steward.store.engine.begin() as conn:
        if steward.store.backend == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER test_refuse BEFORE INSERT ON version_sources "
                    f"WHEN NEW.external_id = '{quoted}' "
                    "BEGIN SELECT RAISE(ABORT, 'refused by a test rule'); END"
                )
            )
            return
        conn.execute(
            text(
                "CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF NEW.external_id = '{quoted}' THEN RAISE EXCEPTION 'refused by a test rule' "
                "USING ERRCODE = 'check_violation'; END IF; RETURN NEW; END $$"
            )
        )
        conn.execute(
            text(
                "CREATE TRIGGER test_refuse BEFORE INSERT ON version_sources "
                "FOR EACH ROW EXECUTE FUNCTION test_refuse()"
            )
        )


def test_a_version_refused_in_a_batch_is_skipped_with_its_reason_and_the_rest_land(
    mlflow_server: MlflowServer, steward: Steward, admin: Caller
) -> None:
    import mlflow

    prefix = f"refused-{uuid.uuid4().hex[:6]}"
    first, second = f"{prefix}-a", f"{prefix}-b"
    mlflow.set_experiment(f"{prefix}-exp")
    with mlflow.start_run() as run:  # more metrics than a Steward version may hold
        mlflow.log_metrics({f"m{i}": float(i) for i in range(300)})
    register(first, 2)
    register(first, 1, run_id=run.info.run_id)  # version 3: refused before anything is written
    register(first, 3)
    register(second, 6)
    source = MlflowSource(mlflow_server.url, digest="metadata")
    too_many, refused = source.external_id(first, "3"), source.external_id(second, "4")
    refuse_link(steward, refused)  # version 4 of the second: the database refuses it
    harvests = HarvestService(steward.store, steward.bus, steward.clock, steward.guard, batch_size=20)

    summary = harvests.harvest(admin, source, models=[first, second], write_back=False)
    assert summary.failure is None and summary.errors == [], summary.errors
    skipped = {s.id: s.reason for s in summary.skipped if s.kind == "version"}
    assert sorted(skipped) == sorted([too_many, refused])
    assert skipped[too_many].startswith("Steward refuses its fields")
    assert skipped[refused].startswith(
        "Steward could not record it: the change breaks a rule of the database"
    )
    assert "refused by a test rule" in skipped[refused]
    # the rest of the batch landed, each counted once, with its event
    assert (summary.created["model"], summary.created["version"], summary.created["run"]) == (2, 10, 1)
    landed = {
        s.external_id
        for name in (first, second)
        for n in range(1, 6)
        for s in steward.registry.get_version(admin, name, n).sources
    }
    assert landed == {source.external_id(first, v) for v in "12456"} | {
        source.external_id(second, v) for v in "12356"
    }
    assert len(registered(steward, admin, prefix)) == 10
    assert steward.audit.verify(admin).ok

    # the next harvest finds the same two refusals and nothing else to do
    before = db_state(steward)
    again = harvests.harvest(admin, source, models=[first, second], write_back=False)
    assert not again.changed and again.unchanged["version"] == 10
    assert sorted(s.id for s in again.skipped if s.kind == "version") == sorted([too_many, refused])
    assert db_state(steward) == before
