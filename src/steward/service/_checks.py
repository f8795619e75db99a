"""Check results: record what an automated check measured, for a model or a dataset version.

Fairness and data-quality checks are measured where the data is (``steward check fairness`` reads
the predictions file and computes the values with :mod:`steward.checks`) and recorded here with
their values and their provenance: the SHA-256, row count and format of the file they were
computed from and the columns read, checked here against the values (their ``rows``, their
attributes or columns). A check recorded without that (by hand, or by another tool) is stored as
``reported``, and the fairness rule warns when the fairness evidence is only reported.
Documentation and lineage completeness are computed here, from the version's policy input
document, with the thresholds of the bundle in force for production.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from steward.checks import (
    DEFAULT_REQUIRED_FIELDS,
    DEFAULT_SCOPES_REQUIRED_FOR,
    CheckOutcome,
    documentation_check,
    lineage_check,
)
from steward.domain import (
    CHECK_KIND_PATTERN,
    CHECK_STATUSES,
    DIGEST_PATTERN,
    REPORTED,
    Action,
    CheckProvenance,
    CheckResult,
    DomainEvent,
    Page,
)
from steward.domain._gates import CheckStatus
from steward.errors import InvalidInput
from steward.service._caller import Caller
from steward.service._events import Clock, EventBus, Writer, writing
from steward.service._gate_input import build_input
from steward.service._policies import PolicyService
from steward.storage import SqlStore

COMPUTED_KINDS = ("documentation", "lineage")
"""Kinds Steward computes from its own records: record them by kind alone."""
FILE_KINDS = ("fairness", "data_quality")
"""Kinds ``steward check`` computes from a file: recorded as computed with the file's provenance."""
SERVER = CheckProvenance("computed", "steward (from the record)")

ChecksByVersion = dict[int, list[CheckResult]]
"""Version number → its newest check of each kind."""

_KIND = re.compile(CHECK_KIND_PATTERN)
_DIGEST = re.compile(DIGEST_PATTERN)
_MESSAGES_MAX = 1000


class CheckService:
    def __init__(self, store: SqlStore, bus: EventBus, clock: Clock, policies: PolicyService) -> None:
        self.store = store
        self.bus = bus
        self.clock = clock
        self.policies = policies

    def record(
        self,
        caller: Caller,
        model: str,
        version: int,
        kind: str,
        status: str | None = None,
        values: Mapping[str, Any] | None = None,
        messages: Sequence[str] = (),
        provenance: CheckProvenance | None = None,
    ) -> CheckResult:
        """Record a check of a model version. ``documentation`` and ``lineage`` are computed here
        (give the kind alone); any other kind carries its status, values and messages, and its
        ``provenance`` when ``steward check`` computed it from a file (else it is ``reported``)."""
        caller.authorize(Action.CHECK_RECORD)
        _check_kind(kind)
        computed = kind in COMPUTED_KINDS
        if computed and (status is not None or values or messages or provenance is not None):
            raise InvalidInput.field(
                "status",
                "computed",
                f"a {kind} check is computed by Steward from the record; send the kind alone",
            )
        origin = SERVER if computed else _provenance(kind, values or {}, provenance)
        with writing(self.store, self.bus, caller.origin, self.clock) as w:
            if computed:
                outcome = self._compute(w, model, version, kind)
                status, values, messages = outcome.status, outcome.values, outcome.messages
            result = CheckResult(
                id=0,
                kind=kind,
                status=_status(status),
                values=_values(values),
                messages=_messages(messages),
                model=model,
                version=version,
                created_by=caller.name,
                created_at=w.at,
                provenance=origin,
            )
            return _store(w, result)

    def record_outcome(
        self,
        caller: Caller,
        model: str,
        version: int,
        outcome: CheckOutcome,
        provenance: CheckProvenance | None = None,
    ) -> CheckResult:
        """Record a :class:`~steward.checks.CheckOutcome` measured by the caller (from the file
        ``provenance`` names, or ``reported`` without it)."""
        return self.record(
            caller, model, version, outcome.kind, outcome.status, outcome.values, outcome.messages, provenance
        )

    def record_dataset(
        self,
        caller: Caller,
        dataset: str,
        version: str,
        kind: str,
        status: str | None,
        values: Mapping[str, Any] | None = None,
        messages: Sequence[str] = (),
        provenance: CheckProvenance | None = None,
    ) -> CheckResult:
        """Record a check of a dataset version (data quality); every model version that uses the
        dataset version sees it in its policy input. ``provenance`` as in :meth:`record`."""
        caller.authorize(Action.CHECK_RECORD)
        _check_kind(kind)
        if kind in COMPUTED_KINDS:
            raise InvalidInput.field(
                "kind", "subject", f"a {kind} check is of a model version, not a dataset"
            )
        origin = _provenance(kind, values or {}, provenance)
        with writing(self.store, self.bus, caller.origin, self.clock) as w:
            result = CheckResult(
                id=0,
                kind=kind,
                status=_status(status),
                values=_values(values),
                messages=_messages(messages),
                dataset=dataset,
                dataset_version=version,
                created_by=caller.name,
                created_at=w.at,
                provenance=origin,
            )
            return _store(w, result)

    def list(
        self,
        caller: Caller,
        model: str,
        version: int,
        kind: str | None = None,
        page_size: int = 50,
        page_token: str | None = None,
    ) -> Page[CheckResult]:
        """A model version's checks, newest first."""
        caller.authorize(Action.CHECK_READ)
        with self.store.read() as tx:
            return tx.gates.list_checks(
                model=model, version=version, kind=kind, page_size=page_size, token=page_token
            )

    def list_dataset(
        self,
        caller: Caller,
        dataset: str,
        version: str,
        kind: str | None = None,
        page_size: int = 50,
        page_token: str | None = None,
    ) -> Page[CheckResult]:
        """A dataset version's checks, newest first."""
        caller.authorize(Action.CHECK_READ)
        with self.store.read() as tx:
            return tx.gates.list_checks(
                dataset=dataset, dataset_version=version, kind=kind, page_size=page_size, token=page_token
            )

    def latest(self, caller: Caller, model: str, versions: Sequence[int]) -> ChecksByVersion:
        """The newest check of each kind recorded on each of ``model``'s ``versions`` (one query
        for all of them), by kind; versions with no check are left out."""
        caller.authorize(Action.CHECK_READ)
        with self.store.read() as tx:
            return tx.gate_reads.latest_checks(model, versions)

    def _compute(self, w: Writer, model: str, version: int, kind: str) -> CheckOutcome:
        doc = build_input(w.tx, model, version, "production", w.at)
        gates = self.policies.in_force(w.tx, doc["model"]["risk_tier"], "production").data.get("gates", {})
        if kind == "documentation":
            config = gates.get("documentation", {}) if isinstance(gates, Mapping) else {}
            return documentation_check(
                doc,
                required_fields=_strings(config.get("required_fields"), DEFAULT_REQUIRED_FIELDS),
                scopes_required_for=_strings(
                    config.get("regulatory_scopes_required_for"), DEFAULT_SCOPES_REQUIRED_FOR
                ),
            )
        config = gates.get("lineage", {}) if isinstance(gates, Mapping) else {}
        return lineage_check(doc, approved_sources=_strings(config.get("approved_sources"), ()))


