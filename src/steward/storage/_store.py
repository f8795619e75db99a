"""The SQL store: one write transaction per use case, rows turned into records at this boundary.

Every write transaction starts by locking the ledger head (``BEGIN IMMEDIATE`` on SQLite,
``SELECT … FOR UPDATE`` on PostgreSQL), so writes are serial: version numbers and audit sequence
numbers are assigned without races, and a change and its audit event commit together or not at all.
Driver errors become :mod:`steward.errors` kinds here and nowhere else.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Executable,
    Select,
    and_,
    bindparam,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import IntegrityError as SqlIntegrityError
from sqlalchemy.orm import Session

from steward.domain import (
    AuditEvent,
    Dataset,
    DatasetUse,
    DatasetVersion,
    Deployment,
    Model,
    ModelVersion,
    Page,
    TrainingRun,
)
from steward.errors import AlreadyExists, Conflict, NotFound, StewardError, Unavailable
from steward.ledger._event import format_time
from steward.storage import _convert as convert
from steward.storage._bulk import chunks
from steward.storage._connectors import SqlSources, SqlVersionSource, links_by_version
from steward.storage._datasets import SqlDatasets
from steward.storage._deployments import SqlDeployments
from steward.storage._exclusive import hold
from steward.storage._filters import AuditFilter, ModelFilter, VersionFilter, model_conditions
from steward.storage._gate_reads import SqlGateReads
from steward.storage._gates import SqlGates
from steward.storage._identity import SqlIdentity
from steward.storage._incidents import SqlIncidents
from steward.storage._ledger_store import LedgerRows
from steward.storage._overview import SqlOverview
from steward.storage._pages import check_page_size, decode_token, page_of
from steward.storage._seal import SealRows
from steward.storage._tables import (
    Base,
    SqlAuditEvent,
    SqlDataset,
    SqlDatasetVersion,
    SqlDeployment,
    SqlLedgerHead,
    SqlModel,
    SqlModelScope,
    SqlModelTag,
    SqlModelVersion,
    SqlTrainingRun,
    SqlVersionDataset,
    SqlVersionTag,
)
from steward.storage._workflow import SqlWorkflow


@dataclass(frozen=True, slots=True)
class LedgerHead:
    size: int
    head_hash: str


class SqlStore:
    """Transactions over one engine. ``write()`` serialises writers; ``read()`` does not."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @property
    def reads_wait(self) -> bool:
        """Whether a read can wait on something other than this process's CPU: a network round
        trip per statement (PostgreSQL). SQLite's reads in WAL mode neither take nor wait for a
        lock and touch only local pages, so a server may run short ones on its event loop."""
        return self.backend != "sqlite"

    def exclusive(self, name: str) -> AbstractContextManager[None]:
        """Hold the lock ``name`` for work that spans platform calls and transactions; the
        holders of one name, in this process and in the other servers of a PostgreSQL database,
        take turns (see :mod:`steward.storage._exclusive`)."""
        return hold(self.engine, name)

    @contextmanager
    def write(self) -> Iterator[SqlTransaction]:
        """A write transaction, the ledger head locked first. On PostgreSQL the driver's connection
        is in autocommit mode and the transaction's BEGIN goes with the lock, in one message
        (psycopg sends its own BEGIN on the first statement, and waits for its answer: a round trip
        of its own); the COMMIT or ROLLBACK at the end are psycopg's, as in any transaction."""
        isolation = "AUTOCOMMIT" if self.backend == "postgresql" else None
        with self._session(write=True, isolation=isolation) as session:
            tx = SqlTransaction(session)
            tx._lock_head()
            yield tx
            tx.flush_seal()

    @contextmanager
    def read(self, *, statements: int | None = None, snapshot: bool = False) -> Iterator[SqlTransaction]:
        """A read transaction. ``statements=1`` promises a single statement (or statements that
        need not agree with one another): it then runs without BEGIN and COMMIT, a statement
        being its own snapshot (PostgreSQL's autocommit, a round trip each saved; SQLite's
        autocommit, about a sixth of a quick read's time). ``snapshot`` makes every statement see
        the same committed state (PostgreSQL's REPEATABLE READ; a SQLite read transaction always
        does), for reads that must agree with one another while writers go on, such as verifying
        the whole ledger."""
        isolation = None
        if self.backend == "postgresql":
            isolation = "AUTOCOMMIT" if statements == 1 else "REPEATABLE READ" if snapshot else None
        with self._session(write=False, isolation=isolation, single=statements == 1) as session:
            yield SqlTransaction(session)

    @contextmanager
    def _session(
        self, *, write: bool, isolation: str | None = None, single: bool = False
    ) -> Iterator[Session]:
        try:
            with self.engine.connect() as raw:
                conn = raw.execution_options(steward_write=write, steward_single=single)
                if isolation is not None:
                    conn = conn.execution_options(isolation_level=isolation)
                with Session(bind=conn, expire_on_commit=False, autoflush=False) as session, session.begin():
                    yield session
        except StewardError:
            raise
        except SqlIntegrityError as exc:
            if _is_unique_violation(exc):
                raise AlreadyExists(f"the record clashes with one that exists: {exc.orig}") from exc
            raise Conflict(f"the change breaks a rule of the database: {exc.orig}") from exc
        except OperationalError as exc:
            raise Unavailable(f"the database cannot be reached or is busy: {exc.orig}") from exc
        except DBAPIError as exc:
            raise Unavailable(f"the database refused the operation: {exc.orig}") from exc


