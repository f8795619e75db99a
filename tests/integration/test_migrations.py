"""The migrations build exactly the schema the tables declare, on both backends, and go back down."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from steward.service import Steward
from steward.storage import upgrade
from steward.storage._tables import Base


def test_migrated_schema_matches_the_tables(steward: Steward) -> None:
    with steward.store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_the_newest_migration_goes_down_and_up_again(steward: Steward) -> None:
    from alembic import command

    from steward.storage._engine import _alembic_config

    engine = steward.store.engine
    current, head = steward.schema()
    assert current == head
    command.downgrade(_alembic_config(engine), "-1")
    assert steward.schema()[0] != head
    upgrade(engine)
    assert steward.schema()[0] == head
