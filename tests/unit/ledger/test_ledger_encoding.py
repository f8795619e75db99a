"""The worked example of docs/reference/audit-encoding.md, pinned."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from steward.ledger import (
    GENESIS_HASH,
    Checkpoint,
    canonical_bytes,
    chain_hash,
    leaf_hash,
    merkle_root,
    parse_signer,
    sign_checkpoint,
    verify_checkpoint,
)
from steward.ledger._event import encode_json, seal, seal_encoded

EVENT = {
    "seq": 1,
    "time": "2025-01-02T03:04:05.000000Z",
    "actor": "user:alice",
    "action": "model.registered",
    "subject_type": "model",
    "subject_id": "fraud-detector",
    "before": None,
    "after": {"name": "fraud-detector", "risk_tier": "high", "auc": 0.91},
    "reason": "",
    "request_id": "req-1",
    "client_address": "10.0.0.1",
    "user_agent": "steward-cli/0.1 \u00e9",
}
CANONICAL = (
    '{"action":"model.registered","actor":"user:alice","after":{"auc":0.91,"name":"fraud-detector",'
    '"risk_tier":"high"},"before":null,"client_address":"10.0.0.1","reason":"","request_id":"req-1",'
    '"seq":1,"subject_id":"fraud-detector","subject_type":"model",'
    '"time":"2025-01-02T03:04:05.000000Z","user_agent":"steward-cli/0.1 \u00e9"}'
)
SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
CHECKPOINT = (
    "steward.example/audit\n1\nx/g9bVEqwHilJ/M75Z9d/ET2cHiGcfRHQWkLwnIxpZg=\n\n"
    "\u2014 PeterNeumann x08gowkKbWL/oPB+WGEXe8Tz8wf+b9+GPRjPeGXIw3NCAzkvLzHzfrzCKRoBxHnUF2Xl"
    "QfENM3LeN7tsd9zO8FdADQU=\n"
)


def test_the_worked_example_holds() -> None:
    data = canonical_bytes(EVENT)
    assert data == CANONICAL.encode("utf-8")
    assert len(data) == 321
    assert leaf_hash(data).hex() == ("c7f83d6d512ac078a527f33be59f5dfc44f670788671f44741690bc27231a598")
    assert chain_hash(GENESIS_HASH, data) == (
        "b2583a0cc8ae920fe9b75b3a1dddf67bafc97160a0778f5ecdc15ba9dc9eaac3"
    )
    signer = parse_signer(SKEY)
    checkpoint = Checkpoint("steward.example/audit", 1, merkle_root([leaf_hash(data)]))
    assert sign_checkpoint(checkpoint, signer) == CHECKPOINT
    assert verify_checkpoint(CHECKPOINT, [signer.verifier]).checkpoint == checkpoint


def test_canonical_json_rules_written_in_the_reference() -> None:
    value = {"b": [1, 2.5, 1e16, 1e-7, 1.0, True, None], "a": 'x"\n\x01/\x7f\u00e9', "Z": -3}
    assert canonical_bytes(value) == (
        '{"Z":-3,"a":"x\\"\\n\\u0001/\x7f\u00e9","b":[1,2.5,1e+16,1e-07,1.0,true,null]}'
    ).encode("utf-8")


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
_text = st.text() | st.none()


@given(
    seq=st.integers(min_value=1, max_value=2**53),
    texts=st.lists(st.text(), min_size=5, max_size=5),
    optional=st.lists(_text, min_size=3, max_size=3),
    before=st.none() | st.dictionaries(st.text(), _json, max_size=5),
    after=st.none() | st.dictionaries(st.text(), _json, max_size=5),
)
def test_sealing_with_the_stored_texts_spliced_in_gives_the_canonical_bytes(
    seq: int, texts: list[str], optional: list[str | None], before: Any, after: Any
) -> None:
    fields = {
        "seq": seq,
        "time": texts[0],
        "actor": texts[1],
        "action": texts[2],
        "subject_type": texts[3],
        "subject_id": texts[4],
        "before": before,
        "after": after,
        "reason": "",
        "request_id": optional[0],
        "client_address": optional[1],
        "user_agent": optional[2],
    }
    data, chained, before_text, after_text = seal_encoded(GENESIS_HASH, fields)
    assert (data, chained) == seal(GENESIS_HASH, fields)
    assert data == canonical_bytes(fields)
    assert (before_text, after_text) == (encode_json(before), encode_json(after))
