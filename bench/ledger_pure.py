"""Pure ledger figures: inclusion proof latency at 1,000,000 leaves, full verification rate.

Run with ``uv run python bench/ledger_pure.py``. Prints figures; asserts nothing.
Targets: inclusion proof p50 <= 1 ms; verification >= 200,000 events/s.
"""

from __future__ import annotations

import random
import statistics
import time

from steward.ledger import (
    GENESIS_HASH,
    LedgerEntry,
    MemoryTree,
    canonical_bytes,
    chain_hash,
    inclusion_proof,
    leaf_hash,
    tree_root,
    verify_inclusion,
    verify_ledger,
)

LEAVES = 1_000_000
PROOFS = 2_000


def _event(seq: int) -> bytes:
    return canonical_bytes(
        {
            "seq": seq,
            "time": "2025-01-01T00:00:00.000000Z",
            "actor": "user:alice",
            "action": "model_version.registered",
            "subject_type": "model_version",
            "subject_id": f"fraud-detector/{seq}",
            "before": None,
            "after": {"state": "registered", "metrics": {"auc": 0.91}},
            "reason": "",
            "request_id": f"req-{seq:08d}",
            "client_address": "10.0.0.1",
            "user_agent": "steward-cli/0.1",
        }
    )


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    print(f"building {LEAVES:,} events ...", flush=True)
    events = [_event(seq) for seq in range(LEAVES)]
    entries: list[LedgerEntry] = []
    prev = GENESIS_HASH
    for seq, data in enumerate(events):
        prev = chain_hash(prev, data)
        entries.append(LedgerEntry(seq, data, prev))

    started = time.perf_counter()
    tree = MemoryTree(leaf_hash(data) for data in events)
    built = time.perf_counter() - started
    print(f"tree append: {LEAVES / built:,.0f} leaves/s ({built:.2f} s)")

    rng = random.Random(7)
    root = tree_root(tree, LEAVES)
    samples: list[float] = []
    for _ in range(PROOFS):
        index = rng.randrange(LEAVES)
        started = time.perf_counter()
        proof = inclusion_proof(tree, index, LEAVES)
        samples.append(time.perf_counter() - started)
        verify_inclusion(leaf_hash(events[index]), index, LEAVES, proof, root)
    p50, p95 = statistics.median(samples), _percentile(samples, 0.95)
    print(
        f"inclusion proof at {LEAVES:,} leaves: p50 {p50 * 1e3:.3f} ms, p95 {p95 * 1e3:.3f} ms "
        "(target p50 <= 1 ms)"
    )

    started = time.perf_counter()
    report = verify_ledger(entries)
    elapsed = time.perf_counter() - started
    print(
        f"full verification: {LEAVES / elapsed:,.0f} events/s ({elapsed:.2f} s, "
        f"ok={report.ok}, {len(events[0])} bytes/event; target >= 200,000 events/s)"
    )


if __name__ == "__main__":
    main()
