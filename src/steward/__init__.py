"""Steward: a governed model registry.

The public surface: :class:`Client` (the SDK over the REST API), the error classes it and the
service raise, the domain's records and value types, and the wire schemas in :mod:`steward.wire`.
Everything else is private to the package.
"""

from steward.client import Client
from steward.domain import (
    Action,
    DatasetRole,
    DeploymentState,
    ModelState,
    PrincipalKind,
    PromotionKind,
    ReviewDecision,
    ReviewStage,
    RiskTier,
    Role,
    VersionState,
)
from steward.errors import (
    AlreadyExists,
    Conflict,
    IntegrityError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    PolicyTestFailed,
    PolicyViolation,
    SeparationOfDuties,
    ServerError,
    StewardError,
    Unauthenticated,
    Unavailable,
)

__version__ = "0.1.0"

__all__ = [
    "Action",
    "AlreadyExists",
    "Client",
    "Conflict",
    "DatasetRole",
    "DeploymentState",
    "IntegrityError",
    "InvalidInput",
    "InvalidTransition",
    "ModelState",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "PolicyTestFailed",
    "PolicyViolation",
    "PrincipalKind",
    "PromotionKind",
    "ReviewDecision",
    "ReviewStage",
    "RiskTier",
    "Role",
    "SeparationOfDuties",
    "ServerError",
    "StewardError",
    "Unauthenticated",
    "Unavailable",
    "VersionState",
    "__version__",
]
