"""The policy input document (schema version 2): its shape, its check and its digest.

The service builds the document from the records; ``docs/reference/policy-input.md`` describes
every key. :func:`validate_input` checks the *shape* (every key present, each value of the right
type); whether the content passes is the policies' business.

Version 2 added ``checks[].provenance`` (``{"method": "computed" | "reported", ...}``). Documents
of version 1 are still valid input, so that decisions stored before the change replay; the
service builds version 2 only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from steward.errors import InvalidInput
from steward.policy._canonical import canonical_json, sha256_digest

INPUT_SCHEMA_VERSION = 2

_Check = Callable[[Any], bool]


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_opt_str(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_object(value: Any) -> bool:
    return isinstance(value, Mapping)


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _is_metrics(value: Any) -> bool:
    return isinstance(value, Mapping) and all(_is_number(v) for v in value.values())


_TYPE_NAMES: dict[_Check, str] = {
    _is_str: "a string",
    _is_opt_str: "a string or null",
    _is_bool: "true or false",
    _is_int: "an integer",
    _is_object: "an object",
    _is_str_list: "a list of strings",
    _is_metrics: "an object of numbers",
}

# key -> check of its value; a nested schema is a dict, a list schema is a one-element list;
# ("nullable", check) also takes null, ("optional", check) also takes null or no key at all.
_Schema = dict[str, Any]

_TRAINING_RUN: _Schema = {
    "run_id": _is_opt_str,
    "platform": _is_opt_str,
    "experiment": _is_opt_str,
    "user": _is_opt_str,
    "code_commit": _is_opt_str,
}

SCHEMA: _Schema = {
    "schema_version": _is_int,
    "target": {"environment": _is_str},
    "model": {
        "name": _is_str,
        "owner": _is_opt_str,
        "description": _is_opt_str,
        "use_case": _is_opt_str,
        "intended_use": _is_opt_str,
        "limitations": _is_opt_str,
        "risk_tier": _is_str,
        "regulatory_scopes": _is_str_list,
        "state": _is_str,
        "tags": _is_object,
        "review_overdue": _is_bool,
    },
    "version": {
        "version": _is_int,
        "state": _is_str,
        "artifact_uri": _is_opt_str,
        "artifact_digest": _is_opt_str,
        "source_platform": _is_opt_str,
        "external_id": _is_opt_str,
        "metrics": _is_metrics,
        "parameters": _is_object,
        "tags": _is_object,
        "code_repository": _is_opt_str,
        "code_commit": _is_opt_str,
        "environment": {
            "python_version": _is_opt_str,
            "dependency_lock_digest": _is_opt_str,
            "container_image_digest": _is_opt_str,
        },
        "registered_by": _is_opt_str,
    },
    "lineage": {
        "training_run": ("nullable", _TRAINING_RUN),
        "datasets": [
            {
                "name": _is_str,
                "version": _is_opt_str,
                "role": _is_str,
                "digest": _is_opt_str,
                "schema_digest": _is_opt_str,
                "source": _is_opt_str,
                "approved": _is_bool,
                "uri": _is_opt_str,
            }
        ],
    },
    "checks": [
        {
            "kind": _is_str,
            "status": _is_str,
            "values": _is_object,
            "created_at": _is_str,
            "provenance": {"method": _is_str},
        }
    ],
    "reviews": [
        {
            "stage": _is_str,
            "decision": _is_str,
            "reviewer": _is_str,
            "role": _is_str,
            "created_at": _is_str,
            "conditions": _is_str_list,
        }
    ],
    "deployments": [{"environment": _is_str, "version": _is_int, "state": _is_str}],
    "incidents": [
        {
            "id": ("optional", _is_int),
            "title": ("optional", _is_str),
            "source": ("optional", _is_str),
            "severity": _is_str,
            "state": _is_str,
        }
    ],
}


SCHEMAS: dict[int, _Schema] = {
    1: {**SCHEMA, "checks": [{k: v for k, v in SCHEMA["checks"][0].items() if k != "provenance"}]},
    INPUT_SCHEMA_VERSION: SCHEMA,
}
"""The shape of each schema version still accepted (the newest is :data:`SCHEMA`)."""


def validate_input(doc: Any) -> None:
    """Raise :class:`InvalidInput` unless ``doc`` has the shape of its schema version (2, the
    current one, or 1).

    The message names the first problem (``missing key 'version.metrics'``); ``details["errors"]``
    lists every problem as ``{field, rule, message}``, ``field`` being the dotted path.
    """
    errors: list[dict[str, str]] = []
    if not isinstance(doc, Mapping):
        errors.append(_error("input", "type", "the document must be an object"))
    else:
        version = doc.get("schema_version")
        schema = SCHEMAS.get(version) if isinstance(version, int) and _is_int(version) else None
        if schema is None and _is_int(version):
            known = " or ".join(str(v) for v in sorted(SCHEMAS, reverse=True))
            errors.append(
                _error("schema_version", "choice", f"'schema_version' is {version}; required {known}")
            )
        else:
            _walk(doc, schema or SCHEMA, "", errors)
        if not errors:
            canonical_json(doc)  # refuses NaN, infinities and values JSON cannot hold
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InvalidInput(f"invalid policy input: {first['message']}{more}", {"errors": errors})


def input_digest(doc: Mapping[str, Any]) -> str:
    """``sha256:`` + SHA-256 of the canonical JSON of ``doc`` (sorted keys, no spaces, UTF-8)."""
    return sha256_digest(canonical_json(doc))


def _walk(value: Mapping[str, Any], schema: _Schema, prefix: str, errors: list[dict[str, str]]) -> None:
    for key, expected in schema.items():
        path = f"{prefix}{key}"
        if key not in value:
            if not (isinstance(expected, tuple) and expected[0] == "optional"):
                errors.append(_error(path, "required", f"missing key {path!r}"))
            continue
        _check(value[key], expected, path, errors)


def _check(value: Any, expected: Any, path: str, errors: list[dict[str, str]]) -> None:
    if isinstance(expected, tuple):  # ("nullable", schema), or ("optional", schema): may be absent
        if value is not None:
            _check(value, expected[1], path, errors)
        return
    if isinstance(expected, dict):
        if not isinstance(value, Mapping):
            errors.append(_error(path, "type", f"{path!r} must be an object"))
            return
        _walk(value, expected, f"{path}.", errors)
        return
    if isinstance(expected, list):
        if not isinstance(value, list):
            errors.append(_error(path, "type", f"{path!r} must be a list"))
            return
        for index, item in enumerate(value):
            _check(item, expected[0], f"{path}[{index}]", errors)
        return
    if not expected(value):
        errors.append(_error(path, "type", f"{path!r} must be {_TYPE_NAMES[expected]}"))


def _error(field: str, rule: str, message: str) -> dict[str, str]:
    return {"field": field, "rule": rule, "message": message}
