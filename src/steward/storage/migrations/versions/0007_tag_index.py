"""version tags: index (key, value, version_id), so a tag search reads the matching version ids
from the index in order instead of fetching and sorting them

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 19:50:00
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_version_tags_key_value", table_name="version_tags")
    op.create_index("ix_version_tags_key_value_version", "version_tags", ["key", "value", "version_id"])


def downgrade() -> None:
    op.drop_index("ix_version_tags_key_value_version", table_name="version_tags")
    op.create_index("ix_version_tags_key_value", "version_tags", ["key", "value"])
