"""Storage: SQLAlchemy rows, the SQL store, engines and migrations. The only place rows live."""

from steward.storage._engine import make_engine, schema_status, upgrade
from steward.storage._filters import AuditFilter, ModelFilter, VersionFilter
from steward.storage._gate_reads import GateStatus, SqlGateReads
from steward.storage._gates import InputParts
from steward.storage._ledger_store import (
    RUN_WIDTH,
    LedgerRows,
    NodeMap,
    ReadAccessFilter,
    StoredEntry,
    append_reads,
    event_bytes,
)
from steward.storage._overview import ModelSummary
from steward.storage._pages import page_after
from steward.storage._store import LedgerHead, SqlStore, SqlTransaction
from steward.storage._workflow import (
    DueRow,
    SqlWorkflow,
    WaitingRow,
    due_position,
    due_token,
    queue_position,
    queue_token,
)

__all__ = [
    "RUN_WIDTH",
    "AuditFilter",
    "DueRow",
    "GateStatus",
    "InputParts",
    "LedgerHead",
    "LedgerRows",
    "ModelFilter",
    "ModelSummary",
    "NodeMap",
    "ReadAccessFilter",
    "SqlGateReads",
    "SqlStore",
    "SqlTransaction",
    "SqlWorkflow",
    "StoredEntry",
    "VersionFilter",
    "WaitingRow",
    "append_reads",
    "due_position",
    "due_token",
    "event_bytes",
    "make_engine",
    "page_after",
    "queue_position",
    "queue_token",
    "schema_status",
    "upgrade",
]
