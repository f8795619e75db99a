"""Harvest a real MLflow server: records, lineage, idempotence, updates with diffs, identity by
digest, errors, write-back tags. No mock of MLflow: models are trained with scikit-learn, logged
with their dataset inputs and registered in a real ``mlflow server``."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from steward.connectors.mlflow import MlflowSource
from steward.domain import DatasetRole, SourceSettings
from steward.service import Caller, Steward, local_operator, record_links
from steward.storage import AuditFilter
from tests.integration.mlflow_support import COMMIT, MlflowServer, client, free_port, train
from tests.integration.mlflow_support import mlflow_server as mlflow_server  # the session fixture
from tests.integration.support import db_state

pytestmark = pytest.mark.e2e
RECORDS = record_links("https://steward.example.com")


@pytest.fixture
def core(tmp_path: Path) -> Iterator[Steward]:
    steward = Steward.open(f"sqlite:///{tmp_path / 'steward.db'}", migrate=True)
    try:
        yield steward
    finally:
        steward.close()


@pytest.fixture
def operator() -> Caller:
    return local_operator(request_id="harvest-test", name="local:harvester")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def events(core: Steward, caller: Caller, action: str) -> list[object]:
    return list(core.audit.list_events(caller, AuditFilter(action=action), page_size=1000).items)


def test_harvest_maps_models_versions_runs_datasets_and_lineage(
    mlflow_server: MlflowServer, core: Steward, operator: Caller
) -> None:
    governed, bare, experiment = unique("credit"), unique("churn"), unique("exp")
    run1, v1, _ = train(governed, experiment, seed=1)
    run2, v2, _ = train(governed, experiment, seed=2, c=0.5)
    train(bare, experiment, seed=3)
    mlf = client()
    mlf.set_registered_model_tag(governed, "steward.owner", "team-credit")
    mlf.set_registered_model_tag(governed, "steward.risk_tier", "high")
    mlf.set_registered_model_tag(governed, "steward.use_case", "retail credit decisions")
    mlf.set_model_version_tag(governed, v2, "reviewed", "yes")
    mlf.update_model_version(governed, v2, description="second try")
    mlf.set_registered_model_alias(governed, "champion", v1)

    stages: list[tuple[str, int, int | None]] = []
    summary = core.harvests.harvest(
        operator,
        MlflowSource(mlflow_server.url),
        experiments=[experiment],
        models=[governed, bare],
        progress=lambda stage, done, total: stages.append((stage, done, total)),
        record_url=RECORDS,
    )
    assert summary.failure is None, summary.errors
    assert summary.created["model"] == 2
    assert summary.created["version"] == 3
    assert summary.created["run"] == 3
    assert summary.created["dataset_version"] == 6
    assert ("versions", 3, 3) in stages

    model = core.registry.get_model(operator, governed)
    assert (model.owner, model.risk_tier.value, model.use_case) == (
        "team-credit",
        "high",
        "retail credit decisions",
    )
    assert "steward.incomplete" not in model.tags
    assert model.source_links["mlflow"].endswith(f"/#/models/{governed}")
    incomplete = core.registry.get_model(operator, bare)
    assert incomplete.tags["steward.incomplete"] == "owner,risk_tier,use_case"
    assert incomplete.owner == "unassigned"
    assert any(bare in line for line in summary.incomplete)

    first = core.registry.get_version(operator, governed, 1)
    assert first.source_platform == "mlflow"
    assert first.external_id == f"{mlflow_server.url}/#/models/{governed}/versions/{v1}"
    assert first.artifact_digest.startswith("sha256:")
    assert first.sources[0].digest_method == "files"
    assert first.sources[0].attributes["aliases"] == ["champion"]
    assert first.training_run == run1
    assert first.code_commit == COMMIT
    assert first.parameters == {"C": "1.0", "seed": "1"}
    assert "accuracy" in first.metrics
    assert first.environment.python_version and first.environment.dependency_lock_digest
    roles = {(u.dataset, u.role) for u in first.datasets}
    assert roles == {(f"{governed}-train", DatasetRole.TRAINING), (f"{governed}-val", DatasetRole.VALIDATION)}
    second = core.registry.get_version(operator, governed, 2)
    assert (second.training_run, second.description, second.tags) == (run2, "second try", {"reviewed": "yes"})

    run = core.registry.get_run(operator, run1)
    assert (run.experiment, run.code_commit, run.platform) == (experiment, COMMIT, "mlflow")
    lineage = core.registry.lineage(operator, governed, 1)
    kinds = {n.kind for n in lineage.nodes}
    assert {"model_version", "training_run", "dataset_version", "code", "environment"} <= kinds

    # write-back: MLflow's versions carry Steward's state, decision and record link
    tags = mlf.get_model_version(governed, v1).tags
    assert tags["steward.state"] == "registered"
    assert tags["steward.decision"] == "not evaluated"
    assert tags["steward.record"] == RECORDS(governed, 1)
    assert summary.written_back == 3
    # champion points at v1, which Steward has not deployed: reported (a harvest moves no alias)
    assert summary.unguarded == [
        f"{governed}@champion -> version {v1}: not deployed to production in Steward"
    ]
    assert client().get_model_version_by_alias(governed, "champion").version == v1
    assert summary.guarded == []
    assert events(core, operator, "model_version.registered")
    # a second look finds champion where Steward recorded it: reported again, still not moved
    again = core.harvests.harvest(
        operator, MlflowSource(mlflow_server.url), models=[governed], record_url=RECORDS
    )
    assert (again.unguarded, again.guarded) == (summary.unguarded, [])
    assert client().get_model_version_by_alias(governed, "champion").version == v1
    assert not events(core, operator, "alias.reverted")


def test_a_bypass_made_while_webhooks_were_down_is_handled_by_the_next_harvest(
    mlflow_server: MlflowServer, core: Steward, operator: Caller
) -> None:
    name, experiment = unique("bypass"), unique("exp")
    train(name, experiment, seed=14)
    source = MlflowSource(mlflow_server.url)
    first = core.harvests.harvest(operator, source, models=[name], record_url=RECORDS)
    assert first.failure is None and first.guarded == []

    # no webhook delivers: a new version gets production, the known one champion, and a shadow
    _, v2, _ = train(name, experiment, seed=15)
    assert v2 == "2"
    mlf = client()
    mlf.set_registered_model_alias(name, "production", v2)
    mlf.set_registered_model_alias(name, "champion", "1")
    mlf.set_registered_model_alias(name, "shadow", v2)
    summary = core.harvests.harvest(operator, source, models=[name], record_url=RECORDS)
    assert summary.failure is None, summary.errors
    assert summary.unguarded == [
        f"{name}@champion -> version 1: not deployed to production in Steward",
        f"{name}@production -> version 2: not deployed to production in Steward",
    ]
    assert [line.split(": ", 1)[1].split(":")[0] for line in summary.guarded] == ["alias_removed"] * 2

    # handled as a delivery would be: the aliases removed, the shadow left, incidents, audit events
    assert dict(mlf.get_registered_model(name).aliases) == {"shadow": v2}
    incidents = {i.version: i for i in core.incidents.list(operator, model=name).items}
    assert sorted(incidents) == [1, 2]
    production = incidents[2]
    assert production.title == f"Alias 'production' set outside Steward on {name} version 2"
    assert (production.severity.value, production.source, production.opened_by) == (
        "high",
        "guard:mlflow",
        "connector:mlflow",
    )
    assert [a.action for a in production.actions] == ["alias_removed"]
    reverted = [e for e in events(core, operator, "alias.reverted") if e.subject_id.startswith(name)]
    assert sorted(e.subject_id for e in reverted) == [f"{name}/champion", f"{name}/production"]
    assert all(e.actor == "connector:mlflow" for e in reverted)
    assert all("requested by local:harvester" in e.user_agent for e in reverted)
    assert {e.seq for e in reverted} <= {seq for i in incidents.values() for seq in i.audit_seqs}

    # the gate decision says why: it names the incident and its title
    decision = core.gates.evaluate(operator, name, 2)
    assert decision.allow is False
    assert (
        "incidents.unresolved_high: 1 unresolved high-severity incident(s): "
        f"incident {production.id} (Alias 'production' set outside Steward on {name} version 2); "
        "required 0"
    ) in [f["message"] for f in decision.denies]

    # the next harvest finds nothing more to do
    after = core.harvests.harvest(operator, source, models=[name], record_url=RECORDS)
    assert (after.unguarded, after.guarded, after.errors) == ([], [], [])
    assert len(core.incidents.list(operator, model=name).items) == 2


def test_deliveries_of_one_bypass_judged_at_once_open_one_incident(
    mlflow_server: MlflowServer, core: Steward, operator: Caller
) -> None:
    """MLflow delivers from a pool of threads, so the deliveries of one alias (Steward's own echo
    and the bypass after it) can be judged at the same moment; each judges the alias as MLflow has
    it now, and only the first may revert it and open the incident."""
    name, experiment = unique("race"), unique("exp")
    train(name, experiment, seed=16)
    source = MlflowSource(mlflow_server.url)
    assert core.harvests.harvest(operator, source, models=[name], record_url=RECORDS).failure is None
    client().set_registered_model_alias(name, "production", "1")
    barrier = threading.Barrier(4)

    def deliver() -> str:
        barrier.wait()
        return core.guard.on_alias_set(operator, source, name, "production")

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(lambda _: deliver(), range(4)))
    assert sorted(o.split(":")[0] for o in outcomes) == ["alias_removed"] + ["stale event"] * 3, outcomes
    assert dict(client().get_registered_model(name).aliases) == {}
    assert len(core.incidents.list(operator, model=name).items) == 1
    reverted = [e for e in events(core, operator, "alias.reverted") if e.subject_id == f"{name}/production"]
    assert len(reverted) == 1


def test_second_harvest_changes_nothing_then_a_change_is_an_update_with_its_diff(
    mlflow_server: MlflowServer, core: Steward, operator: Caller
) -> None:
    name, experiment = unique("fraud"), unique("exp")
    _, version, _ = train(name, experiment, seed=4)
    source = MlflowSource(mlflow_server.url)
    first = core.harvests.harvest(operator, source, models=[name], record_url=RECORDS)
    assert first.changed and first.failure is None
    before = db_state(core)

    again = core.harvests.harvest(operator, source, models=[name], record_url=RECORDS)
    assert not again.changed
    assert again.unchanged["version"] == 1 and again.unchanged["model"] == 1
    assert again.written_back == 0
    assert db_state(core) == before  # not one row, not one audit event

    mlf = client()
    mlf.update_model_version(name, version, description="calibrated")
    mlf.set_model_version_tag(name, version, "stage", "candidate")
    mlf.set_registered_model_alias(name, "challenger", version)
    third = core.harvests.harvest(operator, source, models=[name], record_url=RECORDS)
    assert third.updated["version"] == 1
    updated = [e for e in events(core, operator, "model_version.updated") if e.subject_id == f"{name}/1"]
    assert len(updated) == 1
    change = updated[0]
    assert change.before["description"] == "" and change.after["description"] == "calibrated"
    assert change.after["tags"] == {"stage": "candidate"}
    assert change.after["sources"][0]["attributes"]["aliases"] == ["challenger"]
    assert core.registry.get_version(operator, name, 1).revision == 2
    assert not core.harvests.harvest(operator, source, models=[name], record_url=RECORDS).changed


def test_same_artefact_registered_twice_links_both_sources(
    mlflow_server: MlflowServer, core: Steward, operator: Caller
) -> None:
    name, exp_a, exp_b = unique("pricing"), unique("exp-a"), unique("exp-b")
    train(name, exp_a, seed=7)
    train(name, exp_b, seed=7)  # the same retrain pushed from a second experiment: same artefact bytes
    summary = core.harvests.harvest(
        operator, MlflowSource(mlflow_server.url), models=[name], record_url=RECORDS
    )
    assert summary.failure is None, summary.errors
    assert (summary.created["version"], summary.linked["version"]) == (1, 1)
    record = core.registry.get_version(operator, name, 1)
    assert [s.attributes["version"] for s in record.sources] == ["1", "2"]
    assert {s.digest_method for s in record.sources} == {"files"}
    linked = events(core, operator, "model_version.source_linked")
    assert [e.subject_id for e in linked if e.subject_id.startswith(name)] == [f"{name}/1"]
    again = core.harvests.harvest(
        operator, MlflowSource(mlflow_server.url), models=[name], record_url=RECORDS
    )
    assert not again.changed


def test_metadata_digest_links_the_same_source_in_two_registered_models(
    mlflow_server: MlflowServer, core: Steward, operator: Caller
) -> None:
    first, second, experiment = unique("ranker"), unique("ranker-copy"), unique("exp")
    _, _, uri = train(first, experiment, seed=8)
    import mlflow

    mlflow.register_model(uri, second)
    summary = core.harvests.harvest(
        operator, MlflowSource(mlflow_server.url, digest="metadata"), models=[first, second], write_back=False
    )
    assert (summary.created["version"], summary.linked["version"]) == (1, 1)
    record = core.registry.get_version(operator, first, 1)
    assert {s.digest_method for s in record.sources} == {"metadata"}
    assert len(record.sources) == 2


def test_a_version_whose_run_was_deleted_is_kept_without_it(
    mlflow_server: MlflowServer, core: Steward, operator: Caller
) -> None:
    name, experiment = unique("orphan"), unique("exp")
    run_id, _, _ = train(name, experiment, seed=9)
    client().delete_run(run_id)
    summary = core.harvests.harvest(operator, MlflowSource(mlflow_server.url), models=[name])
    assert summary.created["version"] == 1
    assert any(s.kind == "run" and "deleted" in s.reason for s in summary.skipped)
    assert core.registry.get_version(operator, name, 1).training_run is None


def test_a_model_name_steward_cannot_hold_is_skipped_with_the_rule_and_what_to_do(
    mlflow_server: MlflowServer, core: Steward, operator: Caller
) -> None:
    name = f"Credit scorer {uuid.uuid4().hex[:6]}"  # MLflow allows spaces; Steward's names do not
    client().create_registered_model(name)
    version = client().create_model_version(name, "s3://models/credit-scorer/1")
    summary = core.harvests.harvest(
        operator, MlflowSource(mlflow_server.url, digest="metadata"), models=[name], write_back=False
    )
    assert summary.failure is None and not summary.created
    [model] = [s for s in summary.skipped if s.kind == "model"]
    assert model.id == name
    assert "must be 1 to 128 letters, digits" in model.reason
    assert "rename it at the platform" in model.reason
    [skipped] = [s for s in summary.skipped if s.kind == "version"]
    assert skipped.id.endswith(f"/versions/{version.version}")
    assert "is not a valid Steward model name" in skipped.reason


def test_unreachable_server_is_a_clear_failure_and_writes_nothing(core: Steward, operator: Caller) -> None:
    before = db_state(core)
    summary = core.harvests.harvest(operator, MlflowSource(f"http://127.0.0.1:{free_port()}"))
    assert summary.failure is not None and summary.failure.code == "unavailable"
    assert "cannot reach the MLflow tracking server" in summary.errors[0]
    assert db_state(core) == before


def test_governance_tags_fill_an_incomplete_record_later_but_never_override_steward(
    mlflow_server: MlflowServer, core: Steward, operator: Caller
) -> None:
    name, experiment = unique("claims"), unique("exp")
    train(name, experiment, seed=10)
    source = MlflowSource(mlflow_server.url)
    settings = SourceSettings(owner_tag="team", risk_tier_tag="tier", use_case_tag="purpose")
    core.harvests.harvest(operator, source, models=[name], settings=settings, write_back=False)
    assert core.registry.get_model(operator, name).tags["steward.incomplete"] == "owner,risk_tier,use_case"
    client().set_registered_model_tag(name, "team", "team-claims")
    client().set_registered_model_tag(name, "tier", "LOW")
    summary = core.harvests.harvest(operator, source, models=[name], settings=settings, write_back=False)
    model = core.registry.get_model(operator, name)
    assert (model.owner, model.risk_tier.value, model.tags["steward.incomplete"]) == (
        "team-claims",
        "low",
        "use_case",
    )
    assert summary.updated["model"] == 1
    client().set_registered_model_tag(name, "team", "someone-else")
    core.harvests.harvest(operator, source, models=[name], settings=settings, write_back=False)
    assert core.registry.get_model(operator, name).owner == "team-claims"  # Steward's value stays


def test_run_harvest_skips_running_runs_until_they_end(
    mlflow_server: MlflowServer, core: Steward, operator: Caller
) -> None:
    import mlflow

    experiment = unique("exp")
    mlflow.set_experiment(experiment)
    active = mlflow.start_run()
    try:
        mlflow.log_param("alpha", 0.1)
        summary = core.harvests.harvest(operator, MlflowSource(mlflow_server.url), experiments=[experiment])
        assert any(s.kind == "run" and "running" in s.reason for s in summary.skipped)
        assert summary.created["run"] == 0
    finally:
        mlflow.end_run()
    summary = core.harvests.harvest(operator, MlflowSource(mlflow_server.url), experiments=[experiment])
    assert summary.created["run"] == 1
    assert core.registry.get_run(operator, active.info.run_id).parameters == {"alpha": "0.1"}


def test_harvest_command_prints_a_summary_and_a_second_run_says_nothing_changed(
    mlflow_server: MlflowServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from steward.cli import main

    name = unique("cli")
    train(name, unique("exp"), seed=12)
    capsys.readouterr()  # MLflow's own "View run" lines
    db = ["--db", f"sqlite:///{tmp_path / 'cli.db'}"]
    command = [*db, "harvest", "mlflow", "--tracking-uri", mlflow_server.url, "--model", name]
    assert main([*command, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["created"]["version"] == 1 and summary["changed"] is True
    assert main(command) == 0
    printed = capsys.readouterr().out
    assert "nothing changed: Steward was up to date" in printed
    assert main([*db, "harvest", "mlflow", "--tracking-uri", f"http://127.0.0.1:{free_port()}"]) == 12
    assert "cannot reach the MLflow tracking server" in capsys.readouterr().err


def test_harvest_job_over_rest(mlflow_server: MlflowServer, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from steward import wire
    from steward.domain import Role
    from steward.server import create_app
    from steward.settings import Settings

    name = unique("job")
    train(name, unique("exp"), seed=13)
    url = f"sqlite:///{tmp_path / 'job.db'}"
    core = Steward.open(url, migrate=True)
    admin = local_operator(name="local:tester")
    core.identity.create_principal(admin, wire.PrincipalCreate(name="ds", roles=[Role.DATA_SCIENTIST]))
    _, token = core.identity.create_token(admin, wire.TokenCreate(principal="ds"))
    unreachable = f"http://127.0.0.1:{free_port()}"
    settings = Settings(
        database_url=url,
        public_url="https://steward.example.com",
        mlflow_allowed_tracking_uris=f"{mlflow_server.url}, {unreachable}",  # as the variable reads
    )
    app = create_app(settings, steward=core)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as api:
        # a tracking server not allowed is refused before anything runs: the server's MLflow
        # credentials would go to it
        for elsewhere in ("http://169.254.169.254/latest", "https://mlflow.attacker.example"):
            refused = api.post("/api/v1/harvests", json={"tracking_uri": elsewhere})
            assert refused.status_code == 422, refused.text
            error = refused.json()["error"]
            assert error["code"] == "invalid_input"
            assert error["details"]["errors"][0]["field"] == "tracking_uri"
            assert error["details"]["errors"][0]["rule"] == "allowed"
            assert "STEWARD_MLFLOW_ALLOWED_TRACKING_URIS" in error["message"]
        status = api.get("/api/v1/connectors/mlflow").json()
        assert status["tracking_uri"] is None
        assert status["harvest_tracking_uris"] == [mlflow_server.url, unreachable]
        spelled = mlflow_server.url + "/"  # the same server, spelled another way
        started = api.post("/api/v1/harvests", json={"tracking_uri": spelled, "models": [name]})
        assert started.status_code == 202, started.text
        job_id = started.json()["id"]
        assert started.headers["location"] == f"/api/v1/harvests/{job_id}"
        deadline = time.monotonic() + 60
        job = started.json()
        while job["state"] in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.2)
            job = api.get(f"/api/v1/harvests/{job_id}").json()
        assert job["state"] == "succeeded", job
        assert job["summary"]["created"]["version"] == 1 and job["requested_by"] == "ds"
        assert api.get(f"/api/v1/models/{name}/versions/1").json()["registered_by"] == "ds"
        failed = api.post("/api/v1/harvests", json={"tracking_uri": unreachable}).json()
        while failed["state"] in ("queued", "running"):
            time.sleep(0.2)
            failed = api.get(f"/api/v1/harvests/{failed['id']}").json()
        assert failed["state"] == "failed" and "cannot reach" in failed["error"]
        assert api.post("/api/v1/harvests", json={"tracking_uri": "ftp://x"}).status_code == 422
    core.close()
