"""The CLI in-process (`main(argv)`) on the database directly, on both backends."""

from __future__ import annotations

import json

import pytest

import steward
from steward.cli import main
from tests.integration.support import digest


@pytest.fixture
def cli(database_url: str, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--db", database_url, *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def test_bootstrap_and_records(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("user", "create", "alice", "--role", "admin", "--role", "auditor")
    assert code == 0 and "created user alice" in out
    code, out, _ = cli("token", "create", "alice", "--json")
    assert code == 0 and json.loads(out)["token"].startswith("stw_")
    code, out, _ = cli("user", "list", "--json")
    assert [(p["name"], p["roles"]) for p in json.loads(out)] == [("alice", ["admin", "auditor"])]

    assert (
        cli(
            "model",
            "create",
            "pricing",
            "--owner",
            "team-a",
            "--tier",
            "medium",
            "--use-case",
            "Price quotes",
            "--scope",
            "solvency-ii",
            "--tag",
            "unit=motor",
        )[0]
        == 0
    )
    assert (
        cli(
            "version",
            "register",
            "pricing",
            "--artifact-uri",
            "s3://p/1",
            "--digest",
            digest("p"),
            "--metric",
            "rmse=12.5",
            "--param",
            "depth=6",
            "--commit",
            "0123abcd",
        )[0]
        == 0
    )
    code, out, _ = cli("model", "list", "--json", "--scope", "solvency-ii")
    assert [m["name"] for m in json.loads(out)] == ["pricing"]
    code, out, _ = cli("model", "update", "pricing", "--owner", "team-b", "--reason", "reorg", "--json")
    assert json.loads(out)["owner"] == "team-b" and json.loads(out)["revision"] == 2
    code, _, err = cli("model", "update", "pricing", "--owner", "team-c", "--revision", "1")
    assert code == steward.Conflict.exit_code and "revision 1" in err
    code, out, _ = cli("version", "show", "pricing", "1", "--json")
    assert json.loads(out)["parameters"] == {"depth": "6"}
    code, out, _ = cli("lineage", "pricing", "1")
    assert code == 0 and "code 0123abcd --source_code--> model_version pricing v1" in out

    code, out, _ = cli("audit", "list", "--json", "--action", "model.updated")
    events = json.loads(out)
    assert [(e["actor"], e["reason"], e["after"]) for e in events] == [
        (events[0]["actor"], "reorg", {"owner": "team-b", "revision": 2})
    ]
    assert events[0]["actor"].startswith("local:")
    code, out, _ = cli("audit", "verify")
    assert code == 0 and "events verify" in out


def test_bad_input_names_the_option(cli) -> None:  # type: ignore[no-untyped-def]
    cli("model", "create", "m", "--owner", "o", "--tier", "low")
    code, _, err = cli("version", "register", "m", "--artifact-uri", "s3://x", "--digest", "md5:abc")
    assert code == steward.InvalidInput.exit_code and "artifact_digest" in err
    code, _, err = cli(
        "version", "register", "m", "--artifact-uri", "s3://x", "--digest", digest(1), "--metric", "auc=high"
    )
    assert code == steward.InvalidInput.exit_code and "--metric" in err
    code, _, err = cli(
        "version", "register", "m", "--artifact-uri", "s3://x", "--digest", digest(1), "--dataset", "loans"
    )
    assert code == steward.InvalidInput.exit_code and "NAME@VERSION" in err
    code, _, err = cli("model", "create", "m2", "--owner", "o", "--tier", "extreme")
    assert code == 2 and "extreme" in err
    code, _, _ = cli("token", "revoke", "999")
    assert code == steward.NotFound.exit_code
