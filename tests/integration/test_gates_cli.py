"""`steward gate|policy|check` in-process (`main(argv)`) on the database, on both backends.

``gate check`` exits 0 on allow and 7 (``policy_violation``) on deny; the fairness check reads a
CSV or Parquet file and records values equal to fairlearn's.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from steward.cli import main
from steward.errors import Conflict, InvalidInput, NotFound, PolicyTestFailed, PolicyViolation
from steward.service import Caller, Steward
from tests.integration.gates_support import (
    Governed,
    assign,
    builtin_data,
    bundle_files,
    governed,
    write_bundle,
)

TOLERANCE = 1e-9


@pytest.fixture
def cli(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):  # type: ignore[no-untyped-def]
    monkeypatch.setenv(
        "STEWARD_LEDGER_KEY_PATH", str(tmp_path / "ledger.key")
    )  # the test's steward uses it too

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--db", database_url, *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def test_gate_check_exit_codes(cli: Any, steward: Steward, admin: Caller) -> None:
    good = governed(steward, admin, "good")
    bad = governed(steward, admin, "bad", Governed(version={"metrics": {"accuracy": 0.72, "auc": 0.87}}))

    code, out, _ = cli("gate", "check", "good", str(good), "--target", "production")
    assert code == 0
    assert out.startswith("ALLOWED: good v1 to production")

    code, out, _ = cli("gate", "check", "bad", str(bad))
    assert code == PolicyViolation.exit_code == 7
    assert out.startswith("DENIED: bad v1 to production")
    assert "✗ metrics.floor: metric accuracy is 0.72; required >= 0.8 for risk tier high" in out
    assert "measured 0.72; required 0.8" in out

    code, out, _ = cli("gate", "check", "bad", str(bad), "--json")
    assert code == 7
    body = json.loads(out)
    assert body["allow"] is False and body["denies"][0]["rule"] == "metrics.floor"

    code, _, err = cli("gate", "check", "ghost", "1")
    assert code == NotFound.exit_code and "ghost" in err
    code, _, err = cli("gate", "check", "good", "1", "--target", "Prod")
    assert code == InvalidInput.exit_code and "target" in err

    code, out, _ = cli("gate", "list", "bad", "1", "--json")
    decisions = json.loads(out)
    assert [d["allow"] for d in decisions] == [False, False]
    code, out, _ = cli("gate", "replay", "bad", "1", str(decisions[0]["id"]))
    assert code == 0 and "same answer" in out
    assert steward.audit.verify(admin).ok


def test_gate_input_prints_the_document(cli: Any, steward: Steward, admin: Caller) -> None:
    number = governed(steward, admin, "m")
    code, out, _ = cli("gate", "input", "m", str(number), "--target", "staging")
    assert code == 0
    doc = json.loads(out)
    assert doc == steward.gates.gate_input(admin, "m", number, "staging")


def test_policy_commands(cli: Any, steward: Steward, admin: Caller, tmp_path: Path) -> None:
    number = governed(steward, admin, "m", Governed(version={"metrics": {"accuracy": 0.78, "auc": 0.87}}))
    data = builtin_data()
    data["gates"]["metric_floors"]["high"] = {"accuracy": 0.75, "auc": 0.7}
    folder = write_bundle(tmp_path / "lenient", bundle_files("lenient", "1.0", data=data))
    (folder / "README.md").write_text("not part of the bundle")

    code, out, err = cli("policy", "test", str(folder))
    assert code == PolicyTestFailed.exit_code == 13  # the copied tests expect the built-in floors
    assert "FAIL" in out and "failed" in out
    assert err.startswith("error (policy_test_failed): ")
    assert "Rego test(s) of lenient 1.0 failed: data.steward.tests.metrics." in err
    code, out, _ = cli("policy", "test")
    assert code == 0 and "0 failed" in out

    code, out, _ = cli("policy", "simulate", str(folder), "--json")
    assert code == 0
    report = json.loads(out)
    assert report["would_change"] == 1 and report["items"][0]["candidate"]["allow"] is True
    code, out, _ = cli("policy", "simulate", str(folder))
    assert "1 decision(s) evaluated, 1 would change" in out

    code, out, _ = cli("policy", "add", str(folder))
    assert code == 0 and "registered policy bundle lenient 1.0" in out
    code, _, err = cli("policy", "add", str(folder))
    assert code == 4 and "registered already" in err
    code, out, _ = cli("policy", "list", "--json")
    assert [b["name"] for b in json.loads(out)] == ["steward-builtin", "lenient"]
    code, out, _ = cli("policy", "show", "lenient", "1.0", "--files")
    assert code == 0 and "── manifest.json" in out and "README" not in out
    # a registered candidate, by NAME@VERSION or by digest, read a page of versions at a time
    governed(steward, admin, "n")  # passes under both bundles
    code, out, err = cli("policy", "simulate", "lenient@1.0", "--page-size", "1")
    assert code == 0, err
    assert "candidate lenient 1.0" in out and "2 decision(s) evaluated, 1 would change" in out
    assert err.splitlines() == [
        "simulate: 1/2 version(s) read, 1 decision(s) evaluated, 1 would change",
        "simulate: 2/2 version(s) read, 2 decision(s) evaluated, 1 would change",
    ]
    digest = steward.policies.get_bundle(admin, "lenient", "1.0").digest
    code, out, err = cli("policy", "simulate", digest, "--json")
    assert code == 0 and err == ""  # one page: no progress
    assert [(i["model"], i["changed"]) for i in json.loads(out)["items"]] == [("m", True), ("n", False)]
    code, _, err = cli("policy", "simulate", "no-such-folder")
    assert code == InvalidInput.exit_code and "is not a folder, a NAME@VERSION" in err
    assert cli("policy", "simulate", "lenient@9")[0] == NotFound.exit_code
    code, out, _ = cli("policy", "test", "--bundle", "lenient@1.0", "--json")
    assert code == 13 and json.loads(out)["failed"] >= 1

    assert cli("gate", "check", "m", str(number))[0] == 7
    code, _, err = cli("policy", "assign", "high", "production", "lenient", "1.0", "--revision", "0" * 16)
    assert code == Conflict.exit_code == 5 and "changed since revision" in err
    code, out, _ = cli("policy", "assign", "high", "production", "lenient", "1.0", "--reason", "committee")
    assert code == 0 and "(revision " in out
    code, out, _ = cli("policy", "assignments", "--json")
    assert [a["bundle_name"] for a in json.loads(out)["assignments"]] == ["lenient"]
    assert cli("gate", "check", "m", str(number))[0] == 0
    assert cli("policy", "unassign", "high", "production")[0] == 0
    assert cli("gate", "check", "m", str(number))[0] == 7
    assert cli("policy", "unassign", "high", "production")[0] == InvalidInput.exit_code


def test_policy_add_names_the_file_and_line(cli: Any, tmp_path: Path) -> None:
    files = bundle_files("broken", "1", extra={"acme/x.rego": "package steward.gates.rules.acme\n\nx := {\n"})
    code, _, err = cli("policy", "add", str(write_bundle(tmp_path / "b", files)))
    assert code == InvalidInput.exit_code
    assert "acme/x.rego:" in err


def test_a_rule_that_errors_makes_gate_check_deny(cli: Any, steward: Steward, admin: Caller) -> None:
    from steward.service import AssignmentSpec
    from tests.integration.test_gates_policy import DIVIDING_RULE, WIRED_GATES

    steward.policies.register(
        admin, bundle_files("acme", "1", extra={"acme/ratio.rego": DIVIDING_RULE, "gates.rego": WIRED_GATES})
    )
    assign(steward, admin, [AssignmentSpec("*", "*", "acme", "1")])
    number = governed(steward, admin, "m", Governed(version={"parameters": {"divisor": "0"}}))
    code, out, _ = cli("gate", "check", "m", str(number))
    assert code == 7
    assert "policy.error" in out and "acme/ratio.rego:7" in out


def _predictions(rows: int = 3000) -> dict[str, Any]:
    rng = np.random.default_rng(11)
    sex = rng.choice(np.array(["F", "M"]), size=rows)
    band = rng.choice(np.array(["<30", "30-50", "50+"]), size=rows)
    labels = (rng.random(rows) < 0.4).astype(np.int64)
    score = rng.random(rows) + 0.35 * labels - 0.25 * (sex == "F")
    return {"y": labels, "p": (score > 0.7).astype(np.int64), "sex": sex, "age_band": band}


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_fairness_check_from_a_file_equals_fairlearn(
    cli: Any, steward: Steward, admin: Caller, tmp_path: Path, suffix: str
) -> None:
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.csv as pcsv  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]
    from fairlearn.metrics import (  # type: ignore[import-untyped]
        MetricFrame,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )

    number = governed(steward, admin, "m", Governed(fairness=None))
    columns = _predictions()
    path = tmp_path / f"predictions{suffix}"
    table = pa.table(columns)
    pq.write_table(table, path) if suffix == ".parquet" else pcsv.write_csv(table, path)

    code, out, err = cli(
        "check",
        "fairness",
        "m",
        str(number),
        "--data",
        str(path),
        "--label",
        "y",
        "--prediction",
        "p",
        "--sensitive",
        "sex,age_band",
        "--json",
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["kind"] == "fairness" and result["status"] == "fail"
    # what it was computed from: the file's digest and rows, and the columns read
    provenance = result["provenance"]
    assert provenance["method"] == "computed" and provenance["tool"].endswith("check fairness")
    assert provenance["file"] == {
        "sha256": "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest(),
        "rows": len(columns["y"]),
        "format": suffix.removeprefix("."),
        "name": path.name,
    }
    assert provenance["columns"] == {
        "label": "y",
        "prediction": "p",
        "sensitive": ["sex", "age_band"],
        "positive": "1",
    }
    fairness_input = next(
        c for c in steward.gates.gate_input(admin, "m", number)["checks"] if c["kind"] == "fairness"
    )
    assert fairness_input["provenance"] == provenance
    for attribute in ("sex", "age_band"):
        frame = MetricFrame(
            metrics={
                "selection_rate": selection_rate,
                "true_positive_rate": true_positive_rate,
                "false_positive_rate": false_positive_rate,
            },
            y_true=columns["y"],
            y_pred=columns["p"],
            sensitive_features=columns[attribute],
        )
        ours = result["values"]["attributes"][attribute]
        for group, row in frame.by_group.iterrows():
            for metric in ("selection_rate", "true_positive_rate", "false_positive_rate"):
                assert abs(ours["groups"][str(group)][metric] - row[metric]) <= TOLERANCE
        for metric, ratio in frame.ratio().items():
            assert abs(ours["metrics"][metric]["ratio"] - ratio) <= TOLERANCE
    decision = steward.gates.evaluate(admin, "m", number)
    assert "fairness.disparity_ratio" in {f["rule"] for f in decision.denies}
    assert "fairness.reported" not in {f["rule"] for f in decision.warnings}  # computed, not reported

    code, out, _ = cli(
        "check",
        "fairness",
        "m",
        str(number),
        "--data",
        str(path),
        "--label",
        "y",
        "--prediction",
        "p",
        "--sensitive",
        "sex",
    )
    assert code == 0 and "selection_rate ratio" in out and "FAIL" in out
    assert f"computed from {path.name} ({len(columns['y'])} rows, sha256:" in out
    code, _, err = cli(
        "check",
        "fairness",
        "m",
        str(number),
        "--data",
        str(path),
        "--label",
        "y",
        "--prediction",
        "p",
        "--sensitive",
        "gender",
    )
    assert code == InvalidInput.exit_code and "gender" in err


def test_data_quality_documentation_and_lineage_checks(
    cli: Any, steward: Steward, admin: Caller, tmp_path: Path
) -> None:
    number = governed(steward, admin, "m", Governed(quality_passes=None, model={"limitations": ""}))
    data = tmp_path / "applications.csv"
    data.write_text("age,income,region\n25,1000,north\n17,,south\n40,3000,east\n")
    expectations = tmp_path / "expect.json"
    expectations.write_text(
        json.dumps(
            {
                "expectations": [
                    {"type": "required_columns", "columns": ["age", "income", "region"]},
                    {"type": "value_range", "column": "age", "min": 18, "max": 65},
                    {"type": "max_null_fraction", "column": "income", "max_fraction": 0.5},
                    {
                        "type": "allowed_values",
                        "column": "region",
                        "values": ["north", "south", "east", "west"],
                    },
                ]
            }
        )
    )
    code, out, err = cli(
        "check",
        "data-quality",
        "m-applications",
        "2024-06",
        "--data",
        str(data),
        "--expectations",
        str(expectations),
    )
    assert code == 0, err
    assert "data_quality check of m-applications@2024-06: FAIL" in out
    assert "outside [18, 65]" in out
    assert "computed from applications.csv (3 rows, sha256:" in out
    [quality] = steward.checks.list_dataset(admin, "m-applications", "2024-06").items
    assert quality.provenance.file is not None
    assert quality.provenance.file.sha256 == "sha256:" + hashlib.sha256(data.read_bytes()).hexdigest()
    assert quality.provenance.columns == {"columns": ["age", "income", "region"]}
    decision = steward.gates.evaluate(admin, "m", number)
    assert ("data_quality.failed", "fail") in {(f["rule"], f["measured"]) for f in decision.denies}

    code, out, _ = cli("check", "documentation", "m", str(number), "--json")
    assert code == 0
    documentation = json.loads(out)
    assert documentation["status"] == "fail" and documentation["values"]["fields"]["limitations"] is False
    code, out, _ = cli("check", "lineage", "m", str(number))
    assert code == 0 and "lineage check of m v1: PASS" in out
    code, out, _ = cli("check", "list", "m", str(number), "--json")
    assert [c["kind"] for c in json.loads(out)] == ["lineage", "documentation", "fairness"]
    bad = tmp_path / "bad.json"
    bad.write_text('[{"type": "nonsense"}]')
    code, _, err = cli(
        "check", "data-quality", "m-applications", "2024-06", "--data", str(data), "--expectations", str(bad)
    )
    assert code == InvalidInput.exit_code and "type" in err
