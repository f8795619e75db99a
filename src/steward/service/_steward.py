"""The one core object the CLI, the server and the UI are built over."""

from __future__ import annotations

from dataclasses import dataclass, field

from steward.domain import Workflow
from steward.service._access import AccessLogService
from steward.service._audit import AuditService
from steward.service._checks import CheckService
from steward.service._events import Clock, EventBus
from steward.service._evidence import EvidenceService
from steward.service._gates import GateService
from steward.service._guard import GuardService
from steward.service._harvest import HarvestService
from steward.service._identity import IdentityService
from steward.service._incidents import IncidentService
from steward.service._ledger import LedgerService
from steward.service._policies import PolicyService
from steward.service._promotions import PromotionService
from steward.service._receiver import ReceiverService
from steward.service._registry import RegistryService, utcnow
from steward.service._workflow import WorkflowService
from steward.service._write_back import WriteBackService
from steward.storage import SqlStore, make_engine, schema_status, upgrade


@dataclass
class Steward:
    """Every service over one store and one event bus. ``workflow`` is the approval workflow's
    tier → stages table and review cadences (the settings' ``STEWARD_WORKFLOW_*``)."""

    store: SqlStore
    bus: EventBus = field(default_factory=EventBus)
    clock: Clock = utcnow
    workflow: Workflow = field(default_factory=Workflow)

    def __post_init__(self) -> None:
        self.registry = RegistryService(self.store, self.bus, self.clock)
        self.identity = IdentityService(self.store, self.bus, self.clock)
        self.audit = AuditService(self.store)
        self.ledger = LedgerService(self.store, self.bus, self.clock)
        self.evidence = EvidenceService(self.store, self.registry, self.ledger, self.clock)
        self.reads = AccessLogService(self.store, self.clock)
        self.incidents = IncidentService(self.store, self.bus, self.clock)
        self.guard = GuardService(self.store, self.bus, self.clock)
        self.harvests = HarvestService(self.store, self.bus, self.clock, self.guard)
        self.write_back = WriteBackService(self.store)
        self.receiver = ReceiverService(self.store, self.clock, self.harvests, self.guard)
        self.policies = PolicyService(self.store, self.bus, self.clock, workflow=self.workflow)
        self.gates = GateService(self.store, self.bus, self.clock, self.policies, self.workflow)
        self.checks = CheckService(self.store, self.bus, self.clock, self.policies)
        self.reviews = WorkflowService(self.store, self.bus, self.clock, self.policies, self.workflow)
        self.promotions = PromotionService(self.store, self.bus, self.clock, self.gates, self.reviews)

    @classmethod
    def open(cls, database_url: str, *, migrate: bool = False, workflow: Workflow | None = None) -> Steward:
        """Connect to ``database_url``; with ``migrate``, bring its schema up to date first."""
        engine = make_engine(database_url)
        if migrate:
            upgrade(engine)
        return cls(SqlStore(engine), workflow=workflow or Workflow())

    def schema(self) -> tuple[str | None, str]:
        return schema_status(self.store.engine)

    def close(self) -> None:
        if self.reads.recorder is not None:
            self.reads.recorder.close()
        self.store.engine.dispose()
