"""policy as code: check results, policy bundles, bundle assignments, policy decisions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import steward.storage._tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TIME = steward.storage._tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "check_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("dataset_version_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("messages", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["model_versions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["dataset_version_id"], ["dataset_versions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("check_results", schema=None) as batch_op:
        batch_op.create_index("ix_check_results_version_kind", ["version_id", "kind", "id"], unique=False)
        batch_op.create_index(
            "ix_check_results_dataset_version_kind", ["dataset_version_id", "kind", "id"], unique=False
        )

    op.create_table(
        "policy_bundles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("version", sa.String(length=128), nullable=False),
        sa.Column("digest", sa.String(length=71), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("registered_by", sa.String(length=256), nullable=False),
        sa.Column("registered_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    with op.batch_alter_table("policy_bundles", schema=None) as batch_op:
        batch_op.create_index("ix_policy_bundles_name_version", ["name", "version"], unique=False)

    op.create_table(
        "policy_assignments",
        sa.Column("risk_tier", sa.String(length=16), nullable=False),
        sa.Column("environment", sa.String(length=64), nullable=False),
        sa.Column("bundle_id", sa.Integer(), nullable=False),
        sa.Column("assigned_by", sa.String(length=256), nullable=False),
        sa.Column("assigned_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["bundle_id"], ["policy_bundles.id"]),
        sa.PrimaryKeyConstraint("risk_tier", "environment"),
    )
    with op.batch_alter_table("policy_assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_policy_assignments_bundle_id"), ["bundle_id"], unique=False)

    op.create_table(
        "policy_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("environment", sa.String(length=64), nullable=False),
        sa.Column("allow", sa.Boolean(), nullable=False),
        sa.Column("denies", sa.JSON(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("bundle_name", sa.String(length=128), nullable=False),
        sa.Column("bundle_version", sa.String(length=128), nullable=False),
        sa.Column("bundle_digest", sa.String(length=71), nullable=False),
        sa.Column("input_digest", sa.String(length=71), nullable=False),
        sa.Column("engine", sa.String(length=32), nullable=False),
        sa.Column("engine_version", sa.String(length=64), nullable=False),
        sa.Column("input_document", sa.JSON(), nullable=False),
        sa.Column("audit_seq", sa.BigInteger(), nullable=True),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["model_versions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("policy_decisions", schema=None) as batch_op:
        batch_op.create_index("ix_policy_decisions_version", ["version_id", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_policy_decisions_bundle_digest"), ["bundle_digest"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("policy_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_policy_decisions_bundle_digest"))
        batch_op.drop_index("ix_policy_decisions_version")
    op.drop_table("policy_decisions")
    with op.batch_alter_table("policy_assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_policy_assignments_bundle_id"))
    op.drop_table("policy_assignments")
    with op.batch_alter_table("policy_bundles", schema=None) as batch_op:
        batch_op.drop_index("ix_policy_bundles_name_version")
    op.drop_table("policy_bundles")
    with op.batch_alter_table("check_results", schema=None) as batch_op:
        batch_op.drop_index("ix_check_results_dataset_version_kind")
        batch_op.drop_index("ix_check_results_version_kind")
    op.drop_table("check_results")
