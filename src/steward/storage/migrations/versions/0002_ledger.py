"""verifiable ledger: Merkle tree nodes, signed checkpoints, signing keys; read access log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 08:32:15.937822

Events written before this revision get their tree nodes here (computed from the stored events);
they are covered by the first checkpoint the server signs once it has a key.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import steward.storage._tables
from steward.ledger import append_leaves, leaf_hash
from steward.storage._ledger_store import event_bytes

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ledger_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx"),
    )
    op.create_table(
        "ledger_checkpoints",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.String(length=64), nullable=False),
        sa.Column("time", steward.storage._tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("size"),
    )
    op.create_table(
        "ledger_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("vkey", sa.String(length=512), nullable=False),
        sa.Column("valid_from", steward.storage._tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("retired_at", steward.storage._tables.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("vkey"),
    )
    op.create_table(
        "read_access_log",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("time", steward.storage._tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("principal", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject_type", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=512), nullable=False),
        sa.Column("path", sa.String(length=2048), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("client_address", sa.String(length=128), nullable=False),
        sa.Column("user_agent", sa.String(length=512), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("read_access_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_read_access_log_principal"), ["principal"], unique=False)
        batch_op.create_index("ix_read_access_log_subject", ["subject_type", "subject_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_read_access_log_time"), ["time"], unique=False)
    _backfill_tree()


def _backfill_tree(batch: int = 10_000) -> None:
    """Tree nodes for the events already in the log, appended in ``seq`` order."""
    conn = op.get_bind()
    events = sa.table(
        "audit_events",
        *(
            sa.column(name)
            for name in (
                "seq",
                "time",
                "actor",
                "action",
                "subject_type",
                "subject_id",
                "before",
                "after",
                "reason",
                "request_id",
                "client_address",
                "user_agent",
            )
        ),
    )
    nodes = sa.table("ledger_nodes", sa.column("level"), sa.column("idx"), sa.column("hash"))
    size, last = 0, 0
    frontier: tuple[bytes, ...] = ()
    while True:
        rows = conn.execute(
            sa.select(*events.c).where(events.c.seq > last).order_by(events.c.seq).limit(batch)
        ).all()
        if not rows:
            return
        appended = append_leaves(size, frontier, (leaf_hash(event_bytes(*row)) for row in rows))
        conn.execute(
            sa.insert(nodes), [{"level": n.level, "idx": n.index, "hash": n.hash} for n in appended.nodes]
        )
        size, frontier, last = appended.size, appended.frontier, int(rows[-1][0])


def downgrade() -> None:
    with op.batch_alter_table("read_access_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_read_access_log_time"))
        batch_op.drop_index("ix_read_access_log_subject")
        batch_op.drop_index(batch_op.f("ix_read_access_log_principal"))
    op.drop_table("read_access_log")
    op.drop_table("ledger_keys")
    op.drop_table("ledger_checkpoints")
    op.drop_table("ledger_nodes")
