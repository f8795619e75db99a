"""Signed notes (https://c2sp.org/signed-note) with Ed25519 keys, and their text encodings.

A note is UTF-8 text ending in a newline, a blank line, then signature lines
``— <key name> <base64(4-byte key id || signature)>``. Keys are written as in Go's
``golang.org/x/mod/sumdb/note``: verifier ``<name>+<hex id>+<base64(0x01 || public key)>`` and
signer ``PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || 32-byte seed)>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from steward.errors import IntegrityError, InvalidInput

ED25519 = 0x01
"""Signature type byte of Ed25519 in key ids and key encodings."""

MAX_SIGNATURES = 100
"""Notes with more signature lines are refused (the spec asks verifiers to accept at least 16)."""

SIGNATURE_PREFIX = "\u2014 "
"""Every signature line starts with an em dash and a space."""

_PRIVATE_PREFIX = "PRIVATE+KEY+"
_HEX_ID = re.compile(r"[0-9a-f]{8}")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")


def key_id(name: str, public_key: bytes) -> int:
    """Ed25519 key id: the first 4 bytes, big-endian, of SHA-256(name || 0x0A || 0x01 || key)."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ED25519]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


@dataclass(frozen=True, slots=True)
class VerifierKey:
    """A named Ed25519 public key that checks note signatures."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        _check_name(self.name)
        if len(self.public_key) != 32:
            raise InvalidInput.field(
                "public_key", "key_size", f"an Ed25519 key has 32 bytes, not {len(self.public_key)}"
            )

    @property
    def key_id(self) -> int:
        return key_id(self.name, self.public_key)

    def encode(self) -> str:
        """The vkey text: ``<name>+<hex key id>+<base64(0x01 || public key)>``."""
        blob = base64.b64encode(bytes([ED25519]) + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id:08x}+{blob}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's Ed25519 signature of ``message``."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


class SignerKey:
    """A named Ed25519 private key that signs notes. Its ``repr`` never shows the secret."""

    __slots__ = ("_private", "verifier")

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self._private = private_key
        public = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.verifier = VerifierKey(name, public)

    @property
    def name(self) -> str:
        return self.verifier.name

    @property
    def key_id(self) -> int:
        return self.verifier.key_id

    def sign(self, message: bytes) -> bytes:
        """Ed25519 signature of ``message`` (64 bytes)."""
        return self._private.sign(message)

    def encode(self) -> str:
        """The secret key text: ``PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>``."""
        seed = self._private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        blob = base64.b64encode(bytes([ED25519]) + seed).decode("ascii")
        return f"{_PRIVATE_PREFIX}{self.name}+{self.key_id:08x}+{blob}"

    def __repr__(self) -> str:
        return f"SignerKey({self.verifier.encode()!r})"


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line: who signed (name and key id) and the signature bytes."""

    name: str
    key_id: int
    signature: bytes

    def line(self) -> str:
        blob = base64.b64encode(self.key_id.to_bytes(4, "big") + self.signature).decode("ascii")
        return f"{SIGNATURE_PREFIX}{self.name} {blob}\n"


