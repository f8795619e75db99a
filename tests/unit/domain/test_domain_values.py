"""Value rules: names and digests, and that the domain and the wire schemas agree on them."""

from __future__ import annotations

import re

import pytest
from pydantic import TypeAdapter, ValidationError

from steward import wire
from steward.domain import (
    DIGEST_PATTERN,
    LONG_TEXT_MAX,
    NAME_MAX,
    NAME_PATTERN,
    SHORT_TEXT_MAX,
    DatasetRole,
    DeploymentState,
    ModelState,
    PrincipalKind,
    RiskTier,
    Role,
    VersionState,
    check_digest,
    check_name,
)
from steward.errors import InvalidInput

HEX = "0123456789abcdef" * 4

GOOD_NAMES = [
    "a",
    "A",
    "0",
    "credit-risk",
    "credit_risk.v2",
    "Model-2024.01_final",
    "x" * NAME_MAX,
    "9lives",
    "a-",
    "a.",
]
BAD_NAMES = [
    "",
    "-leading-dash",
    ".hidden",
    "_private",
    "has space",
    "slash/name",
    "colon:name",
    "x" * (NAME_MAX + 1),
    "modèle",  # unicode letters are refused by the name rule
    "模型",
    "naïve-bayes",
    "name\n",  # a trailing newline must not slip through '$'
    "name\r\n",
    "\nname",
    "tab\tname",
    "nul\x00",
]

GOOD_DIGESTS = ["sha256:" + HEX, "sha256:" + "0" * 64, "sha256:" + "f" * 64]
BAD_DIGESTS = [
    "",
    HEX,  # no algorithm
    "sha256:" + HEX.upper(),
    "sha256:" + HEX[:63],
    "sha256:" + HEX + "0",
    "sha512:" + HEX,
    "SHA256:" + HEX,
    "sha256:" + HEX[:63] + "g",
    "sha256: " + HEX[:63],
    "sha256:" + HEX + "\n",  # a trailing newline must not slip through '$'
]


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_good_names(name: str) -> None:
    assert check_name("name", name) == name


@pytest.mark.parametrize("name", BAD_NAMES, ids=repr)
def test_bad_names_are_refused_naming_field_and_rule(name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_name("model.name", name)
    error = caught.value
    assert error.code == "invalid_input"
    assert error.message.startswith("model.name: must be 1 to 128 letters, digits")
    [detail] = error.details["errors"]
    assert detail["field"] == "model.name"
    assert detail["rule"] == "name"
    assert repr(name) in detail["message"]


@pytest.mark.parametrize("value", GOOD_DIGESTS)
def test_good_digests(value: str) -> None:
    assert check_digest("artifact_digest", value) == value


@pytest.mark.parametrize("value", BAD_DIGESTS, ids=repr)
def test_bad_digests_are_refused_naming_field_and_rule(value: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_digest("artifact_digest", value)
    [detail] = caught.value.details["errors"]
    assert detail == {
        "field": "artifact_digest",
        "rule": "digest",
        "message": f"must be 'sha256:' followed by 64 lower-case hex digits (got {value!r})",
    }


@pytest.mark.parametrize("name", GOOD_NAMES + BAD_NAMES, ids=repr)
def test_domain_and_wire_agree_on_names(name: str) -> None:
    adapter = TypeAdapter(wire.Name)
    try:
        check_name("name", name)
        domain_ok = True
    except InvalidInput:
        domain_ok = False
    try:
        adapter.validate_python(name)
        wire_ok = True
    except ValidationError:
        wire_ok = False
    assert domain_ok == wire_ok, f"{name!r}: domain says {domain_ok}, wire says {wire_ok}"


@pytest.mark.parametrize("value", GOOD_DIGESTS + BAD_DIGESTS, ids=repr)
def test_domain_and_wire_agree_on_digests(value: str) -> None:
    adapter = TypeAdapter(wire.Digest)
    try:
        check_digest("d", value)
        domain_ok = True
    except InvalidInput:
        domain_ok = False
    try:
        adapter.validate_python(value)
        wire_ok = True
    except ValidationError:
        wire_ok = False
    assert domain_ok == wire_ok, f"{value!r}: domain says {domain_ok}, wire says {wire_ok}"


def test_patterns_are_anchored() -> None:
    for pattern in (NAME_PATTERN, DIGEST_PATTERN):
        assert pattern.startswith("^")
        assert pattern.endswith("$")
    assert re.fullmatch(NAME_PATTERN, "credit-risk")


def test_limits_are_ordered() -> None:
    assert 0 < NAME_MAX <= SHORT_TEXT_MAX < LONG_TEXT_MAX


@pytest.mark.parametrize(
    "enum", [RiskTier, ModelState, VersionState, DatasetRole, DeploymentState, Role, PrincipalKind]
)
def test_enum_values_are_snake_case_and_equal_their_text(enum: type) -> None:
    for member in enum:  # type: ignore[attr-defined]
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", member.value), member
        assert member == member.value
        assert enum(member.value) is member


def test_the_documented_vocabulary() -> None:
    assert [t.value for t in RiskTier] == ["high", "medium", "low"]
    assert [r.value for r in DatasetRole] == ["training", "validation", "test"]
    assert {r.value for r in Role} == {
        "admin",
        "data_scientist",
        "ml_engineer",
        "validator",
        "compliance_officer",
        "business_owner",
        "auditor",
    }
