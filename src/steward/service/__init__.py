"""Use cases. Each checks the caller's role, writes its change and audit event together, and emits
typed events for the sinks that follow a commit."""

from steward.service._access import AccessLogService, ReadRecorder
from steward.service._audit import AuditService, Verification
from steward.service._caller import Caller, local_operator
from steward.service._checks import COMPUTED_KINDS, CheckService
from steward.service._events import EventBatch, EventBus
from steward.service._evidence import EvidenceService
from steward.service._gates import GateService, Replay
from steward.service._guard import GuardService
from steward.service._harvest import HarvestService, HarvestSummary, RecordUrl, record_links, write_back_tags
from steward.service._identity import TOKEN_PREFIX, IdentityService, hash_token
from steward.service._incidents import IncidentService
from steward.service._keyfile import KeyFile, MemoryKeys
from steward.service._ledger import KeySource, LedgerService
from steward.service._policies import (
    POLICY_ERROR,
    Assignments,
    AssignmentSpec,
    PolicyService,
    Simulation,
    SimulationItem,
    decide,
)
from steward.service._receiver import ReceiverService, connector_caller
from steward.service._registry import RegistryService, utcnow
from steward.service._steward import Steward

__all__ = [
    "COMPUTED_KINDS",
    "POLICY_ERROR",
    "TOKEN_PREFIX",
    "AccessLogService",
    "AssignmentSpec",
    "Assignments",
    "AuditService",
    "Caller",
    "CheckService",
    "EventBatch",
    "EventBus",
    "EvidenceService",
    "GateService",
    "GuardService",
    "HarvestService",
    "HarvestSummary",
    "IdentityService",
    "IncidentService",
    "KeyFile",
    "KeySource",
    "LedgerService",
    "MemoryKeys",
    "PolicyService",
    "ReadRecorder",
    "ReceiverService",
    "RecordUrl",
    "RegistryService",
    "Replay",
    "Simulation",
    "SimulationItem",
    "Steward",
    "Verification",
    "connector_caller",
    "decide",
    "hash_token",
    "local_operator",
    "record_links",
    "utcnow",
    "write_back_tags",
]
