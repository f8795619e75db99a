"""Group fairness of a binary classifier, vectorised with numpy.

For every sensitive attribute separately, rows are grouped by the attribute's value and one
``bincount`` over ``group * 4 + label * 2 + prediction`` gives each group's confusion matrix. From
it: count, selection rate, true-positive rate and false-positive rate per group; for each rate the
min, max, ratio (min / max) and difference (max - min) across groups; the equalised-odds
difference (the larger of the TPR and FPR differences) and ratio (the smaller of the two ratios).

Conventions (the same as fairlearn's ``MetricFrame`` where both define a value):

- a rate whose denominator is zero (a group without positive labels has no TPR) is 0, so such a
  group drives the ratio to 0 and fails the check rather than being left out;
- a ratio whose max is 0 (every group at 0) is 1: there is no disparity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from steward.checks._outcome import CheckOutcome, outcome
from steward.errors import InvalidInput

RATE_METRICS = ("selection_rate", "true_positive_rate", "false_positive_rate")
DEFAULT_RATIO_METRICS = ("selection_rate", "true_positive_rate")
DEFAULT_MIN_RATIO = 0.8
DEFAULT_MAX_EQUALIZED_ODDS_DIFFERENCE = 0.1

# Columns of the per-group confusion matrix: index = label * 2 + prediction.
_TN, _FP, _FN, _TP = 0, 1, 2, 3


def fairness_values(
    labels: npt.ArrayLike,
    predictions: npt.ArrayLike,
    sensitive: Mapping[str, npt.ArrayLike],
    *,
    pos_label: Any = 1,
) -> dict[str, Any]:
    """The measurements of a fairness check (``values["attributes"]`` and ``values["rows"]``).

    ``labels`` and ``predictions`` are binary (``pos_label`` is the positive class);
    ``sensitive`` maps each protected attribute's name to one value per row.
    """
    y_true = _binary("labels", labels, pos_label)
    y_pred = _binary("predictions", predictions, pos_label)
    rows = y_true.shape[0]
    if y_pred.shape[0] != rows:
        raise _error("predictions", f"has {y_pred.shape[0]} rows; labels have {rows}")
    if rows == 0:
        raise _error("labels", "no rows to measure")
    if not sensitive:
        raise _error("sensitive", "name at least one sensitive attribute")
    outcome_code = y_true.astype(np.intp) * 2 + y_pred.astype(np.intp)
    attributes = {name: _attribute(name, column, outcome_code, rows) for name, column in sensitive.items()}
    return {"rows": int(rows), "attributes": attributes}


def fairness_check(
    labels: npt.ArrayLike,
    predictions: npt.ArrayLike,
    sensitive: Mapping[str, npt.ArrayLike],
    *,
    min_ratio: float = DEFAULT_MIN_RATIO,
    max_equalized_odds_difference: float = DEFAULT_MAX_EQUALIZED_ODDS_DIFFERENCE,
    ratio_metrics: Sequence[str] = DEFAULT_RATIO_METRICS,
    pos_label: Any = 1,
) -> CheckOutcome:
    """Fail when any attribute's ratio of a ``ratio_metrics`` rate is below ``min_ratio``, or its
    equalised-odds difference is above ``max_equalized_odds_difference``."""
    unknown = sorted(set(ratio_metrics) - set(RATE_METRICS))
    if unknown:
        raise _error("ratio_metrics", f"unknown metric(s) {unknown}; choose from {RATE_METRICS}")
    values = fairness_values(labels, predictions, sensitive, pos_label=pos_label)
    values["thresholds"] = {
        "min_ratio": float(min_ratio),
        "max_equalized_odds_difference": float(max_equalized_odds_difference),
        "ratio_metrics": list(ratio_metrics),
    }
    failures: list[str] = []
    for name, attribute in values["attributes"].items():
        for metric in ratio_metrics:
            summary = attribute["metrics"][metric]
            if summary["ratio"] < min_ratio:
                failures.append(
                    f"fairness: {metric} ratio across groups of {name} is "
                    f"{summary['ratio']:.4f} (min {summary['min']:.4f} in {summary['min_group']!r},"
                    f" max {summary['max']:.4f} in {summary['max_group']!r}); "
                    f"required >= {min_ratio}"
                )
        difference = attribute["equalized_odds_difference"]
        if difference > max_equalized_odds_difference:
            failures.append(
                f"fairness: equalised-odds difference across groups of {name} is "
                f"{difference:.4f}; required <= {max_equalized_odds_difference}"
            )
    return outcome("fairness", values, failures)


def _binary(field: str, values: npt.ArrayLike, pos_label: Any) -> npt.NDArray[np.bool_]:
    array = np.asarray(values)
    if array.ndim != 1:
        raise _error(field, f"must be one-dimensional, got shape {array.shape}")
    if array.dtype == np.bool_:
        if pos_label in (1, True):
            return array
        if pos_label in (0, False):
            return ~array
        raise _error(field, f"is boolean; the positive label {pos_label!r} is not")
    positive = np.asarray(array == pos_label, dtype=np.bool_)
    others = array[~positive]
    if others.shape[0] and not np.all(others == others[0]):  # a third value besides two classes
        shown = np.unique(others)[:5].tolist()
        raise _error(field, f"must be binary with positive label {pos_label!r}; other values {shown}")
    return positive


def _attribute(
    name: str, column: npt.ArrayLike, outcome_code: npt.NDArray[np.intp], rows: int
) -> dict[str, Any]:
    array = np.asarray(column)
    if array.ndim != 1 or array.shape[0] != rows:
        raise _error(f"sensitive.{name}", f"must have one value per row ({rows}), got {array.shape}")
    try:
        groups, codes = _group_codes(array)
    except TypeError as exc:
        raise _error(f"sensitive.{name}", f"values cannot be grouped: {exc}") from exc
    size = groups.shape[0]
    matrix = np.bincount(codes * 4 + outcome_code, minlength=size * 4).reshape(size, 4)
    counts = matrix.sum(axis=1)
    positives = matrix[:, _FN] + matrix[:, _TP]
    negatives = matrix[:, _TN] + matrix[:, _FP]
    rates = {
        "selection_rate": _rate(matrix[:, _FP] + matrix[:, _TP], counts),
        "true_positive_rate": _rate(matrix[:, _TP], positives),
        "false_positive_rate": _rate(matrix[:, _FP], negatives),
    }
    labels = [str(group) for group in groups.tolist()]
    by_group = {
        label: {
            "count": int(counts[i]),
            "positives": int(positives[i]),
            "negatives": int(negatives[i]),
            **{metric: float(rates[metric][i]) for metric in RATE_METRICS},
        }
        for i, label in enumerate(labels)
    }
    metrics = {metric: _summary(rates[metric], labels) for metric in RATE_METRICS}
    tpr, fpr = metrics["true_positive_rate"], metrics["false_positive_rate"]
    selection = metrics["selection_rate"]
    return {
        "groups": by_group,
        "metrics": metrics,
        "demographic_parity_ratio": selection["ratio"],
        "demographic_parity_difference": selection["difference"],
        "equalized_odds_ratio": min(tpr["ratio"], fpr["ratio"]),
        "equalized_odds_difference": max(tpr["difference"], fpr["difference"]),
    }


def _group_codes(array: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], npt.NDArray[np.intp]]:
    """Sorted distinct values and each row's index into them."""
    if array.dtype.kind in "biu":
        groups, codes = np.unique(array, return_inverse=True)
        return groups, np.asarray(codes, dtype=np.intp).reshape(-1)
    # For strings and objects, sorting the few distinct values and a binary search per row is
    # about twice as fast as np.unique's inverse (an argsort of every row).
    groups = np.unique(array)
    return groups, np.asarray(np.searchsorted(groups, array), dtype=np.intp)


def _rate(numerator: npt.NDArray[np.int64], denominator: npt.NDArray[np.int64]) -> npt.NDArray[Any]:
    safe = np.where(denominator > 0, denominator, 1)
    return np.where(denominator > 0, numerator / safe, 0.0)


def _summary(rate: npt.NDArray[Any], labels: list[str]) -> dict[str, Any]:
    low, high = int(np.argmin(rate)), int(np.argmax(rate))
    minimum, maximum = float(rate[low]), float(rate[high])
    return {
        "min": minimum,
        "max": maximum,
        "min_group": labels[low],
        "max_group": labels[high],
        "ratio": minimum / maximum if maximum > 0 else 1.0,
        "difference": maximum - minimum,
    }


def _error(field: str, message: str) -> InvalidInput:
    return InvalidInput.field(field, "fairness_input", message)
