"""Rows of the automated gates and their queries (used through ``SqlTransaction.gates``).

Check results (of a model version, or of a dataset version for data quality), registered policy
bundles (insert-only: a new version is a new row), the bundle assignment table, and policy
decisions with the input document they evaluated.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import Mapped, Session, defer, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from steward.domain import (
    BundleAssignment,
    CheckProvenance,
    CheckResult,
    Dataset,
    DatasetVersion,
    Deployment,
    Incident,
    Model,
    ModelVersion,
    Page,
    PolicyDecision,
    RegisteredBundle,
    TrainingRun,
)
from steward.domain._gates import CheckStatus
from steward.errors import NotFound
from steward.storage import _convert as convert
from steward.storage._incidents import SqlIncident, to_incident
from steward.storage._pages import check_page_size, decode_token, encode_token
from steward.storage._subjects import version_id
from steward.storage._tables import (
    Base,
    SqlDataset,
    SqlDatasetVersion,
    SqlDeployment,
    SqlModel,
    SqlModelVersion,
    SqlTrainingRun,
    SqlVersionDataset,
    UTCDateTime,
)

PROVENANCE_KEY = "__provenance__"
"""Where a check's provenance is kept: a reserved key of its ``values`` column (the service refuses
it in the values a caller sends), so that recording provenance needed no migration. A row without
it was stored before provenance was recorded, and reads as reported."""


class SqlCheckResult(Base):
    __tablename__ = "check_results"
    __table_args__ = (
        Index("ix_check_results_version_kind", "version_id", "kind", "id"),
        Index("ix_check_results_dataset_version_kind", "dataset_version_id", "kind", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    dataset_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("dataset_versions.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    messages: Mapped[list[Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SqlPolicyBundle(Base):
    """A registered bundle; never updated. ``digest`` covers the manifest (name and version)."""

    __tablename__ = "policy_bundles"
    __table_args__ = (Index("ix_policy_bundles_name_version", "name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    version: Mapped[str] = mapped_column(String(128))
    digest: Mapped[str] = mapped_column(String(71), unique=True)
    description: Mapped[str] = mapped_column(Text)
    files: Mapped[dict[str, Any]] = mapped_column(JSON)
    builtin: Mapped[bool] = mapped_column(Boolean)
    registered_by: Mapped[str] = mapped_column(String(256))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SqlBundleAssignment(Base):
    """Which bundle applies to a risk tier x target environment (``*`` for any)."""

    __tablename__ = "policy_assignments"

    risk_tier: Mapped[str] = mapped_column(String(16), primary_key=True)
    environment: Mapped[str] = mapped_column(String(64), primary_key=True)
    bundle_id: Mapped[int] = mapped_column(ForeignKey("policy_bundles.id"), index=True)
    assigned_by: Mapped[str] = mapped_column(String(256))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SqlPolicyDecision(Base):
    __tablename__ = "policy_decisions"
    __table_args__ = (Index("ix_policy_decisions_version", "version_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    environment: Mapped[str] = mapped_column(String(64))
    allow: Mapped[bool] = mapped_column(Boolean)
    denies: Mapped[list[Any]] = mapped_column(JSON)
    warnings: Mapped[list[Any]] = mapped_column(JSON)
    bundle_name: Mapped[str] = mapped_column(String(128))
    bundle_version: Mapped[str] = mapped_column(String(128))
    bundle_digest: Mapped[str] = mapped_column(String(71), index=True)
    input_digest: Mapped[str] = mapped_column(String(71))
    engine: Mapped[str] = mapped_column(String(32))
    engine_version: Mapped[str] = mapped_column(String(64))
    input_document: Mapped[dict[str, Any]] = mapped_column(JSON)
    audit_seq: Mapped[int | None] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


# -- rows to records ---------------------------------------------------------------------------


def to_check(
    row: SqlCheckResult,
    *,
    model: str | None = None,
    version: int | None = None,
    dataset: str | None = None,
    dataset_version: str | None = None,
) -> CheckResult:
    values = dict(row.values)
    provenance = CheckProvenance.from_dict(values.pop(PROVENANCE_KEY, None))
    return CheckResult(
        id=row.id,
        kind=row.kind,
        status=cast(CheckStatus, row.status),
        values=values,
        messages=tuple(str(m) for m in row.messages),
        model=model,
        version=version,
        dataset=dataset,
        dataset_version=dataset_version,
        created_by=row.created_by,
        created_at=row.created_at,
        provenance=provenance,
    )


def to_bundle(row: SqlPolicyBundle) -> RegisteredBundle:
    return RegisteredBundle(
        name=row.name,
        version=row.version,
        digest=row.digest,
        files={str(k): str(v) for k, v in row.files.items()},
        description=row.description,
        builtin=row.builtin,
        registered_by=row.registered_by,
        registered_at=row.registered_at,
    )


def to_decision(row: SqlPolicyDecision, model: str, version: int, *, with_input: bool) -> PolicyDecision:
    return PolicyDecision(
        id=row.id,
        model=model,
        version=version,
        environment=row.environment,
        allow=row.allow,
        denies=tuple(dict(f) for f in row.denies),
        warnings=tuple(dict(f) for f in row.warnings),
        bundle_name=row.bundle_name,
        bundle_version=row.bundle_version,
        bundle_digest=row.bundle_digest,
        input_digest=row.input_digest,
        engine=row.engine,
        engine_version=row.engine_version,
        input=dict(row.input_document) if with_input else None,
        audit_seq=row.audit_seq,
        created_by=row.created_by,
        created_at=row.created_at,
    )


@dataclass(frozen=True, slots=True)
class _InputStatements:
    version: Any  # Select statements (the rows are typed where they are read)
    datasets: Any
    deployments: Any
    checks: Any
    dataset_checks: Any
    incidents: Any
    assignments: Any
    decision_seq: Any


@functools.cache
def _input_statements() -> _InputStatements:
    """The statements every decision runs (:meth:`SqlGates.input_parts`, the assignment table,
    the decision's audit sequence number), built once: building a statement costs about as much
    as running it on SQLite."""
    newest = (
        select(func.max(SqlCheckResult.id))
        .where(SqlCheckResult.version_id == bindparam("version_id"))
        .group_by(SqlCheckResult.kind)
    )
    used = select(SqlVersionDataset.dataset_version_id).where(
        SqlVersionDataset.version_id == bindparam("version_id")
    )
    newest_of_datasets = (
        select(func.max(SqlCheckResult.id))
        .where(SqlCheckResult.dataset_version_id.in_(used), SqlCheckResult.kind == bindparam("kind"))
        .group_by(SqlCheckResult.dataset_version_id)
    )
    return _InputStatements(
        version=select(SqlModelVersion, SqlModel)
        .join(SqlModel, SqlModel.id == SqlModelVersion.model_id)
        .where(SqlModel.name == bindparam("model"), SqlModelVersion.version == bindparam("version")),
        datasets=select(SqlDatasetVersion, SqlDataset, SqlVersionDataset.role)
        .join(SqlVersionDataset, SqlVersionDataset.dataset_version_id == SqlDatasetVersion.id)
        .join(SqlDataset, SqlDataset.id == SqlDatasetVersion.dataset_id)
        .where(SqlVersionDataset.version_id == bindparam("version_id"))
        .order_by(SqlDataset.name, SqlVersionDataset.role),
        deployments=select(SqlDeployment, SqlModelVersion.version)
        .join(SqlModelVersion, SqlModelVersion.id == SqlDeployment.version_id)
        .where(SqlDeployment.model_id == bindparam("model_id"), SqlDeployment.state == "active")
        .order_by(SqlDeployment.id),
        checks=select(SqlCheckResult).where(SqlCheckResult.id.in_(newest)).order_by(SqlCheckResult.kind),
        dataset_checks=select(SqlCheckResult, SqlDataset.name, SqlDatasetVersion.version)
        .join(SqlDatasetVersion, SqlDatasetVersion.id == SqlCheckResult.dataset_version_id)
        .join(SqlDataset, SqlDataset.id == SqlDatasetVersion.dataset_id)
        .where(SqlCheckResult.id.in_(newest_of_datasets))
        .order_by(SqlDataset.name, SqlDatasetVersion.version),
        incidents=select(SqlIncident)
        .where(SqlIncident.model_id == bindparam("model_id"), SqlIncident.state != "resolved")
        .where(or_(SqlIncident.version.is_(None), SqlIncident.version == bindparam("version")))
        .order_by(SqlIncident.id),
        assignments=select(
            SqlBundleAssignment, SqlPolicyBundle.name, SqlPolicyBundle.version, SqlPolicyBundle.digest
        )
        .join(SqlPolicyBundle, SqlPolicyBundle.id == SqlBundleAssignment.bundle_id)
        .order_by(SqlBundleAssignment.risk_tier, SqlBundleAssignment.environment),
        decision_seq=update(SqlPolicyDecision)
        .where(SqlPolicyDecision.id == bindparam("decision_id"))
        .values(audit_seq=bindparam("seq"))
        .execution_options(synchronize_session=False),
    )


@dataclass(frozen=True, slots=True)
class InputParts:
    """Every record the policy input document of one version is built from."""

    version_id: int
    model: Model
    version: ModelVersion
    run: TrainingRun | None
    datasets: list[tuple[DatasetVersion, Dataset, str]]
    deployments: list[Deployment]
    checks: list[CheckResult]
    dataset_checks: list[CheckResult]
    incidents: list[Incident]


class SqlGates:
    """Check results, policy bundles, assignments and decisions inside one transaction."""

    def __init__(self, session: Session) -> None:
        self.s = session

    # -- subjects ----------------------------------------------------------------------------

    def _version_id(self, model: str, version: int) -> int:
        return version_id(self.s, model, version)

    def _dataset_version_id(self, dataset: str, version: str) -> int:
        found = self.s.scalar(
            select(SqlDatasetVersion.id)
            .join(SqlDataset, SqlDataset.id == SqlDatasetVersion.dataset_id)
            .where(SqlDataset.name == dataset, SqlDatasetVersion.version == version)
        )
        if found is None:
            if self.s.scalar(select(SqlDataset.id).where(SqlDataset.name == dataset)) is None:
                raise NotFound(f"dataset {dataset!r} does not exist", {"dataset": dataset})
            raise NotFound(
                f"dataset {dataset!r} has no version {version!r}", {"dataset": dataset, "version": version}
            )
        return int(found)

    # -- check results -----------------------------------------------------------------------

    def insert_check(self, check: CheckResult) -> CheckResult:
        row = SqlCheckResult(
            version_id=None if check.model is None else self._version_id(check.model, check.version or 0),
            dataset_version_id=(
                None
                if check.dataset is None
                else self._dataset_version_id(check.dataset, check.dataset_version or "")
            ),
            kind=check.kind,
            status=check.status,
            values={**check.values, PROVENANCE_KEY: check.provenance.to_dict()},
            messages=list(check.messages),
            created_by=check.created_by,
            created_at=check.created_at,
        )
        self.s.add(row)
        self.s.flush()
        return to_check(
            row,
            model=check.model,
            version=check.version,
            dataset=check.dataset,
            dataset_version=check.dataset_version,
        )

    def list_checks(
        self,
        *,
        model: str | None = None,
        version: int | None = None,
        dataset: str | None = None,
        dataset_version: str | None = None,
        kind: str | None = None,
        page_size: int = 50,
        token: str | None = None,
    ) -> Page[CheckResult]:
        """One subject's checks, newest first."""
        check_page_size(page_size)
        position = decode_token(token, "id")
        if model is not None:
            stmt = select(SqlCheckResult).where(
                SqlCheckResult.version_id == self._version_id(model, version or 0)
            )
        else:
            stmt = select(SqlCheckResult).where(
                SqlCheckResult.dataset_version_id
                == self._dataset_version_id(dataset or "", dataset_version or "")
            )
        if kind is not None:
            stmt = stmt.where(SqlCheckResult.kind == kind)
        if position:
            stmt = stmt.where(SqlCheckResult.id < position["id"])
        rows = self.s.scalars(stmt.order_by(SqlCheckResult.id.desc()).limit(page_size + 1)).all()
        next_token = encode_token({"id": rows[page_size - 1].id}) if len(rows) > page_size else None
        items = tuple(
            to_check(r, model=model, version=version, dataset=dataset, dataset_version=dataset_version)
            for r in rows[:page_size]
        )
        return Page(items, next_token)

    # -- policy bundles ----------------------------------------------------------------------

    def insert_bundle(self, bundle: RegisteredBundle) -> RegisteredBundle:
        row = SqlPolicyBundle(
            name=bundle.name,
            version=bundle.version,
            digest=bundle.digest,
            description=bundle.description,
            files=dict(bundle.files),
            builtin=bundle.builtin,
            registered_by=bundle.registered_by,
            registered_at=bundle.registered_at,
        )
        self.s.add(row)
        self.s.flush()
        return to_bundle(row)

    def find_bundle(self, name: str, version: str) -> RegisteredBundle | None:
        """The bundle registered as ``name`` ``version`` (the newest row, should there be two)."""
        row = self.s.scalars(
            select(SqlPolicyBundle)
            .where(SqlPolicyBundle.name == name, SqlPolicyBundle.version == version)
            .order_by(SqlPolicyBundle.id.desc())
            .limit(1)
        ).first()
        return None if row is None else to_bundle(row)

    def find_bundle_by_digest(self, digest: str) -> RegisteredBundle | None:
        row = self.s.scalars(select(SqlPolicyBundle).where(SqlPolicyBundle.digest == digest)).one_or_none()
        return None if row is None else to_bundle(row)

    def list_bundles(self) -> list[RegisteredBundle]:
        """Every registered bundle, by name then registration order (files left out)."""
        rows = self.s.execute(
            select(
                SqlPolicyBundle.name,
                SqlPolicyBundle.version,
                SqlPolicyBundle.digest,
                SqlPolicyBundle.description,
                SqlPolicyBundle.builtin,
                SqlPolicyBundle.registered_by,
                SqlPolicyBundle.registered_at,
            ).order_by(SqlPolicyBundle.name, SqlPolicyBundle.id)
        ).all()
        return [
            RegisteredBundle(
                name=name,
                version=version,
                digest=digest,
                files={},
                description=description,
                builtin=builtin,
                registered_by=by,
                registered_at=at,
            )
            for name, version, digest, description, builtin, by, at in rows
        ]

    def _bundle_id(self, digest: str) -> int:
        found = self.s.scalar(select(SqlPolicyBundle.id).where(SqlPolicyBundle.digest == digest))
        if found is None:
            raise NotFound(f"no policy bundle has digest {digest}", {"bundle_digest": digest})
        return int(found)

    # -- assignments -------------------------------------------------------------------------

    def list_assignments(self) -> list[BundleAssignment]:
        rows = self.s.execute(_input_statements().assignments).all()
        return [
            BundleAssignment(
                risk_tier=row.risk_tier,
                environment=row.environment,
                bundle_name=name,
                bundle_version=version,
                bundle_digest=digest,
                assigned_by=row.assigned_by,
                assigned_at=row.assigned_at,
            )
            for row, name, version, digest in rows
        ]

    def replace_assignments(self, assignments: Iterable[BundleAssignment]) -> list[BundleAssignment]:
        """Make the table exactly ``assignments`` (each names its bundle by digest)."""
        self.s.execute(delete(SqlBundleAssignment))
        for item in assignments:
            self.s.add(
                SqlBundleAssignment(
                    risk_tier=item.risk_tier,
                    environment=item.environment,
                    bundle_id=self._bundle_id(item.bundle_digest),
                    assigned_by=item.assigned_by,
                    assigned_at=item.assigned_at,
                )
            )
        self.s.flush()
        return self.list_assignments()

    # -- decisions ---------------------------------------------------------------------------

    def insert_decision(self, decision: PolicyDecision, version_id: int | None = None) -> PolicyDecision:
        """Store a decision (``version_id``, when the caller has it, saves looking it up)."""
        row = SqlPolicyDecision(
            version_id=version_id or self._version_id(decision.model, decision.version),
            environment=decision.environment,
            allow=decision.allow,
            denies=[dict(f) for f in decision.denies],
            warnings=[dict(f) for f in decision.warnings],
            bundle_name=decision.bundle_name,
            bundle_version=decision.bundle_version,
            bundle_digest=decision.bundle_digest,
            input_digest=decision.input_digest,
            engine=decision.engine,
            engine_version=decision.engine_version,
            input_document=dict(decision.input or {}),
            audit_seq=decision.audit_seq,
            created_by=decision.created_by,
            created_at=decision.created_at,
        )
        self.s.add(row)
        self.s.flush()
        return to_decision(row, decision.model, decision.version, with_input=True)

    def set_decision_seq(self, decision_id: int, seq: int) -> None:
        self.s.execute(_input_statements().decision_seq, {"decision_id": decision_id, "seq": seq})

    def find_decision(self, model: str, version: int, decision_id: int) -> PolicyDecision | None:
        row = self.s.scalars(
            select(SqlPolicyDecision).where(
                SqlPolicyDecision.id == decision_id,
                SqlPolicyDecision.version_id == self._version_id(model, version),
            )
        ).one_or_none()
        return None if row is None else to_decision(row, model, version, with_input=True)

    def list_decisions(
        self, model: str, version: int, page_size: int, token: str | None
    ) -> Page[PolicyDecision]:
        """A version's decisions, newest first, without their input documents."""
        check_page_size(page_size)
        position = decode_token(token, "id")
        stmt = (
            select(SqlPolicyDecision)
            .options(defer(SqlPolicyDecision.input_document))
            .where(SqlPolicyDecision.version_id == self._version_id(model, version))
        )
        if position:
            stmt = stmt.where(SqlPolicyDecision.id < position["id"])
        rows = self.s.scalars(stmt.order_by(SqlPolicyDecision.id.desc()).limit(page_size + 1)).all()
        next_token = encode_token({"id": rows[page_size - 1].id}) if len(rows) > page_size else None
        return Page(
            tuple(to_decision(r, model, version, with_input=False) for r in rows[:page_size]), next_token
        )

    # -- the policy input ------------------------------------------------------------------

    def input_parts(self, model: str, version: int, dataset_check_kind: str) -> InputParts:
        """The records of one version's policy input in seven queries: model and version, run,
        datasets, the model's active deployments, the newest check of each kind on the version,
        the newest ``dataset_check_kind`` check of each dataset version it uses, and the model's
        open incidents. The statements are built once (:func:`_input_statements`)."""
        q = _input_statements()
        found = self.s.execute(q.version, {"model": model, "version": version}).one_or_none()
        if found is None:
            self._version_id(model, version)  # says which of the two is missing
            raise NotFound(f"model {model!r} has no version {version}", {"model": model, "version": version})
        row, model_row = found
        run = (
            None
            if row.training_run_id is None
            else convert.to_run(self.s.get_one(SqlTrainingRun, row.training_run_id))
        )
        datasets = [
            (convert.to_dataset_version(dv, ds.name), convert.to_dataset(ds), role)
            for dv, ds, role in self.s.execute(q.datasets, {"version_id": row.id})
        ]
        uses = tuple(convert.to_dataset_use(dv.dataset, dv.version, role) for dv, _, role in datasets)
        deployments = [
            convert.to_deployment(d, model, number)
            for d, number in self.s.execute(q.deployments, {"model_id": model_row.id})
        ]
        checks = [
            to_check(c, model=model, version=version)
            for c in self.s.scalars(q.checks, {"version_id": row.id})
        ]
        dataset_checks = [
            to_check(c, dataset=name, dataset_version=dv)
            for c, name, dv in self.s.execute(
                q.dataset_checks, {"version_id": row.id, "kind": dataset_check_kind}
            )
        ]
        incidents = [
            to_incident(i, model)
            for i in self.s.scalars(q.incidents, {"model_id": model_row.id, "version": version})
        ]
        return InputParts(
            version_id=row.id,
            model=convert.to_model(model_row),
            version=convert.to_version(row, model, run.run_id if run else None, uses),
            run=run,
            datasets=datasets,
            deployments=deployments,
            checks=checks,
            dataset_checks=dataset_checks,
            incidents=incidents,
        )

    # -- what a simulation evaluates ---------------------------------------------------------

    def count_denies_by_rule(self, since: datetime) -> list[tuple[str, int]]:
        """``(rule, how many denials named it)`` over the decisions made from ``since``, most first."""
        decision = SqlPolicyDecision
        if self.s.get_bind().dialect.name == "postgresql":
            finding = func.json_array_elements(decision.denies).table_valued("value").alias("finding")
            rule: ColumnElement[Any] = finding.c.value.op("->>")("rule")
        else:  # SQLite's JSON1
            finding = func.json_each(decision.denies).table_valued("value").alias("finding")
            rule = func.json_extract(finding.c.value, "$.rule")
        named = func.coalesce(rule, "?")
        stmt = (
            select(named, func.count(func.distinct(decision.id)))
            .select_from(decision)
            .join(finding, true())
            .where(decision.allow.is_(False), decision.created_at >= since)
            .group_by(named)
        )
        counts = [(str(r), int(n)) for r, n in self.s.execute(stmt)]
        return sorted(counts, key=lambda item: (-item[1], item[0]))

    # -- impact analysis ---------------------------------------------------------------------

    def _simulated(self, states: Sequence[str]) -> Any:
        """Versions of models that are not retired, in one of ``states`` or deployed now."""
        deployed = select(SqlDeployment.version_id).where(SqlDeployment.state == "active")
        return (
            select(SqlModelVersion.id, SqlModel.name, SqlModelVersion.version, SqlModelVersion.state)
            .join(SqlModel, SqlModel.id == SqlModelVersion.model_id)
            .where(
                SqlModel.state != "retired",
                or_(SqlModelVersion.state.in_(list(states)), SqlModelVersion.id.in_(deployed)),
            )
        )

    def count_simulated(self, states: Sequence[str]) -> int:
        """How many versions :meth:`simulation_page` pages through."""
        return int(self.s.scalar(select(func.count()).select_from(self._simulated(states).subquery())) or 0)

    def simulation_page(
        self, states: Sequence[str], after: tuple[str, int] | None, limit: int
    ) -> list[tuple[str, int, str, tuple[str, ...]]]:
        """``(model, version, state, environments it is deployed to now)`` of at most ``limit``
        versions of models that are not retired, in one of ``states`` or deployed now, by model
        then version, from the first after ``after`` (a ``(model, version)`` key)."""
        stmt = self._simulated(states)
        if after is not None:
            name, number = after
            stmt = stmt.where(
                or_(SqlModel.name > name, and_(SqlModel.name == name, SqlModelVersion.version > number))
            )
        rows = self.s.execute(stmt.order_by(SqlModel.name, SqlModelVersion.version).limit(limit)).all()
        environments: dict[int, list[str]] = {int(row[0]): [] for row in rows}
        if environments:
            deployed = self.s.execute(
                select(SqlDeployment.version_id, SqlDeployment.environment)
                .where(SqlDeployment.version_id.in_(list(environments)), SqlDeployment.state == "active")
                .order_by(SqlDeployment.environment)
            ).all()
            for version_id, environment in deployed:
                environments[int(version_id)].append(str(environment))
        return [
            (str(name), int(number), str(state), tuple(dict.fromkeys(environments[int(pk)])))
            for pk, name, number, state in rows
        ]
