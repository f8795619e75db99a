"""Parsing the CLI's compact option forms into request fields, with errors that name the option."""

from __future__ import annotations

from steward.errors import InvalidInput


def pairs(option: str, values: list[str] | None) -> dict[str, str]:
    """``KEY=VALUE`` options (repeatable) as a mapping."""
    result: dict[str, str] = {}
    for value in values or []:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise InvalidInput.field(option, "key_value", f"must be KEY=VALUE (got {value!r})")
        result[key] = rest
    return result


def numbers(option: str, values: list[str] | None) -> dict[str, float]:
    result: dict[str, float] = {}
    for key, text in pairs(option, values).items():
        try:
            result[key] = float(text)
        except ValueError:
            raise InvalidInput.field(option, "number", f"{key}={text!r} is not a number") from None
    return result


def dataset_uses(values: list[str] | None) -> list[dict[str, str]]:
    """``NAME@VERSION:ROLE`` (role defaults to training)."""
    uses = []
    for value in values or []:
        ref, _, role = value.partition(":")
        name, sep, version = ref.partition("@")
        if not sep or not name or not version:
            raise InvalidInput.field(
                "--dataset", "dataset_ref", f"must be NAME@VERSION[:ROLE] (got {value!r})"
            )
        uses.append({"dataset": name, "version": version, "role": role or "training"})
    return uses
