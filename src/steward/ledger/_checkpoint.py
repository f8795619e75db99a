"""Checkpoints (https://c2sp.org/tlog-checkpoint): the signed size and root of the ledger's tree.

The note text is the origin, the tree size in decimal, the base64 root hash, then optional
extension lines, each ending in a newline. Steward writes at most one extension line,
``timestamp <YYYY-MM-DDTHH:MM:SSZ>``, only when asked (the spec discourages extension lines: log
monitors cannot audit them).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from steward.errors import IntegrityError, InvalidInput
from steward.ledger._merkle import HASH_SIZE
from steward.ledger._note import (
    Note,
    NoteSignature,
    SignerKey,
    VerifierKey,
    open_note,
    parse_note,
    sign_note,
)

MAX_TREE_SIZE = 2**63 - 1
"""Largest tree size accepted (what a signed 64-bit database column holds)."""

TIMESTAMP_PREFIX = "timestamp "
"""Start of the one extension line Steward gives a meaning to."""

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_CONTROL = re.compile(r"[\x00-\x1f]")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The tree head of a log: origin, size, root, optional timestamp and extension lines.

    A timestamp is kept in UTC to the second (the precision of its line).
    """

    origin: str
    size: int
    root: bytes
    timestamp: datetime | None = None
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.origin, "origin")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise InvalidInput.field("size", "range", f"tree size out of range: {self.size}")
        if len(self.root) != HASH_SIZE:
            raise InvalidInput.field("root", "hash_size", f"root has {len(self.root)} bytes, not 32")
        if self.timestamp is not None:
            if self.timestamp.tzinfo is None:
                raise InvalidInput.field("timestamp", "timezone", "timestamp must be timezone-aware")
            normal = self.timestamp.astimezone(UTC).replace(microsecond=0)
            object.__setattr__(self, "timestamp", normal)
        for line in self.extensions:
            _check_line(line, "extensions")
            if line.startswith(TIMESTAMP_PREFIX):
                raise InvalidInput.field(
                    "extensions", "reserved", "give the timestamp as timestamp=, not as a line"
                )

    def text(self) -> str:
        """The note text that is signed."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode("ascii")]
        if self.timestamp is not None:
            lines.append(TIMESTAMP_PREFIX + self.timestamp.strftime(_TIME_FORMAT))
        lines.extend(self.extensions)
        return "".join(line + "\n" for line in lines)


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A checkpoint with its signature lines; ``verified_by`` lists the keys that verified."""

    checkpoint: Checkpoint
    note: Note
    verified_by: tuple[VerifierKey, ...] = ()

    @property
    def signatures(self) -> tuple[NoteSignature, ...]:
        return self.note.signatures

    def encode(self) -> str:
        """The signed note text, as it was parsed."""
        return self.note.encode()


def sign_checkpoint(checkpoint: Checkpoint, *signers: SignerKey) -> str:
    """The signed checkpoint note, one signature line per signer."""
    return sign_note(checkpoint.text(), *signers)


def parse_checkpoint(text: str) -> Checkpoint:
    """Read a checkpoint's note text strictly (every line ending in a newline)."""
    if not text.endswith("\n"):
        raise InvalidInput.field("checkpoint", "format", "checkpoint text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise InvalidInput.field(
            "checkpoint", "format", "a checkpoint has an origin, a size and a root hash line"
        )
    origin, size_text, root_text, *extensions = lines
    for number, line in enumerate(lines, start=1):
        if not line:
            raise InvalidInput.field("checkpoint", "format", f"line {number} is empty")
    if not _DECIMAL.fullmatch(size_text):
        raise InvalidInput.field(
            "checkpoint.size",
            "decimal",
            f"size must be decimal without leading zeros: {size_text!r}",
        )
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error:
        raise InvalidInput.field("checkpoint.root", "base64", "root hash is not base64") from None
    if len(root) != HASH_SIZE or base64.b64encode(root).decode("ascii") != root_text:
        raise InvalidInput.field(
            "checkpoint.root", "hash_size", "root hash must be canonical base64 of 32 bytes"
        )
    timestamp = None
    if extensions and extensions[0].startswith(TIMESTAMP_PREFIX):
        timestamp = _parse_timestamp(extensions.pop(0)[len(TIMESTAMP_PREFIX) :])
    return Checkpoint(origin, int(size_text), root, timestamp, tuple(extensions))


def parse_signed_checkpoint(message: str | bytes) -> SignedCheckpoint:
    """Read a signed checkpoint strictly, without verifying its signatures."""
    note = parse_note(message)
    return SignedCheckpoint(parse_checkpoint(note.text), note)


def verify_checkpoint(
    message: str | bytes | SignedCheckpoint,
    verifiers: Iterable[VerifierKey],
    *,
    origin: str | None = None,
) -> SignedCheckpoint:
    """Verify a signed checkpoint against known keys (old and new keys alike, for rotation).

    Raises :class:`IntegrityError` if a known key's signature fails, no known key signed, or the
    origin is not the expected one; :class:`InvalidInput` if the text is malformed.
    """
    signed = message if isinstance(message, SignedCheckpoint) else parse_signed_checkpoint(message)
    _, keys = open_note(signed.note, verifiers)
    if origin is not None and signed.checkpoint.origin != origin:
        raise IntegrityError(
            f"checkpoint is for log {signed.checkpoint.origin!r}, not {origin!r}",
            {"origin": signed.checkpoint.origin, "expected": origin},
        )
    return dataclasses.replace(signed, verified_by=keys)


def _parse_timestamp(text: str) -> datetime:
    if not _TIMESTAMP.fullmatch(text):
        raise InvalidInput.field(
            "checkpoint.timestamp", "format", f"timestamp must read YYYY-MM-DDTHH:MM:SSZ: {text!r}"
        )
    try:
        return datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise InvalidInput.field("checkpoint.timestamp", "format", f"not a valid time: {text!r}") from None


def _check_line(line: str, field: str) -> None:
    if not line:
        raise InvalidInput.field(field, "required", "must not be empty")
    bad = _CONTROL.search(line)
    if bad:
        raise InvalidInput.field(field, "control_character", f"holds control character {bad.group()!r}")
