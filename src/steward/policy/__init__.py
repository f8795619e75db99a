"""Policy as code: Rego bundles evaluated in-process into decisions that can be replayed.

Nothing here does I/O beyond reading the built-in bundle shipped with the package. The service
builds the input document (:func:`validate_input` checks it), picks a bundle (the built-in one from
:func:`builtin_bundle`, or one built from files with :meth:`PolicyBundle.from_files`) and an engine
(:func:`create_engine`), and calls :func:`evaluate`.
"""

from steward.policy._builtin import builtin_bundle
from steward.policy._bundle import BundleManifest, PolicyBundle, bundle_digest, validate_bundle
from steward.policy._canonical import canonical_json
from steward.policy._decision import DECISION_QUERY, Decision, Finding, evaluate
from steward.policy._engine import (
    DEFAULT_ENGINE,
    ENGINE_NAMES,
    EvalResult,
    PreparedQuery,
    RegoEngine,
    RegoTestResult,
    create_engine,
)
from steward.policy._input import INPUT_SCHEMA_VERSION, input_digest, validate_input
from steward.policy._regopy import RegopyEngine
from steward.policy._regorus import RegorusEngine
from steward.policy._required import REQUIRED_DATA, DataKey, check_required_data, required_data
from steward.policy._separation import (
    ATTESTATION_QUERY,
    CONDITION_QUERY,
    SEPARATION_QUERY,
    attestation_input,
    condition_input,
    separation_findings,
    separation_input,
    stage_roles,
)

__all__ = [
    "ATTESTATION_QUERY",
    "CONDITION_QUERY",
    "DECISION_QUERY",
    "DEFAULT_ENGINE",
    "ENGINE_NAMES",
    "INPUT_SCHEMA_VERSION",
    "REQUIRED_DATA",
    "SEPARATION_QUERY",
    "BundleManifest",
    "DataKey",
    "Decision",
    "EvalResult",
    "Finding",
    "PolicyBundle",
    "PreparedQuery",
    "RegoEngine",
    "RegoTestResult",
    "RegopyEngine",
    "RegorusEngine",
    "attestation_input",
    "builtin_bundle",
    "bundle_digest",
    "canonical_json",
    "check_required_data",
    "condition_input",
    "create_engine",
    "evaluate",
    "input_digest",
    "required_data",
    "separation_findings",
    "separation_input",
    "stage_roles",
    "validate_bundle",
    "validate_input",
]
