"""Every built-in rule, on both engines: the passing document passes, one change trips the rule,
and the finding names the rule, the measured value and the required value."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from steward.policy import Decision, Finding, PolicyBundle, RegoEngine, evaluate

Doc = dict[str, Any]


def only(findings: tuple[Finding, ...], rule: str) -> Finding:
    matching = [finding for finding in findings if finding.rule == rule]
    assert len(matching) == 1, findings
    return matching[0]


def rules(findings: tuple[Finding, ...]) -> set[str]:
    return {finding.rule for finding in findings}


def test_passing_document_is_allowed_without_warnings(
    bundle: PolicyBundle, engine: RegoEngine, doc: Doc
) -> None:
    decision = evaluate(bundle, doc, engine)
    assert decision.allow is True
    assert decision.denies == ()
    assert decision.warnings == ()


def _set(path: str, value: Any) -> Callable[[Doc], None]:
    def change(doc: Doc) -> None:
        *parents, last = path.split(".")
        target = doc
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return change


def _drop_metric(name: str) -> Callable[[Doc], None]:
    def change(doc: Doc) -> None:
        del doc["version"]["metrics"][name]

    return change


DENIALS = [
    pytest.param(
        _set("version.metrics.accuracy", 0.72),
        "metrics.floor",
        0.72,
        0.8,
        "metrics.floor: metric accuracy is 0.72; required >= 0.8 for risk tier high",
        id="metric-floor",
    ),
    pytest.param(
        _drop_metric("auc"),
        "metrics.missing",
        None,
        0.75,
        "metrics.missing: metric auc is missing; required a number >= 0.75 for risk tier high",
        id="metric-missing",
    ),
    pytest.param(
        _set("model.risk_tier", "extreme"),
        "metrics.risk_tier",
        "extreme",
        ["high", "low", "medium"],
        "metrics.risk_tier: risk tier extreme has no metric floors; required one of high, low, medium",
        id="metric-unknown-tier",
    ),
    pytest.param(
        _set("checks.0.values.attributes.sex.metrics.selection_rate.ratio", 0.6234567),
        "fairness.disparity_ratio",
        0.6234567,
        0.8,
        "fairness.disparity_ratio: selection_rate ratio across groups of sex is 0.6235; required >= 0.8",
        id="fairness-selection-ratio",
    ),
    pytest.param(
        _set("checks.0.values.attributes.sex.metrics.true_positive_rate.ratio", 0.7),
        "fairness.disparity_ratio",
        0.7,
        0.8,
        "fairness.disparity_ratio: true_positive_rate ratio across groups of sex is 0.7; required >= 0.8",
        id="fairness-tpr-ratio",
    ),
    pytest.param(
        _set("checks.0.values.attributes.sex.equalized_odds_difference", 0.15),
        "fairness.equalized_odds",
        0.15,
        0.1,
        "fairness.equalized_odds: equalised-odds difference across groups of sex is 0.15; required <= 0.1",
        id="fairness-equalized-odds",
    ),
    pytest.param(
        _set("checks.0.kind", "other"),
        "fairness.missing",
        None,
        "fairness check",
        "fairness.missing: no fairness check; required a fairness check that ran, for risk tier high",
        id="fairness-missing-high",
    ),
    pytest.param(
        _set("checks.0.status", "error"),
        "fairness.missing",
        "error",
        "fairness check",
        "fairness.missing: the newest fairness check is in status error; required a fairness "
        "check that ran, for risk tier high",
        id="fairness-errored",
    ),
    pytest.param(
        _set("checks.0.values", {"attributes": {}}),
        "fairness.malformed",
        None,
        "values.attributes",
        "fairness.malformed: the fairness check names no protected attribute; required "
        "values.attributes with at least one attribute",
        id="fairness-malformed",
    ),
    pytest.param(
        _set("model.owner", None),
        "documentation.missing_field",
        None,
        "non-empty text",
        "documentation.missing_field: model owner is missing; required non-empty text",
        id="documentation-owner",
    ),
    pytest.param(
        _set("model.limitations", "   "),
        "documentation.missing_field",
        "   ",
        "non-empty text",
        "documentation.missing_field: model limitations is empty; required non-empty text",
        id="documentation-limitations",
    ),
    pytest.param(
        _set("model.intended_use", ""),
        "documentation.missing_field",
        "",
        "non-empty text",
        "documentation.missing_field: model intended_use is empty; required non-empty text",
        id="documentation-intended-use",
    ),
    pytest.param(
        _set("model.regulatory_scopes", []),
        "documentation.regulatory_scopes",
        [],
        "at least one regulatory scope",
        "documentation.regulatory_scopes: model names no regulatory scope; required at least "
        "one for risk tier high",
        id="documentation-scopes",
    ),
    pytest.param(
        _set("lineage.datasets.0.role", "validation"),
        "documentation.training_data",
        0,
        1,
        "documentation.training_data: the lineage names 0 training datasets; required at least 1",
        id="documentation-training-data",
    ),
    pytest.param(
        _set("version.artifact_digest", "sha256:abc"),
        "lineage.artifact_digest",
        "sha256:abc",
        "sha256:<64 hex digits>",
        "lineage.artifact_digest: artefact digest is sha256:abc; required sha256:<64 hex digits>",
        id="lineage-artifact-digest",
    ),
    pytest.param(
        _set("version.artifact_digest", None),
        "lineage.artifact_digest",
        None,
        "sha256:<64 hex digits>",
        "lineage.artifact_digest: artefact digest is missing; required sha256:<64 hex digits>",
        id="lineage-artifact-digest-missing",
    ),
    pytest.param(
        _set("version.code_commit", ""),
        "lineage.code_commit",
        "",
        "code commit",
        "lineage.code_commit: code commit is empty; required the commit the version was trained from",
        id="lineage-code-commit",
    ),
    pytest.param(
        _set("lineage.datasets.0.digest", None),
        "lineage.dataset_digest",
        None,
        "content digest",
        "lineage.dataset_digest: training dataset applications@2024-06 has digest missing; "
        "required a content digest",
        id="lineage-dataset-digest",
    ),
    pytest.param(
        _set("lineage.datasets.0.approved", False),
        "lineage.dataset_unapproved",
        False,
        True,
        "lineage.dataset_unapproved: training dataset applications@2024-06 has approved = "
        "false; required true",
        id="lineage-dataset-unapproved",
    ),
    pytest.param(
        _set("version.environment.python_version", None),
        "runtime.python_version",
        None,
        "Python version",
        "runtime.python_version: Python version is missing; required the Python version of the "
        "training environment",
        id="runtime-python",
    ),
    pytest.param(
        _set("version.environment.dependency_lock_digest", " "),
        "runtime.dependency_lock",
        " ",
        "dependency lock digest",
        "runtime.dependency_lock: dependency lock digest is empty; required the dependency lock "
        "digest of the training environment",
        id="runtime-lock",
    ),
    pytest.param(
        _set("checks.1.status", "fail"),
        "data_quality.failed",
        "fail",
        "pass",
        "data_quality.failed: the newest data-quality check is in status fail; required pass",
        id="data-quality",
    ),
    pytest.param(
        _set("incidents", [{"severity": "high", "state": "open"}]),
        "incidents.unresolved_high",
        1,
        0,
        "incidents.unresolved_high: 1 unresolved high-severity incident(s); required 0",
        id="incident-open",
    ),
]


@pytest.mark.parametrize(("change", "rule", "measured", "required", "message"), DENIALS)
def test_rule_denies_with_measured_and_required(
    bundle: PolicyBundle,
    engine: RegoEngine,
    doc: Doc,
    change: Callable[[Doc], None],
    rule: str,
    measured: Any,
    required: Any,
    message: str,
) -> None:
    change(doc)
    decision = evaluate(bundle, doc, engine)
    assert decision.allow is False
    finding = only(decision.denies, rule)
    assert finding.measured == measured
    assert finding.required == required
    assert finding.message == message


def _decide(bundle: PolicyBundle, engine: RegoEngine, doc: Doc, *changes: Any) -> Decision:
    for change in changes:
        change(doc)
    return evaluate(bundle, doc, engine)


def test_medium_tier_has_lower_floors(bundle: PolicyBundle, engine: RegoEngine, doc: Doc) -> None:
    decision = _decide(
        bundle,
        engine,
        doc,
        _set("model.risk_tier", "medium"),
        _set("version.metrics", {"accuracy": 0.72, "auc": 0.6}),
    )
    finding = only(decision.denies, "metrics.floor")
    assert (finding.measured, finding.required) == (0.6, 0.65)
    assert "metric auc" in finding.message


def test_low_tier_checks_only_the_metrics_it_names(
    bundle: PolicyBundle, engine: RegoEngine, doc: Doc
) -> None:
    decision = _decide(
        bundle,
        engine,
        doc,
        _set("model.risk_tier", "low"),
        _set("version.metrics", {"accuracy": 0.61}),
        _set("model.regulatory_scopes", []),
        _set("checks", []),
    )
    assert decision.allow is True
    assert decision.warnings == ()


def test_missing_fairness_is_a_warning_for_medium_tier(
    bundle: PolicyBundle, engine: RegoEngine, doc: Doc
) -> None:
    decision = _decide(bundle, engine, doc, _set("model.risk_tier", "medium"), _set("checks", []))
    assert decision.allow is True
    finding = only(decision.warnings, "fairness.missing")
    assert finding.measured is None
    assert finding.message.endswith("for risk tier medium")


def test_fairness_thresholds_apply_to_medium_tier(
    bundle: PolicyBundle, engine: RegoEngine, doc: Doc, make_fairness_check: Any
) -> None:
    decision = _decide(
        bundle,
        engine,
        doc,
        _set("model.risk_tier", "medium"),
        _set("checks", [make_fairness_check(selection_ratio=0.5)]),
    )
    assert only(decision.denies, "fairness.disparity_ratio").measured == 0.5


def test_newest_fairness_check_decides(
    bundle: PolicyBundle, engine: RegoEngine, doc: Doc, make_fairness_check: Any
) -> None:
    old = make_fairness_check(selection_ratio=0.5, created_at="2024-06-01T00:00:00Z")
    new = make_fairness_check(selection_ratio=0.9, created_at="2024-08-01T00:00:00Z")
    assert _decide(bundle, engine, doc, _set("checks", [new, old])).allow is True
    newer_bad = make_fairness_check(selection_ratio=0.5, created_at="2024-09-01T00:00:00Z")
    decision = _decide(bundle, engine, doc, _set("checks", [new, newer_bad]))
    assert rules(decision.denies) == {"fairness.disparity_ratio"}


def test_every_protected_attribute_is_checked(bundle: PolicyBundle, engine: RegoEngine, doc: Doc) -> None:
    attributes = doc["checks"][0]["values"]["attributes"]
    attributes["age_band"] = json.loads(json.dumps(attributes["sex"]))
    attributes["age_band"]["metrics"]["true_positive_rate"]["ratio"] = 0.75
    decision = evaluate(bundle, doc, engine)
    finding = only(decision.denies, "fairness.disparity_ratio")
    assert "groups of age_band" in finding.message
    assert finding.measured == 0.75


def test_only_open_high_severity_incidents_deny(bundle: PolicyBundle, engine: RegoEngine, doc: Doc) -> None:
    incidents = [
        {"severity": "high", "state": "resolved"},
        {"severity": "medium", "state": "open"},
        {"severity": "low", "state": "open"},
    ]
    assert _decide(bundle, engine, doc, _set("incidents", incidents)).allow is True
    incidents += [{"severity": "high", "state": "open"}, {"severity": "high", "state": "mitigated"}]
    decision = _decide(bundle, engine, doc, _set("incidents", incidents))
    assert only(decision.denies, "incidents.unresolved_high").measured == 2


def test_review_overdue_is_a_warning(bundle: PolicyBundle, engine: RegoEngine, doc: Doc) -> None:
    decision = _decide(bundle, engine, doc, _set("model.review_overdue", True))
    assert decision.allow is True
    finding = only(decision.warnings, "review.overdue")
    assert (finding.measured, finding.required) == (True, False)


def test_staging_relaxes_fairness_documentation_and_lineage_to_warnings(
    bundle: PolicyBundle, engine: RegoEngine, doc: Doc
) -> None:
    decision = _decide(
        bundle,
        engine,
        doc,
        _set("target.environment", "staging"),
        _set("checks.0.values.attributes.sex.metrics.selection_rate.ratio", 0.6),
        _set("model.limitations", None),
        _set("version.code_commit", None),
    )
    assert decision.allow is True
    assert rules(decision.warnings) == {
        "fairness.disparity_ratio",
        "documentation.missing_field",
        "lineage.code_commit",
    }


def test_staging_still_denies_metric_floors_and_incidents(
    bundle: PolicyBundle, engine: RegoEngine, doc: Doc
) -> None:
    decision = _decide(
        bundle,
        engine,
        doc,
        _set("target.environment", "staging"),
        _set("version.metrics.accuracy", 0.5),
        _set("incidents", [{"severity": "high", "state": "open"}]),
    )
    assert rules(decision.denies) == {"metrics.floor", "incidents.unresolved_high"}


def test_unknown_environment_is_as_strict_as_production(
    bundle: PolicyBundle, engine: RegoEngine, doc: Doc
) -> None:
    decision = _decide(
        bundle,
        engine,
        doc,
        _set("target.environment", "canary"),
        _set("checks.0.values.attributes.sex.metrics.selection_rate.ratio", 0.6),
    )
    assert rules(decision.denies) == {"fairness.disparity_ratio"}


def _with_data(bundle: PolicyBundle, change: Callable[[dict[str, Any]], None]) -> PolicyBundle:
    data = json.loads(bundle.files["data.json"])
    change(data)
    return PolicyBundle.from_files({**bundle.files, "data.json": json.dumps(data)})


def test_approved_sources_when_the_data_lists_them(
    bundle: PolicyBundle, engine: RegoEngine, doc: Doc
) -> None:
    listed = _with_data(bundle, lambda d: d["gates"]["lineage"].update(approved_sources=["lake"]))
    finding = only(evaluate(listed, doc, engine).denies, "lineage.dataset_source")
    assert (finding.measured, finding.required) == ("warehouse", ["lake"])
    assert finding.message == (
        "lineage.dataset_source: training dataset applications@2024-06 comes from warehouse; "
        "required one of lake"
    )


def test_an_environment_can_turn_a_family_off(bundle: PolicyBundle, engine: RegoEngine, doc: Doc) -> None:
    lab = _with_data(
        bundle,
        lambda d: d["gates"]["environments"].update(lab={"metrics": "off", "review": "off"}),
    )
    decision = _decide(
        lab,
        engine,
        doc,
        _set("target.environment", "lab"),
        _set("version.metrics.accuracy", 0.1),
        _set("model.review_overdue", True),
        _set("model.owner", None),
    )
    assert decision.warnings == ()
    assert rules(decision.denies) == {"documentation.missing_field"}