def _store(w: Writer, result: CheckResult) -> CheckResult:
    stored = w.tx.gates.insert_check(result)
    w.emit(
        DomainEvent(
            "check.recorded",
            stored.subject_type,
            stored.subject_id,
            after={
                "id": stored.id,
                "kind": stored.kind,
                "status": stored.status,
                "values": stored.values,
                "messages": list(stored.messages),
                "provenance": stored.provenance.to_dict(),
            },
        )
    )
    return stored


def _check_kind(kind: str) -> None:
    if not _KIND.match(kind):
        raise InvalidInput.field(
            "kind", "kind", f"must be a lower-case name such as fairness or data_quality (got {kind!r})"
        )


def _status(status: str | None) -> CheckStatus:
    for known in CHECK_STATUSES:
        if status == known:
            return known
    raise InvalidInput.field(
        "status", "choice", f"must be one of {', '.join(CHECK_STATUSES)} (got {status!r})"
    )


def _values(values: Mapping[str, Any] | None) -> dict[str, Any]:
    found = dict(values or {})
    reserved = sorted(k for k in found if isinstance(k, str) and k.startswith("__"))
    if reserved:
        raise InvalidInput.field(
            f"values.{reserved[0]}", "reserved", "keys starting with '__' are reserved for Steward"
        )
    return found


def _provenance(kind: str, values: Mapping[str, Any], given: CheckProvenance | None) -> CheckProvenance:
    """The provenance to store: ``reported`` unless the caller says it computed the check from a
    file, and what it says of the file agrees with the values."""
    if given is None:
        return REPORTED
    if not given.computed:
        return CheckProvenance("reported", given.tool)
    if kind not in FILE_KINDS:
        raise InvalidInput.field(
            "provenance.method",
            "computed",
            f"Steward computes {' and '.join(FILE_KINDS)} checks from files; record a {kind} check as "
            "reported",
        )
    file = given.file
    if file is None:
        raise InvalidInput.field(
            "provenance.file", "required", "a computed check names the file it was computed from"
        )
    if not _DIGEST.match(file.sha256):
        raise InvalidInput.field(
            "provenance.file.sha256", "digest", f"must be sha256:<64 hex digits> (got {file.sha256!r})"
        )
    if values.get("rows") != file.rows:
        raise InvalidInput.field(
            "provenance.file.rows",
            "consistent",
            f"the file has {file.rows} rows; the values were measured on {values.get('rows')!r}",
        )
    _check_columns(kind, values, given.columns)
    return given


def _check_columns(kind: str, values: Mapping[str, Any], columns: Mapping[str, Any]) -> None:
    """The columns a computed check says it read are the ones its values measure."""
    if kind == "fairness":
        for key in ("label", "prediction"):
            if not isinstance(columns.get(key), str) or not columns[key]:
                raise InvalidInput.field(
                    f"provenance.columns.{key}", "required", f"name the {key} column that was read"
                )
        field, named, measured = "sensitive", columns.get("sensitive"), sorted(values.get("attributes") or {})
    else:
        field, named, measured = "columns", columns.get("columns"), sorted(values.get("columns") or [])
    if not isinstance(named, list) or sorted(str(n) for n in named) != measured:
        raise InvalidInput.field(
            f"provenance.columns.{field}",
            "consistent",
            f"names {named!r}; the values measure {measured}",
        )


def _messages(messages: Sequence[str]) -> tuple[str, ...]:
    if len(messages) > _MESSAGES_MAX:
        raise InvalidInput.field("messages", "length", f"at most {_MESSAGES_MAX} messages")
    return tuple(str(m) for m in messages)


def _strings(value: Any, default: Sequence[str]) -> tuple[str, ...]:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return tuple(default)
