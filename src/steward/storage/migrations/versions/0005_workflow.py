"""approval workflow: reviews, their conditions and current stage decisions, attestations,
promotions, retirements, deprecations

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import steward.storage._tables

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TIME = steward.storage._tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.String(length=32), nullable=False),
        sa.Column("reviewer", sa.String(length=256), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("gate_decision_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("audit_seq", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["version_id"], ["model_versions.id"]),
        sa.ForeignKeyConstraint(["gate_decision_id"], ["policy_decisions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index("ix_reviews_version", ["version_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reviews_reviewer"), ["reviewer"], unique=False)

    op.create_table(
        "review_conditions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("met_by", sa.String(length=256), nullable=True),
        sa.Column("met_at", _TIME, nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["review_id"], ["reviews.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("review_conditions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_conditions_review_id"), ["review_id"], unique=False)

    op.create_table(
        "review_stages",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=64), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=32), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("reviewer", sa.String(length=256), nullable=False),
        sa.Column("decided_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["model_versions.id"]),
        sa.ForeignKeyConstraint(["review_id"], ["reviews.id"]),
        sa.PrimaryKeyConstraint("version_id", "stage"),
    )
    with op.batch_alter_table("review_stages", schema=None) as batch_op:
        batch_op.create_index("ix_review_stages_stage", ["stage", "approved", "decided_at"], unique=False)

    op.create_table(
        "attestations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("attested_by", sa.String(length=256), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("attested_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["models.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("attestations", schema=None) as batch_op:
        batch_op.create_index("ix_attestations_model", ["model_id", "id"], unique=False)

    op.create_table(
        "promotions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("environment", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("gate_decision_id", sa.Integer(), nullable=True),
        sa.Column("deployment_id", sa.Integer(), nullable=True),
        sa.Column("replaced_id", sa.Integer(), nullable=True),
        sa.Column("requested_by", sa.String(length=256), nullable=False),
        sa.Column("requested_at", _TIME, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("audit_seq", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["version_id"], ["model_versions.id"]),
        sa.ForeignKeyConstraint(["gate_decision_id"], ["policy_decisions.id"]),
        sa.ForeignKeyConstraint(["deployment_id"], ["deployments.id"]),
        sa.ForeignKeyConstraint(["replaced_id"], ["deployments.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("promotions", schema=None) as batch_op:
        batch_op.create_index("ix_promotions_version", ["version_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_promotions_deployment_id"), ["deployment_id"], unique=False)

    op.create_table(
        "model_retirements",
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("retired_by", sa.String(length=256), nullable=False),
        sa.Column("retired_at", _TIME, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("ended_deployments", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["models.id"]),
        sa.PrimaryKeyConstraint("model_id"),
    )

    op.create_table(
        "version_deprecations",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("deprecated_by", sa.String(length=256), nullable=False),
        sa.Column("deprecated_at", _TIME, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["model_versions.id"]),
        sa.PrimaryKeyConstraint("version_id"),
    )


def downgrade() -> None:
    op.drop_table("version_deprecations")
    op.drop_table("model_retirements")
    with op.batch_alter_table("promotions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_promotions_deployment_id"))
        batch_op.drop_index("ix_promotions_version")
    op.drop_table("promotions")
    with op.batch_alter_table("attestations", schema=None) as batch_op:
        batch_op.drop_index("ix_attestations_model")
    op.drop_table("attestations")
    with op.batch_alter_table("review_stages", schema=None) as batch_op:
        batch_op.drop_index("ix_review_stages_stage")
    op.drop_table("review_stages")
    with op.batch_alter_table("review_conditions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_conditions_review_id"))
    op.drop_table("review_conditions")
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reviews_reviewer"))
        batch_op.drop_index("ix_reviews_version")
    op.drop_table("reviews")
