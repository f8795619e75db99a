"""Records of the automated gates: check results, policy bundles and their assignment, decisions.

A :class:`CheckResult` is an automated check of a model version (fairness, documentation,
lineage) or of a dataset version (data quality) with what it measured, and its
:class:`CheckProvenance`: whether Steward computed it (from the record, or from a file whose
digest, row count and columns it names) or the caller only reported it. A :class:`PolicyDecision`
is one evaluation of a policy bundle for a version and a target environment; with its bundle
digest and its input document it can be replayed. A :class:`RegisteredBundle` is never edited in
place: a new version of a bundle is a new record. :class:`BundleAssignment` says which bundle
applies to which risk tier and target environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

JSON = dict[str, Any]
CheckStatus = Literal["pass", "fail", "error"]
CHECK_STATUSES: tuple[CheckStatus, ...] = ("pass", "fail", "error")
CHECK_KIND_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
ASSIGN_ANY = "*"
"""The wildcard of a :class:`BundleAssignment`: any risk tier, or any environment."""

BUILTIN_BUNDLE_NAME = "steward-builtin"
"""The name of the bundle shipped with Steward; no registered bundle may take it."""

ProvenanceMethod = Literal["computed", "reported"]
PROVENANCE_METHODS: tuple[ProvenanceMethod, ...] = ("computed", "reported")


@dataclass(frozen=True, slots=True)
class SourceFile:
    """The file a check was computed from: ``sha256:`` + the SHA-256 of its bytes, its number
    of rows, its format (``csv`` or ``parquet``) and its base name."""

    sha256: str
    rows: int
    format: str
    name: str = ""

    def to_dict(self) -> JSON:
        return {"sha256": self.sha256, "rows": self.rows, "format": self.format, "name": self.name}


@dataclass(frozen=True, slots=True)
class CheckProvenance:
    """Where a check's status and values come from.

    ``computed``: Steward's own check code produced them, on the server from the record
    (documentation, lineage; no ``file``) or in ``steward check fairness|data-quality`` from
    ``file``, read through ``columns`` (for fairness ``{"label", "prediction", "sensitive",
    "positive"}``, for data quality ``{"columns"}``), so anyone with the file can compute them
    again. ``reported``: the caller sent them and nothing can recompute them.
    """

    method: ProvenanceMethod = "reported"
    tool: str = ""
    file: SourceFile | None = None
    columns: JSON = field(default_factory=dict)

    @property
    def computed(self) -> bool:
        return self.method == "computed"

    def to_dict(self) -> JSON:
        return {
            "method": self.method,
            "tool": self.tool,
            "file": None if self.file is None else self.file.to_dict(),
            "columns": dict(self.columns),
        }

    @classmethod
    def from_dict(cls, raw: Any) -> CheckProvenance:
        """The provenance :meth:`to_dict` wrote; anything else (a check stored before provenance
        was recorded) reads as reported."""
        if not isinstance(raw, dict) or raw.get("method") not in PROVENANCE_METHODS:
            return REPORTED
        file = raw.get("file")
        return cls(
            method="computed" if raw["method"] == "computed" else "reported",
            tool=str(raw.get("tool") or ""),
            file=None
            if not isinstance(file, dict)
            else SourceFile(
                str(file.get("sha256", "")),
                int(file.get("rows", 0)),
                str(file.get("format", "")),
                str(file.get("name", "")),
            ),
            columns=dict(raw.get("columns") or {}),
        )


REPORTED = CheckProvenance()
"""The provenance of a check whose values the caller sent."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One automated check with its measured values.

    The subject is a model version (``model`` and ``version``) or, for data quality, a dataset
    version (``dataset`` and ``dataset_version``); the other pair is ``None``.
    """

    id: int
    kind: str
    status: CheckStatus
    values: JSON
    messages: tuple[str, ...] = ()
    model: str | None = None
    version: int | None = None
    dataset: str | None = None
    dataset_version: str | None = None
    created_by: str = ""
    created_at: datetime | None = None
    provenance: CheckProvenance = REPORTED

    @property
    def subject_type(self) -> str:
        return "model_version" if self.model is not None else "dataset_version"

    @property
    def subject_id(self) -> str:
        if self.model is not None:
            return f"{self.model}/{self.version}"
        return f"{self.dataset}@{self.dataset_version}"


@dataclass(frozen=True, slots=True)
class RegisteredBundle:
    """A policy bundle as stored: its files (path → UTF-8 text) and content digest."""

    name: str
    version: str
    digest: str
    files: dict[str, str] = field(repr=False)
    description: str = ""
    builtin: bool = False
    registered_by: str = ""
    registered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class BundleAssignment:
    """The bundle that applies to a risk tier and a target environment (either may be ``*``).

    The most specific assignment wins: tier and environment, then tier with any environment, then
    any tier with the environment, then ``* / *``; with none, the built-in bundle applies.
    """

    risk_tier: str
    environment: str
    bundle_name: str
    bundle_version: str
    bundle_digest: str
    assigned_by: str = ""
    assigned_at: datetime | None = None

    def specificity(self) -> int:
        return (2 if self.risk_tier != ASSIGN_ANY else 0) + (1 if self.environment != ASSIGN_ANY else 0)

    def matches(self, risk_tier: str, environment: str) -> bool:
        return self.risk_tier in (ASSIGN_ANY, risk_tier) and self.environment in (ASSIGN_ANY, environment)


@dataclass(frozen=True, slots=True)
class PolicyDecision:
    """One evaluation of a bundle for a version and a target, as stored in the audit trail.

    ``denies`` and ``warnings`` hold ``{rule, message, measured, required}`` objects; ``input``
    is the policy input document that was evaluated (its digest is ``input_digest``).
    """

    id: int
    model: str
    version: int
    environment: str
    allow: bool
    denies: tuple[JSON, ...]
    warnings: tuple[JSON, ...]
    bundle_name: str
    bundle_version: str
    bundle_digest: str
    input_digest: str
    engine: str
    engine_version: str
    input: JSON | None = field(default=None, repr=False)
    audit_seq: int | None = None
    created_by: str = ""
    created_at: datetime | None = None
