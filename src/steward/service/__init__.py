"""Use cases. Each checks the caller's role, writes its change and audit event together, and emits
typed events for the sinks that follow a commit."""

from steward.service._access import AccessLogService, ReadRecorder
from steward.service._audit import AuditService, Verification
from steward.service._caller import Caller, connector_caller, local_operator
from steward.service._checks import COMPUTED_KINDS, CheckService
from steward.service._events import EventBatch, EventBus
from steward.service._evidence import EvidenceService
from steward.service._gates import GateService, Replay
from steward.service._guard import SYNC_ACTIONS, GuardService
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
    decide,
)
from steward.service._promotions import PromotionService
from steward.service._receiver import ReceiverService
from steward.service._registry import RegistryService, utcnow
from steward.service._simulation import SIMULATION_PAGE, Simulation, SimulationItem, SimulationProgress
from steward.service._steward import Steward
from steward.service._workflow import WorkflowService
from steward.service._write_back import WriteBackService, written_versions

__all__ = [
    "COMPUTED_KINDS",
    "POLICY_ERROR",
    "SIMULATION_PAGE",
    "SYNC_ACTIONS",
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
    "PromotionService",
    "ReadRecorder",
    "ReceiverService",
    "RecordUrl",
    "RegistryService",
    "Replay",
    "Simulation",
    "SimulationItem",
    "SimulationProgress",
    "Steward",
    "Verification",
    "WorkflowService",
    "WriteBackService",
    "connector_caller",
    "decide",
    "hash_token",
    "local_operator",
    "record_links",
    "utcnow",
    "write_back_tags",
    "written_versions",
]
