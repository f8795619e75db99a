"""source platforms and incidents: version source links, harvest jobs, webhook deliveries, alias
guards, incidents

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import steward.storage._tables

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TIME = steward.storage._tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "version_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=512), nullable=False),
        sa.Column("uri", sa.String(length=2048), nullable=False),
        sa.Column("digest_method", sa.String(length=16), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("linked_by", sa.String(length=256), nullable=False),
        sa.Column("linked_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["model_versions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform", "external_id", name="uq_version_sources_platform_id"),
    )
    with op.batch_alter_table("version_sources", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_version_sources_version_id"), ["version_id"], unique=False)

    op.create_table(
        "harvest_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=2048), nullable=False),
        sa.Column("experiments", sa.JSON(), nullable=False),
        sa.Column("models", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=256), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("started_at", _TIME, nullable=True),
        sa.Column("finished_at", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("harvest_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_harvest_jobs_state"), ["state"], unique=False)

    op.create_table(
        "webhook_deliveries",
        sa.Column("delivery_id", sa.String(length=128), nullable=False),
        sa.Column("platform", sa.String(length=64), nullable=False),
        sa.Column("received_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("delivery_id"),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_deliveries_received_at"), ["received_at"], unique=False)

    op.create_table(
        "alias_guards",
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(length=128), nullable=False),
        sa.Column("environment", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["models.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("model_id", "alias"),
    )

    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=256), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("audit_seqs", sa.JSON(), nullable=False),
        sa.Column("opened_by", sa.String(length=256), nullable=False),
        sa.Column("opened_at", _TIME, nullable=False),
        sa.Column("resolved_by", sa.String(length=256), nullable=True),
        sa.Column("resolved_at", _TIME, nullable=True),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["models.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incidents_model_id"), ["model_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_incidents_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incidents_state"))
        batch_op.drop_index(batch_op.f("ix_incidents_model_id"))
    op.drop_table("incidents")
    op.drop_table("alias_guards")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_received_at"))
    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("harvest_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_harvest_jobs_state"))
    op.drop_table("harvest_jobs")
    with op.batch_alter_table("version_sources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_version_sources_version_id"))
    op.drop_table("version_sources")
