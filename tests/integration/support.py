"""Builders of valid requests and a snapshot of the database, for the integration tests."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import inspect, text

from steward import wire
from steward.service import Steward


def digest(seed: object) -> str:
    """A well-formed content digest, different for each seed."""
    return "sha256:" + hashlib.sha256(str(seed).encode()).hexdigest()


def model_body(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "owner": "team-risk", "risk_tier": "medium", **fields}


def model_spec(name: str, **fields: Any) -> wire.ModelCreate:
    return wire.ModelCreate(**model_body(name, **fields))


def version_body(seed: object = 1, **fields: Any) -> dict[str, Any]:
    return {"artifact_uri": f"s3://models/{seed}/model.pkl", "artifact_digest": digest(seed), **fields}


def version_spec(seed: object = 1, **fields: Any) -> wire.VersionCreate:
    return wire.VersionCreate(**version_body(seed, **fields))


# Not state: the server notes successful reads there from a background thread, in batches.
NOT_STATE = frozenset({"read_access_log"})


def db_state(steward: Steward) -> dict[str, Any]:
    """Row counts of every table, and the audit head: equal before and after means nothing written."""
    engine = steward.store.engine
    names = sorted(set(inspect(engine).get_table_names()) - NOT_STATE)
    counts: dict[str, Any] = {}
    with engine.connect() as conn:
        for name in names:
            counts[name] = conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one()
        head = conn.execute(text("SELECT id, size, head_hash FROM ledger_head")).all()
    counts["ledger_head.rows"] = [tuple(row) for row in head]
    return counts
