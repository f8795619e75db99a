"""Signed notes and keys against the reference implementation's published examples."""

from __future__ import annotations

import base64

import pytest

from steward.errors import IntegrityError, InvalidInput
from steward.ledger import generate_signer, parse_signer, parse_verifier
from steward.ledger._note import key_id, open_note, parse_note, sign_note

# Example key and note from the documentation of golang.org/x/mod/sumdb/note (data only).
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSN"
    "XgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
# Example from c2sp.org/signed-note.
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi"
    "2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)


def test_keys_and_signature_match_the_go_reference_byte_for_byte() -> None:
    signer = parse_signer(GO_SKEY)
    assert signer.name == "PeterNeumann"
    assert signer.key_id == 0xC74F20A3
    assert signer.encode() == GO_SKEY
    assert signer.verifier.encode() == GO_VKEY
    assert parse_verifier(GO_VKEY) == signer.verifier
    assert sign_note(GO_TEXT, signer) == GO_NOTE  # Ed25519 is deterministic


def test_reference_notes_verify() -> None:
    note, keys = open_note(GO_NOTE, [parse_verifier(GO_VKEY)])
    assert note.text == GO_TEXT
    assert [k.name for k in keys] == ["PeterNeumann"]
    note, keys = open_note(SPEC_NOTE, [parse_verifier(SPEC_VKEY)])
    assert note.text == "This is an example message.\n"
    assert keys[0].key_id == 0x530D903A


def test_key_id_is_sha256_of_name_newline_type_and_key() -> None:
    verifier = parse_verifier(GO_VKEY)
    assert key_id("PeterNeumann", verifier.public_key) == 0xC74F20A3
    assert key_id("PeterNeumann2", verifier.public_key) != 0xC74F20A3


def test_generated_keys_round_trip_and_keep_the_secret_out_of_repr() -> None:
    signer = generate_signer("steward.example/audit")
    again = parse_signer(signer.encode())
    assert again.verifier == signer.verifier
    assert parse_verifier(signer.verifier.encode()) == signer.verifier
    assert signer.encode().split("+")[4] not in repr(signer)
    assert repr(signer).startswith("SignerKey('steward.example/audit+")
    message = b"text\n"
    assert signer.verifier.verify(message, again.sign(message))
    assert not signer.verifier.verify(message + b"!", again.sign(message))


def test_a_failing_signature_by_a_known_key_rejects_the_note() -> None:
    forged = GO_NOTE.replace("x08go/ZJ", "x08go/ZK")
    with pytest.raises(IntegrityError, match=r"PeterNeumann \(key c74f20a3\) does not verify"):
        open_note(forged, [parse_verifier(GO_VKEY)])


def test_unknown_signers_are_ignored_but_one_known_signature_is_needed() -> None:
    other = generate_signer("PeterNeumann")  # same name, different key id
    with pytest.raises(IntegrityError, match="no known key signed"):
        open_note(GO_NOTE, [other.verifier])
    cosigned = GO_NOTE + sign_note(GO_TEXT, other).split("\n\n")[1]
    _, keys = open_note(cosigned, [parse_verifier(GO_VKEY)])
    assert [k.key_id for k in keys] == [0xC74F20A3]
    _, keys = open_note(cosigned, [parse_verifier(GO_VKEY), other.verifier])
    assert len(keys) == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("PeterNeumann+c74f20a3", "expected <name>"),
        ("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "lowercase hex"),
        ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "does not match"),
        ("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "key name"),
        ("+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "key name"),
        ("PeterNeumann+c74f20a3+Apc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "base64"),
        ("PeterNeumann+c74f20a3+" + base64.b64encode(b"\x02" + bytes(32)).decode(), "0x01"),
        ("PeterNeumann+c74f20a3+" + base64.b64encode(b"\x01" + bytes(31)).decode(), "0x01"),
    ],
)
def test_malformed_verifier_keys_are_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_verifier(text)


def test_malformed_signer_keys_are_refused() -> None:
    with pytest.raises(InvalidInput, match="PRIVATE"):
        parse_signer(GO_VKEY)
    with pytest.raises(InvalidInput, match="does not match"):
        parse_signer(GO_SKEY.replace("c74f20a3", "c74f20a4"))


@pytest.mark.parametrize(
    ("note", "message"),
    [
        (GO_NOTE[:-1], "end with a newline"),
        ("text\n— PeterNeumann AAAAAAA=\n", "no blank line"),
        (GO_TEXT + "\n\n", "no signature lines"),
        (GO_NOTE.replace("—", "-"), "em dash"),
        (GO_NOTE.replace("— PeterNeumann", "— Peter+Neumann"), "key name"),
        (GO_NOTE.replace("— PeterNeumann", "—  PeterNeumann"), "key name"),
        (GO_NOTE.replace("x08go", "x08g!"), "base64"),
        (GO_NOTE.replace("AM=\n", "AM\n"), "base64"),
        (GO_TEXT + "\n— PeterNeumann AAAA\n", "too short"),
        (GO_NOTE.replace("If you", "If\ryou"), "control character"),
        (GO_NOTE + "— PeterNeumann AAAAAAA=\n" * 100, "at most 100"),
    ],
)
def test_malformed_notes_are_refused(note: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_note(note)


def test_notes_must_be_utf8() -> None:
    with pytest.raises(InvalidInput, match="UTF-8"):
        parse_note(b"\xff\n\n\xe2\x80\x94 a AAAAAAA=\n")
    assert parse_note(GO_NOTE.encode()).text == GO_TEXT


def test_signing_needs_a_signer_and_clean_text() -> None:
    signer = parse_signer(GO_SKEY)
    with pytest.raises(InvalidInput, match="at least one signer"):
        sign_note(GO_TEXT)
    with pytest.raises(InvalidInput, match="end with a newline"):
        sign_note("no newline", signer)
    with pytest.raises(InvalidInput, match="control character"):
        sign_note("tab\there\n", signer)
