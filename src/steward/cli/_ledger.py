"""``steward ledger …``, ``steward evidence …`` and ``steward audit reads``.

Proofs and checkpoints come from the database (``--db``) or a server (``--server``); whatever
comes back is checked here before it is printed. ``evidence verify`` needs neither: the bundle and
a trusted key are enough.
"""

from __future__ import annotations

import base64
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Protocol

import typer

from steward import wire
from steward.cli._admin import audit_app
from steward.cli._app import app, state_of
from steward.cli._backend import LocalBackend, RemoteBackend
from steward.cli._output import Json, emit_json, err, out, table
from steward.errors import IntegrityError, InvalidInput, StewardError
from steward.ledger import (
    Checkpoint,
    EvidenceReport,
    VerifierKey,
    canonical_bytes,
    leaf_hash,
    parse_signed_checkpoint,
    parse_verifier,
    parse_verifiers,
    verify_checkpoint,
    verify_checkpoint_consistency,
    verify_evidence,
    verify_inclusion,
)
from steward.ledger._event import event_document, format_time
from steward.storage import ReadAccessFilter

ledger_app = typer.Typer(help="The verifiable audit ledger: checkpoints, proofs, keys.", no_args_is_help=True)
evidence_app = typer.Typer(help="Evidence bundles of model versions, verified offline.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")
app.add_typer(evidence_app, name="evidence")

Keys = Annotated[
    list[str] | None,
    typer.Option("--key", help="A verifier key `<name>+<id>+<base64>`, or a file of them. Repeatable."),
]


def read_keys(values: list[str] | None) -> list[str]:
    """Verifier key texts from ``--key`` values: each a key, or a file holding keys (one a line)."""
    texts: list[str] = []
    for value in values or []:
        path = Path(value).expanduser()
        if "+" not in value or path.is_file():
            try:
                texts.append(path.read_text(encoding="utf-8"))
            except OSError as error:
                raise InvalidInput.field(
                    "--key", "key", f"{value}: not a key and not a readable file ({error})"
                ) from None
        else:
            texts.append(value)
    return texts


def _verifiers(values: list[str] | None) -> list[VerifierKey]:
    keys = parse_verifiers(read_keys(values))
    if values and not keys:
        raise InvalidInput.field("--key", "key", "no verifier key found in the given values")
    return keys


class _Ledger(Protocol):
    def checkpoint(self, size: int | None = None) -> wire.CheckpointOut: ...
    def ledger_keys(self) -> list[wire.LedgerKeyOut]: ...
    def inclusion_proof(self, seq: int, size: int | None = None) -> wire.InclusionProofOut: ...
    def consistency_proof(self, old_size: int, new_size: int | None = None) -> wire.ConsistencyProofOut: ...
    def export_evidence(self, model: str, version: int) -> bytes: ...
    def list_reads(self, **where: Any) -> wire.Page[wire.ReadAccessOut]: ...


class _LocalLedger:
    """The ledger's use cases on the database, answering with the API's schemas."""

    def __init__(self, local: LocalBackend) -> None:
        self.steward, self.caller = local.steward, local.caller

    def checkpoint(self, size: int | None = None) -> wire.CheckpointOut:
        return wire.CheckpointOut.of(self.steward.ledger.checkpoint(self.caller, size))

    def ledger_keys(self) -> list[wire.LedgerKeyOut]:
        return [wire.LedgerKeyOut.model_validate(k) for k in self.steward.ledger.list_keys(self.caller)]

    def inclusion_proof(self, seq: int, size: int | None = None) -> wire.InclusionProofOut:
        return wire.InclusionProofOut.of(self.steward.ledger.inclusion_proof(self.caller, seq, size))

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> wire.ConsistencyProofOut:
        return wire.ConsistencyProofOut.of(
            self.steward.ledger.consistency_proof(self.caller, old_size, new_size)
        )

    def export_evidence(self, model: str, version: int) -> bytes:
        return self.steward.evidence.export(self.caller, model, version)

    def list_reads(self, **where: Any) -> wire.Page[wire.ReadAccessOut]:
        size, token = where.pop("page_size"), where.pop("page_token")
        page = self.steward.reads.list_reads(self.caller, ReadAccessFilter(**where), size, token)
        return wire.Page[wire.ReadAccessOut](
            items=[wire.ReadAccessOut.model_validate(r) for r in page.items], next_page_token=page.next_token
        )


def _ledger(ctx: typer.Context) -> _Ledger:
    backend = state_of(ctx).backend()
    return _LocalLedger(backend) if isinstance(backend, LocalBackend) else backend  # type: ignore[return-value]


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _log_keys(ledger: _Ledger, pins: list[VerifierKey]) -> list[VerifierKey]:
    """The keys to check signatures with: the pinned ones, else every key the log publishes."""
    return pins or parse_verifiers(k.vkey for k in ledger.ledger_keys())


