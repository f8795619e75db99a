"""Fairness metrics equal fairlearn's MetricFrame on data with a planted disparity."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from fairlearn.metrics import (  # type: ignore[import-untyped]
    MetricFrame,
    count,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)

from steward.checks import fairness_check, fairness_values
from steward.errors import InvalidInput

TOLERANCE = 1e-9
Arrays = tuple[npt.NDArray[Any], npt.NDArray[Any], dict[str, npt.NDArray[Any]]]


@pytest.fixture(scope="module")
def planted() -> Arrays:
    """8,000 rows; the model selects group "F" about half as often as "M" at equal labels."""
    rng = np.random.default_rng(20240701)
    rows = 8_000
    sex = rng.choice(np.array(["F", "M"]), size=rows, p=[0.45, 0.55])
    region = rng.choice(np.array(["north", "south", "east", "west"]), size=rows)
    labels = rng.random(rows) < np.where(region == "south", 0.35, 0.45)
    score = rng.random(rows) + np.where(labels, 0.35, 0.0) - np.where(sex == "F", 0.2, 0.0)
    predictions = (score > 0.75).astype(np.int64)
    return labels.astype(np.int64), predictions, {"sex": sex, "region": region}


def _frame(labels: Any, predictions: Any, groups: Any) -> MetricFrame:
    return MetricFrame(
        metrics={
            "selection_rate": selection_rate,
            "true_positive_rate": true_positive_rate,
            "false_positive_rate": false_positive_rate,
            "count": count,
        },
        y_true=labels,
        y_pred=predictions,
        sensitive_features=groups,
    )


@pytest.mark.parametrize("attribute", ["sex", "region"])
def test_values_equal_fairlearn(planted: Arrays, attribute: str) -> None:
    labels, predictions, sensitive = planted
    ours = fairness_values(labels, predictions, sensitive)["attributes"][attribute]
    groups = sensitive[attribute]
    frame = _frame(labels, predictions, groups)

    assert sorted(ours["groups"]) == sorted(str(g) for g in frame.by_group.index)
    for group, row in frame.by_group.iterrows():
        mine = ours["groups"][str(group)]
        assert mine["count"] == row["count"]
        for metric in ("selection_rate", "true_positive_rate", "false_positive_rate"):
            assert mine[metric] == pytest.approx(row[metric], abs=TOLERANCE)

    ratios, differences = frame.ratio(), frame.difference()
    for metric in ("selection_rate", "true_positive_rate", "false_positive_rate"):
        assert ours["metrics"][metric]["ratio"] == pytest.approx(ratios[metric], abs=TOLERANCE)
        assert ours["metrics"][metric]["difference"] == pytest.approx(differences[metric], abs=TOLERANCE)

    features = {"sensitive_features": groups}
    expected = {
        "demographic_parity_ratio": demographic_parity_ratio(labels, predictions, **features),
        "demographic_parity_difference": demographic_parity_difference(labels, predictions, **features),
        "equalized_odds_difference": equalized_odds_difference(labels, predictions, **features),
        "equalized_odds_ratio": equalized_odds_ratio(labels, predictions, **features),
    }
    for name, value in expected.items():
        assert ours[name] == pytest.approx(value, abs=TOLERANCE), name


def test_planted_disparity_fails_with_measured_and_required(planted: Arrays) -> None:
    labels, predictions, sensitive = planted
    outcome = fairness_check(labels, predictions, sensitive)
    sex = outcome.values["attributes"]["sex"]
    ratio = sex["metrics"]["selection_rate"]["ratio"]
    assert 0.4 < ratio < 0.8  # the planted disparity
    assert sex["metrics"]["selection_rate"]["min_group"] == "F"
    assert outcome.status == "fail"
    assert outcome.kind == "fairness"
    assert (
        f"fairness: selection_rate ratio across groups of sex is {ratio:.4f} "
        f"(min {sex['metrics']['selection_rate']['min']:.4f} in 'F', "
        f"max {sex['metrics']['selection_rate']['max']:.4f} in 'M'); required >= 0.8"
    ) in outcome.messages
    assert all("groups of region" not in m or "equalised" in m for m in outcome.messages)
    assert outcome.values["thresholds"] == {
        "min_ratio": 0.8,
        "max_equalized_odds_difference": 0.1,
        "ratio_metrics": ["selection_rate", "true_positive_rate"],
    }
    assert outcome.values["rows"] == 8_000


def test_thresholds_are_parameters(planted: Arrays) -> None:
    labels, predictions, sensitive = planted
    lenient = fairness_check(labels, predictions, sensitive, min_ratio=0.3, max_equalized_odds_difference=0.9)
    assert lenient.status == "pass"
    assert lenient.messages == ()
    only_fpr = fairness_check(
        labels,
        predictions,
        {"region": sensitive["region"]},
        ratio_metrics=["false_positive_rate"],
        min_ratio=0.99,
        max_equalized_odds_difference=1.0,
    )
    assert only_fpr.status == "fail"
    assert only_fpr.messages[0].startswith("fairness: false_positive_rate ratio across groups")


def test_fair_model_passes() -> None:
    labels = np.array([1, 1, 0, 0] * 50)
    predictions = labels.copy()
    groups = np.array(["a", "b"] * 100)
    outcome = fairness_check(labels, predictions, {"g": groups})
    assert outcome.passed
    values = outcome.values["attributes"]["g"]
    assert values["equalized_odds_difference"] == 0.0
    assert values["groups"]["a"] == {
        "count": 100,
        "positives": 50,
        "negatives": 50,
        "selection_rate": 0.5,
        "true_positive_rate": 1.0,
        "false_positive_rate": 0.0,
    }
    assert outcome.to_dict()["status"] == "pass"


def test_small_example_by_hand() -> None:
    labels = [1, 1, 0, 0, 1, 0]
    predictions = [1, 0, 1, 0, 0, 0]
    groups = ["a", "a", "a", "b", "b", "b"]
    values = fairness_values(labels, predictions, {"g": groups})["attributes"]["g"]
    assert values["groups"]["a"]["selection_rate"] == pytest.approx(2 / 3)
    assert values["groups"]["a"]["true_positive_rate"] == 0.5
    assert values["groups"]["b"]["true_positive_rate"] == 0.0
    assert values["metrics"]["true_positive_rate"]["ratio"] == 0.0
    assert values["metrics"]["false_positive_rate"]["difference"] == 1.0
    assert values["equalized_odds_difference"] == 1.0


def test_group_without_positives_has_tpr_zero_like_fairlearn() -> None:
    labels = np.array([1, 0, 0, 0])
    predictions = np.array([1, 1, 0, 0])
    groups = np.array(["a", "a", "b", "b"])
    values = fairness_values(labels, predictions, {"g": groups})["attributes"]["g"]
    frame = _frame(labels, predictions, groups)
    assert values["groups"]["b"]["positives"] == 0
    assert values["groups"]["b"]["true_positive_rate"] == frame.by_group.loc["b", "true_positive_rate"] == 0.0


def test_all_rates_zero_is_ratio_one() -> None:
    values = fairness_values([1, 0, 1, 0], [0, 0, 0, 0], {"g": ["a", "a", "b", "b"]})
    selection = values["attributes"]["g"]["metrics"]["selection_rate"]
    assert (selection["max"], selection["ratio"], selection["difference"]) == (0.0, 1.0, 0.0)


def test_labels_of_any_type_with_pos_label() -> None:
    labels = np.array(["yes", "no", "yes", "no"])
    predictions = np.array(["yes", "yes", "no", "no"])
    values = fairness_values(labels, predictions, {"g": [1, 1, 2, 2]}, pos_label="yes")
    assert values["attributes"]["g"]["groups"]["1"]["selection_rate"] == 1.0
    booleans = fairness_values(labels == "yes", predictions == "yes", {"g": [1, 1, 2, 2]})
    assert booleans["attributes"] == values["attributes"]


@pytest.mark.parametrize(
    ("labels", "predictions", "sensitive", "message"),
    [
        ([0, 1, 2], [0, 1, 1], {"g": [1, 1, 2]}, "must be binary"),
        ([0, 1, 1], [0, 1], {"g": [1, 1, 2]}, "has 2 rows; labels have 3"),
        ([0, 1], [0, 1], {}, "at least one sensitive attribute"),
        ([0, 1], [0, 1], {"g": [1]}, "one value per row"),
        ([], [], {"g": []}, "no rows"),
        ([[0, 1]], [[0, 1]], {"g": [1]}, "one-dimensional"),
        ([0, 1], [0, 1], {"g": np.array([None, "a"], dtype=object)}, "cannot be grouped"),
    ],
)
def test_bad_inputs(labels: Any, predictions: Any, sensitive: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        fairness_values(labels, predictions, sensitive)


def test_unknown_ratio_metric() -> None:
    with pytest.raises(InvalidInput, match="unknown metric"):
        fairness_check([0, 1], [0, 1], {"g": [1, 2]}, ratio_metrics=["accuracy"])
