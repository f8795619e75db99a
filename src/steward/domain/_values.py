"""Value types of the domain: states, tiers, roles and the rules a value must keep."""

from __future__ import annotations

import re
from enum import StrEnum

from steward.errors import InvalidInput


class RiskTier(StrEnum):
    """How much harm a model can do; the tier picks the policy bundle and the sign-off stages of its
    promotions."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class ModelState(StrEnum):
    """A model's lifecycle: ``active`` ⇄ ``under_review`` → ``retired`` (a retired record is read-only)."""

    ACTIVE = "active"
    UNDER_REVIEW = "under_review"
    RETIRED = "retired"


class VersionState(StrEnum):
    """A version's lifecycle: ``registered`` → ``validated`` → ``approved`` → ``deployed_staging`` /
    ``deployed_production`` → ``deprecated`` → ``archived``; ``rejected`` ends it."""

    REGISTERED = "registered"
    VALIDATED = "validated"
    APPROVED = "approved"
    DEPLOYED_STAGING = "deployed_staging"
    DEPLOYED_PRODUCTION = "deployed_production"
    DEPRECATED = "deprecated"
    ARCHIVED = "archived"
    REJECTED = "rejected"


class DatasetRole(StrEnum):
    """What a version used a dataset version for."""

    TRAINING = "training"
    VALIDATION = "validation"
    TEST = "test"


class DeploymentState(StrEnum):
    """A deployment is ``active`` until another deployment ``replaced`` it in its environment (a
    promotion or a rollback), or it ``ended`` when its model was retired."""

    ACTIVE = "active"
    REPLACED = "replaced"
    ENDED = "ended"


class Role(StrEnum):
    """What a principal may do; each route's action is allowed to some roles (docs/reference/roles.md)."""

    ADMIN = "admin"
    DATA_SCIENTIST = "data_scientist"
    ML_ENGINEER = "ml_engineer"
    VALIDATOR = "validator"
    COMPLIANCE_OFFICER = "compliance_officer"
    BUSINESS_OWNER = "business_owner"
    AUDITOR = "auditor"


class PrincipalKind(StrEnum):
    """A person (``user``) or a program such as CI or a connector (``service``)."""

    USER = "user"
    SERVICE = "service"


# Limits shared by the wire schemas, the CLI and the store (one place, so they agree).
NAME_MAX = 128
SHORT_TEXT_MAX = 256
LONG_TEXT_MAX = 10_000
URI_MAX = 2048
TAGS_MAX = 64
TAG_KEY_MAX = 128
TAG_VALUE_MAX = 1024

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
DIGEST_PATTERN = r"^sha256:[0-9a-f]{64}$"
COMMIT_PATTERN = r"^[0-9a-f]{7,64}$"
ENVIRONMENT_PATTERN = r"^[a-z][a-z0-9_-]*$"

_NAME = re.compile(NAME_PATTERN)
_DIGEST = re.compile(DIGEST_PATTERN)


def check_name(field: str, value: str) -> str:
    """A record name: 1..128 letters, digits, ``.``, ``_``, ``-``, not starting with punctuation."""
    if not value or len(value) > NAME_MAX or not _NAME.fullmatch(value):
        raise InvalidInput.field(
            field,
            "name",
            f"must be 1 to {NAME_MAX} letters, digits, '.', '_' or '-', starting with a letter or "
            f"digit (got {value!r})",
        )
    return value


def check_digest(field: str, value: str) -> str:
    """A content digest: ``sha256:`` and 64 lower-case hex digits."""
    if not _DIGEST.fullmatch(value):
        raise InvalidInput.field(
            field,
            "digest",
            f"must be 'sha256:' followed by 64 lower-case hex digits (got {value!r})",
        )
    return value
