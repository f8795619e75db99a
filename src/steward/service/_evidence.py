"""Evidence bundles: everything the audit log says about one model version, in one signed file.

The bundle (format in ``steward.ledger._evidence``) holds the version's record, its model and
lineage, and every audit event about the version, its model, datasets, training run and
deployments, each with its canonical bytes and an inclusion proof into the latest signed
checkpoint, plus the log's verifier keys; it is a DSSE-signed in-toto statement.
"""

from __future__ import annotations

from steward.domain import Action
from steward.errors import StewardError, Unavailable
from steward.ledger import (
    EvidenceEvent,
    encode_envelope,
    evidence_statement,
    frontier_nodes,
    inclusion_proof,
    inclusion_proof_nodes,
    sign_envelope,
    tree_root,
)
from steward.ledger._event import format_time
from steward.service._caller import Caller
from steward.service._events import Clock
from steward.service._ledger import LedgerService
from steward.service._registry import RegistryService
from steward.service._snapshots import snapshot
from steward.storage import SqlStore


class EvidenceService:
    def __init__(
        self, store: SqlStore, registry: RegistryService, ledger: LedgerService, clock: Clock
    ) -> None:
        self.store = store
        self.registry = registry
        self.ledger = ledger
        self.clock = clock

    def subjects(self, caller: Caller, model: str, version: int) -> list[tuple[str, str]]:
        """The audit subjects a version's evidence covers: it, its model, data, run, deployments."""
        caller.authorize(Action.EVIDENCE_READ)
        with self.store.read() as tx:
            _, run, datasets, deployments = tx.lineage_parts(model, version)
        subjects = [("model_version", f"{model}/{version}"), ("model", model)]
        for dataset_version, dataset, _ in datasets:
            subjects += [
                ("dataset", dataset.name),
                ("dataset_version", f"{dataset.name}@{dataset_version.version}"),
            ]
        if run is not None:
            subjects.append(("training_run", run.run_id))
        subjects += [("deployment", f"{d.model}/{d.environment}/{d.id}") for d in deployments]
        return list(dict.fromkeys(subjects))

    def export(self, caller: Caller, model: str, version: int) -> bytes:
        """The bundle's bytes (canonical JSON of a DSSE envelope), signed with the ledger key."""
        subjects = self.subjects(caller, model, version)
        lineage = self.registry.lineage(caller, model, version)
        try:
            signer = self.ledger.signer()
        except StewardError as error:
            raise Unavailable(
                f"evidence bundles are signed with the ledger key, which is unavailable: {error}"
            ) from error
        with self.store.read() as tx:
            found = tx.find_model(model)
            record = tx.find_version(model, version)
            entries = tx.ledger.entries_about(subjects)
            latest = tx.ledger.latest_checkpoint()
        if found is None or record is None:  # pragma: no cover (subjects() raised NotFound already)
            raise Unavailable(f"{model}/{version} vanished during the export")
        if entries and (latest is None or latest.size < entries[-1].seq):
            self.ledger.start()  # events written without a key: sign the head now
            with self.store.read() as tx:
                latest = tx.ledger.latest_checkpoint()
        if latest is None or (entries and latest.size < entries[-1].seq):
            raise Unavailable("no signed checkpoint covers this version's events")
        size = latest.size
        with self.store.read() as tx:
            wanted = list(frontier_nodes(size))
            for entry in entries:
                wanted += inclusion_proof_nodes(entry.seq - 1, size)
            nodes = tx.ledger.nodes(wanted)
            keys = [key.vkey for key in tx.ledger.keys()]  # noqa: SIM118 (a method, not a dict)
        if tree_root(nodes, size) != latest.root:
            raise Unavailable(
                "the stored tree does not match the latest checkpoint: run `steward audit verify`"
            )
        events = [
            EvidenceEvent(
                seq=entry.seq,
                canonical=entry.data.decode("utf-8"),
                prev_hash=entry.prev_hash,
                chain_hash=entry.hash,
                inclusion_proof=tuple(inclusion_proof(nodes, entry.seq - 1, size)),
            )
            for entry in entries
        ]
        statement = evidence_statement(
            model=snapshot(found, skip=()),
            version=snapshot(record, skip=()),
            lineage=snapshot(lineage, skip=()),
            subjects=subjects,
            events=events,
            checkpoint=latest.note,
            verifier_keys=keys,
            exported_at=format_time(self.clock()),
            exported_by=caller.name,
        )
        return encode_envelope(sign_envelope(statement, signer))