def _is_unique_violation(exc: SqlIntegrityError) -> bool:
    """A unique or primary-key clash (PostgreSQL SQLSTATE 23505, SQLite's UNIQUE/PRIMARY KEY text),
    as opposed to a NOT NULL, CHECK or foreign-key failure, which is no duplicate."""
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate is not None:
        return bool(sqlstate == "23505")
    text = str(exc.orig)
    return "UNIQUE constraint failed" in text or "PRIMARY KEY" in text


class SqlTransaction:
    """The store's operations inside one transaction (the ``RegistryTransaction`` port)."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self._head: LedgerHead | None = None  # known from the lock to the commit (write only)
        self._seal = SealRows()  # events, head, nodes, checkpoints not written yet

    def _rows(self, stmt: Executable, values: dict[str, Any] | None = None) -> list[Any]:
        """The rows of a Core statement as named tuples (``convert.plain_rows``), no ORM objects."""
        return convert.plain_rows(self.s.connection().execute(stmt, values or {}))

    @property
    def sources(self) -> SqlSources:
        """Source links, harvest jobs, webhook deliveries and alias guards (connectors)."""
        return SqlSources(self.s)

    @property
    def identity(self) -> SqlIdentity:
        """Principals and their API tokens."""
        return SqlIdentity(self.s)

    @property
    def datasets(self) -> SqlDatasets:
        """Datasets, their versions, and training runs."""
        return SqlDatasets(self.s)

    @property
    def incidents(self) -> SqlIncidents:
        return SqlIncidents(self.s)

    @property
    def gates(self) -> SqlGates:
        """Check results, policy bundles and their assignment, policy decisions."""
        return SqlGates(self.s)

    @property
    def gate_reads(self) -> SqlGateReads:
        """The newest decisions and checks of many versions at once (inventory, model page)."""
        return SqlGateReads(self.s)

    @property
    def deployments(self) -> SqlDeployments:
        """Deployments: the version active in each environment, and their history."""
        return SqlDeployments(self.s)

    @property
    def overview(self) -> SqlOverview:
        """The inventory's lines and the dashboard's counts, each a read of many records."""
        return SqlOverview(self.s)

    @property
    def workflow(self) -> SqlWorkflow:
        """Reviews and conditions, the review queue, attestations, promotions, retirements."""
        return SqlWorkflow(self.s)

    # -- ledger head -------------------------------------------------------------------------

    def _lock_head(self) -> None:
        """Lock the head row and keep its value: no other writer can move it before this
        transaction ends. SQLite's writer holds the write lock since its BEGIN; PostgreSQL's
        transaction begins here, with ``SELECT … FOR UPDATE`` (:meth:`SqlStore.write`)."""
        conn = self.s.connection()
        if conn.dialect.name == "postgresql":
            row = _begin_locking_head(conn)
        else:
            row = conn.execute(_READ_HEAD).one_or_none()
        if row is None:
            raise Unavailable("the database has no schema yet: run `steward db upgrade`")
        self._head = LedgerHead(int(row[0]), row[1])

    @property
    def ledger(self) -> LedgerRows:
        """The ledger's rows (tree nodes, checkpoints, keys, read access log) in this transaction:
        its reads see every event appended so far, its new nodes and checkpoints are kept with them
        (``steward.storage._seal``)."""
        return LedgerRows(self.s, self._seal)

    def move_head(self, size: int, head_hash: str) -> None:
        """Record the log's new size and head hash (after events appended with ``move_head=False``),
        written with the batch's events (:meth:`flush_seal`)."""
        self._seal.head = (size, head_hash)
        if self._head is not None:
            self._head = LedgerHead(size, head_hash)

    def ledger_head(self) -> LedgerHead:
        """The log's size and head hash: in a write transaction, as locked and moved since (no
        statement); in a read, as stored."""
        if self._head is not None:
            return self._head
        size, head_hash = self.s.connection().execute(_READ_HEAD).one()
        return LedgerHead(int(size), head_hash)

    # -- models ------------------------------------------------------------------------------

    def _model_row(self, name: str) -> SqlModel:
        row = self.s.scalars(select(SqlModel).where(SqlModel.name == name)).one_or_none()
        if row is None:
            raise NotFound(f"model {name!r} does not exist", {"model": name})
        return row

    def find_model(self, name: str) -> Model | None:
        rows = self._rows(_MODEL, {"name": name})
        return convert.to_model(rows[0]) if rows else None

    def insert_model(self, model: Model) -> Model:
        """Create ``model``; ``AlreadyExists`` if its name is taken. One statement finds the clash
        and inserts (``ON CONFLICT DO NOTHING … RETURNING``), then one per index table in use."""
        conn = self.s.connection()
        statement = _insert_for(conn.dialect.name, SqlModel).on_conflict_do_nothing(index_elements=["name"])
        new_id = conn.execute(statement.returning(SqlModel.id), _model_values(model)).scalar()
        if new_id is None:
            raise AlreadyExists(f"model {model.name!r} already exists", {"model": model.name})
        self._index_models(conn, {model.name: new_id}, [model])
        return model

    def insert_models(self, models: Sequence[Model]) -> None:
        """Create many models (a harvest's batch) with one statement per table; a name that exists
        already is refused as :meth:`insert_model` refuses it (``AlreadyExists``)."""
        if not models:
            return
        names = [m.name for m in models]
        taken = self.s.scalars(select(SqlModel.name).where(SqlModel.name.in_(names))).first()
        if taken is not None:
            raise AlreadyExists(f"model {taken!r} already exists", {"model": taken})
        conn = self.s.connection()
        conn.execute(insert(SqlModel), [_model_values(m) for m in models])
        ids = dict(self.s.execute(select(SqlModel.name, SqlModel.id).where(SqlModel.name.in_(names))).all())
        self._index_models(conn, ids, models)

    @staticmethod
    def _index_models(conn: Connection, ids: dict[str, int], models: Sequence[Model]) -> None:
        """The scope and tag index rows of new ``models`` (``ids`` by name)."""
        scopes = [{"model_id": ids[m.name], "scope": s} for m in models for s in set(m.regulatory_scopes)]
        tags = [{"model_id": ids[m.name], "key": k, "value": v} for m in models for k, v in m.tags.items()]
        if scopes:
            conn.execute(insert(SqlModelScope), scopes)
        if tags:
            conn.execute(insert(SqlModelTag), tags)

    def _index_model(self, model_id: int, model: Model) -> None:
        """Replace a changed model's scope and tag index rows."""
        self.s.query(SqlModelScope).filter_by(model_id=model_id).delete()
        self.s.query(SqlModelTag).filter_by(model_id=model_id).delete()
        self.s.add_all(SqlModelScope(model_id=model_id, scope=s) for s in set(model.regulatory_scopes))
        self.s.add_all(SqlModelTag(model_id=model_id, key=k, value=v) for k, v in model.tags.items())

    def update_model(self, model: Model, expected_revision: int) -> Model:
        """Write ``model`` if the stored revision is still ``expected_revision``, else ``Conflict``."""
        row = self._model_row(model.name)
        result = self.s.execute(
            update(SqlModel)
            .where(SqlModel.id == row.id, SqlModel.revision == expected_revision)
            .values(
                owner=model.owner,
                risk_tier=model.risk_tier.value,
                state=model.state.value,
                description=model.description,
                use_case=model.use_case,
                intended_use=model.intended_use,
                limitations=model.limitations,
                regulatory_scopes=list(model.regulatory_scopes),
                tags=dict(model.tags),
                source_links=dict(model.source_links),
                review_cadence_months=model.review_cadence_months,
                updated_at=model.updated_at,
                revision=expected_revision + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(
                f"model {model.name!r} changed since revision {expected_revision} was read "
                f"(it is at revision {row.revision}); read it again and retry",
                {
                    "model": model.name,
                    "expected_revision": expected_revision,
                    "current_revision": row.revision,
                },
            )
        self._index_model(row.id, model)
        self.s.expire(row)
        return convert.to_model(self._model_row(model.name))

    def list_models(self, where: ModelFilter, page_size: int, token: str | None) -> Page[Model]:
        check_page_size(page_size)
        position = decode_token(token, "name")
        stmt = select(*SqlModel.__table__.c).where(and_(True, *model_conditions(where)))
        if position:
            stmt = stmt.where(SqlModel.name > position["name"])
        rows = self._rows(stmt.order_by(SqlModel.name).limit(page_size + 1))
        kept, next_token = page_of(rows, page_size, lambda r: {"name": r.name})
        return Page(tuple(convert.to_model(r) for r in kept), next_token)

    def count_models(self) -> int:
        return int(self.s.scalar(select(func.count()).select_from(SqlModel)) or 0)

    # -- versions ----------------------------------------------------------------------------

    def _version_row(self, model: str, version: int) -> tuple[SqlModelVersion, SqlModel]:
        found = self.s.execute(
            select(SqlModelVersion, SqlModel)
            .join(SqlModel, SqlModel.id == SqlModelVersion.model_id)
            .where(SqlModel.name == model, SqlModelVersion.version == version)
        ).one_or_none()
        if found is None:
            self._model_row(model)  # a missing model says so
            raise NotFound(f"model {model!r} has no version {version}", {"model": model, "version": version})
        return found[0], found[1]

    def _versions_out(self, pairs: Sequence[tuple[Any, str]]) -> list[ModelVersion]:
        """Records for many version rows (``SqlModelVersion`` objects or rows of
        ``_VERSION_COLUMNS``) with at most three more statements in all: runs, dataset uses and
        source links, each only when a row has any. A row of ``_VERSION_COLUMNS`` carries its
        run's id and says whether it has uses and links; for an ORM object they are looked up."""
        with_uses = [row.id for row, _ in pairs if getattr(row, "has_datasets", True)]
        with_links = [row.id for row, _ in pairs if getattr(row, "has_sources", True)]
        runs = {row.training_run_id: row.run_name for row, _ in pairs if hasattr(row, "run_name")}
        run_ids = list({row.training_run_id for row, _ in pairs if row.training_run_id not in runs} - {None})
        conn = self.s.connection()
        if run_ids:
            runs.update(conn.execute(_RUN_IDS, {"ids": run_ids}).all())
        uses: dict[int, list[DatasetUse]] = {i: [] for i in with_uses}
        if with_uses:
            for version_id, dataset, dversion, role in conn.execute(_DATASET_USES, {"ids": with_uses}):
                uses[version_id].append(convert.to_dataset_use(dataset, dversion, role))
        links = links_by_version(self.s, with_links)
        return [
            convert.to_version(
                row,
                name,
                runs.get(row.training_run_id) if row.training_run_id else None,
                tuple(uses.get(row.id, ())),
                tuple(links.get(row.id, ())),
            )
            for row, name in pairs
        ]

    def find_version(self, model: str, version: int) -> ModelVersion | None:
        found = self._rows(_VERSION, {"model": model, "version": version})
        return self._versions_out([(found[0], found[0].model_name)])[0] if found else None

    def find_versions(self, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], ModelVersion]:
        """Many versions by ``(model, number)`` in a few queries (per ``CHUNK`` keys); the ones that
        do not exist are left out."""
        found: dict[tuple[str, int], ModelVersion] = {}
        for chunk in chunks(sorted(set(keys))):
            rows = self.s.execute(
                select(SqlModelVersion, SqlModel.name)
                .join(SqlModel, SqlModel.id == SqlModelVersion.model_id)
                .where(
                    SqlModel.name.in_({m for m, _ in chunk}),
                    SqlModelVersion.version.in_({n for _, n in chunk}),
                )
            ).all()
            keep = set(chunk)
            records = self._versions_out([r for r in rows if (r[1], r[0].version) in keep])
            found.update({(r.model, r.version): r for r in records})
        return found

    def next_version_number(self, model: str) -> int:
        row = self._model_row(model)
        current = self.s.scalar(
            select(func.max(SqlModelVersion.version)).where(SqlModelVersion.model_id == row.id)
        )
        return int(current or 0) + 1

    def insert_version(self, version: ModelVersion) -> ModelVersion:
        model_row = self._model_row(version.model)
        run_pk = None
        if version.training_run is not None:
            run_pk = self.datasets.run_row(version.training_run).id
        row = SqlModelVersion(
            model_id=model_row.id,
            version=version.version,
            artifact_uri=version.artifact_uri,
            artifact_digest=version.artifact_digest,
            source_platform=version.source_platform,
            external_id=version.external_id,
            training_run_id=run_pk,
            description=version.description,
            metrics=dict(version.metrics),
            parameters=dict(version.parameters),
            tags=dict(version.tags),
            code_repository=version.code_repository,
            code_commit=version.code_commit,
            python_version=version.environment.python_version,
            dependency_lock_digest=version.environment.dependency_lock_digest,
            container_image_digest=version.environment.container_image_digest,
            state=version.state.value,
            registered_by=version.registered_by,
            created_at=version.created_at,
            updated_at=version.updated_at,
            revision=version.revision,
        )
        self.s.add(row)
        self.s.flush()
        self.s.add_all(SqlVersionTag(version_id=row.id, key=k, value=v) for k, v in version.tags.items())
        for use in version.datasets:
            dv = self.datasets.dataset_version_row(use.dataset, use.version)
            self.s.add(SqlVersionDataset(version_id=row.id, dataset_version_id=dv.id, role=use.role.value))
        self.s.flush()
        return self._versions_out([(row, model_row.name)])[0]

    def search_versions(self, where: VersionFilter, page_size: int, token: str | None) -> Page[ModelVersion]:
        """Versions newest first; ``where.model`` lists one model's versions (highest number first)."""
        check_page_size(page_size)
        position = decode_token(token, "id")
        values: dict[str, Any] = {
            "model": where.model,
            "owner": where.owner,
            "state": where.state,
            "source_platform": where.source_platform,
            "artifact_digest": where.artifact_digest,
            "after": position["id"] if position else None,
            "limit": page_size + 1,
        }
        for i, (key, value) in enumerate(where.tags):
            values[f"tag_key_{i}"], values[f"tag_value_{i}"] = key, value
        stmt = _version_page(
            bool(where.model),
            bool(where.owner),
            bool(where.state),
            bool(where.source_platform),
            bool(where.artifact_digest),
            len(where.tags),
            position is not None,
        )
        rows = [(row, row.model_name) for row in self._rows(stmt, values)]
        if where.model and not rows:
            self._model_row(where.model)  # a missing model says so
        kept, next_token = page_of(rows, page_size, lambda r: {"id": r[0].id})
        return Page(tuple(self._versions_out(kept)), next_token)

    # -- lineage -----------------------------------------------------------------------------

    def lineage_parts(
        self, model: str, version: int
    ) -> tuple[
        ModelVersion,
        TrainingRun | None,
        list[tuple[DatasetVersion, Dataset, str]],
        list[Deployment],
    ]:
        """Everything the lineage graph of one version needs, in four queries."""
        record = self.find_version(model, version)
        if record is None:
            self._version_row(model, version)
            raise AssertionError("unreachable")  # pragma: no cover
        row, _ = self._version_row(model, version)
        run = None
        if row.training_run_id is not None:
            run = convert.to_run(self.s.get_one(SqlTrainingRun, row.training_run_id))
        datasets = [
            (convert.to_dataset_version(dv, ds.name), convert.to_dataset(ds), role)
            for dv, ds, role in self.s.execute(
                select(SqlDatasetVersion, SqlDataset, SqlVersionDataset.role)
                .join(SqlVersionDataset, SqlVersionDataset.dataset_version_id == SqlDatasetVersion.id)
                .join(SqlDataset, SqlDataset.id == SqlDatasetVersion.dataset_id)
                .where(SqlVersionDataset.version_id == row.id)
                .order_by(SqlDataset.name, SqlVersionDataset.role)
            )
        ]
        deployments = self.deployments.matching(SqlDeployment.version_id == row.id)
        return record, run, datasets, deployments

    # -- audit events ------------------------------------------------------------------------

    def count_events_by_day(self, actions: Sequence[str], since: datetime) -> list[tuple[date, str, int]]:
        """``(UTC day, action, count)`` of the audit events with one of ``actions`` from ``since``.

        Event times are stored as canonical ISO text (``2026-12-01T18:05:39.246769Z``), so the day
        is its first ten characters on every backend, and the range compares as text."""
        self.flush_seal()
        day = func.substr(SqlAuditEvent.time, 1, 10)
        stmt = (
            select(day, SqlAuditEvent.action, func.count())
            .where(SqlAuditEvent.action.in_(list(actions)), SqlAuditEvent.time >= format_time(since))
            .group_by(day, SqlAuditEvent.action)
            .order_by(day, SqlAuditEvent.action)
        )
        return [(date.fromisoformat(d), action, int(n)) for d, action, n in self.s.execute(stmt)]

    def append_event(
        self,
        fields: dict[str, Any],
        prev_hash: str,
        event_hash: str,
        *,
        move_head: bool = True,
        texts: tuple[str | None, str | None],
    ) -> AuditEvent:
        """Store one sealed event and move the ledger head; call inside ``write()`` only.

        Plain statements (no unit of work): a batch of thousands of events stays fast. A caller
        that tracks the head itself passes ``move_head=False`` and calls :meth:`move_head` once at
        the end of its batch. The events are kept and inserted together, with the head, the tree's
        nodes and the checkpoint, by :meth:`flush_seal` (which any read of events or of the
        ledger, and the end of the transaction, call first). ``texts`` are the canonical texts of
        ``before`` and ``after`` (:func:`~steward.ledger._event.seal_encoded` made them while
        sealing the event).
        """
        before, after = texts
        row = {
            **fields,
            "before": before,
            "after": after,
            "prev_hash": prev_hash,
            "hash": event_hash,
        }
        self._seal.events.append(row)
        if move_head:
            self.move_head(fields["seq"], event_hash)
        return AuditEvent(
            seq=row["seq"],
            time=datetime.fromisoformat(row["time"]),  # the canonical text, read back as stored
            actor=row["actor"],
            action=row["action"],
            subject_type=row["subject_type"],
            subject_id=row["subject_id"],
            before=fields["before"],  # as given: the stored text is their canonical JSON
            after=fields["after"],
            reason=row["reason"],
            request_id=row["request_id"],
            client_address=row["client_address"],
            user_agent=row["user_agent"],
            prev_hash=prev_hash,
            hash=event_hash,
        )

    def flush_seal(self) -> None:
        """Write the events, head, tree nodes and checkpoints kept so far (``steward.storage._seal``)."""
        self._seal.write(self.s.connection())

    def list_events(self, where: AuditFilter, page_size: int, token: str | None) -> Page[AuditEvent]:
        self.flush_seal()
        check_page_size(page_size)
        position = decode_token(token, "seq")
        conditions = []
        if where.subject_type:
            conditions.append(SqlAuditEvent.subject_type == where.subject_type)
        if where.subject_id:
            conditions.append(SqlAuditEvent.subject_id == where.subject_id)
        if where.actor:
            conditions.append(SqlAuditEvent.actor == where.actor)
        if where.action:
            conditions.append(SqlAuditEvent.action == where.action)
        if where.since:
            conditions.append(SqlAuditEvent.time >= format_time(where.since))
        if where.until:
            conditions.append(SqlAuditEvent.time < format_time(where.until))
        if position:
            conditions.append(SqlAuditEvent.seq > position["seq"])
        rows = self.s.scalars(
            select(SqlAuditEvent)
            .where(and_(True, *conditions))
            .order_by(SqlAuditEvent.seq)
            .limit(page_size + 1)
        ).all()
        kept, next_token = page_of(rows, page_size, lambda r: {"seq": r.seq})
        return Page(tuple(convert.to_event(r) for r in kept), next_token)


# Enum members by value: a dict lookup is ~20x cheaper than ``RiskTier(value)`` per row.
_READ_HEAD = select(SqlLedgerHead.size, SqlLedgerHead.head_hash).where(SqlLedgerHead.id == 1)
_BEGIN_LOCKING_HEAD = "BEGIN; SELECT size, head_hash FROM ledger_head WHERE id = 1 FOR UPDATE"


def _begin_locking_head(conn: Connection) -> Any:
    """Begin PostgreSQL's transaction and lock the head row, in one message: two statements and no
    parameters, which psycopg sends in one simple query; the row is the second result's."""
    driver: Any = conn.connection.driver_connection
    dbapi_error = conn.dialect.loaded_dbapi.Error
    if driver.info.transaction_status.name != "IDLE" or not driver.autocommit:  # no BEGIN of its own
        raise RuntimeError("a write transaction begins on an idle connection in autocommit mode")
    try:
        with driver.cursor() as cursor:
            cursor.execute(_BEGIN_LOCKING_HEAD)
            cursor.nextset()
            return cursor.fetchone()
    except dbapi_error as exc:
        raise DBAPIError.instance(_BEGIN_LOCKING_HEAD, None, exc, dbapi_error, dialect=conn.dialect) from exc


_MODEL = select(*SqlModel.__table__.c).where(SqlModel.name == bindparam("name"))
_VERSION_COLUMNS = (
    *SqlModelVersion.__table__.c,
    SqlModel.name.label("model_name"),
    select(SqlTrainingRun.run_id)
    .where(SqlTrainingRun.id == SqlModelVersion.training_run_id)
    .scalar_subquery()
    .label("run_name"),
    # whether the version has dataset uses and source links: most have neither, and then
    # _versions_out need not look for them
    exists().where(SqlVersionDataset.version_id == SqlModelVersion.id).label("has_datasets"),
    exists().where(SqlVersionSource.version_id == SqlModelVersion.id).label("has_sources"),
)
_VERSIONS = select(*_VERSION_COLUMNS).join(SqlModel, SqlModel.id == SqlModelVersion.model_id)
"""Version rows with their model's name, the base of ``_VERSION`` and ``_version_page``."""


@functools.lru_cache(maxsize=256)  # a shape per filter combination and number of tags
def _version_page(
    by_model: bool,
    by_owner: bool,
    by_state: bool,
    by_platform: bool,
    by_digest: bool,
    tags: int,
    after: bool,
) -> Select[Any]:
    """The statement of one page of versions, newest first, for the filters given (built once per
    shape, like ``_deployment_page``); values are bound as ``model``, ``owner``, ``state``,
    ``source_platform``, ``artifact_digest``, ``tag_key_N``/``tag_value_N`` for each of ``tags``
    tags, ``after`` (the last id of the previous page) and ``limit``."""
    stmt = _VERSIONS
    if by_model:
        stmt = stmt.where(SqlModel.name == bindparam("model"))
    if by_owner:
        stmt = stmt.where(SqlModel.owner == bindparam("owner"))
    if by_state:
        stmt = stmt.where(SqlModelVersion.state == bindparam("state"))
    if by_platform:
        stmt = stmt.where(SqlModelVersion.source_platform == bindparam("source_platform"))
    if by_digest:
        stmt = stmt.where(SqlModelVersion.artifact_digest == bindparam("artifact_digest"))
    for i in range(tags):
        stmt = stmt.where(
            SqlModelVersion.id.in_(
                select(SqlVersionTag.version_id).where(
                    SqlVersionTag.key == bindparam(f"tag_key_{i}"),
                    SqlVersionTag.value == bindparam(f"tag_value_{i}"),
                )
            )
        )
    if after:
        stmt = stmt.where(SqlModelVersion.id < bindparam("after"))
    return stmt.order_by(SqlModelVersion.id.desc()).limit(bindparam("limit"))


_VERSION = _VERSIONS.where(
    SqlModel.name == bindparam("model"), SqlModelVersion.version == bindparam("version")
)
_RUN_IDS = select(SqlTrainingRun.id, SqlTrainingRun.run_id).where(
    SqlTrainingRun.id.in_(bindparam("ids", expanding=True))
)
_DATASET_USES = (
    select(SqlVersionDataset.version_id, SqlDataset.name, SqlDatasetVersion.version, SqlVersionDataset.role)
    .join(SqlDatasetVersion, SqlDatasetVersion.id == SqlVersionDataset.dataset_version_id)
    .join(SqlDataset, SqlDataset.id == SqlDatasetVersion.dataset_id)
    .where(SqlVersionDataset.version_id.in_(bindparam("ids", expanding=True)))
    .order_by(SqlVersionDataset.version_id, SqlDataset.name, SqlVersionDataset.role)
)


def _model_values(model: Model) -> dict[str, Any]:
    """The ``models`` row of a new ``model``."""
    return {
        "name": model.name,
        "owner": model.owner,
        "risk_tier": model.risk_tier.value,
        "state": model.state.value,
        "description": model.description,
        "use_case": model.use_case,
        "intended_use": model.intended_use,
        "limitations": model.limitations,
        "regulatory_scopes": list(model.regulatory_scopes),
        "tags": dict(model.tags),
        "source_links": dict(model.source_links),
        "review_cadence_months": model.review_cadence_months,
        "created_by": model.created_by,
        "created_at": model.created_at,
        "updated_at": model.updated_at,
        "revision": model.revision,
    }


def _insert_for(dialect: str, table: type[Base]) -> Any:
    """The dialect's own ``INSERT`` (it has ``ON CONFLICT``); both backends are PostgreSQL or SQLite."""
    return (postgresql_insert if dialect == "postgresql" else sqlite_insert)(table)
