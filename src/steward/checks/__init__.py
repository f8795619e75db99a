"""Automated checks of a model version: fairness, data quality, documentation and lineage.

Pure functions over numpy arrays and the policy input document; no I/O. Each returns a
:class:`CheckOutcome` whose ``values`` the service stores as a CheckResult and the policies read.
"""

from steward.checks._completeness import (
    DEFAULT_REQUIRED_FIELDS,
    DEFAULT_SCOPES_REQUIRED_FOR,
    documentation_check,
    lineage_check,
)
from steward.checks._fairness import (
    DEFAULT_MAX_EQUALIZED_ODDS_DIFFERENCE,
    DEFAULT_MIN_RATIO,
    DEFAULT_RATIO_METRICS,
    RATE_METRICS,
    fairness_check,
    fairness_values,
)
from steward.checks._outcome import CheckOutcome, CheckStatus
from steward.checks._quality import (
    COLUMN_KINDS,
    AllowedValues,
    ColumnType,
    Expectation,
    ExpectationResult,
    MaxNullFraction,
    RequiredColumns,
    ValueRange,
    check_expectations,
    data_quality_check,
    expectations_from_dicts,
    null_mask,
)

__all__ = [
    "COLUMN_KINDS",
    "DEFAULT_MAX_EQUALIZED_ODDS_DIFFERENCE",
    "DEFAULT_MIN_RATIO",
    "DEFAULT_RATIO_METRICS",
    "DEFAULT_REQUIRED_FIELDS",
    "DEFAULT_SCOPES_REQUIRED_FOR",
    "RATE_METRICS",
    "AllowedValues",
    "CheckOutcome",
    "CheckStatus",
    "ColumnType",
    "Expectation",
    "ExpectationResult",
    "MaxNullFraction",
    "RequiredColumns",
    "ValueRange",
    "check_expectations",
    "data_quality_check",
    "documentation_check",
    "expectations_from_dicts",
    "fairness_check",
    "fairness_values",
    "lineage_check",
    "null_mask",
]