# -- ledger ------------------------------------------------------------------------------------


@ledger_app.command("checkpoint")
def ledger_checkpoint(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the signed note to this file.")
    ] = None,
    size: Annotated[int | None, typer.Option(help="A kept checkpoint's size (default: latest).")] = None,
    as_json: Json = False,
) -> None:
    """Print (or save) the latest signed checkpoint, a C2SP signed note: keep it to check later
    that the log was only ever appended to (`steward ledger verify --checkpoint FILE`)."""
    found = _ledger(ctx).checkpoint(size)
    if output is not None:
        output.write_text(found.note, encoding="utf-8")
        err.print(f"wrote the checkpoint of size {found.size} to {output}")
    if as_json:
        emit_json(found)
    elif output is None:
        sys.stdout.write(found.note)


@ledger_app.command("keys")
def ledger_keys(ctx: typer.Context, as_json: Json = False) -> None:
    """List the keys that sign or signed checkpoints (retired keys stay published)."""
    keys = _ledger(ctx).ledger_keys()
    if as_json:
        emit_json(keys)
        return
    table(
        keys,
        [
            ("key id", lambda k: k.key_id),
            ("valid from", lambda k: f"{k.valid_from:%Y-%m-%d %H:%M:%S}"),
            ("retired", lambda k: f"{k.retired_at:%Y-%m-%d %H:%M:%S}" if k.retired_at else ""),
            ("verifier key", lambda k: k.vkey),
        ],
    )


@ledger_app.command("prove")
def ledger_prove(
    ctx: typer.Context,
    seq: Annotated[int, typer.Argument(help="The audit event's sequence number.")],
    size: Annotated[
        int | None, typer.Option(help="Tree size to prove into (default: latest checkpoint).")
    ] = None,
    key: Keys = None,
    as_json: Json = False,
) -> None:
    """Prove that audit event SEQ is in the log: its inclusion proof, checked against the tree's
    root and the signed checkpoint of that size."""
    ledger = _ledger(ctx)
    proof = ledger.inclusion_proof(seq, size)
    root = _unb64(proof.root)
    verify_inclusion(
        _unb64(proof.leaf_hash), proof.leaf_index, proof.tree_size, [_unb64(h) for h in proof.hashes], root
    )
    signed_by = ""
    if proof.checkpoint is not None:
        signed = verify_checkpoint(proof.checkpoint.note, _log_keys(ledger, _verifiers(key)))
        if signed.checkpoint.size != proof.tree_size or signed.checkpoint.root != root:
            raise IntegrityError("the proof's root is not the signed checkpoint's root", {"seq": seq})
        signed_by = ", ".join(k.encode() for k in signed.verified_by)
    if as_json:
        emit_json(proof)
        return
    out.print(f"event {proof.seq} is leaf {proof.leaf_index} of the tree of size {proof.tree_size}")
    out.print(f"  leaf hash  {proof.leaf_hash}")
    out.print(f"  root       {proof.root}")
    out.print(f"  audit path ({len(proof.hashes)} hashes):")
    for digest in proof.hashes:
        out.print(f"    {digest}")
    if signed_by:
        out.print(f"  verified against the checkpoint of size {proof.tree_size} signed by {signed_by}")
    else:
        out.print(
            f"  verified against the root of size {proof.tree_size} (no checkpoint of that size is kept)"
        )