@dataclass(frozen=True, slots=True)
class Note:
    """A parsed note: its text (with the final newline) and its signature lines, unverified."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def encode(self) -> str:
        return self.text + "\n" + "".join(sig.line() for sig in self.signatures)


def generate_signer(name: str) -> SignerKey:
    """A new random Ed25519 signer key named ``name``."""
    _check_name(name)
    return SignerKey(name, Ed25519PrivateKey.generate())


def parse_signer(text: str) -> SignerKey:
    """Read a ``PRIVATE+KEY+...`` secret key, checking its key id."""
    if not text.startswith(_PRIVATE_PREFIX):
        raise InvalidInput.field("signer_key", "format", "a signer key starts with PRIVATE+KEY+")
    name, hex_id, blob = _split_key(text[len(_PRIVATE_PREFIX) :], "signer_key")
    seed = _key_blob(blob, "signer_key")
    try:
        signer = SignerKey(name, Ed25519PrivateKey.from_private_bytes(seed))
    except ValueError as error:
        raise InvalidInput.field("signer_key", "key", f"not an Ed25519 seed: {error}") from None
    _check_key_id(signer.key_id, hex_id, "signer_key")
    return signer


def parse_verifier(text: str) -> VerifierKey:
    """Read a ``<name>+<hex id>+<base64>`` verifier key, checking its key id."""
    name, hex_id, blob = _split_key(text, "verifier_key")
    verifier = VerifierKey(name, _key_blob(blob, "verifier_key"))
    _check_key_id(verifier.key_id, hex_id, "verifier_key")
    return verifier


def sign_note(text: str, *signers: SignerKey) -> str:
    """The signed note: ``text``, a blank line, one signature line per signer."""
    if not signers:
        raise InvalidInput.field("signers", "required", "a note needs at least one signer")
    _check_text(text, "text")
    if not text.endswith("\n"):
        raise InvalidInput.field("text", "format", "note text must end with a newline")
    message = text.encode("utf-8")
    signatures = tuple(NoteSignature(signer.name, signer.key_id, signer.sign(message)) for signer in signers)
    return Note(text, signatures).encode()


def parse_note(message: str | bytes) -> Note:
    """Split a signed note into text and signature lines, strictly, without verifying them."""
    if isinstance(message, bytes):
        try:
            message = message.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidInput.field("note", "utf8", f"not valid UTF-8: {error}") from None
    _check_text(message, "note")
    if not message.endswith("\n"):
        raise InvalidInput.field("note", "format", "a signed note must end with a newline")
    split = message.rfind("\n\n")
    if split < 0:
        raise InvalidInput.field("note", "format", "no blank line separates the text from the signatures")
    lines = message[split + 2 : -1].split("\n")
    if lines == [""]:
        raise InvalidInput.field("note", "format", "the note has no signature lines")
    if len(lines) > MAX_SIGNATURES:
        raise InvalidInput.field(
            "note", "too_many_signatures", f"{len(lines)} signatures, at most {MAX_SIGNATURES}"
        )
    return Note(message[: split + 1], tuple(_parse_signature(line) for line in lines))


def open_note(
    message: str | bytes | Note, verifiers: Iterable[VerifierKey]
) -> tuple[Note, tuple[VerifierKey, ...]]:
    """Verify a note against known keys; return it with the keys whose signatures verified.

    Signatures by unknown keys (name and id not both known) are ignored. Raises
    :class:`IntegrityError` if a known key's signature fails or no known key signed.
    """
    note = message if isinstance(message, Note) else parse_note(message)
    known: dict[tuple[str, int], VerifierKey] = {}
    for verifier in verifiers:
        slot = (verifier.name, verifier.key_id)
        if known.setdefault(slot, verifier) != verifier:
            raise InvalidInput.field(
                "verifiers", "ambiguous", f"two keys named {slot[0]} share key id {slot[1]:08x}"
            )
    if not known:
        raise InvalidInput.field("verifiers", "required", "no verifier keys given")
    text = note.text.encode("utf-8")
    verified: list[VerifierKey] = []
    for sig in note.signatures:
        key = known.get((sig.name, sig.key_id))
        if key is None:
            continue
        if not key.verify(text, sig.signature):
            raise IntegrityError(
                f"the signature by {sig.name} (key {sig.key_id:08x}) does not verify",
                {"key_name": sig.name, "key_id": f"{sig.key_id:08x}"},
            )
        if key not in verified:
            verified.append(key)
    if not verified:
        names = sorted({f"{name}+{kid:08x}" for name, kid in known})
        raise IntegrityError(
            "no known key signed this note",
            {
                "known_keys": names,
                "signed_by": [f"{s.name}+{s.key_id:08x}" for s in note.signatures],
            },
        )
    return note, tuple(verified)


def _parse_signature(line: str) -> NoteSignature:
    if not line.startswith(SIGNATURE_PREFIX):
        raise InvalidInput.field(
            "note",
            "signature_line",
            f"a signature line starts with an em dash and a space: {line!r}",
        )
    name, _, blob = line[len(SIGNATURE_PREFIX) :].partition(" ")
    _check_name(name, "note")
    raw = _b64decode(blob, "note", f"signature of {name}")
    if len(raw) < 5:
        raise InvalidInput.field("note", "signature_line", f"signature of {name} is too short")
    return NoteSignature(name, int.from_bytes(raw[:4], "big"), raw[4:])


def _split_key(text: str, field: str) -> tuple[str, str, str]:
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise InvalidInput.field(field, "format", "expected <name>+<hex key id>+<base64 key>")
    name, hex_id, blob = parts
    _check_name(name, field)
    if not _HEX_ID.fullmatch(hex_id):
        raise InvalidInput.field(field, "key_id", f"key id must be 8 lowercase hex digits: {hex_id!r}")
    return name, hex_id, blob


def _key_blob(blob: str, field: str) -> bytes:
    raw = _b64decode(blob, field, "key")
    if len(raw) != 33 or raw[0] != ED25519:
        raise InvalidInput.field(
            field, "key_type", "expected base64 of 0x01 (Ed25519) followed by 32 key bytes"
        )
    return raw[1:]


def _check_key_id(actual: int, hex_id: str, field: str) -> None:
    if f"{actual:08x}" != hex_id:
        raise InvalidInput.field(
            field, "key_id", f"key id {hex_id} does not match the key (expected {actual:08x})"
        )


def _b64decode(text: str, field: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise InvalidInput.field(field, "base64", f"{what} is not standard base64") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise InvalidInput.field(field, "base64", f"{what} is not canonical base64")
    return raw


def _check_name(name: str, field: str = "name") -> None:
    if not name or "+" in name or any(ch.isspace() or ch < " " for ch in name):
        raise InvalidInput.field(
            field, "key_name", f"a key name is non-empty, without spaces or '+': {name!r}"
        )


def _check_text(text: str, field: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidInput.field(field, "utf8", f"not encodable as UTF-8: {error}") from None
    bad = _CONTROL.search(text)
    if bad:
        raise InvalidInput.field(
            field, "control_character", f"control character {bad.group()!r} at offset {bad.start()}"
        )
