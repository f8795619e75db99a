"""`steward review|promote|rollback|retire`, `version deprecate`, `model attest|history`, in-process
(`main(argv)`) on the database (`--db`, signing `--as` a stored principal) and against a server
(`--server`, each person with their own token, over real HTTP), on both backends.

Exit codes: 0 done, 7 a promotion or rollback denied (every reason printed), 10 a sign-off refused
by separation of duties, 9 a role that may not, 6 a move the lifecycle refuses, 2 bad input.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from steward import wire
from steward.cli import main
from steward.domain import Origin, Role
from steward.errors import (
    InvalidInput,
    InvalidTransition,
    PermissionDenied,
    PolicyViolation,
    SeparationOfDuties,
)
from steward.service import Caller, Steward, local_operator
from tests.integration.conftest import MakePrincipal
from tests.integration.gates_support import governed, passing_fairness

Run = Any
PEOPLE = {
    "dana": Role.DATA_SCIENTIST,
    "eli": Role.ML_ENGINEER,
    "vera": Role.VALIDATOR,
    "carl": Role.COMPLIANCE_OFFICER,
    "bo": Role.BUSINESS_OWNER,
    "otto": Role.ML_ENGINEER,
}
SIGNERS = [
    ("automated_gates", "eli"),
    ("independent_validation", "vera"),
    ("compliance_review", "carl"),
    ("business_signoff", "bo"),
]


@pytest.fixture
def cli(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Run:
    monkeypatch.setenv("STEWARD_LEDGER_KEY_PATH", str(tmp_path / "ledger.key"))

    def run(*args: str, server: str | None = None, token: str | None = None) -> tuple[int, str, str]:
        where = ["--server", server, "--token", token or ""] if server else ["--db", database_url]
        code = main([*where, *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture
def tokens(make_principal: MakePrincipal) -> dict[str, str]:
    return {name: make_principal(role, name=name)[1] for name, role in PEOPLE.items()}


def caller_of(steward: Steward, name: str) -> Caller:
    principal = steward.identity.get_principal(local_operator(), name)
    return Caller(principal, Origin(actor=name))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(app: FastAPI) -> Iterator[str]:
    """The test's app served over real HTTP from a thread (what ``--server`` talks to)."""
    port = _free_port()
    live = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=live.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not live.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        live.should_exit = True
        thread.join(timeout=10)


