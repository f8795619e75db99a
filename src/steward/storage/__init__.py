"""Storage: SQLAlchemy rows, the SQL store, engines and migrations. The only place rows live."""

from steward.storage._engine import make_engine, schema_status, upgrade
from steward.storage._gates import InputParts
from steward.storage._ledger_store import (
    LedgerRows,
    NodeMap,
    ReadAccessFilter,
    StoredEntry,
    append_reads,
    event_bytes,
)
from steward.storage._store import (
    AuditFilter,
    LedgerHead,
    ModelFilter,
    ModelSummary,
    SqlStore,
    SqlTransaction,
    VersionFilter,
)

__all__ = [
    "AuditFilter",
    "InputParts",
    "LedgerHead",
    "LedgerRows",
    "ModelFilter",
    "ModelSummary",
    "NodeMap",
    "ReadAccessFilter",
    "SqlStore",
    "SqlTransaction",
    "StoredEntry",
    "VersionFilter",
    "append_reads",
    "event_bytes",
    "make_engine",
    "schema_status",
    "upgrade",
]
