"""Helpers for the ledger tests: a populated, keyed log, and the tampering an attacker with write
access to the database (but not the signing key) could do."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text

from steward import wire
from steward.cli import main
from steward.domain import Role
from steward.ledger import (
    GENESIS_HASH,
    Checkpoint,
    MemoryTree,
    SignerKey,
    append_leaves,
    chain_hash,
    frontier_nodes,
    leaf_hash,
    sign_checkpoint,
    tree_root,
)
from steward.service import Caller, Steward
from steward.storage import event_bytes
from tests.integration.support import digest, model_spec, version_spec

EVENT_COLUMNS = (
    "seq, time, actor, action, subject_type, subject_id, before, after, reason, request_id, "
    "client_address, user_agent"
)


def populate(steward: Steward, admin: Caller, models: int = 3) -> None:
    """A small governed inventory, one write transaction (and one checkpoint) per change."""
    steward.registry.create_dataset(admin, wire.DatasetCreate(name="loans", approved=True))
    steward.registry.add_dataset_version(
        admin, "loans", wire.DatasetVersionCreate(version="v1", uri="s3://d/v1", digest=digest("loans"))
    )
    steward.registry.record_run(admin, wire.TrainingRunCreate(run_id="run-1", user="dana"))
    for i in range(models):
        name = f"model-{i}"
        steward.registry.create_model(admin, model_spec(name))
        steward.registry.register_version(
            admin,
            name,
            version_spec(
                f"{name}-1",
                training_run="run-1" if i == 0 else None,
                datasets=[{"dataset": "loans", "version": "v1", "role": "training"}] if i == 0 else [],
            ),
        )
    # one event per write transaction (a promotion writes several in one): a computed check
    steward.checks.record(admin, "model-0", 1, "documentation")
    steward.registry.update_model(admin, "model-0", wire.ModelUpdate(revision=1, owner="team-b"))


def stored_events(steward: Steward) -> list[tuple[Any, ...]]:
    with steward.store.engine.connect() as conn:
        return [
            tuple(r) for r in conn.execute(text(f"SELECT {EVENT_COLUMNS} FROM audit_events ORDER BY seq"))
        ]


def pure_tree(steward: Steward) -> MemoryTree:
    """The tree an outside verifier builds from the stored events alone."""
    return MemoryTree(leaf_hash(event_bytes(*row)) for row in stored_events(steward))


def head_size(steward: Steward) -> int:
    with steward.store.read() as tx:
        return tx.ledger_head().size


# -- tampering ---------------------------------------------------------------------------------


def sql(steward: Steward, statement: str, **params: Any) -> None:
    with steward.store.engine.begin() as conn:
        conn.execute(text(statement), params)


def rehash(steward: Steward) -> None:
    """Recompute every chain hash, the head and the tree nodes from the stored events, as an
    attacker with database access would after a change (everything but the signatures)."""
    rows = stored_events(steward)
    with steward.store.engine.begin() as conn:
        prev = GENESIS_HASH
        for row in rows:
            current = chain_hash(prev, event_bytes(*row))
            conn.execute(
                text("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE seq = :s"),
                {"p": prev, "h": current, "s": row[0]},
            )
            prev = current
        conn.execute(
            text("UPDATE ledger_head SET size = :n, head_hash = :h WHERE id = 1"), {"n": len(rows), "h": prev}
        )
        conn.execute(text("DELETE FROM ledger_nodes"))
        appended = append_leaves(0, (), (leaf_hash(event_bytes(*row)) for row in rows))
        for node in appended.nodes:
            conn.execute(
                text("INSERT INTO ledger_nodes (level, idx, hash) VALUES (:l, :i, :h)"),
                {"l": node.level, "i": node.index, "h": node.hash},
            )


def resign(steward: Steward, signer: SignerKey, from_size: int) -> None:
    """Replace every kept checkpoint of ``from_size`` or more with one over the current tree,
    signed by ``signer`` (an attacker's key)."""
    tree = pure_tree(steward)
    with steward.store.engine.begin() as conn:
        sizes = [
            int(s)
            for (s,) in conn.execute(
                text("SELECT size FROM ledger_checkpoints WHERE size >= :n"), {"n": from_size}
            )
        ]
        for size in sizes:
            root = tree_root(tree, size)
            note = sign_checkpoint(Checkpoint(signer.name, size, root), signer)
            conn.execute(
                text("UPDATE ledger_checkpoints SET root = :r, note = :note, key_id = :k WHERE size = :s"),
                {"r": root.hex(), "note": note, "k": f"{signer.key_id:08x}", "s": size},
            )


def forge_append(steward: Steward, signer: SignerKey | None = None) -> int:
    """Append an event with a valid chain link and tree nodes (and, with ``signer``, a checkpoint
    signed by that key); return its seq."""
    rows = stored_events(steward)
    last = rows[-1]
    seq = int(last[0]) + 1
    forged = (
        seq,
        "2030-01-01T00:00:00.000000Z",
        "mallory",
        "model.updated",
        "model",
        "model-0",
        None,
        json.dumps({"owner": "mallory"}, separators=(",", ":")),
        "",
        "",
        "",
        "",
    )
    with steward.store.engine.connect() as conn:
        head = conn.execute(text("SELECT head_hash FROM ledger_head WHERE id = 1")).scalar_one()
    data = event_bytes(*forged)
    digest_ = chain_hash(head, data)
    tree = MemoryTree(leaf_hash(event_bytes(*row)) for row in rows)
    frontier = [tree.node(level, index) for level, index in frontier_nodes(len(rows))]
    appended = append_leaves(len(rows), frontier, [leaf_hash(data)])
    with steward.store.engine.begin() as conn:
        conn.execute(
            text(
                f"INSERT INTO audit_events ({EVENT_COLUMNS}, prev_hash, hash) VALUES (:seq, :time, :actor, "
                ":action, :st, :sid, :before, :after, :reason, :rid, :ca, :ua, :prev, :hash)"
            ),
            dict(
                zip(
                    [
                        "seq",
                        "time",
                        "actor",
                        "action",
                        "st",
                        "sid",
                        "before",
                        "after",
                        "reason",
                        "rid",
                        "ca",
                        "ua",
                    ],
                    forged,
                    strict=True,
                ),
                prev=head,
                hash=digest_,
            ),
        )
        conn.execute(
            text("UPDATE ledger_head SET size = :n, head_hash = :h WHERE id = 1"), {"n": seq, "h": digest_}
        )
        for node in appended.nodes:
            conn.execute(
                text("INSERT INTO ledger_nodes (level, idx, hash) VALUES (:l, :i, :h)"),
                {"l": node.level, "i": node.index, "h": node.hash},
            )
        if signer is not None:
            note = sign_checkpoint(Checkpoint(signer.name, seq, appended.root), signer)
            conn.execute(
                text(
                    "INSERT INTO ledger_checkpoints (size, root, time, note, key_id) "
                    "VALUES (:s, :r, :t, :n, :k)"
                ),
                {"s": seq, "r": appended.root.hex(), "t": "2030-01-01 00:00:00", "n": note, "k": "00000000"},
            )
    return seq


# -- the CLI -----------------------------------------------------------------------------------


@dataclass
class Run:
    code: int
    out: str
    err: str


def cli(database_url: str, capsys: Any, *args: str) -> Run:
    code = main(["--db", database_url, *args])
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def key_file(path: Path, *keys: str) -> Path:
    path.write_text("".join(k + "\n" for k in keys), encoding="utf-8")
    return path


ROLES_THAT_READ_EVIDENCE = {Role.ADMIN, Role.AUDITOR, Role.COMPLIANCE_OFFICER}
