"""Evidence bundles: one file that proves what the audit log says about one model version.

The file is a DSSE envelope (https://github.com/secure-systems-lab/dsse) holding an in-toto
Statement v1 (https://github.com/in-toto/attestation) whose predicate carries the version's
record and lineage, every audit event about it as canonical bytes with its inclusion proof, the
signed checkpoint the proofs lead to, and the verifier keys. The envelope is signed with the
ledger's Ed25519 key over DSSE's pre-authentication encoding (PAE), which has no newline, so a
PAE can never read as a checkpoint note signed by the same key.

:func:`verify_evidence` checks a bundle with nothing but the bundle and trusted keys: no server,
no database. The file must be byte-for-byte in the canonical form :func:`encode_envelope` writes,
so any changed byte fails, even in whitespace.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from steward.errors import IntegrityError, InvalidInput, StewardError
from steward.ledger._canonical import canonical_bytes, chain_hash
from steward.ledger._checkpoint import (
    Checkpoint,
    SignedCheckpoint,
    parse_signed_checkpoint,
    verify_checkpoint,
)
from steward.ledger._event import HASHED_FIELDS
from steward.ledger._note import SignerKey, VerifierKey, parse_verifier
from steward.ledger._verify import verify_entry_inclusion

PAYLOAD_TYPE = "application/vnd.in-toto+json"
"""DSSE payload type of an in-toto statement."""

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
"""``_type`` of an in-toto Statement v1."""

PREDICATE_TYPE = "https://steward.dev/evidence-bundle/v1"
"""``predicateType`` of a Steward evidence bundle."""


@dataclass(frozen=True, slots=True)
class EvidenceEvent:
    """One audit event of a bundle: its canonical text, chain links and inclusion proof."""

    seq: int
    canonical: str
    prev_hash: str
    chain_hash: str
    inclusion_proof: tuple[bytes, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "leaf_index": self.seq - 1,
            "canonical": self.canonical,
            "prev_hash": self.prev_hash,
            "chain_hash": self.chain_hash,
            "inclusion_proof": [_b64(h) for h in self.inclusion_proof],
        }


@dataclass(frozen=True, slots=True)
class ProvenEvent:
    """An event :func:`verify_evidence` proved is in the log: what it says, where it sits."""

    seq: int
    time: str
    actor: str
    action: str
    subject_type: str
    subject_id: str


@dataclass(frozen=True, slots=True)
class EvidenceReport:
    """What a bundle proved: which version, which events, which checkpoint, which keys."""

    model: str
    version: int
    artifact_digest: str
    events: tuple[ProvenEvent, ...]
    checkpoint: Checkpoint
    checkpoint_keys: tuple[VerifierKey, ...]
    envelope_keys: tuple[VerifierKey, ...]
    subjects: tuple[tuple[str, str], ...]
    predicate: dict[str, Any]


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE pre-authentication encoding: ``DSSEv1 SP LEN(type) SP type SP LEN(body) SP body``."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def evidence_statement(
    *,
    model: Mapping[str, Any],
    version: Mapping[str, Any],
    lineage: Mapping[str, Any],
    subjects: Sequence[tuple[str, str]],
    events: Sequence[EvidenceEvent],
    checkpoint: str,
    verifier_keys: Sequence[str],
    exported_at: str,
    exported_by: str,
) -> dict[str, Any]:
    """The in-toto statement of a bundle; the subject is the version's artefact and digest."""
    digest = str(version["artifact_digest"])
    return {
        "_type": STATEMENT_TYPE,
        "subject": [
            {
                "name": f"{version['model']}/{version['version']}",
                "uri": version.get("artifact_uri"),
                "digest": {"sha256": digest.removeprefix("sha256:")},
            }
        ],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "model": dict(model),
            "version": dict(version),
            "lineage": dict(lineage),
            "subjects": [[kind, ident] for kind, ident in subjects],
            "events": [event.to_json() for event in events],
            "checkpoint": checkpoint,
            "verifier_keys": list(verifier_keys),
            "exported_at": exported_at,
            "exported_by": exported_by,
        },
    }


def sign_envelope(statement: Mapping[str, Any], *signers: SignerKey) -> dict[str, Any]:
    """A DSSE envelope of the statement's canonical bytes, one signature per signer."""
    if not signers:
        raise InvalidInput.field("signers", "required", "an envelope needs at least one signer")
    payload = canonical_bytes(statement)
    message = pae(PAYLOAD_TYPE, payload)
    return {
        "payload": _b64(payload),
        "payloadType": PAYLOAD_TYPE,
        "signatures": [{"keyid": f"{s.name}+{s.key_id:08x}", "sig": _b64(s.sign(message))} for s in signers],
    }


