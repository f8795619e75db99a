"""The store turns driver errors into Steward's kinds at its boundary, on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from steward import wire
from steward.errors import AlreadyExists, Conflict
from steward.service import Caller, Steward
from steward.storage import AuditFilter

COLUMNS = (
    "name, owner, risk_tier, state, description, use_case, intended_use, limitations, regulatory_scopes, "
    "tags, source_links, review_cadence_months, created_by, created_at, updated_at, revision"
)


def test_a_unique_clash_is_already_exists_and_writes_nothing(steward: Steward, admin: Caller) -> None:
    steward.registry.create_model(admin, wire.ModelCreate(name="m", owner="o", risk_tier="low"))
    before = steward.audit.list_events(admin, AuditFilter(), 100).items
    with pytest.raises(AlreadyExists), steward.store.write() as tx:
        tx.s.execute(text(f"INSERT INTO models ({COLUMNS}) SELECT {COLUMNS} FROM models WHERE name = 'm'"))
    assert steward.audit.list_events(admin, AuditFilter(), 100).items == before


def test_a_not_null_failure_is_a_conflict_not_a_duplicate(steward: Steward, admin: Caller) -> None:
    with pytest.raises(Conflict, match="rule of the database"), steward.store.write() as tx:
        tx.s.execute(text("INSERT INTO models (name) VALUES ('n')"))
    with steward.store.read() as tx:
        assert tx.s.execute(text("SELECT count(*) FROM models")).scalar_one() == 0