@ledger_app.command("verify")
def ledger_verify(
    ctx: typer.Context,
    checkpoint: Annotated[
        Path, typer.Option("--checkpoint", help="A signed checkpoint kept earlier (its note text).")
    ],
    key: Keys = None,
    as_json: Json = False,
) -> None:
    """Check that a checkpoint kept elsewhere (say, by an auditor last quarter) is consistent with
    today's log: the log must extend it, not rewrite it. On the database, the whole log is also
    recomputed against it, naming the first event that does not match; exit 11 if anything fails."""
    pins = _verifiers(key)
    ledger = _ledger(ctx)
    try:
        note = checkpoint.read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidInput.field("--checkpoint", "file", f"cannot read {checkpoint}: {error}") from None
    parse_signed_checkpoint(note)
    kept = verify_checkpoint(note, _log_keys(ledger, pins))
    old = kept.checkpoint
    trusted = list(pins) or list(kept.verified_by)
    result: dict[str, Any] = {
        "checkpoint_size": old.size,
        "checkpoint_root": base64.b64encode(old.root).decode(),
    }
    backend = state_of(ctx).backend()
    if isinstance(backend, LocalBackend):
        verdict = backend.steward.audit.verify(backend.caller, keys=pins, kept=[old])
        if not verdict.ok:
            raise IntegrityError(
                f"the log does not verify against the checkpoint of size {old.size} at event "
                f"{verdict.first_bad_seq}: {verdict.problem}",
                {
                    "first_bad_seq": verdict.first_bad_seq,
                    "verified_events": verdict.events,
                    **verdict.details,
                },
            )
        trusted += parse_verifiers(verdict.trusted_keys)
        result |= {"events": verdict.events, "checkpoints": verdict.checkpoints}
    elif isinstance(backend, RemoteBackend):
        trusted = _rotated_keys(backend, trusted)
    latest = ledger.checkpoint()
    new = verify_checkpoint(latest.note, trusted or _log_keys(ledger, pins)).checkpoint
    proof = ledger.consistency_proof(old.size, new.size)
    try:
        verify_checkpoint_consistency(old, new, [_unb64(h) for h in proof.hashes])
    except IntegrityError as error:
        raise IntegrityError(
            f"today's log (size {new.size}) does not extend the checkpoint of size {old.size}: history at "
            f"or before event {old.size} was rewritten ({error.message})",
            {"checkpoint_size": old.size, "size": new.size, **error.details},
        ) from None
    result |= {"size": new.size, "root": base64.b64encode(new.root).decode(), "proof": proof.hashes}
    if as_json:
        emit_json({"ok": True, **result})
        return
    out.print(
        f"ok: the checkpoint of size {old.size} (root {result['checkpoint_root']}, signed by "
        f"{', '.join(k.encode() for k in kept.verified_by)}) is consistent with today's log of size "
        f"{new.size} (root {result['root']}; consistency proof of {len(proof.hashes)} hashes)"
    )
    if "events" in result:
        out.print(
            f"  the whole log was recomputed: {result['events']} events and "
            f"{result['checkpoints']} kept checkpoints verify"
        )


def _rotated_keys(client: RemoteBackend, trusted: list[VerifierKey]) -> list[VerifierKey]:
    """``trusted`` plus every key a rotation announced in a checkpoint a trusted key signed.

    The rotation's transaction holds only its event, so its checkpoint has the event's ``seq`` as
    size; the event must be in that checkpoint (inclusion proof) before its new key is trusted.
    """
    keys = list(trusted)
    for event in client.iterate(wire.AuditEventOut, "/audit/events", action="ledger.key_rotated"):
        try:
            signed = verify_checkpoint(client.checkpoint(event.seq).note, keys).checkpoint
            proof = client.inclusion_proof(event.seq, event.seq)
            data = canonical_bytes(
                event_document(
                    event.model_dump(mode="json") | {"time": format_time(event.time)}  # the canonical text
                )
            )
            hashes = [_unb64(h) for h in proof.hashes]
            verify_inclusion(leaf_hash(data), event.seq - 1, signed.size, hashes, signed.root)
            announced = parse_verifier(str((event.after or {})["vkey"]))
        except (StewardError, KeyError):
            continue  # not vouched for by a key already trusted: not trusted
        if announced not in keys:
            keys.append(announced)
    return keys


@ledger_app.command("rotate-key")
def ledger_rotate_key(
    ctx: typer.Context,
    reason: Annotated[str, typer.Option(help="Why; kept in the audit trail.")] = "",
    as_json: Json = False,
) -> None:
    """Sign with a new ledger key from now on (works on the database and the key file directly).
    The old public key stays published; the rotation's checkpoint is signed by both keys."""
    backend = state_of(ctx).backend(local_only=True)
    if not isinstance(backend, LocalBackend):  # pragma: no cover (local_only gives the database)
        raise InvalidInput.field("--server", "local_only", "rotate the key on the server's machine")
    key = backend.steward.ledger.rotate_key(backend.caller, reason)
    if as_json:
        emit_json(wire.LedgerKeyOut.model_validate(key))
        return
    out.print(f"the ledger now signs with key {key.key_id} (kept in {backend.steward.ledger.keys_location})")
    out.print(f"publish its verifier key: {key.vkey}")


# -- evidence ----------------------------------------------------------------------------------


@evidence_app.command("export")
def evidence_export(
    ctx: typer.Context,
    model: str,
    version: int,
    output: Annotated[Path, typer.Option("-o", "--output", help="The bundle file to write ('-': stdout).")],
) -> None:
    """Write the evidence bundle of a model version: its record, lineage and every audit event about
    it, with inclusion proofs into a signed checkpoint, as a DSSE-signed in-toto statement."""
    bundle = _ledger(ctx).export_evidence(model, version)
    if str(output) == "-":
        sys.stdout.buffer.write(bundle)
        return
    output.write_bytes(bundle)
    err.print(f"wrote the evidence bundle of {model} v{version} to {output} ({len(bundle)} bytes)")


