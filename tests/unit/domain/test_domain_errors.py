"""The one error tree: stable codes, round trips through the wire, CLI exit codes."""

from __future__ import annotations

import re

import pytest

import steward.errors as errors_module
from steward.errors import (
    InvalidInput,
    PermissionDenied,
    SeparationOfDuties,
    ServerError,
    StewardError,
    all_error_classes,
    error_for_code,
)

CLASSES = all_error_classes()


def test_codes_are_unique_and_snake_case() -> None:
    codes = [cls.code for cls in CLASSES]
    assert len(codes) == len(set(codes))
    for code in codes:
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", code), code


def test_every_exported_error_class_has_a_code() -> None:
    exported = {
        getattr(errors_module, name)
        for name in errors_module.__all__
        if isinstance(getattr(errors_module, name), type)
    }
    assert exported - {StewardError} == set(CLASSES)
    assert all(issubclass(cls, StewardError) for cls in CLASSES)


def test_the_documented_codes() -> None:
    assert {cls.code for cls in CLASSES} == {
        "invalid_input",
        "not_found",
        "already_exists",
        "conflict",
        "invalid_transition",
        "policy_violation",
        "policy_test_failed",
        "unauthenticated",
        "permission_denied",
        "separation_of_duties",
        "payload_too_large",
        "integrity_error",
        "unavailable",
        "internal",
    }


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.code)
def test_error_for_code_round_trip(cls: type[StewardError]) -> None:
    original = cls("something went wrong", {"model": "credit-risk", "n": 3})
    body = original.to_dict()
    assert body == {
        "code": cls.code,
        "message": "something went wrong",
        "details": {"model": "credit-risk", "n": 3},
    }
    rebuilt = error_for_code(body["code"], body["message"], body["details"])
    assert type(rebuilt) is cls
    assert rebuilt.message == original.message
    assert rebuilt.details == original.details
    assert str(rebuilt) == "something went wrong"


def test_unknown_code_becomes_server_error() -> None:
    rebuilt = error_for_code("teapot", "short and stout", None)
    assert type(rebuilt) is ServerError
    assert rebuilt.code == "internal"
    assert rebuilt.details == {}


def test_exit_codes() -> None:
    assert StewardError.exit_code == 1
    for cls in CLASSES:
        assert 1 <= cls.exit_code <= 125, cls
    assert InvalidInput.exit_code == 2
    exits = {cls.exit_code for cls in CLASSES if cls.code != "payload_too_large"}
    assert len(exits) == len(CLASSES) - 1, "exit codes tell the kinds apart"


def test_separation_of_duties_is_a_permission_refusal() -> None:
    error = SeparationOfDuties("you built it")
    assert isinstance(error, PermissionDenied)
    assert error.code == "separation_of_duties"
    with pytest.raises(PermissionDenied):
        raise error


def test_invalid_input_field() -> None:
    error = InvalidInput.field("datasets[0].role", "enum", "must be training, validation or test")
    assert error.message == "datasets[0].role: must be training, validation or test"
    assert error.details == {
        "errors": [
            {"field": "datasets[0].role", "rule": "enum", "message": "must be training, validation or test"}
        ]
    }


def test_details_are_copied_not_shared() -> None:
    given = {"a": 1}
    error = StewardError("x", given)
    given["a"] = 2
    assert error.details == {"a": 1}
    assert StewardError("y").details == {}
