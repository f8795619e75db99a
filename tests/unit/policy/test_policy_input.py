"""The input document: shape validation naming the key, and the canonical digest."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from steward.errors import InvalidInput
from steward.policy import INPUT_SCHEMA_VERSION, canonical_json, input_digest, validate_input

Doc = dict[str, Any]


def test_passing_document_is_valid(doc: Doc) -> None:
    assert INPUT_SCHEMA_VERSION == 2
    validate_input(doc)


def _delete(doc: Doc, path: str) -> None:
    *parents, last = path.split(".")
    target: Any = doc
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    del target[last]


@pytest.mark.parametrize(
    "path",
    [
        "schema_version",
        "target.environment",
        "model.risk_tier",
        "model.review_overdue",
        "version.metrics",
        "version.environment.dependency_lock_digest",
        "lineage.training_run.code_commit",
        "lineage.datasets.0.approved",
        "checks.0.created_at",
        "checks.0.provenance",
        "checks.1.provenance.method",
        "incidents",
    ],
)
def test_missing_key_is_named(doc: Doc, path: str) -> None:
    _delete(doc, path)
    expected = path.replace(".0.", "[0].").replace(".1.", "[1].")
    with pytest.raises(InvalidInput) as caught:
        validate_input(doc)
    assert str(caught.value) == f"invalid policy input: missing key {expected!r}"
    assert caught.value.details["errors"] == [
        {"field": expected, "rule": "required", "message": f"missing key {expected!r}"}
    ]


def test_every_problem_is_listed(doc: Doc) -> None:
    del doc["model"]["owner"]
    doc["version"]["metrics"] = {"accuracy": "high"}
    doc["incidents"] = {}
    with pytest.raises(InvalidInput) as caught:
        validate_input(doc)
    fields = [error["field"] for error in caught.value.details["errors"]]
    assert fields == ["model.owner", "version.metrics", "incidents"]
    assert str(caught.value).endswith("(and 2 more)")


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("model.risk_tier", None, "'model.risk_tier' must be a string"),
        ("model.review_overdue", "no", "'model.review_overdue' must be true or false"),
        ("model.regulatory_scopes", "sr-11-7", "'model.regulatory_scopes' must be a list of strings"),
        ("version.version", "3", "'version.version' must be an integer"),
        ("version.metrics", {"auc": True}, "'version.metrics' must be an object of numbers"),
        ("lineage.training_run", [], "'lineage.training_run' must be an object"),
        ("checks", {}, "'checks' must be a list"),
    ],
)
def test_wrong_types_are_named(doc: Doc, path: str, value: Any, message: str) -> None:
    section, key = path.split(".") if "." in path else (None, path)
    (doc[section] if section else doc)[key] = value
    with pytest.raises(InvalidInput, match="invalid policy input: ") as caught:
        validate_input(doc)
    assert caught.value.details["errors"][0]["message"] == message


def test_training_run_may_be_null(doc: Doc) -> None:
    doc["lineage"]["training_run"] = None
    validate_input(doc)


def test_schema_version_must_be_known(doc: Doc) -> None:
    doc["schema_version"] = 3
    with pytest.raises(InvalidInput, match="'schema_version' is 3; required 2 or 1"):
        validate_input(doc)


def test_version_one_documents_stay_valid_without_provenance(doc: Doc) -> None:
    # decisions stored before schema version 2 replay: their checks carry no provenance
    for check in doc["checks"]:
        del check["provenance"]
    with pytest.raises(InvalidInput, match=r"missing key 'checks\[0\]\.provenance'"):
        validate_input(doc)
    doc["schema_version"] = 1
    validate_input(doc)


def test_not_a_document() -> None:
    with pytest.raises(InvalidInput, match="the document must be an object"):
        validate_input([1, 2])


def test_nan_is_refused(doc: Doc) -> None:
    doc["version"]["metrics"]["auc"] = float("nan")
    with pytest.raises(InvalidInput, match="not a JSON document"):
        validate_input(doc)


def test_extra_keys_are_allowed(doc: Doc) -> None:
    doc["model"]["business_unit"] = "retail"
    validate_input(doc)


def test_an_incidents_id_title_and_source_are_optional_but_typed(doc: Doc) -> None:
    doc["incidents"] = [
        {"severity": "high", "state": "open"},
        {"id": 7, "title": "drift", "source": "guard:mlflow", "severity": "high", "state": "open"},
    ]
    validate_input(doc)
    doc["incidents"][1]["id"] = "7"
    with pytest.raises(InvalidInput) as caught:
        validate_input(doc)
    assert str(caught.value) == "invalid policy input: 'incidents[1].id' must be an integer"


def test_input_digest_is_sha256_of_canonical_json(doc: Doc) -> None:
    doc["model"]["description"] = "Modèle de crédit"  # non-ASCII stays UTF-8, unescaped
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_json(doc) == text.encode("utf-8")
    assert "Modèle".encode() in canonical_json(doc)
    assert input_digest(doc) == "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_input_digest_ignores_key_order_but_not_values(doc: Doc) -> None:
    reordered = json.loads(json.dumps(doc, sort_keys=True))
    reordered = dict(reversed(list(reordered.items())))
    assert input_digest(reordered) == input_digest(doc)
    doc["version"]["metrics"]["auc"] = 0.8701
    assert input_digest(reordered) != input_digest(doc)
