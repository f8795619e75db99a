"""One error tree, by kind.

Every error Steward raises on purpose is a :class:`StewardError`. Each kind carries a stable
snake_case ``code`` (the REST API's ``error.code``) and a CLI ``exit_code``; the HTTP status for each
code lives in one table in ``steward.server.errors``. Nothing here knows about HTTP or SQL.

    StewardError
    ├── InvalidInput            invalid_input          bad field values; details name field and rule
    ├── NotFound                not_found
    ├── AlreadyExists           already_exists
    ├── Conflict                conflict               stale revision (optimistic concurrency)
    ├── InvalidTransition       invalid_transition     lifecycle refuses the move
    ├── PolicyViolation         policy_violation       the policy bundle denied
    ├── Unauthenticated         unauthenticated        no or bad credentials
    ├── PermissionDenied        permission_denied      the role may not do this
    │   └── SeparationOfDuties  separation_of_duties
    ├── PayloadTooLarge         payload_too_large
    ├── IntegrityError          integrity_error        the audit trail does not verify
    ├── Unavailable             unavailable            the store or a remote cannot be reached
    ├── PolicyTestFailed        policy_test_failed     a bundle's Rego unit tests failed (CLI)
    └── ServerError             internal               anything unexpected on the far side
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = [
    "AlreadyExists",
    "Conflict",
    "IntegrityError",
    "InvalidInput",
    "InvalidTransition",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "PolicyTestFailed",
    "PolicyViolation",
    "SeparationOfDuties",
    "ServerError",
    "StewardError",
    "Unauthenticated",
    "Unavailable",
    "error_for_code",
]


class StewardError(Exception):
    """Base of every error Steward raises on purpose."""

    code: ClassVar[str] = "internal"
    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """The body of the one JSON error shape: ``{"error": {...}}`` wraps this."""
        return {"code": self.code, "message": self.message, "details": self.details}


class InvalidInput(StewardError):
    """A value broke a rule. ``details["errors"]`` lists ``{field, rule, message}``."""

    code = "invalid_input"
    exit_code = 2

    @classmethod
    def field(cls, field: str, rule: str, message: str) -> InvalidInput:
        return cls(
            f"{field}: {message}",
            {"errors": [{"field": field, "rule": rule, "message": message}]},
        )


class NotFound(StewardError):
    """The named record does not exist; ``details`` names it."""

    code = "not_found"
    exit_code = 3


class AlreadyExists(StewardError):
    """A record with that name (or key) exists already."""

    code = "already_exists"
    exit_code = 4


class Conflict(StewardError):
    """The record changed since the caller read it (stale ``revision``)."""

    code = "conflict"
    exit_code = 5


class InvalidTransition(StewardError):
    """The lifecycle does not allow the move; ``details`` gives the allowed ones."""

    code = "invalid_transition"
    exit_code = 6


class PolicyViolation(StewardError):
    """The policy bundle denied; ``details`` lists every reason."""

    code = "policy_violation"
    exit_code = 7


class PolicyTestFailed(StewardError):
    """A policy bundle's Rego unit tests failed; ``details`` names each failed test.

    ``steward policy test`` exits with it; the API answers a test run with its report (200), so
    its HTTP status is never sent.
    """

    code = "policy_test_failed"
    exit_code = 13


class Unauthenticated(StewardError):
    """No credentials, or credentials the server does not accept (unknown, revoked, expired)."""

    code = "unauthenticated"
    exit_code = 8


class PermissionDenied(StewardError):
    """The caller's roles do not allow the action; ``details`` names the roles that would."""

    code = "permission_denied"
    exit_code = 9


class SeparationOfDuties(PermissionDenied):
    """The caller may not sign this: they built it, or signed another stage of it."""

    code = "separation_of_duties"
    exit_code = 10


class PayloadTooLarge(StewardError):
    """The request body is over the server's limit."""

    code = "payload_too_large"
    exit_code = 2


class IntegrityError(StewardError):
    """The audit trail (or an export of it) does not verify."""

    code = "integrity_error"
    exit_code = 11


class Unavailable(StewardError):
    """The database or a remote server cannot be reached, or is busy."""

    code = "unavailable"
    exit_code = 12


class ServerError(StewardError):
    """Anything unexpected on the far side."""

    code = "internal"
    exit_code = 1


_BY_CODE: dict[str, type[StewardError]] = {
    cls.code: cls
    for cls in (
        InvalidInput,
        NotFound,
        AlreadyExists,
        Conflict,
        InvalidTransition,
        PolicyViolation,
        Unauthenticated,
        PermissionDenied,
        SeparationOfDuties,
        PayloadTooLarge,
        IntegrityError,
        Unavailable,
        PolicyTestFailed,
        ServerError,
    )
}


def error_for_code(code: str, message: str, details: Mapping[str, Any] | None = None) -> StewardError:
    """Rebuild the error a server sent (the SDK raises the same classes as the service)."""
    return _BY_CODE.get(code, ServerError)(message, details)


def all_error_classes() -> tuple[type[StewardError], ...]:
    return tuple(_BY_CODE.values())
