"""Use cases. Each checks the caller's role, writes its change and audit event together, and emits
typed events for the sinks that follow a commit."""

from steward.service._audit import AuditService, Verification
from steward.service._caller import Caller, local_operator
from steward.service._events import EventBus
from steward.service._identity import TOKEN_PREFIX, IdentityService, hash_token
from steward.service._registry import RegistryService, utcnow
from steward.service._steward import Steward

__all__ = [
    "TOKEN_PREFIX",
    "AuditService",
    "Caller",
    "EventBus",
    "IdentityService",
    "RegistryService",
    "Steward",
    "Verification",
    "hash_token",
    "local_operator",
    "utcnow",
]
