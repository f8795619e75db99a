"""Decisions: metadata, replay, agreement between engines, and failing closed."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest

from steward.errors import InvalidInput
from steward.policy import (
    DECISION_QUERY,
    REQUIRED_DATA,
    DataKey,
    Decision,
    Finding,
    PolicyBundle,
    RegoEngine,
    check_required_data,
    create_engine,
    evaluate,
    input_digest,
    required_data,
    separation_findings,
    separation_input,
    validate_bundle,
)

Doc = dict[str, Any]


def test_decision_carries_bundle_input_and_engine(bundle: PolicyBundle, engine: RegoEngine, doc: Doc) -> None:
    doc["version"]["metrics"]["accuracy"] = 0.5
    decision = evaluate(bundle, doc, engine)
    assert decision.allow is False
    assert decision.bundle_name == "steward-builtin"
    assert decision.bundle_version == bundle.version
    assert decision.bundle_digest == bundle.digest
    assert decision.input_digest == input_digest(doc)
    assert (decision.engine, decision.engine_version) == (engine.name, engine.version)
    assert decision.to_dict() == {
        "allow": False,
        "denies": [
            {
                "rule": "metrics.floor",
                "message": "metrics.floor: metric accuracy is 0.5; required >= 0.8 for risk tier high",
                "measured": 0.5,
                "required": 0.8,
            }
        ],
        "warnings": [],
        "bundle": {"name": "steward-builtin", "version": bundle.version, "digest": bundle.digest},
        "input_digest": input_digest(doc),
        "engine": {"name": engine.name, "version": engine.version},
    }


def test_rego_fixture_document_is_the_python_one(bundle: PolicyBundle, doc: Doc) -> None:
    engine = create_engine("regorus")
    fixture = engine.evaluate(bundle.all_modules, bundle.data, {}, "data.steward.tests.fixtures.doc").value
    assert fixture == doc


def _variants(doc: Doc, count: int) -> list[Doc]:
    """Documents that break a random handful of rules each, reproducibly."""
    changes: list[tuple[str, str, Any]] = [
        ("version", "metrics", {"accuracy": 0.73}),
        ("version", "metrics", {"accuracy": 0.9}),
        ("version", "artifact_digest", None),
        ("version", "code_commit", " "),
        ("model", "limitations", None),
        ("model", "risk_tier", "medium"),
        ("model", "risk_tier", "low"),
        ("model", "regulatory_scopes", []),
        ("model", "review_overdue", True),
        ("target", "environment", "staging"),
        ("target", "environment", "qa"),
    ]
    rng = random.Random(7)
    variants = []
    for _ in range(count):
        variant = copy.deepcopy(doc)
        for section, key, value in rng.sample(changes, rng.randint(1, 4)):
            variant[section][key] = copy.deepcopy(value)
        if rng.random() < 0.4:
            variant["checks"][0]["values"]["attributes"]["sex"]["metrics"]["selection_rate"]["ratio"] = round(
                rng.uniform(0.5, 1.0), 6
            )
        if rng.random() < 0.3:
            variant["incidents"] = [{"severity": "high", "state": rng.choice(["open", "resolved"])}]
        if rng.random() < 0.3:
            variant["lineage"]["datasets"][0]["approved"] = False
        if rng.random() < 0.2:
            variant["checks"] = []
        variants.append(variant)
    return variants


def test_both_engines_reach_the_same_decisions(
    bundle: PolicyBundle, engines: dict[str, RegoEngine], doc: Doc
) -> None:
    variants = _variants(doc, 40)
    seen = set()
    for variant in variants:
        decisions = {name: evaluate(bundle, variant, engine) for name, engine in engines.items()}
        regorus, regopy = decisions["regorus"].to_dict(), decisions["regopy"].to_dict()
        regorus.pop("engine")
        regopy.pop("engine")
        assert regorus == regopy
        seen.add(regorus["allow"])
        seen.update(finding["rule"] for finding in regorus["denies"] + regorus["warnings"])
    assert {True, False, "metrics.floor", "fairness.disparity_ratio", "review.overdue"} <= seen


def test_replay_gives_the_same_decision(bundle: PolicyBundle, engine: RegoEngine, doc: Doc) -> None:
    doc["model"]["limitations"] = ""
    first = evaluate(bundle, doc, engine)
    replay_doc = json.loads(json.dumps(doc))  # as read back from storage
    replay_bundle = PolicyBundle.from_files(dict(bundle.files))
    assert (replay_bundle.digest, input_digest(replay_doc)) == (
        first.bundle_digest,
        first.input_digest,
    )
    fresh_engine = create_engine(engine.name)
    assert evaluate(replay_bundle, replay_doc, fresh_engine) == first
    assert evaluate(bundle, doc, engine) == first


def _extended(bundle: PolicyBundle, path: str, source: str) -> PolicyBundle:
    """The bundle with one more family, named in the decision's violations."""
    gates = bundle.files["gates.rego"].decode()
    wired = gates.replace(
        '"metrics": rules.metrics.violation,',
        '"metrics": rules.metrics.violation,\n\t"acme": rules.acme.violation,',
    )
    return PolicyBundle.from_files({**bundle.files, "gates.rego": wired, path: source})


