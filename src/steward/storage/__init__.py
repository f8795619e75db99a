"""Storage: SQLAlchemy rows, the SQL store, engines and migrations. The only place rows live."""

from steward.storage._engine import make_engine, schema_status, upgrade
from steward.storage._store import (
    AuditFilter,
    LedgerHead,
    ModelFilter,
    SqlStore,
    SqlTransaction,
    VersionFilter,
)

__all__ = [
    "AuditFilter",
    "LedgerHead",
    "ModelFilter",
    "SqlStore",
    "SqlTransaction",
    "VersionFilter",
    "make_engine",
    "schema_status",
    "upgrade",
]
