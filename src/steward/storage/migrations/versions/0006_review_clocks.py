"""periodic-review clocks: one row per model with its newest approval in force and its newest
attestation, kept in step with review_stages and attestations (the due listing reads these instead
of grouping every review)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import steward.storage._tables

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TIME = steward.storage._tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "model_review_clocks",
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("last_reviewed_at", _TIME, nullable=True),
        sa.Column("last_attested_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(["model_id"], ["models.id"]),
        sa.PrimaryKeyConstraint("model_id"),
    )
    # the clocks of the models that have approvals or attestations already (the aggregates the
    # listing used to compute on every read, computed once)
    op.execute(
        """
        INSERT INTO model_review_clocks (model_id, last_reviewed_at, last_attested_at)
        SELECT m.id,
               (SELECT max(rs.decided_at) FROM review_stages rs
                  JOIN model_versions mv ON mv.id = rs.version_id
                 WHERE mv.model_id = m.id AND rs.approved),
               (SELECT max(a.attested_at) FROM attestations a WHERE a.model_id = m.id)
          FROM models m
         WHERE EXISTS (SELECT 1 FROM attestations a WHERE a.model_id = m.id)
            OR EXISTS (SELECT 1 FROM review_stages rs
                         JOIN model_versions mv ON mv.id = rs.version_id
                        WHERE mv.model_id = m.id)
        """
    )


def downgrade() -> None:
    op.drop_table("model_review_clocks")