ACME_OWNER = (
    "package steward.gates.rules.acme\n\nviolation contains f if {\n"
    '\tinput.model.owner == "risk-analytics"\n'
    '\tf := {"rule": "acme.owner", "message": "acme.owner: no", "measured": 1, "required": 0}\n}\n'
)


def test_an_organisation_family_is_picked_up(bundle: PolicyBundle, engine: RegoEngine, doc: Doc) -> None:
    acme = _extended(bundle, "acme/owner.rego", ACME_OWNER)
    validate_bundle(acme, engine)
    decision = evaluate(acme, doc, engine)
    assert decision.denies == (Finding("acme.owner", "acme.owner: no", 1, 0),)
    assert decision.bundle_digest != bundle.digest
    doc["target"]["environment"] = "staging"  # a family staging does not name is enforced
    assert evaluate(acme, doc, engine).allow is False


def test_a_family_the_decision_does_not_name_is_refused(bundle: PolicyBundle, engine: RegoEngine) -> None:
    unwired = PolicyBundle.from_files({**bundle.files, "acme/owner.rego": ACME_OWNER})
    with pytest.raises(InvalidInput, match="does not reach the decision") as caught:
        validate_bundle(unwired, engine)
    error = caught.value.details["errors"][0]
    assert (error["file"], error["line"], error["rule"]) == ("acme/owner.rego", 3, "unwired_family")


def test_a_rule_that_errors_never_allows(bundle: PolicyBundle, engine: RegoEngine, doc: Doc) -> None:
    erroring = _extended(
        bundle,
        "acme/ratio.rego",
        "package steward.gates.rules.acme\n\nviolation contains f if {\n"
        "\tratio := input.version.metrics.accuracy / input.version.parameters.max_depth\n"
        '\tratio > 1\n\tf := {"rule": "acme.ratio", "message": "m"}\n}\n',
    )
    assert evaluate(erroring, doc, engine).allow is True
    doc["version"]["parameters"]["max_depth"] = 0
    with pytest.raises(InvalidInput, match="divide by zero"):
        evaluate(erroring, doc, engine)


def _lacking(bundle: PolicyBundle, path: str) -> PolicyBundle:
    """The bundle with the key at dotted ``path`` taken out of its data.json."""
    data = json.loads(json.dumps(dict(bundle.data)))
    *parents, last = path.split(".")
    parent = data
    for key in parents:
        parent = parent[key]
    del parent[last]
    return PolicyBundle.from_files({**bundle.files, "data.json": json.dumps(data)})


GATE_KEYS = [key for key in REQUIRED_DATA if key.package.startswith("steward.gates")]


def test_every_built_in_package_that_reads_data_lists_its_keys(bundle: PolicyBundle) -> None:
    assert required_data(bundle) == REQUIRED_DATA
    check_required_data(bundle)  # the built-in bundle has every key
    for key in REQUIRED_DATA:
        assert key.holds(key.find(bundle.data)), key.path
    families = {key.package.rsplit(".", 1)[-1] for key in GATE_KEYS}
    assert families == {"gates", "metrics", "fairness", "documentation", "lineage"}


@pytest.mark.parametrize("environment", ["production", "staging"])
@pytest.mark.parametrize("key", GATE_KEYS, ids=lambda key: key.path)
def test_a_missing_data_key_denies_naming_it(
    bundle: PolicyBundle, engine: RegoEngine, doc: Doc, key: DataKey, environment: str
) -> None:
    lacking = _lacking(bundle, key.path)
    validate_bundle(lacking, engine)  # it compiles: only the data is short
    doc["target"]["environment"] = environment
    decision = evaluate(lacking, doc, engine)
    assert decision.allow is False
    family = key.package.rsplit(".", 1)[-1]
    named = f"data.{key.path}" + (".default" if family == "gates" else "")
    assert [(f.rule, f.required) for f in decision.denies if f.rule.endswith(".config_missing")] == [
        (f"{family}.config_missing", named)
    ]
    assert all(named in f.message for f in decision.denies if f.rule.endswith(".config_missing"))
    assert not [f for f in decision.warnings if f.rule.endswith(".config_missing")]
    with pytest.raises(InvalidInput) as caught:  # and registration refuses the bundle first
        check_required_data(lacking)
    assert str(caught.value).startswith(f"policy bundle: data.json: {key.path} is missing; ")
    assert [e["key"] for e in caught.value.details["errors"]] == [key.path]