def test_the_full_path_on_the_database_signing_as_each_person(
    cli: Run, steward: Steward, tokens: dict[str, str]
) -> None:
    number = governed(steward, caller_of(steward, "dana"), "credit")
    code, out, _ = cli("review", "queue", "--as", "eli", "--json")
    assert code == 0
    assert [(p["model"], p["stage"]) for p in json.loads(out)] == [("credit", "automated_gates")]
    assert cli("review", "queue", "--as", "vera", "--json")[1].strip() == "[]"

    code, out, _ = cli("promote", "credit", str(number), "--to", "production", "--reason", "go")
    assert code == PolicyViolation.exit_code == 7
    assert out.startswith("DENIED: promotion of credit v1 to production")
    assert out.count("✗ signoff.missing") == 4

    assert cli("gate", "check", "credit", str(number))[0] == 0
    approve = ("review", "approve", "credit", str(number), "--comment", "looked at it")
    code, _, err = cli(*approve, "--stage", "automated_gates")  # as the local operator, an admin
    assert code == PermissionDenied.exit_code == 9 and "review.sign" in err
    code, out, _ = cli(*approve, "--stage", "automated_gates", "--as", "eli")
    assert code == 0 and out.startswith("approved: automated_gates of credit v1 by eli as ml_engineer")
    code, _, err = cli(*approve, "--stage", "independent_validation", "--as", "eli")
    assert code == SeparationOfDuties.exit_code == 10
    assert "separation.one_stage" in err and "separation.stage_role" in err
    code, _, err = cli(*approve, "--stage", "compliance_review", "--as", "carl")
    assert code == InvalidTransition.exit_code == 6 and "independent_validation" in err

    code, out, _ = cli(
        *approve,
        "--stage",
        "independent_validation",
        "--as",
        "vera",
        "--condition",
        "monitor drift monthly",
        "--evidence",
        "https://wiki.example.com/val/credit-1",
    )
    assert code == 0 and out.startswith("approved with conditions: independent_validation")
    assert "condition 1: monitor drift monthly" in out
    for stage, who in SIGNERS[2:]:
        assert cli(*approve, "--stage", stage, "--as", who)[0] == 0

    code, out, _ = cli("review", "list", "credit", str(number), "--json")
    assert [(r["stage"], r["reviewer"]) for r in json.loads(out)] == SIGNERS
    code, out, _ = cli(
        "promote", "credit", str(number), "--to", "production", "--reason", "go", "--endpoint", "k8s://p"
    )
    assert code == 0 and out.startswith("PROMOTED: credit v1 to production")
    assert "! signoff.condition_open" in out

    code, out, _ = cli("review", "conditions", "credit", str(number), "--json")
    [condition] = json.loads(out)
    code, out, _ = cli("review", "meet", str(condition["id"]), "--note", "dashboard live", "--as", "carl")
    assert code == 0 and "met" in out
    assert cli("review", "conditions", "credit", str(number), "--json")[1].strip() == "[]"

    code, out, _ = cli("model", "history", "credit", "--json")
    entry = json.loads(out)["entries"][0]
    assert entry["deployment"]["target"] == "k8s://p"
    assert [a["reviewer"] for a in entry["approvals"]] == [who for _, who in SIGNERS]
    code, out, _ = cli("model", "history", "credit", "--at", "2000-01-01")
    assert code == 0 and "nothing of credit was in production" in out
    code, out, _ = cli("model", "history", "credit")
    assert code == 0 and "carl, bo" in out
    assert cli("model", "history", "credit", "--at", "yesterday")[0] == InvalidInput.exit_code

    code, _, err = cli("model", "attest", "credit", "--as", "dana")  # owned by a team, not by her
    assert code == SeparationOfDuties.exit_code and "separation.attestation_owner" in err
    code, out, _ = cli("model", "attest", "credit", "--as", "bo")  # its business owner
    assert code == 0 and "by bo" in out
    code, out, _ = cli("review", "due", "--all", "--json")
    assert [(d["model"], d["overdue"]) for d in json.loads(out)] == [("credit", False)]
    assert cli("review", "due", "--json")[1].strip() == "[]"
    assert cli("review", "queue", "--as", "ghost")[0] == 3  # not_found
    assert steward.audit.verify(local_operator()).ok


