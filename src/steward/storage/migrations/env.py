"""Alembic environment: the engine comes from Steward (``steward db upgrade``), never from a file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from steward.storage._tables import Base

config = context.config
target_metadata = Base.metadata

engine = config.attributes.get("engine")
if engine is None:  # plain `alembic` use by a developer (autogenerate): STEWARD_DATABASE_URL-free
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