def test_no_gates_data_at_all_denies_every_family(bundle: PolicyBundle, engine: RegoEngine, doc: Doc) -> None:
    lacking = _lacking(bundle, "gates")
    decision = evaluate(lacking, doc, engine)
    assert decision.allow is False
    assert sorted(f.required for f in decision.denies if f.rule.endswith(".config_missing")) == sorted(
        f"data.{key.path}" + (".default" if key.path == "gates.environments" else "") for key in GATE_KEYS
    )
    with pytest.raises(InvalidInput, match=r"and 7 more") as caught:
        check_required_data(lacking)
    assert [e["key"] for e in caught.value.details["errors"]] == [k.path for k in GATE_KEYS]


def test_a_wrongly_typed_data_key_is_refused(bundle: PolicyBundle) -> None:
    data = json.loads(json.dumps(dict(bundle.data)))
    data["gates"]["fairness"]["min_ratio"] = "0.8"
    data["gates"]["lineage"]["approved_sources"] = "warehouse"
    odd = PolicyBundle.from_files({**bundle.files, "data.json": json.dumps(data)})
    with pytest.raises(InvalidInput) as caught:
        check_required_data(odd)
    assert [e["message"] for e in caught.value.details["errors"]] == [
        "gates.fairness.min_ratio is a string, not a number; fairness.rego (package "
        "steward.gates.rules.fairness) needs a number there",
        "gates.lineage.approved_sources is a string, not a list of strings; lineage.rego (package "
        "steward.gates.rules.lineage) needs a list of strings there",
    ]


def test_a_bundle_without_a_family_needs_none_of_its_data(bundle: PolicyBundle) -> None:
    files = {p: c for p, c in bundle.files.items() if p != "lineage.rego"}
    files["gates.rego"] = (
        bundle.files["gates.rego"].decode().replace('"lineage": rules.lineage.violation,', "")
    )
    without = _lacking(PolicyBundle.from_files(files), "gates.lineage")
    assert "steward.gates.rules.lineage" not in {key.package for key in required_data(without)}
    check_required_data(without)


def test_separation_without_stage_roles_refuses_every_review(
    bundle: PolicyBundle, engine: RegoEngine
) -> None:
    lacking = _lacking(bundle, "workflow.stage_roles")
    doc = separation_input(
        stage="independent_validation",
        decision="approved",
        reviewer="vera",
        roles=["validator"],
        model="credit-risk",
        version=3,
        registered_by="dana",
        training_run=None,
        reviews=[],
    )
    assert separation_findings(bundle, doc, engine) == ()
    found = separation_findings(lacking, doc, engine)
    assert found is not None and [f.rule for f in found] == ["separation.stage_role"]
    with pytest.raises(InvalidInput, match=r"workflow\.stage_roles is missing; separation\.rego"):
        check_required_data(lacking)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("decision := 1", "must be an object with 'deny' and 'warn'"),
        ('decision := {"deny": "no"}', "'deny' must be a set of objects"),
        ('decision := {"deny": ["plain text"], "warn": []}', "every 'deny' entry must be an object"),
        ('decision := {"deny": [{"message": "m"}], "warn": []}', "needs a 'rule' and a 'message'"),
        ('decision := {"deny": [], "warn": [{"rule": "r"}]}', "needs a 'rule' and a 'message'"),
        ("decision := d if {\n\tinput.never\n\td := {}\n}", "is undefined for this input"),
    ],
)
def test_malformed_decisions_are_errors(engine: RegoEngine, doc: Doc, source: str, message: str) -> None:
    custom = PolicyBundle.from_files(
        {
            "manifest.json": '{"name": "odd", "version": "0"}',
            "gates.rego": f"package steward.gates\n\n{source}\n",
        }
    )
    with pytest.raises(InvalidInput, match=message) as caught:
        evaluate(custom, doc, engine)
    assert str(caught.value).startswith("policy bundle odd 0: ")


def test_invalid_input_is_refused_before_evaluation(
    bundle: PolicyBundle, engine: RegoEngine, doc: Doc
) -> None:
    del doc["version"]["metrics"]
    with pytest.raises(InvalidInput, match=r"missing key 'version\.metrics'"):
        evaluate(bundle, doc, engine)


def test_findings_are_sorted(bundle: PolicyBundle, engine: RegoEngine, doc: Doc) -> None:
    doc["version"]["metrics"] = {"accuracy": 0.1, "auc": 0.1}
    doc["model"]["owner"] = None
    decision = evaluate(bundle, doc, engine)
    keys = [(f.rule, f.message) for f in decision.denies]
    assert keys == sorted(keys)
    assert [f.rule for f in decision.denies] == [
        "documentation.missing_field",
        "metrics.floor",
        "metrics.floor",
    ]


def test_decision_query_is_documented() -> None:
    assert DECISION_QUERY == "data.steward.gates.decision"
    assert Decision.__doc__
