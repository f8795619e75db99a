"""Policy bundles: register, list, show, test; which bundle applies where; impact simulation.

Bundles are validated (every module parses and compiles, every rule family reaches the decision)
before they are stored, and never edited in place: a new version is a new record. The assignment
table says which bundle applies to a risk tier and a target environment; with no assignment the
built-in bundle applies. The built-in bundle is stored (once per content digest) the first time a
decision or an assignment uses it, so every decision's bundle can be read back for replay.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from steward.domain import (
    ASSIGN_ANY,
    BUILTIN_BUNDLE_NAME,
    Action,
    BundleAssignment,
    DomainEvent,
    RegisteredBundle,
    RiskTier,
    Workflow,
    check_name,
)
from steward.errors import AlreadyExists, Conflict, IntegrityError, InvalidInput, NotFound
from steward.policy import (
    INPUT_SCHEMA_VERSION,
    Decision,
    EvalResult,
    Finding,
    PolicyBundle,
    PreparedQuery,
    RegoEngine,
    RegoTestResult,
    builtin_bundle,
    canonical_json,
    check_required_data,
    create_engine,
    evaluate,
    input_digest,
    validate_bundle,
    validate_input,
)
from steward.service._caller import Caller
from steward.service._events import Clock, EventBus, Writer, writing
from steward.service._gate_input import check_target
from steward.service._simulation import SIMULATION_PAGE, Progress, Simulation, Simulator
from steward.storage import SqlStore, SqlTransaction

POLICY_ERROR = "policy.error"
"""The rule id of the denial recorded when the bundle fails to evaluate (fail closed)."""

T = TypeVar("T")
_BUNDLE_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")
_TIERS = frozenset({*(t.value for t in RiskTier), ASSIGN_ANY})


@dataclass(frozen=True, slots=True)
class AssignmentSpec:
    """One row of the assignment table as asked for: a tier, an environment and a bundle."""

    risk_tier: str
    environment: str
    bundle_name: str
    bundle_version: str


@dataclass(frozen=True, slots=True)
class Assignments:
    """The assignment table, its revision, and the bundle that applies where no row matches.

    ``revision`` identifies the table's content (see :func:`assignments_revision`); a change must
    name the revision it was based on, so that two administrators cannot overwrite each other.
    """

    assignments: tuple[BundleAssignment, ...]
    default: RegisteredBundle
    revision: str


def assignments_revision(items: Iterable[BundleAssignment]) -> str:
    """The revision (an entity tag) of an assignment table: the first 16 hex digits of the
    SHA-256 of its canonical JSON, every row with its bundle digest, who assigned it and when.
    Every change of the table changes it; the empty table has one too."""
    rows = sorted(
        (
            {
                "risk_tier": a.risk_tier,
                "environment": a.environment,
                "bundle_digest": a.bundle_digest,
                "assigned_by": a.assigned_by,
                "assigned_at": None if a.assigned_at is None else a.assigned_at.isoformat(),
            }
            for a in items
        ),
        key=lambda row: (row["risk_tier"], row["environment"]),
    )
    return hashlib.sha256(canonical_json(rows)).hexdigest()[:16]


_SHARED: dict[str | None, RegoEngine] = {}
_SHARED_LOCK = threading.Lock()


def shared_engine(name: str | None = None) -> RegoEngine:
    """One engine of each kind for the whole process, so that a bundle compiled once serves every
    request and every :class:`Steward` in the process.

    It is never dropped, and that matters: regorus keeps a compiled engine per thread, and an
    engine dropped by a thread other than the one that made it is leaked with an error. Threads
    that end drop their own engines. One-off evaluations (a candidate bundle in a simulation, a
    replay of an old bundle, the checks at registration) use an engine of their own instead, made
    and dropped in the calling thread, so that they do not crowd the shared cache.
    """
    with _SHARED_LOCK:
        engine = _SHARED.get(name)
        if engine is None:
            engine = _SHARED[name] = create_engine(name)
        return engine


def _released(check: Callable[[], T]) -> T:
    """Run ``check``; an :class:`InvalidInput` it raises is raised again as a fresh copy, once the
    original has been dropped by this thread. The original's traceback holds the frames that were
    compiling the bundle, engine and all, and a regorus engine must be dropped by its own thread,
    not by whichever thread (the server's event loop) would drop the error later."""
    try:
        return check()
    except InvalidInput as exc:
        error = InvalidInput(exc.message, exc.details)
    raise error


class OneOffEngine:
    """A :class:`RegoEngine` for one use case: it keeps what it compiles in a plain dict, with no
    reference cycle, so that everything it made is dropped by the thread that drops it."""

    def __init__(self, name: str | None = None) -> None:
        self._inner = create_engine(name)
        self._prepared: dict[tuple[str, int, int], PreparedQuery] = {}

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def version(self) -> str:
        return self._inner.version

    def check(self, modules: Mapping[str, str]) -> None:
        self._inner.check(modules)

    def prepare(self, modules: Mapping[str, str], data: Mapping[str, Any], query: str) -> PreparedQuery:
        return self._inner.prepare(modules, data, query)

    def evaluate(
        self, modules: Mapping[str, str], data: Mapping[str, Any], input_doc: Mapping[str, Any], query: str
    ) -> EvalResult:
        key = (query, id(modules), id(data))  # a bundle's modules and data live as long as it does
        prepared = self._prepared.get(key)
        if prepared is None:
            prepared = self._prepared[key] = self._inner.prepare(modules, data, query)
        return prepared.evaluate(input_doc)

    def run_tests(self, modules: Mapping[str, str], data: Mapping[str, Any]) -> tuple[RegoTestResult, ...]:
        return self._inner.run_tests(modules, data)


def decide(bundle: PolicyBundle, doc: Mapping[str, Any], engine: RegoEngine) -> Decision:
    """Evaluate ``bundle``; an evaluation error becomes a denial (``policy.error``), never allow.

    The input document's shape is checked first and a bad document raises: that is the caller's
    mistake, not the version's.
    """
    validate_input(doc)
    try:
        return evaluate(bundle, doc, engine)
    except InvalidInput as exc:  # the document is valid: this is the bundle failing
        return Decision(
            allow=False,
            denies=(
                Finding(
                    POLICY_ERROR,
                    f"{POLICY_ERROR}: the bundle failed to evaluate: {exc.message}; "
                    "required an evaluation without errors",
                    exc.details.get("errors"),
                    "an evaluation without errors",
                ),
            ),
            warnings=(),
            bundle_name=bundle.name,
            bundle_version=bundle.version,
            bundle_digest=bundle.digest,
            input_digest=input_digest(doc),
            engine=engine.name,
            engine_version=engine.version,
        )


def skeleton_input(target: str = "production") -> dict[str, Any]:
    """The least document of the current schema version (every key, nothing in it): a bundle
    must evaluate it without an error before it is registered."""
    return {
        "schema_version": INPUT_SCHEMA_VERSION,
        "target": {"environment": target},
        "model": {
            "name": "skeleton",
            "owner": None,
            "description": None,
            "use_case": None,
            "intended_use": None,
            "limitations": None,
            "risk_tier": "high",
            "regulatory_scopes": [],
            "state": "active",
            "tags": {},
            "review_overdue": False,
        },
        "version": {
            "version": 1,
            "state": "registered",
            "artifact_uri": None,
            "artifact_digest": None,
            "source_platform": None,
            "external_id": None,
            "metrics": {},
            "parameters": {},
            "tags": {},
            "code_repository": None,
            "code_commit": None,
            "environment": {
                "python_version": None,
                "dependency_lock_digest": None,
                "container_image_digest": None,
            },
            "registered_by": None,
        },
        "lineage": {"training_run": None, "datasets": []},
        "checks": [],
        "reviews": [],
        "deployments": [],
        "incidents": [],
    }


def bundle_text(bundle: PolicyBundle) -> dict[str, str]:
    """A bundle's files as text (every file of a valid bundle is UTF-8)."""
    return {path: content.decode("utf-8") for path, content in sorted(bundle.files.items())}


class PolicyService:
    """Bundles, their assignment, evaluation on one shared engine, and simulation."""

    def __init__(
        self,
        store: SqlStore,
        bus: EventBus,
        clock: Clock,
        engine: str | None = None,
        workflow: Workflow | None = None,
    ) -> None:
        self.store = store
        self.bus = bus
        self.clock = clock
        self.workflow = workflow or Workflow()
        self._engine_name = engine
        self._engine: RegoEngine | None = None
        self._builtin: PolicyBundle | None = None
        self._parsed: OrderedDict[str, PolicyBundle] = OrderedDict()
        self._stored: set[str] = set()  # digests known to be stored in this database
        self._lock = threading.Lock()

    # -- the engine and the bundles it evaluates ---------------------------------------------

    @property
    def engine(self) -> RegoEngine:
        """The process's shared engine (see :func:`shared_engine`)."""
        if self._engine is None:
            self._engine = shared_engine(self._engine_name)
        return self._engine

    def one_off_engine(self) -> OneOffEngine:
        """An engine for evaluations that should not stay compiled (dropped by the caller's thread)."""
        return OneOffEngine(self._engine_name)

    def builtin(self) -> PolicyBundle:
        """The built-in bundle shipped with this Steward."""
        if self._builtin is None:
            self._builtin = builtin_bundle()
        return self._builtin

    def parsed(self, stored: RegisteredBundle) -> PolicyBundle:
        """The stored bundle as a :class:`PolicyBundle`, checked against its digest (cached)."""
        with self._lock:
            found = self._parsed.get(stored.digest)
            if found is not None:
                self._parsed.move_to_end(stored.digest)
                return found
        if stored.digest == self.builtin().digest:
            bundle = self.builtin()
        else:
            bundle = PolicyBundle.from_files(stored.files)
            if bundle.digest != stored.digest:
                raise IntegrityError(
                    f"policy bundle {stored.name} {stored.version}: its stored files hash to "
                    f"{bundle.digest}, not to the digest it was registered with ({stored.digest})",
                    {"bundle": stored.name, "version": stored.version, "digest": stored.digest},
                )
        with self._lock:
            self._parsed[stored.digest] = bundle
            while len(self._parsed) > 32:
                self._parsed.popitem(last=False)
        return bundle

    def _cached(self, digest: str) -> PolicyBundle | None:
        with self._lock:
            return self._parsed.get(digest)

    def by_digest(self, tx: SqlTransaction, digest: str) -> PolicyBundle:
        """The bundle with ``digest``: cached, stored, or the built-in one."""
        cached = self._cached(digest)
        if cached is not None:
            return cached
        if digest == self.builtin().digest:
            return self.builtin()
        stored = tx.gates.find_bundle_by_digest(digest)
        if stored is None:
            raise NotFound(f"no policy bundle has digest {digest}", {"bundle_digest": digest})
        return self.parsed(stored)

    def store_builtin(self, w: Writer, caller: Caller) -> RegisteredBundle:
        """The built-in bundle's stored record, storing it (with its event) the first time."""
        bundle = self.builtin()
        if bundle.digest in self._stored:
            return _builtin_record(bundle, caller.name, None)
        found = w.tx.gates.find_bundle_by_digest(bundle.digest)
        if found is None:
            found = w.tx.gates.insert_bundle(_builtin_record(bundle, caller.name, w.at))
            w.emit(
                DomainEvent(
                    "policy_bundle.registered",
                    "policy_bundle",
                    f"{bundle.name}@{bundle.version}",
                    after=_bundle_event(found),
                    reason="the built-in bundle shipped with Steward, stored on first use",
                )
            )
        self._stored.add(bundle.digest)
        return found

    def assigned(self, w: Writer, caller: Caller, risk_tier: str, environment: str) -> PolicyBundle:
        """The bundle that applies to ``risk_tier`` and ``environment`` (stored for replay)."""
        best = _best(w.tx.gates.list_assignments(), risk_tier, environment)
        if best is None:
            self.store_builtin(w, caller)
            return self.builtin()
        return self.by_digest(w.tx, best.bundle_digest)

    def in_force(self, tx: SqlTransaction, risk_tier: str, environment: str) -> PolicyBundle:
        """The bundle that applies, read-only (for the gate input and simulations)."""
        best = _best(tx.gates.list_assignments(), risk_tier, environment)
        return self.builtin() if best is None else self.by_digest(tx, best.bundle_digest)

    def in_force_by_tier(self, tx: SqlTransaction, environment: str) -> dict[RiskTier, PolicyBundle]:
        """:meth:`in_force` for every risk tier, reading the assignment table once."""
        assignments = tx.gates.list_assignments()
        found = {}
        for tier in RiskTier:
            best = _best(assignments, tier.value, environment)
            found[tier] = self.builtin() if best is None else self.by_digest(tx, best.bundle_digest)
        return found

    def decide(self, bundle: PolicyBundle, doc: Mapping[str, Any]) -> Decision:
        return decide(bundle, doc, self.engine)

    # -- bundles -----------------------------------------------------------------------------

    def check_bundle(self, files: Mapping[str, str | bytes]) -> PolicyBundle:
        """Build and validate a bundle from files; errors name the file and line. Its data.json
        must hold every key its built-in rule families read (:func:`check_required_data` names
        each one missing), and the bundle must evaluate the least document
        (:func:`skeleton_input`) without an error, so that a rule that errors, or a family switched
        off by a data key the bundle lacks, is refused before anything depends on it."""
        bundle = PolicyBundle.from_files(files)
        engine = self.one_off_engine()
        _released(lambda: validate_bundle(bundle, engine))
        check_required_data(bundle)
        _released(lambda: evaluate(bundle, skeleton_input(), engine))
        return bundle

    def register(self, caller: Caller, files: Mapping[str, str | bytes]) -> RegisteredBundle:
        """Validate and store a new bundle (``name`` and ``version`` from its manifest)."""
        caller.authorize(Action.POLICY_MANAGE)
        bundle = PolicyBundle.from_files(files)
        check_name("manifest.json: name", bundle.name)
        if not _BUNDLE_VERSION.fullmatch(bundle.version):
            raise InvalidInput.field(
                "manifest.json: version",
                "version",
                "must be 1 to 128 letters, digits, '.', '_', '+' or '-', starting with a letter or "
                f"digit (got {bundle.version!r})",
            )
        if bundle.name == BUILTIN_BUNDLE_NAME:
            raise InvalidInput.field(
                "manifest.json: name",
                "reserved",
                f"{BUILTIN_BUNDLE_NAME!r} is the built-in bundle's name; give your bundle its own",
            )
        bundle = self.check_bundle(files)
        with writing(self.store, self.bus, caller.origin, self.clock) as w:
            existing = w.tx.gates.find_bundle(bundle.name, bundle.version)
            if existing is not None:
                same = existing.digest == bundle.digest
                raise AlreadyExists(
                    f"policy bundle {bundle.name} {bundle.version} is registered already"
                    + (
                        " with the same files"
                        if same
                        else f" with other files (digest {existing.digest}); bundles are never "
                        "edited: give the new one a new version"
                    ),
                    {
                        "bundle": bundle.name,
                        "version": bundle.version,
                        "digest": existing.digest,
                        "same_files": same,
                    },
                )
            stored = w.tx.gates.insert_bundle(
                RegisteredBundle(
                    name=bundle.name,
                    version=bundle.version,
                    digest=bundle.digest,
                    files=bundle_text(bundle),
                    description=bundle.manifest.description or "",
                    registered_by=caller.name,
                    registered_at=w.at,
                )
            )
            w.emit(
                DomainEvent(
                    "policy_bundle.registered",
                    "policy_bundle",
                    f"{stored.name}@{stored.version}",
                    after=_bundle_event(stored),
                )
            )
        return stored

    def list_bundles(self, caller: Caller) -> list[RegisteredBundle]:
        """The built-in bundle, then every registered bundle (without files)."""
        caller.authorize(Action.POLICY_READ)
        with self.store.read() as tx:
            stored = tx.gates.list_bundles()
        current = self.builtin()
        found = next((b for b in stored if b.digest == current.digest), None)
        head = found or _builtin_record(current, "", None)
        others = [b for b in stored if b.digest != current.digest]
        return [RegisteredBundle(**{**_fields(head), "files": {}}), *others]

    def get_bundle(self, caller: Caller, name: str, version: str) -> RegisteredBundle:
        """One bundle with its files; the built-in one by its name and version too."""
        caller.authorize(Action.POLICY_READ)
        with self.store.read() as tx:
            found = tx.gates.find_bundle(name, version)
        current = self.builtin()
        if name == current.name and version == current.version:
            stored = found if found is not None and found.digest == current.digest else None
            return stored or _builtin_record(current, "", None)
        if found is None:
            raise NotFound(
                f"policy bundle {name} {version} is not registered", {"bundle": name, "version": version}
            )
        return found

    def test_bundle(
        self, caller: Caller, name: str, version: str
    ) -> tuple[RegisteredBundle, tuple[RegoTestResult, ...]]:
        """Run the Rego unit tests (``test_*`` rules in ``*_test.rego``) of a bundle."""
        record = self.get_bundle(caller, name, version)
        bundle = self.parsed(record)
        return record, self.one_off_engine().run_tests(bundle.all_modules, bundle.data)

    # -- assignments -------------------------------------------------------------------------

    def assignments(self, caller: Caller) -> Assignments:
        caller.authorize(Action.POLICY_READ)
        with self.store.read() as tx:
            items = tx.gates.list_assignments()
        return self._table(items)

    def _table(self, items: Sequence[BundleAssignment]) -> Assignments:
        return Assignments(
            tuple(items), _builtin_record(self.builtin(), "", None), assignments_revision(items)
        )

    def set_assignments(
        self, caller: Caller, specs: Sequence[AssignmentSpec], reason: str = "", *, revision: str
    ) -> Assignments:
        """Replace the assignment table, if it is still at ``revision`` (the one the caller
        read; else :class:`Conflict`, and nothing is written). The change and the whole table
        before and after are recorded in the audit trail."""
        caller.authorize(Action.POLICY_MANAGE)
        seen: set[tuple[str, str]] = set()
        for index, spec in enumerate(specs):
            field = f"assignments[{index}]"
            if spec.risk_tier not in _TIERS:
                raise InvalidInput.field(
                    f"{field}.risk_tier",
                    "choice",
                    f"must be one of {sorted(_TIERS)} (got {spec.risk_tier!r})",
                )
            if spec.environment != ASSIGN_ANY:
                try:
                    check_target(spec.environment)
                except InvalidInput:
                    raise InvalidInput.field(
                        f"{field}.environment",
                        "environment",
                        f"must be an environment name or '*' (got {spec.environment!r})",
                    ) from None
            key = (spec.risk_tier, spec.environment)
            if key in seen:
                raise InvalidInput.field(
                    field, "unique", f"risk tier {key[0]!r} and environment {key[1]!r} are assigned twice"
                )
            seen.add(key)
        with writing(self.store, self.bus, caller.origin, self.clock) as w:
            before = w.tx.gates.list_assignments()  # writes are serial: no one changes it now
            current = assignments_revision(before)
            if revision != current:
                raise Conflict(
                    f"the policy assignments changed since revision {revision} was read (they are "
                    f"at revision {current}); read them again and retry",
                    {"expected_revision": revision, "current_revision": current},
                )
            rows = []
            for index, spec in enumerate(specs):
                record = self._resolve(w, caller, spec, f"assignments[{index}]")
                rows.append(
                    BundleAssignment(
                        risk_tier=spec.risk_tier,
                        environment=spec.environment,
                        bundle_name=record.name,
                        bundle_version=record.version,
                        bundle_digest=record.digest,
                        assigned_by=caller.name,
                        assigned_at=w.at,
                    )
                )
            after = w.tx.gates.replace_assignments(rows)
            w.emit(
                DomainEvent(
                    "policy_assignment.changed",
                    "policy_assignments",
                    "all",
                    before={"assignments": [_assignment_event(a) for a in before], "revision": current},
                    after={
                        "assignments": [_assignment_event(a) for a in after],
                        "revision": assignments_revision(after),
                    },
                    reason=reason,
                )
            )
        return self._table(after)

    def _resolve(self, w: Writer, caller: Caller, spec: AssignmentSpec, field: str) -> RegisteredBundle:
        current = self.builtin()
        if spec.bundle_name == current.name and spec.bundle_version == current.version:
            return self.store_builtin(w, caller)
        found = w.tx.gates.find_bundle(spec.bundle_name, spec.bundle_version)
        if found is None:
            raise NotFound(
                f"{field}: policy bundle {spec.bundle_name} {spec.bundle_version} is not registered",
                {"bundle": spec.bundle_name, "version": spec.bundle_version},
            )
        return found

    # -- impact analysis ---------------------------------------------------------------------

    def simulate_files(
        self,
        caller: Caller,
        files: Mapping[str, str | bytes],
        environments: Iterable[str] = ("production",),
        **options: Any,
    ) -> Simulation:
        """:meth:`simulate` with a candidate given as files (a folder, or a request body)."""
        caller.authorize(Action.POLICY_SIMULATE)
        return self.simulate(caller, PolicyBundle.from_files(files), environments, **options)

    def simulate_registered(
        self,
        caller: Caller,
        name: str,
        version: str,
        environments: Iterable[str] = ("production",),
        **options: Any,
    ) -> Simulation:
        """:meth:`simulate` with a registered bundle (or the built-in one) as the candidate."""
        caller.authorize(Action.POLICY_SIMULATE)
        candidate = self.parsed(self.get_bundle(caller, name, version))
        return self.simulate(caller, candidate, environments, **options)

    def simulate_digest(
        self, caller: Caller, digest: str, environments: Iterable[str] = ("production",), **options: Any
    ) -> Simulation:
        """:meth:`simulate` with the registered (or built-in) bundle of content ``digest``."""
        caller.authorize(Action.POLICY_SIMULATE)
        with self.store.read() as tx:
            candidate = self.by_digest(tx, digest)
        return self.simulate(caller, candidate, environments, **options)

    def simulate(
        self,
        caller: Caller,
        candidate: PolicyBundle,
        environments: Iterable[str] = ("production",),
        *,
        page_size: int = SIMULATION_PAGE,
        changed_only: bool = False,
        progress: Progress | None = None,
    ) -> Simulation:
        """Evaluate ``candidate`` against every version deployed now (for its environment) and
        every version awaiting review or deployment (for each of ``environments``), beside the
        bundle in force for each, and report the decisions that would change. Writes nothing.

        The versions are read ``page_size`` at a time, each page in its own read transaction
        (see :mod:`steward.service._simulation`); ``progress`` hears after each page, and with
        ``changed_only`` only the decisions that would change are kept (the counts cover all).
        """
        caller.authorize(Action.POLICY_SIMULATE)
        engine = self.one_off_engine()
        _released(lambda: validate_bundle(candidate, engine))
        targets = [check_target(e) for e in dict.fromkeys(environments)]
        simulator = Simulator(
            self.store,
            self.workflow,
            self.in_force,
            self.decide,
            lambda doc: decide(candidate, doc, engine),
        )
        return simulator.run(
            candidate,
            targets,
            self.clock(),
            page_size=page_size,
            changed_only=changed_only,
            progress=progress,
        )


def _best(assignments: list[BundleAssignment], risk_tier: str, environment: str) -> BundleAssignment | None:
    matching = [a for a in assignments if a.matches(risk_tier, environment)]
    return max(matching, key=lambda a: a.specificity()) if matching else None


def _builtin_record(bundle: PolicyBundle, by: str, at: Any) -> RegisteredBundle:
    return RegisteredBundle(
        name=bundle.name,
        version=bundle.version,
        digest=bundle.digest,
        files=bundle_text(bundle),
        description=bundle.manifest.description or "",
        builtin=True,
        registered_by=by,
        registered_at=at,
    )


def _fields(record: RegisteredBundle) -> dict[str, Any]:
    return {name: getattr(record, name) for name in RegisteredBundle.__dataclass_fields__}


def _bundle_event(record: RegisteredBundle) -> dict[str, Any]:
    return {
        "name": record.name,
        "version": record.version,
        "digest": record.digest,
        "description": record.description,
        "builtin": record.builtin,
        "files": sorted(record.files),
    }


def _assignment_event(item: BundleAssignment) -> dict[str, Any]:
    return {
        "risk_tier": item.risk_tier,
        "environment": item.environment,
        "bundle": item.bundle_name,
        "version": item.bundle_version,
        "digest": item.bundle_digest,
    }