def encode_envelope(envelope: Mapping[str, Any]) -> bytes:
    """The canonical bytes of a bundle file (sorted keys, two-space indent, ASCII, final newline)."""
    return (json.dumps(envelope, indent=2, sort_keys=True, ensure_ascii=True) + "\n").encode("ascii")


def verify_evidence(data: bytes, keys: Iterable[VerifierKey]) -> EvidenceReport:
    """Verify a bundle against trusted keys; say exactly what it proved.

    Only ``keys`` are trusted: the envelope and the checkpoint must each carry a valid signature by
    one of them. The verifier keys listed inside the bundle, and any rotation it records, are the
    exporter's word and vouch for nothing; a bundle signed by a key the caller was not given (say,
    the key a rotation introduced) fails, naming the key it needs.

    Raises :class:`IntegrityError` on any mismatch: a changed byte, a bad signature, a signature by
    no trusted key, an event whose inclusion proof does not lead to the signed checkpoint, or a
    record that disagrees with the log.
    """
    trusted = list(keys)
    if not trusted:
        raise InvalidInput.field("keys", "required", "give the verifier key(s) the bundle must be signed by")
    try:
        return _verify(data, trusted)
    except IntegrityError:
        raise
    except (StewardError, ValueError, TypeError, KeyError, AttributeError, IndexError) as error:
        message = error.message if isinstance(error, StewardError) else str(error)
        raise IntegrityError(f"the evidence bundle is malformed: {message}") from None


def _verify(data: bytes, keys: list[VerifierKey]) -> EvidenceReport:
    envelope = _object(json.loads(data.decode("utf-8")), "envelope")
    if set(envelope) != {"payload", "payloadType", "signatures"}:
        raise IntegrityError("the bundle is not a DSSE envelope (payload, payloadType, signatures)")
    if encode_envelope(envelope) != data:
        raise IntegrityError(
            "the bundle file is not byte-for-byte as exported (its bytes differ from the canonical form)"
        )
    if envelope["payloadType"] != PAYLOAD_TYPE:
        raise IntegrityError(f"the payload type is {envelope['payloadType']!r}, not {PAYLOAD_TYPE!r}")
    payload = _unb64(envelope["payload"], "payload")
    envelope_keys = _open_envelope(payload, envelope["signatures"], keys)

    statement = _object(json.loads(payload.decode("utf-8")), "statement")
    if canonical_bytes(statement) != payload:
        raise IntegrityError("the statement is not in canonical form")
    if statement.get("_type") != STATEMENT_TYPE or statement.get("predicateType") != PREDICATE_TYPE:
        raise IntegrityError("the payload is not a Steward evidence statement")
    predicate = _object(statement["predicate"], "predicate")
    version = _object(predicate["version"], "version")
    model, number, digest = str(version["model"]), int(version["version"]), str(version["artifact_digest"])
    [subject] = statement["subject"]
    if subject.get("digest") != {"sha256": digest.removeprefix("sha256:")} or subject.get("name") != (
        f"{model}/{number}"
    ):
        raise IntegrityError("the statement's subject does not match the version record")

    signed = _open_checkpoint(str(predicate["checkpoint"]), keys)
    checkpoint = signed.checkpoint
    subjects = tuple((str(kind), str(ident)) for kind, ident in predicate["subjects"])
    if ("model_version", f"{model}/{number}") not in subjects:
        raise IntegrityError(f"the bundle does not cover model_version {model}/{number}")

    proven: list[ProvenEvent] = []
    registered: dict[str, Any] | None = None
    last = 0
    for item in predicate["events"]:
        event = _event(_object(item, "event"), checkpoint, last)
        last = event[0].seq
        proven.append(event[0])
        if (event[0].subject_type, event[0].subject_id) not in subjects:
            raise IntegrityError(
                f"event {last} is about {event[0].subject_type} {event[0].subject_id}, "
                "which the bundle does not cover"
            )
        if event[0].action == "model_version.registered" and event[0].subject_id == f"{model}/{number}":
            registered = event[1].get("after")
    if registered is None:
        raise IntegrityError(f"the bundle holds no model_version.registered event for {model}/{number}")
    if registered.get("artifact_digest") != digest:
        raise IntegrityError(
            "the version record's artifact digest differs from the one registered in the log",
            {"record": digest, "registered": registered.get("artifact_digest")},
        )
    return EvidenceReport(
        model=model,
        version=number,
        artifact_digest=digest,
        events=tuple(proven),
        checkpoint=checkpoint,
        checkpoint_keys=signed.verified_by,
        envelope_keys=envelope_keys,
        subjects=subjects,
        predicate=predicate,
    )