@evidence_app.command("verify")
def evidence_verify(
    file: Annotated[Path, typer.Argument(help="The bundle file.")],
    key: Annotated[
        list[str],
        typer.Option("--key", help="The verifier key it must be signed by (text or file). Repeatable."),
    ],
    as_json: Json = False,
) -> None:
    """Verify an evidence bundle offline (no server, no database) and say exactly what it proved;
    exit 11 on any mismatch.

    Only the keys given with --key are trusted: the bundle and its checkpoint must each be signed
    by one of them. A bundle exported after a key rotation is signed by the new key; give it too
    (the keys listed inside the bundle vouch for nothing). A refusal names the key id it needs."""
    keys = _verifiers(key)
    try:
        data = file.read_bytes()
    except OSError as error:
        raise InvalidInput.field("FILE", "file", f"cannot read {file}: {error}") from None
    report = verify_evidence(data, keys)
    if as_json:
        emit_json(_report_json(report))
        return
    checkpoint = report.checkpoint
    out.print(
        f"ok: evidence for model version {report.model} v{report.version} "
        f"(artifact {report.artifact_digest}) verifies"
    )
    out.print(
        f"  checkpoint: {checkpoint.origin}, size {checkpoint.size}, root "
        f"{base64.b64encode(checkpoint.root).decode()}"
        + (f", time {checkpoint.timestamp:%Y-%m-%dT%H:%M:%SZ}" if checkpoint.timestamp else "")
    )
    out.print(f"  checkpoint signed by: {', '.join(k.encode() for k in report.checkpoint_keys)}")
    out.print(f"  bundle signed by:     {', '.join(k.encode() for k in report.envelope_keys)}")
    out.print(
        f"  {len(report.events)} audit events proven in the log (inclusion proofs into that checkpoint):"
    )
    for event in report.events:
        out.print(
            f"    seq {event.seq:>6}  {event.time}  {event.action:<26} {event.subject_type} "
            f"{event.subject_id}  by {event.actor}"
        )


def _report_json(report: EvidenceReport) -> dict[str, Any]:
    checkpoint: Checkpoint = report.checkpoint
    return {
        "ok": True,
        "model": report.model,
        "version": report.version,
        "artifact_digest": report.artifact_digest,
        "checkpoint": {
            "origin": checkpoint.origin,
            "size": checkpoint.size,
            "root": base64.b64encode(checkpoint.root).decode(),
            "timestamp": checkpoint.timestamp.isoformat() if checkpoint.timestamp else None,
        },
        "checkpoint_keys": [k.encode() for k in report.checkpoint_keys],
        "envelope_keys": [k.encode() for k in report.envelope_keys],
        "events": [
            {
                "seq": e.seq,
                "time": e.time,
                "actor": e.actor,
                "action": e.action,
                "subject_type": e.subject_type,
                "subject_id": e.subject_id,
            }
            for e in report.events
        ],
        "subjects": [list(s) for s in report.subjects],
    }


# -- the read access log -----------------------------------------------------------------------


@audit_app.command("reads")
def audit_reads(
    ctx: typer.Context,
    principal: Annotated[str | None, typer.Option(help="Who read.")] = None,
    subject_type: Annotated[str | None, typer.Option(help="model, model_version, evidence, …")] = None,
    subject: Annotated[str | None, typer.Option(help="Subject id, e.g. credit-risk/3.")] = None,
    since: Annotated[
        datetime | None, typer.Option(help="From this time (UTC unless a zone is given).")
    ] = None,
    until: Annotated[datetime | None, typer.Option(help="Before this time.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    as_json: Json = False,
) -> None:
    """List who read which record or evidence through the server, newest first."""
    page = _ledger(ctx).list_reads(
        principal=principal,
        subject_type=subject_type,
        subject_id=subject,
        since=since.replace(tzinfo=since.tzinfo or UTC) if since else None,
        until=until.replace(tzinfo=until.tzinfo or UTC) if until else None,
        page_size=limit,
        page_token=None,
    )
    if as_json:
        emit_json(page.items)
        return
    table(
        page.items,
        [
            ("time", lambda r: f"{r.time:%Y-%m-%d %H:%M:%S}"),
            ("principal", lambda r: r.principal),
            ("read", lambda r: f"{r.subject_type} {r.subject_id}".strip()),
            ("from", lambda r: r.client_address),
            ("user agent", lambda r: r.user_agent[:40]),
        ],
    )
