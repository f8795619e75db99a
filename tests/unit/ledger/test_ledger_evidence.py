"""Evidence bundles, pure: built from a tree in memory, verified with keys only, refused on any lie."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from steward.errors import IntegrityError, InvalidInput
from steward.ledger import (
    GENESIS_HASH,
    PAYLOAD_TYPE,
    Checkpoint,
    EvidenceEvent,
    MemoryTree,
    canonical_bytes,
    chain_hash,
    encode_envelope,
    evidence_statement,
    generate_signer,
    inclusion_proof,
    leaf_hash,
    pae,
    parse_verifiers,
    sign_checkpoint,
    sign_envelope,
    tree_root,
    verify_evidence,
)

SIGNER = generate_signer("steward.test/audit")
DIGEST = "sha256:" + "ab" * 32


def document(
    seq: int, action: str, subject_type: str, subject_id: str, after: dict[str, Any]
) -> dict[str, Any]:
    return {
        "seq": seq,
        "time": f"2025-01-01T00:00:{seq:02d}.000000Z",
        "actor": "alice",
        "action": action,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "before": None,
        "after": after,
        "reason": "",
        "request_id": f"r{seq}",
        "client_address": "10.0.0.1",
        "user_agent": "test",
    }


DOCS = [
    document(1, "model.created", "model", "m", {"name": "m"}),
    document(2, "model.created", "model", "other", {"name": "other"}),
    document(3, "model_version.registered", "model_version", "m/1", {"artifact_digest": DIGEST}),
    document(4, "model.updated", "model", "other", {"owner": "x"}),
]
DATAS = [canonical_bytes(d) for d in DOCS]
HASHES: list[str] = []
for data in DATAS:
    HASHES.append(chain_hash(HASHES[-1] if HASHES else GENESIS_HASH, data))
TREE = MemoryTree(leaf_hash(d) for d in DATAS)
NOTE = sign_checkpoint(Checkpoint(SIGNER.name, 4, tree_root(TREE, 4)), SIGNER)


def event(seq: int) -> EvidenceEvent:
    return EvidenceEvent(
        seq=seq,
        canonical=DATAS[seq - 1].decode(),
        prev_hash=HASHES[seq - 2] if seq > 1 else GENESIS_HASH,
        chain_hash=HASHES[seq - 1],
        inclusion_proof=tuple(inclusion_proof(TREE, seq - 1, 4)),
    )


def statement(**changes: Any) -> dict[str, Any]:
    parts: dict[str, Any] = {
        "model": {"name": "m"},
        "version": {"model": "m", "version": 1, "artifact_digest": DIGEST, "artifact_uri": "s3://m/1"},
        "lineage": {"root": "version:m/1", "nodes": [], "edges": []},
        "subjects": [("model_version", "m/1"), ("model", "m")],
        "events": [event(1), event(3)],
        "checkpoint": NOTE,
        "verifier_keys": [SIGNER.verifier.encode()],
        "exported_at": "2025-01-02T00:00:00.000000Z",
        "exported_by": "auditor",
    }
    return evidence_statement(**(parts | changes))


def bundle(value: dict[str, Any] | None = None, *signers: Any) -> bytes:
    return encode_envelope(sign_envelope(value or statement(), *(signers or (SIGNER,))))


def test_a_bundle_says_what_it_proved() -> None:
    report = verify_evidence(bundle(), [SIGNER.verifier])
    assert (report.model, report.version, report.artifact_digest) == ("m", 1, DIGEST)
    assert [(e.seq, e.action, e.subject_id) for e in report.events] == [
        (1, "model.created", "m"),
        (3, "model_version.registered", "m/1"),
    ]
    assert (report.checkpoint.size, report.checkpoint.root) == (4, tree_root(TREE, 4))
    assert report.checkpoint_keys == report.envelope_keys == (SIGNER.verifier,)


def test_the_envelope_is_dsse_over_an_in_toto_statement() -> None:
    envelope = json.loads(bundle())
    assert envelope["payloadType"] == PAYLOAD_TYPE == "application/vnd.in-toto+json"
    payload = base64.b64decode(envelope["payload"])
    [signature] = envelope["signatures"]
    assert signature["keyid"] == f"{SIGNER.name}+{SIGNER.key_id:08x}"
    assert SIGNER.verifier.verify(pae(PAYLOAD_TYPE, payload), base64.b64decode(signature["sig"]))
    assert pae("t", b"body") == b"DSSEv1 1 t 4 body"
    value = json.loads(payload)
    assert value["_type"] == "https://in-toto.io/Statement/v1"
    assert value["subject"] == [{"name": "m/1", "uri": "s3://m/1", "digest": {"sha256": "ab" * 32}}]
    assert b"\n" not in pae(PAYLOAD_TYPE, payload), "a PAE never reads as a checkpoint note"


LIES = {
    "an event about a subject it does not cover": statement(events=[event(1), event(2), event(3)]),
    "events out of order": statement(events=[event(3), event(1)]),
    "no registration event": statement(events=[event(1)]),
    "another version's digest": statement(
        version={
            "model": "m",
            "version": 1,
            "artifact_digest": "sha256:" + "cd" * 32,
            "artifact_uri": "s3://m/1",
        }
    ),
    "a proof into another size": statement(
        events=[
            event(1),
            EvidenceEvent(3, DATAS[2].decode(), HASHES[1], HASHES[2], tuple(inclusion_proof(TREE, 2, 3))),
        ]
    ),
    "a broken chain link": statement(
        events=[EvidenceEvent(1, DATAS[0].decode(), "1" * 64, HASHES[0], event(1).inclusion_proof), event(3)]
    ),
    "a re-encoded event": statement(
        events=[
            event(1),
            EvidenceEvent(3, json.dumps(DOCS[2]), HASHES[1], HASHES[2], event(3).inclusion_proof),
        ]
    ),
    "a checkpoint by another key": statement(
        checkpoint=sign_checkpoint(
            Checkpoint(SIGNER.name, 4, tree_root(TREE, 4)), generate_signer(SIGNER.name)
        )
    ),
}


@pytest.mark.parametrize("lie", list(LIES))
def test_lies_are_refused(lie: str) -> None:
    with pytest.raises(IntegrityError):
        verify_evidence(bundle(LIES[lie]), [SIGNER.verifier])


def test_the_envelope_must_be_signed_by_a_trusted_key_and_be_byte_exact() -> None:
    other = generate_signer("someone")
    with pytest.raises(IntegrityError, match="no trusted key signed the envelope"):
        verify_evidence(bundle(None, other), [SIGNER.verifier])
    both = bundle(None, other, SIGNER)
    assert verify_evidence(both, [SIGNER.verifier]).envelope_keys == (SIGNER.verifier,)
    pretty = json.dumps(json.loads(bundle()), indent=4).encode()
    with pytest.raises(IntegrityError, match="byte-for-byte"):
        verify_evidence(pretty, [SIGNER.verifier])
    with pytest.raises(IntegrityError, match="malformed"):
        verify_evidence(b"\xff\xfe not json", [SIGNER.verifier])
    with pytest.raises(InvalidInput):
        verify_evidence(bundle(), [])


def test_verifier_keys_are_read_one_a_line() -> None:
    text = f"# the log's keys\n{SIGNER.verifier.encode()}\n\n"
    assert parse_verifiers([text]) == [SIGNER.verifier]


def test_only_the_keys_given_are_trusted_across_a_rotation() -> None:
    """A rotation's checkpoint is signed by the old and the new key (the old vouches for the new),
    but the bundle, exported after it, is signed by the new key only: an auditor who holds only the
    old key is refused, told which key to add; the bundle's own list of keys vouches for nothing."""
    new = generate_signer(SIGNER.name)
    crossed = sign_checkpoint(Checkpoint(SIGNER.name, 4, tree_root(TREE, 4)), new, SIGNER)
    listed = [SIGNER.verifier.encode(), new.verifier.encode()]
    after_rotation = bundle(statement(checkpoint=crossed, verifier_keys=listed), new)
    needed = f"{new.name}+{new.key_id:08x}"
    with pytest.raises(IntegrityError, match="no trusted key signed the envelope") as refused:
        verify_evidence(after_rotation, [SIGNER.verifier])
    assert needed in refused.value.message and refused.value.details["signed_by"] == [needed]
    report = verify_evidence(after_rotation, [SIGNER.verifier, new.verifier])
    assert report.checkpoint_keys == (new.verifier, SIGNER.verifier)
    assert report.envelope_keys == (new.verifier,)
    assert verify_evidence(after_rotation, [new.verifier]).checkpoint_keys == (new.verifier,)
    # a checkpoint signed by the new key alone fails for the old key, even in an envelope it signed
    by_new = sign_checkpoint(Checkpoint(SIGNER.name, 4, tree_root(TREE, 4)), new)
    with pytest.raises(IntegrityError, match="no trusted key signed the bundle's checkpoint") as refused:
        verify_evidence(bundle(statement(checkpoint=by_new), SIGNER), [SIGNER.verifier])
    assert needed in refused.value.message and refused.value.details["signed_by"] == [needed]
