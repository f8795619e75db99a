"""Checkpoints: exact format, signatures, key rotation, strict parsing."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from steward.errors import IntegrityError, InvalidInput
from steward.ledger import (
    Checkpoint,
    generate_signer,
    parse_checkpoint,
    parse_signed_checkpoint,
    parse_signer,
    sign_checkpoint,
    verify_checkpoint,
)

ROOT = hashlib.sha256(b"root").digest()
ROOT_B64 = base64.b64encode(ROOT).decode()
SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"


def test_the_signed_text_is_exactly_the_c2sp_format() -> None:
    signer = parse_signer(SKEY)
    note = sign_checkpoint(Checkpoint("steward.example/audit", 20852163, ROOT), signer)
    text, signature = note.split("\n\n")
    assert text == f"steward.example/audit\n20852163\n{ROOT_B64}"
    assert signature.startswith("\u2014 PeterNeumann ")
    blob = base64.b64decode(signature.split(" ")[2])
    assert blob[:4] == bytes.fromhex("c74f20a3")
    assert len(blob) == 68
    assert signer.verifier.verify((text + "\n").encode(), blob[4:])


def test_round_trip_with_timestamp_and_extensions() -> None:
    signer = generate_signer("steward.example/audit")
    at = datetime(2025, 3, 4, 5, 6, 7, 890, tzinfo=timezone(timedelta(hours=2)))
    checkpoint = Checkpoint("steward.example/audit", 42, ROOT, at, ("note one",))
    assert checkpoint.timestamp == datetime(2025, 3, 4, 3, 6, 7, tzinfo=UTC)
    assert checkpoint.text() == (
        f"steward.example/audit\n42\n{ROOT_B64}\ntimestamp 2025-03-04T03:06:07Z\nnote one\n"
    )
    note = sign_checkpoint(checkpoint, signer)
    signed = verify_checkpoint(note, [signer.verifier], origin="steward.example/audit")
    assert signed.checkpoint == checkpoint
    assert signed.verified_by == (signer.verifier,)
    assert signed.encode() == note
    assert parse_checkpoint(checkpoint.text()) == checkpoint


def test_a_wrong_key_is_refused() -> None:
    signer, stranger = generate_signer("log"), generate_signer("log")
    note = sign_checkpoint(Checkpoint("log", 1, ROOT), signer)
    with pytest.raises(IntegrityError, match="no known key signed"):
        verify_checkpoint(note, [stranger.verifier])


def test_any_changed_byte_is_refused() -> None:
    signer = generate_signer("log")
    note = sign_checkpoint(Checkpoint("log", 12345, ROOT), signer)
    for offset, char in enumerate(note):
        changed = note[:offset] + ("1" if char != "1" else "2") + note[offset + 1 :]
        with pytest.raises((IntegrityError, InvalidInput)):
            verify_checkpoint(changed, [signer.verifier])


def test_rotated_keys_stay_valid_for_what_they_signed() -> None:
    old, new = generate_signer("steward.example/audit"), generate_signer("steward.example/audit")
    assert old.key_id != new.key_id
    before = sign_checkpoint(Checkpoint("steward.example/audit", 10, ROOT), old)
    during = sign_checkpoint(Checkpoint("steward.example/audit", 20, ROOT), old, new)
    after = sign_checkpoint(Checkpoint("steward.example/audit", 30, ROOT), new)
    keys = [new.verifier, old.verifier]
    assert verify_checkpoint(before, keys).verified_by == (old.verifier,)
    assert verify_checkpoint(during, keys).verified_by == (old.verifier, new.verifier)
    assert verify_checkpoint(after, keys).verified_by == (new.verifier,)
    assert verify_checkpoint(during, [new.verifier]).checkpoint.size == 20
    with pytest.raises(IntegrityError):
        verify_checkpoint(before, [new.verifier])


def test_the_origin_can_be_pinned() -> None:
    signer = generate_signer("other.example/log")
    note = sign_checkpoint(Checkpoint("other.example/log", 3, ROOT), signer)
    with pytest.raises(IntegrityError, match=r"not 'steward\.example/audit'"):
        verify_checkpoint(note, [signer.verifier], origin="steward.example/audit")


def test_parse_keeps_the_signatures_unverified() -> None:
    signer = parse_signer(SKEY)
    signed = parse_signed_checkpoint(sign_checkpoint(Checkpoint("log", 0, ROOT), signer).encode())
    assert signed.checkpoint == Checkpoint("log", 0, ROOT)
    assert signed.verified_by == ()
    assert [(s.name, s.key_id) for s in signed.signatures] == [("PeterNeumann", 0xC74F20A3)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"log\n1\n{ROOT_B64}", "end with a newline"),
        ("log\n1\n", "origin, a size and a root"),
        (f"\n1\n{ROOT_B64}\n", "line 1 is empty"),
        (f"log\n01\n{ROOT_B64}\n", "without leading zeros"),
        (f"log\n-1\n{ROOT_B64}\n", "without leading zeros"),
        (f"log\n\uff11\n{ROOT_B64}\n", "without leading zeros"),
        (f"log\n1 \n{ROOT_B64}\n", "without leading zeros"),
        (f"log\n{2**63}\n{ROOT_B64}\n", "out of range"),
        (f"log\n1\n{ROOT_B64[:-1]}\n", "base64"),
        (f"log\n1\n{base64.b64encode(ROOT[:31]).decode()}\n", "32 bytes"),
        (f"log\n1\n{ROOT_B64}\n\nextra\n", "line 4 is empty"),
        (f"log\n1\n{ROOT_B64}\ntimestamp 2025-13-01T00:00:00Z\n", "not a valid time"),
        (f"log\n1\n{ROOT_B64}\ntimestamp 2025-01-01 00:00:00\n", "YYYY-MM-DD"),
        (f"log\n1\n{ROOT_B64}\nfirst\ntimestamp 2025-01-01T00:00:00Z\n", "timestamp="),
        (f"l\x7fog\n1\n{ROOT_B64}\n", None),
        (f"l\x01og\n1\n{ROOT_B64}\n", "control character"),
    ],
)
def test_malformed_checkpoints_are_refused(text: str, message: str | None) -> None:
    if message is None:  # DEL is not an ASCII control character in the spec's sense
        assert parse_checkpoint(text).origin == "l\x7fog"
        return
    with pytest.raises(InvalidInput, match=message):
        parse_checkpoint(text)


def test_bad_checkpoint_values_are_refused() -> None:
    with pytest.raises(InvalidInput, match="root has 31 bytes"):
        Checkpoint("log", 1, ROOT[:31])
    with pytest.raises(InvalidInput, match="out of range"):
        Checkpoint("log", -1, ROOT)
    with pytest.raises(InvalidInput, match="must not be empty"):
        Checkpoint("", 1, ROOT)
    with pytest.raises(InvalidInput, match="control character"):
        Checkpoint("log\nforged", 1, ROOT)
    with pytest.raises(InvalidInput, match="timezone-aware"):
        Checkpoint("log", 1, ROOT, datetime(2025, 1, 1))
    with pytest.raises(InvalidInput, match="must not be empty"):
        Checkpoint("log", 1, ROOT, None, ("",))