def test_rollback_retire_and_deprecate_on_the_database(
    cli: Run, steward: Steward, tokens: dict[str, str]
) -> None:
    dana = caller_of(steward, "dana")
    first = governed(steward, dana, "credit")
    second = steward.registry.register_version(
        dana,
        "credit",
        wire.VersionCreate(
            artifact_uri="s3://m/2",
            artifact_digest="sha256:" + "2" * 64,
            training_run="credit-run",
            code_commit="4f2a9c1",
            metrics={"accuracy": 0.91, "auc": 0.87},
            environment=wire.EnvironmentIn(
                python_version="3.11.7", dependency_lock_digest="sha256:" + "3" * 64
            ),
            datasets=[wire.DatasetUseIn(dataset="credit-applications", version="2024-06", role="training")],  # type: ignore[arg-type]
        ),
    ).version
    steward.checks.record(
        caller_of(steward, "vera"), "credit", second, "fairness", "pass", passing_fairness()
    )
    third = steward.registry.register_version(
        dana, "credit", wire.VersionCreate(artifact_uri="s3://m/3", artifact_digest="sha256:" + "4" * 64)
    ).version
    for number in (first, second):
        steward.gates.evaluate(caller_of(steward, "eli"), "credit", number)
        for stage, who in SIGNERS:
            steward.reviews.review(
                caller_of(steward, who),
                "credit",
                number,
                wire.ReviewCreate(stage=stage, decision="approved", comment="ok"),  # type: ignore[arg-type]
            )
        code, _, _ = cli(
            "promote", "credit", str(number), "--to", "production", "--reason", f"release {number}"
        )
        assert code == 0

    code, out, _ = cli("rollback", "credit", "--to", "previous", "--reason", "drift")
    assert code == 0 and out.startswith(
        f"ROLLED BACK: credit in production is v{first} again (was v{second})"
    )
    code, out, _ = cli("rollback", "credit", "--to", str(third), "--reason", "x")
    assert code == InvalidTransition.exit_code and "never deployed" in _
    code, out, _ = cli(
        "review",
        "reject",
        "credit",
        str(second),
        "--stage",
        "compliance_review",
        "--comment",
        "finding",
        "--as",
        "carl",
    )
    assert code == 0 and out.startswith("rejected: compliance_review")
    code, out, _ = cli("rollback", "credit", "--to", str(second), "--reason", "forward", "--json")
    assert code == PolicyViolation.exit_code
    assert [r["rule"] for r in json.loads(out)["error"]["details"]["reasons"]] == ["signoff.revoked"]

    code, _, err = cli("version", "deprecate", "credit", str(first), "--reason", "old")
    assert code == InvalidTransition.exit_code and "deployed to production" in err
    code, out, _ = cli("version", "deprecate", "credit", str(third), "--reason", "never used", "--json")
    assert code == 0 and json.loads(out)["state"] == "deprecated"
    code, out, _ = cli("retire", "credit", "--reason", "replaced by vendor")
    assert code == 0 and out.startswith("retired credit")
    code, out, _ = cli("model", "history", "credit", "--json")
    history = json.loads(out)
    assert history["retirement"]["reason"] == "replaced by vendor"
    assert [e["kind"] for e in history["entries"]] == ["rollback", "promotion", "promotion"]
    assert cli("retire", "credit", "--reason", "again")[0] == InvalidTransition.exit_code
    assert cli("retire", "credit", "--reason", " ")[0] == InvalidInput.exit_code


def test_the_workflow_over_a_server_with_each_persons_token(
    cli: Run, steward: Steward, tokens: dict[str, str], server: str
) -> None:
    number = governed(steward, caller_of(steward, "dana"), "credit")
    code, out, _ = cli("gate", "check", "credit", str(number), server=server, token=tokens["eli"])
    assert code == 0
    for stage, who in SIGNERS:
        code, out, err = cli(
            "review",
            "approve",
            "credit",
            str(number),
            "--stage",
            stage,
            "--comment",
            "ok",
            server=server,
            token=tokens[who],
        )
        assert code == 0, err
        assert f"by {who}" in out
    code, _, err = cli(
        "review",
        "approve",
        "credit",
        str(number),
        "--stage",
        "compliance_review",
        "--comment",
        "x",
        server=server,
        token=tokens["vera"],
    )
    assert code == SeparationOfDuties.exit_code and "separation_of_duties" in err
    code, _, err = cli("review", "queue", "--as", "vera", server=server, token=tokens["vera"])
    assert code == InvalidInput.exit_code and "--as" in err

    code, out, _ = cli(
        "promote",
        "credit",
        str(number),
        "--to",
        "production",
        "--reason",
        "go",
        server=server,
        token=tokens["otto"],
    )
    assert code == 0 and out.startswith("PROMOTED")
    code, out, _ = cli("model", "history", "credit", "--json", server=server, token=tokens["dana"])
    assert json.loads(out)["entries"][0]["requested_by"] == "otto"
    code, _, err = cli("model", "attest", "credit", "--json", server=server, token=tokens["dana"])
    assert code == SeparationOfDuties.exit_code and "separation.attestation_owner" in err
    code, out, _ = cli("model", "attest", "credit", "--json", server=server, token=tokens["bo"])
    assert code == 0 and json.loads(out)["attested_by"] == "bo"
    code, out, _ = cli("review", "due", "--all", "--json", server=server, token=tokens["carl"])
    assert [d["model"] for d in json.loads(out)] == ["credit"]
    code, out, _ = cli("review", "queue", "--json", server=server, token=tokens["carl"])
    assert code == 0 and json.loads(out) == []
    code, _, err = cli("retire", "credit", "--reason", "x", server=server, token=tokens["dana"])
    assert code == PermissionDenied.exit_code