def _event(item: dict[str, Any], checkpoint: Checkpoint, last: int) -> tuple[ProvenEvent, dict[str, Any]]:
    seq = item["seq"]
    if not isinstance(seq, int) or seq <= last:
        raise IntegrityError(f"event seq {seq!r} is out of order (after {last})")
    if item["leaf_index"] != seq - 1:
        raise IntegrityError(f"event {seq} claims leaf index {item['leaf_index']}, not {seq - 1}")
    data = str(item["canonical"]).encode("utf-8")
    document = _object(json.loads(data), f"event {seq}")
    if set(document) != set(HASHED_FIELDS) or canonical_bytes(document) != data:
        raise IntegrityError(f"event {seq} is not a canonical audit event")
    if document["seq"] != seq:
        raise IntegrityError(f"event {seq} holds seq {document['seq']}")
    if chain_hash(str(item["prev_hash"]), data) != item["chain_hash"]:
        raise IntegrityError(f"event {seq} does not match its chain hash", {"seq": seq})
    if seq > checkpoint.size:
        raise IntegrityError(f"event {seq} is not in the checkpoint of size {checkpoint.size}", {"seq": seq})
    proof = [_unb64(h, f"inclusion proof of event {seq}") for h in item["inclusion_proof"]]
    try:
        verify_entry_inclusion(data, seq - 1, checkpoint, proof)
    except IntegrityError as error:
        raise IntegrityError(
            f"event {seq} is not in the signed log: {error.message}", {"seq": seq, **error.details}
        ) from None
    event = ProvenEvent(
        seq=seq,
        time=str(document["time"]),
        actor=str(document["actor"]),
        action=str(document["action"]),
        subject_type=str(document["subject_type"]),
        subject_id=str(document["subject_id"]),
    )
    return event, document


def _open_envelope(payload: bytes, signatures: Any, keys: list[VerifierKey]) -> tuple[VerifierKey, ...]:
    known = {f"{k.name}+{k.key_id:08x}": k for k in keys}
    message = pae(PAYLOAD_TYPE, payload)
    verified: list[VerifierKey] = []
    if not isinstance(signatures, list) or not signatures:
        raise IntegrityError("the envelope has no signatures")
    for entry in signatures:
        key = known.get(str(_object(entry, "signature").get("keyid")))
        if key is None:
            continue
        if not key.verify(message, _unb64(entry["sig"], "signature")):
            raise IntegrityError(f"the envelope signature by {entry['keyid']} does not verify")
        if key not in verified:
            verified.append(key)
    if not verified:
        signed_by = [str(e.get("keyid")) for e in signatures if isinstance(e, dict)]
        raise IntegrityError(
            f"no trusted key signed the envelope: it is signed by key {', '.join(signed_by) or 'none'}, "
            f"and the keys given are {_names(keys)}; verify with that key (once you have confirmed it)",
            {"signed_by": signed_by, "trusted_keys": sorted(known)},
        )
    return tuple(verified)


def _open_checkpoint(note: str, keys: list[VerifierKey]) -> SignedCheckpoint:
    """The bundle's checkpoint, verified by the trusted keys; a refusal names the keys it needs."""
    signed = parse_signed_checkpoint(note)
    try:
        return verify_checkpoint(signed, keys)
    except IntegrityError as error:
        if "signed_by" not in error.details:  # a trusted key's signature failed: say so as it is
            raise
        signed_by = [str(name) for name in error.details["signed_by"]]
        raise IntegrityError(
            f"no trusted key signed the bundle's checkpoint (size {signed.checkpoint.size}): it is "
            f"signed by key {', '.join(signed_by) or 'none'}, and the keys given are {_names(keys)}; "
            "verify with that key (once you have confirmed it)",
            {"signed_by": signed_by, "trusted_keys": [_name(k) for k in keys]},
        ) from None


def _name(key: VerifierKey) -> str:
    return f"{key.name}+{key.key_id:08x}"


def _names(keys: Iterable[VerifierKey]) -> str:
    return ", ".join(dict.fromkeys(_name(k) for k in keys))


def parse_verifiers(texts: Iterable[str]) -> list[VerifierKey]:
    """Verifier keys from text: one ``<name>+<id>+<base64>`` key per non-empty, non-``#`` line."""
    keys: list[VerifierKey] = []
    for text in texts:
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                keys.append(parse_verifier(line))
    return keys


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise IntegrityError(f"the bundle's {what} is not a JSON object")
    return value


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: Any, what: str) -> bytes:
    try:
        raw = base64.b64decode(str(text), validate=True)
    except binascii.Error:
        raise IntegrityError(f"the bundle's {what} is not base64") from None
    if _b64(raw) != text:
        raise IntegrityError(f"the bundle's {what} is not canonical base64")
    return raw
