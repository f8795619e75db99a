"""The one core object the CLI, the server and the UI are built over."""

from __future__ import annotations

from dataclasses import dataclass, field

from steward.service._audit import AuditService
from steward.service._events import Clock, EventBus
from steward.service._identity import IdentityService
from steward.service._registry import RegistryService, utcnow
from steward.storage import SqlStore, make_engine, schema_status, upgrade


@dataclass
class Steward:
    """Every service over one store and one event bus."""

    store: SqlStore
    bus: EventBus = field(default_factory=EventBus)
    clock: Clock = utcnow

    def __post_init__(self) -> None:
        self.registry = RegistryService(self.store, self.bus, self.clock)
        self.identity = IdentityService(self.store, self.bus, self.clock)
        self.audit = AuditService(self.store)

    @classmethod
    def open(cls, database_url: str, *, migrate: bool = False) -> Steward:
        """Connect to ``database_url``; with ``migrate``, bring its schema up to date first."""
        engine = make_engine(database_url)
        if migrate:
            upgrade(engine)
        return cls(SqlStore(engine))

    def schema(self) -> tuple[str | None, str]:
        return schema_status(self.store.engine)

    def close(self) -> None:
        self.store.engine.dispose()
