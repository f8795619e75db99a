"""Storage and use cases on both backends: records, filters, pages, lineage, and the audit trail."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import text

from steward import wire
from steward.domain import (
    AuditEvent,
    DatasetRole,
    DatasetUse,
    DeploymentState,
    DomainEvent,
    Environment,
    ModelState,
    Origin,
    RiskTier,
    Role,
    VersionState,
)
from steward.errors import (
    AlreadyExists,
    Conflict,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from steward.service import Caller, EventBus, Steward, local_operator
from steward.storage import AuditFilter, ModelFilter, SqlTransaction, VersionFilter
from steward.storage._pages import encode_token
from tests.integration.conftest import MakeCaller
from tests.integration.support import db_state, digest, model_spec, version_spec
from tests.integration.workflow_support import (
    DEPLOYER,
    PASSING_METRICS,
    deploy,
    documented,
    passing_version,
    sign_offs,
    workflow_caller,
)

# -- helpers -----------------------------------------------------------------------------------


def all_events(steward: Steward, caller: Caller, **where: Any) -> list[AuditEvent]:
    events: list[AuditEvent] = []
    token = None
    while True:
        page = steward.audit.list_events(caller, AuditFilter(**where), 100, token)
        events.extend(page.items)
        token = page.next_token
        if token is None:
            return events


def names(page_items: Any) -> list[str]:
    return [m.name for m in page_items]


def walk_models(steward: Steward, caller: Caller, where: ModelFilter, size: int) -> list[list[str]]:
    pages, token = [], None
    while True:
        page = steward.registry.list_models(caller, where, size, token)
        pages.append(names(page.items))
        token = page.next_token
        if token is None:
            return pages


def add_dataset(steward: Steward, caller: Caller, name: str, *versions: str) -> None:
    steward.registry.create_dataset(caller, wire.DatasetCreate(name=name, source=f"s3://data/{name}"))
    for v in versions:
        steward.registry.add_dataset_version(
            caller,
            name,
            wire.DatasetVersionCreate(version=v, uri=f"s3://data/{name}/{v}", digest=digest(f"{name}@{v}")),
        )


# -- models ------------------------------------------------------------------------------------


def test_create_and_get_model(steward: Steward, admin: Caller) -> None:
    spec = model_spec(
        "credit-risk",
        owner="team-risk",
        risk_tier="high",
        description="Scores loan applications.",
        use_case="Retail lending",
        intended_use="Pre-screening only",
        limitations="Not for SMEs",
        regulatory_scopes=["eu-ai-act-high-risk", "sr-11-7", "eu-ai-act-high-risk"],
        tags={"team": "risk", "domain": "lending"},
        review_cadence_months=12,
        source_links={"mlflow": "http://mlflow.local/#/models/credit-risk"},
    )
    started = datetime.now(UTC)
    created = steward.registry.create_model(admin, spec)
    assert created.name == "credit-risk"
    assert created.owner == "team-risk"
    assert created.risk_tier is RiskTier.HIGH
    assert created.state is ModelState.ACTIVE
    assert created.regulatory_scopes == ("eu-ai-act-high-risk", "sr-11-7")  # duplicates dropped
    assert created.tags == {"team": "risk", "domain": "lending"}
    assert created.review_cadence_months == 12
    assert created.source_links == {"mlflow": "http://mlflow.local/#/models/credit-risk"}
    assert created.limitations == "Not for SMEs"
    assert created.created_by == "local:tester"
    assert created.revision == 1
    assert created.created_at is not None
    assert created.created_at.tzinfo is not None
    assert created.created_at.utcoffset() == timedelta(0)
    assert started - timedelta(seconds=1) <= created.created_at <= datetime.now(UTC)
    assert created.updated_at == created.created_at
    assert steward.registry.get_model(admin, "credit-risk") == created


def test_model_name_is_unique(steward: Steward, admin: Caller) -> None:
    steward.registry.create_model(admin, model_spec("churn"))
    before = db_state(steward)
    with pytest.raises(AlreadyExists) as caught:
        steward.registry.create_model(admin, model_spec("churn", owner="someone-else"))
    assert caught.value.details == {"model": "churn"}
    assert "churn" in caught.value.message
    assert db_state(steward) == before
    assert steward.registry.get_model(admin, "churn").owner == "team-risk"


def test_get_missing_model(steward: Steward, admin: Caller) -> None:
    with pytest.raises(NotFound) as caught:
        steward.registry.get_model(admin, "nope")
    assert caught.value.message == "model 'nope' does not exist"
    assert caught.value.details == {"model": "nope"}


def test_update_model(steward: Steward, admin: Caller) -> None:
    created = steward.registry.create_model(
        admin, model_spec("fraud", tags={"team": "a"}, regulatory_scopes=["sr-11-7"])
    )
    updated = steward.registry.update_model(
        admin,
        "fraud",
        wire.ModelUpdate(
            revision=1,
            owner="team-fraud",
            risk_tier="high",
            tags={"team": "b", "tier": "1"},
            regulatory_scopes=["hipaa", "hipaa"],
            description="Now with ünïcödé ✓",
            reason="re-org",
        ),
    )
    assert updated.revision == 2
    assert updated.owner == "team-fraud"
    assert updated.risk_tier is RiskTier.HIGH
    assert updated.tags == {"team": "b", "tier": "1"}
    assert updated.regulatory_scopes == ("hipaa",)
    assert updated.description == "Now with ünïcödé ✓"
    assert updated.created_at == created.created_at
    assert updated.updated_at is not None
    assert created.updated_at is not None
    assert updated.updated_at >= created.updated_at
    assert updated.use_case == created.use_case  # untouched fields stay
    assert steward.registry.get_model(admin, "fraud") == updated
    # the filter tables follow the update
    listed = steward.registry.list_models(admin, ModelFilter(tags=(("team", "a"),)))
    assert names(listed.items) == []
    listed = steward.registry.list_models(admin, ModelFilter(tags=(("team", "b"),)))
    assert names(listed.items) == ["fraud"]
    assert names(steward.registry.list_models(admin, ModelFilter(scope="sr-11-7")).items) == []
    assert names(steward.registry.list_models(admin, ModelFilter(scope="hipaa")).items) == ["fraud"]


def test_update_with_stale_revision_conflicts_and_writes_nothing(steward: Steward, admin: Caller) -> None:
    steward.registry.create_model(admin, model_spec("fraud"))
    steward.registry.update_model(admin, "fraud", wire.ModelUpdate(revision=1, owner="second"))
    before = db_state(steward)
    with pytest.raises(Conflict) as caught:
        steward.registry.update_model(admin, "fraud", wire.ModelUpdate(revision=1, owner="third"))
    assert caught.value.details == {"model": "fraud", "expected_revision": 1, "current_revision": 2}
    assert "revision 1" in caught.value.message
    assert db_state(steward) == before
    assert steward.registry.get_model(admin, "fraud").owner == "second"


def test_update_missing_model(steward: Steward, admin: Caller) -> None:
    before = db_state(steward)
    with pytest.raises(NotFound):
        steward.registry.update_model(admin, "ghost", wire.ModelUpdate(revision=1, owner="x"))
    assert db_state(steward) == before


def test_update_can_clear_review_cadence(steward: Steward, admin: Caller) -> None:
    steward.registry.create_model(admin, model_spec("m", review_cadence_months=6))
    updated = steward.registry.update_model(
        admin, "m", wire.ModelUpdate(revision=1, review_cadence_months=None)
    )
    assert updated.review_cadence_months is None
    assert steward.registry.get_model(admin, "m").review_cadence_months is None


# -- listing models ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalogue(module_database_url: str) -> Iterator[Steward]:
    """Five models, shared by the read-only listing tests of a module (per backend)."""
    core = Steward.open(module_database_url, migrate=True)
    admin = local_operator(name="local:tester")
    specs = [
        model_spec(
            "alpha",
            owner="team-a",
            risk_tier="high",
            regulatory_scopes=["eu-ai-act-high-risk"],
            tags={"team": "a", "env": "prod"},
            description="Predicts 100% of churn_rate",
        ),
        model_spec(
            "beta",
            owner="team-b",
            risk_tier="medium",
            regulatory_scopes=["sr-11-7", "hipaa"],
            tags={"team": "b", "expr": "x=y"},
            description="Prévision de crédit — Émile",
            use_case="résumé scoring 模型",
        ),
        model_spec(
            "gamma",
            owner="team-a",
            risk_tier="low",
            tags={"team": "a", "env": "dev"},
            description="reads C:\\models\\gamma",
        ),
        model_spec(
            "delta_1", owner="team-c", risk_tier="low", regulatory_scopes=["sr-11-7"], description="plain"
        ),
        model_spec("Epsilon", owner="team-c", risk_tier="medium", use_case="PRICING engine"),
    ]
    for spec in specs:
        core.registry.create_model(admin, spec)
    core.registry.register_version(admin, "alpha", version_spec(1))
    core.registry.record_run(admin, wire.TrainingRunCreate(run_id="run-1"))
    core.registry.create_dataset(admin, wire.DatasetCreate(name="ds"))
    yield core
    core.close()


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (ModelFilter(), ["Epsilon", "alpha", "beta", "delta_1", "gamma"]),
        (ModelFilter(owner="team-a"), ["alpha", "gamma"]),
        (ModelFilter(owner="team-"), []),  # owner is exact, not a prefix
        (ModelFilter(risk_tier="low"), ["delta_1", "gamma"]),
        (ModelFilter(risk_tier=RiskTier.HIGH), ["alpha"]),
        (ModelFilter(state="active"), ["Epsilon", "alpha", "beta", "delta_1", "gamma"]),
        (ModelFilter(state=ModelState.RETIRED), []),
        (ModelFilter(scope="sr-11-7"), ["beta", "delta_1"]),
        (ModelFilter(scope="hipaa"), ["beta"]),
        (ModelFilter(scope="gdpr"), []),
        (ModelFilter(tags=(("team", "a"),)), ["alpha", "gamma"]),
        (ModelFilter(tags=(("team", "a"), ("env", "prod"))), ["alpha"]),
        (ModelFilter(tags=(("team", "a"), ("env", "qa"))), []),
        (ModelFilter(tags=(("expr", "x=y"),)), ["beta"]),
        (ModelFilter(tags=(("env", "dev"),), owner="team-a", risk_tier="low"), ["gamma"]),
        (ModelFilter(owner="team-c", risk_tier="medium"), ["Epsilon"]),
        (ModelFilter(scope="sr-11-7", risk_tier="low", owner="team-c"), ["delta_1"]),
    ],
)
def test_list_models_filters(
    catalogue: Steward, admin: Caller, where: ModelFilter, expected: list[str]
) -> None:
    assert names(catalogue.registry.list_models(admin, where).items) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("alpha", ["alpha"]),
        ("ALPHA", ["alpha"]),  # case-insensitive
        ("epsilon", ["Epsilon"]),
        ("pricing", ["Epsilon"]),  # in use_case
        ("churn", ["alpha"]),  # in description
        ("%", ["alpha"]),  # LIKE metacharacters are literal
        ("100%", ["alpha"]),
        ("_", ["alpha", "delta_1"]),
        ("a_1", ["delta_1"]),
        ("n_r", ["alpha"]),
        ("a%e", []),
        ("\\", ["gamma"]),
        ("c:\\models", ["gamma"]),
        ("crédit", ["beta"]),  # unicode text
        ("Émile", ["beta"]),
        ("émile", ["beta"]),
        ("ÉMILE", ["beta"]),
        ("模型", ["beta"]),
        ("— é", ["beta"]),
        ("zzz", []),
    ],
)
def test_list_models_free_text(catalogue: Steward, admin: Caller, text: str, expected: list[str]) -> None:
    assert names(catalogue.registry.list_models(admin, ModelFilter(text=text)).items) == expected


def test_model_pages_walk_everything_once(steward: Steward, admin: Caller) -> None:
    all_names = sorted(f"m-{i:02d}" for i in range(23))
    for name in reversed(all_names):
        steward.registry.create_model(admin, model_spec(name, risk_tier="high" if name < "m-10" else "low"))
    pages = walk_models(steward, admin, ModelFilter(), 5)
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    assert [n for p in pages for n in p] == all_names
    # with a filter, pages keep to it
    high = walk_models(steward, admin, ModelFilter(risk_tier="high"), 4)
    assert [len(p) for p in high] == [4, 4, 2]
    assert [n for p in high for n in p] == [n for n in all_names if n < "m-10"]
    # an exact multiple of the page size ends without an empty page
    assert [len(p) for p in walk_models(steward, admin, ModelFilter(risk_tier="high"), 5)] == [5, 5]
    assert walk_models(steward, admin, ModelFilter(owner="nobody"), 5) == [[]]


def test_pages_see_records_created_meanwhile_after_the_position(steward: Steward, admin: Caller) -> None:
    for name in ("b", "d", "f"):
        steward.registry.create_model(admin, model_spec(name))
    first = steward.registry.list_models(admin, ModelFilter(), 2)
    assert names(first.items) == ["b", "d"]
    steward.registry.create_model(admin, model_spec("a"))  # before the position: not repeated
    steward.registry.create_model(admin, model_spec("e"))  # after it: seen
    second = steward.registry.list_models(admin, ModelFilter(), 2, first.next_token)
    assert names(second.items) == ["e", "f"]
    assert second.next_token is None


@pytest.mark.parametrize(
    "token",
    [
        "!!!not-base64!!!",
        "bm90IGpzb24",  # "not json"
        encode_token({}),  # no position
        encode_token({"id": 3}),  # a position of another listing
        "W10",  # a JSON list
        encode_token({"name": 5}),  # the wrong type
        encode_token({"name": None}),
        encode_token({"name": {"$gt": ""}}),
    ],
)
def test_bad_model_page_token(catalogue: Steward, admin: Caller, token: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        catalogue.registry.list_models(admin, ModelFilter(), 2, token)
    assert caught.value.details["errors"][0]["field"] == "page_token"
    assert caught.value.details["errors"][0]["rule"] == "page_token"


@pytest.mark.parametrize(
    ("listing", "token"),
    [
        ("versions", encode_token({"id": "abc"})),
        ("versions", encode_token({"id": 10**30})),
        ("runs", encode_token({"id": "abc"})),
        ("runs", encode_token({"id": [1]})),
        ("audit", encode_token({"seq": "abc"})),
        ("audit", encode_token({"seq": 1.5e300})),
        ("datasets", encode_token({"name": 7})),
    ],
)
def test_bad_page_token_of_other_listings(
    catalogue: Steward, admin: Caller, listing: str, token: str
) -> None:
    calls = {
        "versions": lambda: catalogue.registry.search_versions(admin, VersionFilter(), 5, token),
        "runs": lambda: catalogue.registry.list_runs(admin, 5, token),
        "audit": lambda: catalogue.audit.list_events(admin, AuditFilter(), 5, token),
        "datasets": lambda: catalogue.registry.list_datasets(admin, 5, token),
    }
    with pytest.raises(InvalidInput) as caught:
        calls[listing]()
    assert caught.value.details["errors"][0]["field"] == "page_token"


@pytest.mark.parametrize("size", [0, -1, 1001])
def test_page_size_range(catalogue: Steward, admin: Caller, size: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        catalogue.registry.list_models(admin, ModelFilter(), size)
    assert caught.value.details["errors"] == [
        {"field": "page_size", "rule": "range", "message": "must be between 1 and 1000"}
    ]


# -- versions ----------------------------------------------------------------------------------


def test_register_version_with_its_evidence(steward: Steward, admin: Caller, make_caller: MakeCaller) -> None:
    scientist = make_caller(Role.DATA_SCIENTIST, name="dana")
    steward.registry.create_model(admin, model_spec("credit-risk"))
    add_dataset(steward, admin, "customers", "2024-01", "2024-02")
    add_dataset(steward, admin, "holdout", "v1")
    steward.registry.record_run(
        admin,
        wire.TrainingRunCreate(
            run_id="run-42",
            platform="mlflow",
            experiment="credit",
            user="dana",
            parameters={"max_depth": "6"},
            metrics={"auc": 0.91},
            code_commit="abcdef1",
        ),
    )
    spec = version_spec(
        "credit-1",
        source_platform="mlflow",
        external_id="models:/credit-risk/1",
        training_run="run-42",
        description="Gradient boosting, 2024 data",
        metrics={"auc": 0.91, "ks": 0.45, "neg": -1.5},
        parameters={"max_depth": "6", "eta": "0.1"},
        tags={"stage": "candidate"},
        datasets=[
            {"dataset": "customers", "version": "2024-02", "role": "training"},
            {"dataset": "holdout", "version": "v1", "role": "test"},
            {"dataset": "customers", "version": "2024-02", "role": "training"},  # repeated: kept once
            {"dataset": "customers", "version": "2024-01", "role": "validation"},
        ],
        code_repository="https://git.example/credit",
        code_commit="0123456789abcdef",
        environment={
            "python_version": "3.11.9",
            "dependency_lock_digest": digest("lock"),
            "container_image_digest": digest("image"),
        },
    )
    version = steward.registry.register_version(scientist, "credit-risk", spec)
    assert version.model == "credit-risk"
    assert version.version == 1
    assert version.artifact_uri == "s3://models/credit-1/model.pkl"
    assert version.artifact_digest == digest("credit-1")
    assert version.source_platform == "mlflow"
    assert version.external_id == "models:/credit-risk/1"
    assert version.training_run == "run-42"
    assert version.metrics == {"auc": 0.91, "ks": 0.45, "neg": -1.5}
    assert version.parameters == {"max_depth": "6", "eta": "0.1"}
    assert version.tags == {"stage": "candidate"}
    assert sorted(version.datasets, key=lambda u: (u.dataset, u.version, u.role)) == [
        use_of("customers", "2024-01", DatasetRole.VALIDATION),
        use_of("customers", "2024-02", DatasetRole.TRAINING),
        use_of("holdout", "v1", DatasetRole.TEST),
    ]
    assert version.code_repository == "https://git.example/credit"
    assert version.code_commit == "0123456789abcdef"
    assert version.environment == Environment("3.11.9", digest("lock"), digest("image"))
    assert version.state is VersionState.REGISTERED
    assert version.registered_by == "dana"
    assert version.revision == 1
    assert steward.registry.get_version(admin, "credit-risk", 1) == version


def use_of(dataset: str, version: str, role: DatasetRole) -> DatasetUse:
    return DatasetUse(dataset, version, role)


def test_version_numbers_count_per_model(steward: Steward, admin: Caller) -> None:
    steward.registry.create_model(admin, model_spec("a"))
    steward.registry.create_model(admin, model_spec("b"))
    numbers = [steward.registry.register_version(admin, "a", version_spec(i)).version for i in range(3)]
    assert numbers == [1, 2, 3]
    assert steward.registry.register_version(admin, "b", version_spec("b")).version == 1
    assert steward.registry.register_version(admin, "a", version_spec("a4")).version == 4
    page = steward.registry.search_versions(admin, VersionFilter(model="a"))
    assert [v.version for v in page.items] == [4, 3, 2, 1]  # newest first
    assert page.next_token is None


def test_register_version_refusals_write_nothing(steward: Steward, admin: Caller) -> None:
    steward.registry.create_model(admin, model_spec("m"))
    add_dataset(steward, admin, "customers", "v1")
    before = db_state(steward)
    with pytest.raises(NotFound) as missing_model:
        steward.registry.register_version(admin, "ghost", version_spec(1))
    assert missing_model.value.details == {"model": "ghost"}
    with pytest.raises(InvalidInput) as missing_run:
        steward.registry.register_version(admin, "m", version_spec(1, training_run="run-x"))
    assert missing_run.value.details["errors"][0]["field"] == "training_run"
    assert missing_run.value.details["errors"][0]["rule"] == "exists"
    with pytest.raises(InvalidInput) as missing_data:
        steward.registry.register_version(
            admin,
            "m",
            version_spec(
                1,
                datasets=[
                    {"dataset": "customers", "version": "v1", "role": "training"},
                    {"dataset": "customers", "version": "v9", "role": "test"},
                ],
            ),
        )
    assert missing_data.value.details["errors"][0]["field"] == "datasets[1]"
    assert "customers@v9" in missing_data.value.message
    assert db_state(steward) == before
    # the number was not used up by the refusals
    assert steward.registry.register_version(admin, "m", version_spec(1)).version == 1


def test_get_missing_version(steward: Steward, admin: Caller) -> None:
    steward.registry.create_model(admin, model_spec("m"))
    with pytest.raises(NotFound) as caught:
        steward.registry.get_version(admin, "m", 3)
    assert caught.value.details == {"model": "m", "version": 3}
    with pytest.raises(NotFound) as no_model:
        steward.registry.get_version(admin, "x", 1)
    assert no_model.value.details == {"model": "x"}


def test_search_versions_across_models(steward: Steward, admin: Caller) -> None:
    steward.registry.create_model(admin, model_spec("a", owner="team-a"))
    steward.registry.create_model(admin, model_spec("b", owner="team-b"))
    steward.registry.register_version(admin, "a", version_spec("shared", tags={"stage": "rc"}))
    steward.registry.register_version(
        admin, "b", version_spec("b1", source_platform="azureml", tags={"stage": "rc", "gpu": "yes"})
    )
    steward.registry.register_version(admin, "a", version_spec("a2", tags={"stage": "dev"}))
    steward.registry.register_version(admin, "b", version_spec("shared"))

    def found(**where: Any) -> list[tuple[str, int]]:
        page = steward.registry.search_versions(admin, VersionFilter(**where))
        return [(v.model, v.version) for v in page.items]

    assert found() == [("b", 2), ("a", 2), ("b", 1), ("a", 1)]
    assert found(owner="team-a") == [("a", 2), ("a", 1)]
    assert found(artifact_digest=digest("shared")) == [("b", 2), ("a", 1)]
    assert found(artifact_digest=digest("none")) == []
    assert found(tags=(("stage", "rc"),)) == [("b", 1), ("a", 1)]
    assert found(tags=(("stage", "rc"), ("gpu", "yes"))) == [("b", 1)]
    assert found(source_platform="azureml") == [("b", 1)]
    assert found(state="registered", owner="team-b") == [("b", 2), ("b", 1)]
    assert found(state=VersionState.APPROVED) == []
    assert found(model="b", tags=(("stage", "rc"),)) == [("b", 1)]
    with pytest.raises(NotFound):
        found(model="ghost")


def test_version_pages(steward: Steward, admin: Caller) -> None:
    steward.registry.create_model(admin, model_spec("m"))
    for i in range(7):
        steward.registry.register_version(admin, "m", version_spec(i))
    seen: list[int] = []
    token = None
    pages = 0
    while True:
        page = steward.registry.search_versions(admin, VersionFilter(model="m"), 3, token)
        seen.extend(v.version for v in page.items)
        pages += 1
        token = page.next_token
        if token is None:
            break
    assert pages == 3
    assert seen == [7, 6, 5, 4, 3, 2, 1]


# -- datasets and runs -------------------------------------------------------------------------


def test_datasets_and_their_versions(steward: Steward, admin: Caller) -> None:
    created = steward.registry.create_dataset(
        admin,
        wire.DatasetCreate(
            name="customers",
            description="Customer master — données clients",
            source="s3://lake/customers",
            owner="team-data",
        ),
    )
    assert (created.name, created.approved, created.revision, created.created_by) == (
        "customers",
        False,
        1,
        "local:tester",
    )
    assert steward.registry.get_dataset(admin, "customers") == created
    approved = steward.registry.update_dataset(
        admin, "customers", wire.DatasetUpdate(revision=1, approved=True, reason="reviewed")
    )
    assert (approved.approved, approved.revision, approved.description) == (
        True,
        2,
        "Customer master — données clients",
    )
    with pytest.raises(Conflict) as stale:
        steward.registry.update_dataset(admin, "customers", wire.DatasetUpdate(revision=1, owner="x"))
    assert stale.value.details["current_revision"] == 2
    with pytest.raises(NotFound):
        steward.registry.update_dataset(admin, "ghost", wire.DatasetUpdate(revision=1, owner="x"))

    first = steward.registry.add_dataset_version(
        admin,
        "customers",
        wire.DatasetVersionCreate(
            version="2024-01",
            uri="s3://lake/customers/2024-01",
            digest=digest("c1"),
            schema_digest=digest("schema"),
            row_count=10_000_000_000,
        ),
    )
    assert (first.dataset, first.version, first.row_count, first.schema_digest) == (
        "customers",
        "2024-01",
        10_000_000_000,
        digest("schema"),
    )
    steward.registry.add_dataset_version(
        admin,
        "customers",
        wire.DatasetVersionCreate(version="2023-12", uri="s3://lake/customers/2023-12", digest=digest("c0")),
    )
    listed = steward.registry.list_dataset_versions(admin, "customers").items
    assert [v.version for v in listed] == ["2024-01", "2023-12"]  # in the order recorded
    assert listed[0] == first
    page = steward.registry.list_dataset_versions(admin, "customers", page_size=1)
    rest = steward.registry.list_dataset_versions(admin, "customers", 1, page.next_token)
    assert [v.version for v in page.items + rest.items] == ["2024-01", "2023-12"]
    assert rest.next_token is None
    before = db_state(steward)
    with pytest.raises(AlreadyExists) as twice:
        steward.registry.add_dataset_version(
            admin,
            "customers",
            wire.DatasetVersionCreate(version="2024-01", uri="s3://elsewhere", digest=digest("other")),
        )
    assert twice.value.details == {"dataset": "customers", "version": "2024-01"}
    with pytest.raises(NotFound):
        steward.registry.add_dataset_version(
            admin, "ghost", wire.DatasetVersionCreate(version="1", uri="s3://x", digest=digest("x"))
        )
    with pytest.raises(AlreadyExists):
        steward.registry.create_dataset(admin, wire.DatasetCreate(name="customers"))
    assert db_state(steward) == before
    with pytest.raises(NotFound):
        steward.registry.list_dataset_versions(admin, "ghost")
    with pytest.raises(NotFound):
        steward.registry.get_dataset(admin, "ghost")


def test_dataset_listing(steward: Steward, admin: Caller) -> None:
    for name in ("sales_2024", "sales-2024", "salesX2024", "returns", "100pct"):
        steward.registry.create_dataset(admin, wire.DatasetCreate(name=name))

    def listed(text: str | None, size: int = 50) -> list[str]:
        out, token = [], None
        while True:
            page = steward.registry.list_datasets(admin, size, token, text)
            out.extend(d.name for d in page.items)
            token = page.next_token
            if token is None:
                return out

    assert listed(None) == ["100pct", "returns", "sales-2024", "salesX2024", "sales_2024"]
    assert listed(None, 2) == ["100pct", "returns", "sales-2024", "salesX2024", "sales_2024"]
    assert listed("_") == ["sales_2024"]
    assert listed("SALES") == ["sales-2024", "salesX2024", "sales_2024"]
    assert listed("%") == []


def test_training_runs(steward: Steward, admin: Caller) -> None:
    start = datetime(2025, 5, 1, 8, 30, 15, 123456, tzinfo=UTC)
    run = steward.registry.record_run(
        admin,
        wire.TrainingRunCreate(
            run_id="run-1",
            platform="mlflow",
            experiment="exp-a",
            user="dana",
            parameters={"lr": "0.1"},
            metrics={"loss": 0.25},
            parent_run_id="run-0",
            code_commit="abc1234",
            started_at=start,
            ended_at=start + timedelta(hours=2),
        ),
    )
    assert run.started_at == start
    assert run.ended_at == start + timedelta(hours=2)
    assert (run.platform, run.experiment, run.user, run.parent_run_id) == ("mlflow", "exp-a", "dana", "run-0")
    assert steward.registry.get_run(admin, "run-1") == run
    for i in range(2, 6):
        steward.registry.record_run(
            admin, wire.TrainingRunCreate(run_id=f"run-{i}", experiment="exp-a" if i % 2 else "exp-b")
        )
    seen, token = [], None
    while True:
        page = steward.registry.list_runs(admin, 2, token)
        seen.extend(r.run_id for r in page.items)
        token = page.next_token
        if token is None:
            break
    assert seen == ["run-5", "run-4", "run-3", "run-2", "run-1"]  # newest first
    by_exp = steward.registry.list_runs(admin, 50, None, "exp-a")
    assert [r.run_id for r in by_exp.items] == ["run-5", "run-3", "run-1"]
    before = db_state(steward)
    with pytest.raises(AlreadyExists) as twice:
        steward.registry.record_run(admin, wire.TrainingRunCreate(run_id="run-1"))
    assert twice.value.details == {"training_run": "run-1"}
    with pytest.raises(InvalidInput) as backwards:
        steward.registry.record_run(
            admin,
            wire.TrainingRunCreate(run_id="run-9", started_at=start, ended_at=start - timedelta(seconds=1)),
        )
    assert backwards.value.details["errors"][0]["field"] == "ended_at"
    assert db_state(steward) == before
    with pytest.raises(NotFound):
        steward.registry.get_run(admin, "run-9")


# -- deployments and lineage -------------------------------------------------------------------


def test_promotions_replace_the_active_deployment_and_list_in_pages(
    steward: Steward, admin: Caller, make_caller: MakeCaller
) -> None:
    builder = make_caller(Role.DATA_SCIENTIST, name="dana")
    engineer = make_caller(Role.ML_ENGINEER, name="eli")
    steward.registry.create_model(admin, documented("m"))
    for i in range(3):
        passing_version(steward, builder, "m", i)
    first = deploy(steward, "m", 1, endpoint="endpoint-eu", reason="go live")
    assert (first.model, first.version, first.environment, first.target) == (
        "m",
        1,
        "production",
        "endpoint-eu",
    )
    assert (first.state, first.replaces, first.deployed_by, first.ended_at) == (
        DeploymentState.ACTIVE,
        None,
        "workflow-deployer",
        None,
    )
    staging = deploy(steward, "m", 2, "staging", endpoint="endpoint-stg")
    assert staging.replaces is None  # another environment is not replaced
    second = deploy(steward, "m", 2, endpoint="endpoint-eu")
    assert second.replaces == first.id
    third = deploy(steward, "m", 3)  # no endpoint: where the version it replaces runs
    assert (third.replaces, third.target) == (second.id, "endpoint-eu")

    listed = {d.id: d for d in steward.registry.list_deployments(admin, "m").items}
    assert list(listed) == [first.id, staging.id, second.id, third.id]
    assert listed[first.id].state is DeploymentState.REPLACED
    assert listed[first.id].ended_at == second.deployed_at
    assert listed[second.id].state is DeploymentState.REPLACED
    assert listed[third.id].state is DeploymentState.ACTIVE
    assert listed[staging.id].state is DeploymentState.ACTIVE
    production = steward.registry.list_deployments(admin, "m", "production").items
    assert [(d.version, d.state) for d in production] == [
        (1, DeploymentState.REPLACED),
        (2, DeploymentState.REPLACED),
        (3, DeploymentState.ACTIVE),
    ]
    assert len(steward.registry.list_deployments(admin).items) == 4
    assert [d.id for d in steward.registry.list_deployments(admin, None, "staging").items] == [staging.id]
    page = steward.registry.list_deployments(admin, "m", page_size=3)
    rest = steward.registry.list_deployments(admin, "m", page_size=3, page_token=page.next_token)
    assert [d.id for d in page.items + rest.items] == list(listed) and rest.next_token is None
    assert steward.registry.model_deployments(admin, "m") == list(listed.values())

    # each promotion's deployment.recorded event holds the deployment it replaced
    recorded = all_events(steward, admin, action="deployment.recorded")
    assert [(e.actor, e.subject_id) for e in recorded] == [
        ("workflow-deployer", f"m/production/{first.id}"),
        ("workflow-deployer", f"m/staging/{staging.id}"),
        ("workflow-deployer", f"m/production/{second.id}"),
        ("workflow-deployer", f"m/production/{third.id}"),
    ]
    assert recorded[0].before is None and recorded[0].reason == "go live"
    assert recorded[2].before is not None and recorded[2].before["id"] == first.id
    assert recorded[2].after is not None and recorded[2].after["replaces"] == first.id

    before = db_state(steward)
    with pytest.raises(NotFound):
        steward.promotions.promote(
            engineer, "m", 9, wire.PromotionCreate(target="production", reason="r", endpoint="t")
        )
    with pytest.raises(NotFound):
        steward.promotions.promote(
            engineer, "ghost", 1, wire.PromotionCreate(target="production", reason="r")
        )
    with pytest.raises(NotFound):
        steward.registry.list_deployments(admin, "ghost")
    with pytest.raises(InvalidInput):
        steward.registry.list_deployments(admin, "m", page_token="bogus")
    assert db_state(steward) == before


def test_lineage_of_a_version(steward: Steward, admin: Caller) -> None:
    steward.registry.create_model(admin, model_spec("m"))
    add_dataset(steward, admin, "customers", "v1")
    add_dataset(steward, admin, "holdout", "h1")
    steward.registry.record_run(
        admin,
        wire.TrainingRunCreate(run_id="run-7", platform="mlflow", experiment="e", code_commit="abc1234"),
    )
    steward.registry.register_version(
        admin,
        "m",
        version_spec(
            "m1",
            training_run="run-7",
            code_repository="https://git/x",
            code_commit="abc1234",
            environment={"python_version": "3.12.1"},
            datasets=[
                {"dataset": "customers", "version": "v1", "role": "training"},
                {"dataset": "holdout", "version": "h1", "role": "test"},
            ],
            metrics=PASSING_METRICS,
        ),
    )
    deployment = deploy(steward, "m", 1, "staging", endpoint="ep")
    graph = steward.registry.lineage(admin, "m", 1)
    assert graph.root == "version:m/1"
    nodes = {n.id: n for n in graph.nodes}
    assert set(nodes) == {
        "version:m/1",
        "dataset:customers@v1",
        "dataset:holdout@h1",
        "run:run-7",
        "code:https://git/x@abc1234",
        "environment:m/1",
        f"deployment:{deployment.id}",
    }
    assert len(graph.nodes) == len(nodes), "node ids are unique"
    assert nodes["version:m/1"].kind == "model_version"
    assert nodes["version:m/1"].attributes["artifact_digest"] == digest("m1")
    assert nodes["dataset:customers@v1"].attributes["digest"] == digest("customers@v1")
    assert nodes["dataset:customers@v1"].attributes["approved"] is False
    assert nodes["run:run-7"].attributes["platform"] == "mlflow"
    assert nodes["environment:m/1"].label == "3.12.1"
    assert nodes[f"deployment:{deployment.id}"].attributes["state"] == "active"
    assert {(e.source, e.target, e.relation) for e in graph.edges} == {
        ("dataset:customers@v1", "run:run-7", "training_data"),
        ("dataset:holdout@h1", "version:m/1", "test_data"),
        ("run:run-7", "version:m/1", "produced"),
        ("code:https://git/x@abc1234", "run:run-7", "source_code"),
        ("environment:m/1", "version:m/1", "built_with"),
        ("version:m/1", f"deployment:{deployment.id}", "deployed_as"),
    }
    for edge in graph.edges:
        assert edge.source in nodes
        assert edge.target in nodes


def test_lineage_without_a_run_points_at_the_version(steward: Steward, admin: Caller) -> None:
    steward.registry.create_model(admin, model_spec("m"))
    steward.registry.register_version(admin, "m", version_spec(1))
    graph = steward.registry.lineage(admin, "m", 1)
    assert [n.id for n in graph.nodes] == ["version:m/1"]
    assert graph.edges == ()
    with pytest.raises(NotFound):
        steward.registry.lineage(admin, "m", 2)


def test_lineage_node_ids_are_unique_when_a_dataset_plays_two_roles(steward: Steward, admin: Caller) -> None:
    steward.registry.create_model(admin, model_spec("m"))
    add_dataset(steward, admin, "customers", "v1")
    steward.registry.register_version(
        admin,
        "m",
        version_spec(
            1,
            datasets=[
                {"dataset": "customers", "version": "v1", "role": "training"},
                {"dataset": "customers", "version": "v1", "role": "validation"},
            ],
        ),
    )
    graph = steward.registry.lineage(admin, "m", 1)
    ids = [n.id for n in graph.nodes]
    assert sorted(ids) == sorted(set(ids)), f"duplicate node ids: {ids}"
    assert {(e.source, e.relation) for e in graph.edges} == {
        ("dataset:customers@v1", "training_data"),
        ("dataset:customers@v1", "validation_data"),
    }


# -- the audit trail ---------------------------------------------------------------------------


def test_every_mutation_writes_its_audit_event(
    steward: Steward, admin: Caller, make_caller: MakeCaller
) -> None:
    eng = make_caller(Role.ML_ENGINEER, name="eli")  # principal.created by local:tester
    steward.registry.create_model(eng, model_spec("m", tags={"a": "1"}))
    steward.registry.update_model(eng, "m", wire.ModelUpdate(revision=1, owner="team-x", reason="why"))
    steward.registry.create_dataset(eng, wire.DatasetCreate(name="d"))
    steward.registry.update_dataset(eng, "d", wire.DatasetUpdate(revision=1, approved=True))
    steward.registry.add_dataset_version(
        eng, "d", wire.DatasetVersionCreate(version="v1", uri="s3://d/v1", digest=digest("d"))
    )
    steward.registry.record_run(eng, wire.TrainingRunCreate(run_id="r1"))
    steward.registry.register_version(eng, "m", version_spec(1, training_run="r1"))
    # deployments are made by promotions: their events are in the test above and test_workflow
    token, secret = steward.identity.create_token(admin, wire.TokenCreate(principal="eli"))
    steward.identity.revoke_token(admin, token.id, reason="leaked")

    events = all_events(steward, admin)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    summary = [(e.action, e.actor, e.subject_type, e.subject_id) for e in events]
    assert summary == [
        ("principal.created", "local:tester", "principal", "eli"),
        ("model.created", "eli", "model", "m"),
        ("model.updated", "eli", "model", "m"),
        ("dataset.created", "eli", "dataset", "d"),
        ("dataset.updated", "eli", "dataset", "d"),
        ("dataset_version.created", "eli", "dataset_version", "d@v1"),
        ("training_run.recorded", "eli", "training_run", "r1"),
        ("model_version.registered", "eli", "model_version", "m/1"),
        ("token.created", "local:tester", "token", str(token.id)),
        ("token.revoked", "local:tester", "token", str(token.id)),
    ]
    by = {(e.action, e.subject_id): e for e in events}
    created = by[("model.created", "m")]
    assert created.before is None
    assert created.after is not None
    assert created.after["name"] == "m"
    assert created.after["owner"] == "team-risk"
    assert created.after["risk_tier"] == "medium"
    assert created.after["tags"] == {"a": "1"}
    assert created.after["revision"] == 1
    assert created.after["state"] == "active"
    assert (created.request_id, created.client_address, created.user_agent) == (
        "req-eli",
        "10.0.0.1",
        "pytest",
    )
    updated = by[("model.updated", "m")]
    assert updated.before == {"owner": "team-risk", "revision": 1}
    assert updated.after == {"owner": "team-x", "revision": 2}
    assert updated.reason == "why"
    assert by[("dataset.updated", "d")].before == {"approved": False, "revision": 1}
    assert by[("dataset.updated", "d")].after == {"approved": True, "revision": 2}
    registered = by[("model_version.registered", "m/1")]
    assert registered.after is not None
    assert registered.after["artifact_digest"] == digest(1)
    assert registered.after["training_run"] == "r1"
    assert registered.after["state"] == "registered"
    revoked = by[("token.revoked", str(token.id))]
    assert revoked.before is not None
    assert revoked.after is not None
    assert revoked.before["revoked_at"] is None
    assert revoked.after["revoked_at"] is not None
    assert revoked.reason == "leaked"
    # secrets never reach the log
    for event in events:
        assert secret not in repr(event)
        assert secret[len("stw_") :] not in repr(event)
    verdict = steward.audit.verify(admin)
    assert (verdict.ok, verdict.events, verdict.first_bad_seq, verdict.problem) == (True, 10, None, None)
    assert verdict.head_hash == events[-1].hash
    assert events[0].prev_hash == "0" * 64
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(events))


def test_audit_filters(steward: Steward, admin: Caller, make_caller: MakeCaller) -> None:
    alice = make_caller(Role.DATA_SCIENTIST, name="alice")
    bob = make_caller(Role.DATA_SCIENTIST, name="bob")
    steward.registry.create_model(alice, model_spec("a"))
    steward.registry.create_model(bob, model_spec("b"))
    steward.registry.update_model(alice, "b", wire.ModelUpdate(revision=1, description="x"))
    steward.registry.register_version(bob, "a", version_spec(1))

    def actions(**where: Any) -> list[tuple[str, str]]:
        return [(e.action, e.subject_id) for e in all_events(steward, admin, **where)]

    assert actions(actor="alice") == [("model.created", "a"), ("model.updated", "b")]
    assert actions(actor="bob") == [("model.created", "b"), ("model_version.registered", "a/1")]
    assert actions(action="model.created") == [("model.created", "a"), ("model.created", "b")]
    assert actions(subject_type="model", subject_id="b") == [("model.created", "b"), ("model.updated", "b")]
    assert actions(subject_type="model_version") == [("model_version.registered", "a/1")]
    assert actions(actor="alice", action="model.updated") == [("model.updated", "b")]
    assert actions(actor="nobody") == []
    every = all_events(steward, admin)
    middle = every[3].time
    assert [e.seq for e in all_events(steward, admin, since=middle)] == [
        e.seq for e in every if e.time >= middle
    ]
    assert [e.seq for e in all_events(steward, admin, until=middle)] == [
        e.seq for e in every if e.time < middle
    ]
    later = datetime.now(UTC) + timedelta(days=1)
    assert all_events(steward, admin, since=later) == []
    # a time in another zone means the same instant
    shifted = middle.astimezone(timezone(timedelta(hours=2)))
    assert shifted == middle
    assert shifted.utcoffset() == timedelta(hours=2)
    assert [e.seq for e in all_events(steward, admin, since=shifted)] == [
        e.seq for e in every if e.time >= middle
    ]
    # pages of events
    page1 = steward.audit.list_events(admin, AuditFilter(), 2)
    page2 = steward.audit.list_events(admin, AuditFilter(), 2, page1.next_token)
    assert [e.seq for e in page1.items + page2.items] == [1, 2, 3, 4]


def test_failed_use_cases_write_nothing(steward: Steward, admin: Caller, make_caller: MakeCaller) -> None:
    auditor = make_caller(Role.AUDITOR)
    scientist = make_caller(Role.DATA_SCIENTIST)
    steward.registry.create_model(admin, model_spec("m"))
    steward.registry.register_version(admin, "m", version_spec(1))
    before = db_state(steward)
    attempts = [
        lambda: steward.registry.create_model(auditor, model_spec("n")),
        lambda: steward.registry.update_model(auditor, "m", wire.ModelUpdate(revision=1, owner="x")),
        lambda: steward.registry.register_version(auditor, "m", version_spec(2)),
        lambda: steward.promotions.promote(
            scientist, "m", 1, wire.PromotionCreate(target="production", reason="bypass the sign-offs")
        ),
        lambda: steward.registry.create_dataset(auditor, wire.DatasetCreate(name="d")),
        lambda: steward.registry.record_run(auditor, wire.TrainingRunCreate(run_id="r")),
        lambda: steward.identity.create_principal(
            scientist, wire.PrincipalCreate(name="eve", roles=[Role.ADMIN])
        ),
        lambda: steward.identity.create_token(scientist, wire.TokenCreate(principal="m")),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied):
            attempt()
    with pytest.raises(NotFound):
        steward.identity.create_token(admin, wire.TokenCreate(principal="ghost"))
    with pytest.raises(InvalidInput):
        steward.identity.create_token(
            admin,
            wire.TokenCreate(principal=auditor.name, expires_at=datetime.now(UTC) - timedelta(minutes=1)),
        )
    with pytest.raises(NotFound):
        steward.identity.revoke_token(admin, 999_999)
    with pytest.raises(AlreadyExists):
        steward.identity.create_principal(admin, wire.PrincipalCreate(name=auditor.name, roles=[Role.ADMIN]))
    assert db_state(steward) == before
    assert steward.audit.verify(admin).ok


class ExplodingBus(EventBus):
    """An audit sink that fails after the change was written in the transaction: on every event,
    or on the events of the actions in ``failing`` (the events before them still go through)."""

    def __init__(self, failing: frozenset[str] | None = None) -> None:
        super().__init__()
        self.failing = failing

    def emit(
        self, tx: SqlTransaction, event: DomainEvent, origin: Origin, at: datetime, pending: list[AuditEvent]
    ) -> AuditEvent:
        stored = super().emit(tx, event, origin, at, pending)
        if self.failing is None or event.type in self.failing:
            raise RuntimeError("the audit sink failed")
        return stored


def test_a_change_whose_event_fails_is_rolled_back(steward: Steward, admin: Caller) -> None:
    steward.registry.create_model(admin, model_spec("m"))
    steward.registry.register_version(admin, "m", version_spec(1, metrics=PASSING_METRICS))
    deploy(steward, "m", 1, "staging", endpoint="t")
    steward.registry.register_version(admin, "m", version_spec(2, metrics=PASSING_METRICS))
    deployer = workflow_caller(steward, DEPLOYER, Role.ML_ENGINEER)
    sign_offs(steward, deployer, "m", 2, "staging")  # version 2 may replace it there
    broken = Steward(steward.store, bus=ExplodingBus())
    # the gates allow the promotion and its deployment is written; that event fails: all of it goes
    placing = Steward(steward.store, bus=ExplodingBus(frozenset({"deployment.recorded"})))
    before = db_state(steward)
    attempts = [
        lambda: broken.registry.create_model(admin, model_spec("n")),
        lambda: broken.registry.update_model(admin, "m", wire.ModelUpdate(revision=1, owner="x")),
        lambda: broken.registry.register_version(admin, "m", version_spec(3)),
        lambda: placing.promotions.promote(
            deployer, "m", 2, wire.PromotionCreate(target="staging", reason="r", endpoint="t2")
        ),
        lambda: broken.identity.create_principal(admin, wire.PrincipalCreate(name="p", roles=["admin"])),
    ]
    for attempt in attempts:
        with pytest.raises(RuntimeError, match="the audit sink failed"):
            attempt()
    assert db_state(steward) == before
    [active] = [
        d for d in steward.registry.model_deployments(admin, "m") if d.state is DeploymentState.ACTIVE
    ]
    assert (active.environment, active.target) == ("staging", "t")
    assert steward.registry.get_model(admin, "m").owner == "team-risk"
    assert steward.audit.verify(admin).ok


def test_after_commit_sinks_see_committed_events_only(steward: Steward, admin: Caller) -> None:
    seen: list[tuple[int, str]] = []
    steward.bus.after_commit(lambda e: seen.append((e.seq, e.action)))
    steward.registry.create_model(admin, model_spec("m"))
    with pytest.raises(AlreadyExists):
        steward.registry.create_model(admin, model_spec("m"))
    steward.registry.register_version(admin, "m", version_spec(1))
    assert seen == [(1, "model.created"), (2, "model_version.registered")]


def test_principals_and_tokens(steward: Steward, admin: Caller) -> None:
    principal = steward.identity.create_principal(
        admin,
        wire.PrincipalCreate(
            name="ci-bot",
            roles=[Role.ML_ENGINEER, Role.DATA_SCIENTIST],
            kind="service",
            display_name="CI robot 🤖",
        ),
    )
    assert principal.roles == frozenset({Role.ML_ENGINEER, Role.DATA_SCIENTIST})
    assert principal.display_name == "CI robot 🤖"
    assert [p.name for p in steward.identity.list_principals(admin).items] == ["ci-bot"]
    assert steward.identity.get_principal(admin, "ci-bot") == principal
    with pytest.raises(NotFound):
        steward.identity.get_principal(admin, "nobody")
    assert steward.identity.has_principals()
    token, secret = steward.identity.create_token(
        admin,
        wire.TokenCreate(
            principal="ci-bot", name="pipeline", expires_at=datetime.now(UTC) + timedelta(days=1)
        ),
    )
    assert secret.startswith("stw_")
    assert len(secret) == 4 + 43
    assert token.prefix == secret[:12]
    assert (token.principal, token.name, token.revoked_at) == ("ci-bot", "pipeline", None)
    assert steward.identity.authenticate(secret).name == "ci-bot"
    assert steward.identity.list_tokens(admin, "ci-bot").items == (token,)
    assert steward.identity.list_tokens(admin, "nobody").items == ()
    revoked = steward.identity.revoke_token(admin, token.id)
    assert revoked.revoked_at is not None
    with pytest.raises(Unauthenticated, match="was revoked"):
        steward.identity.authenticate(secret)
    with pytest.raises(Unauthenticated, match="not known"):
        steward.identity.authenticate(secret[:-1] + ("A" if secret[-1] != "A" else "B"))
    with pytest.raises(Unauthenticated, match="start with 'stw_'"):
        steward.identity.authenticate("Bearer-something")
    _, short_lived = steward.identity.create_token(
        admin, wire.TokenCreate(principal="ci-bot", expires_at=datetime.now(UTC) + timedelta(seconds=30))
    )
    with pytest.raises(Unauthenticated, match="has expired"):
        steward.identity.authenticate(short_lived, now=datetime.now(UTC) + timedelta(minutes=1))
    assert steward.identity.authenticate(short_lived).name == "ci-bot"
    for n in range(3):
        steward.identity.create_principal(admin, wire.PrincipalCreate(name=f"bot-{n}", roles=[Role.AUDITOR]))
    first = steward.identity.list_principals(admin, page_size=2)
    rest = steward.identity.list_principals(admin, 2, first.next_token)
    assert [p.name for p in first.items + rest.items] == ["bot-0", "bot-1", "bot-2", "ci-bot"]
    assert rest.next_token is None
    tokens = steward.identity.list_tokens(admin, None, page_size=1)
    more = steward.identity.list_tokens(admin, None, 1, tokens.next_token)
    assert [t.id for t in tokens.items + more.items] == [token.id, token.id + 1] and more.next_token is None


def test_schema_is_at_head(steward: Steward) -> None:
    current, head = steward.schema()
    assert current == head
    assert head != ""


def test_retired_model_refuses_new_versions(steward: Steward, admin: Caller) -> None:
    steward.registry.create_model(admin, model_spec("m"))
    with steward.store.engine.begin() as conn:
        conn.execute(text("UPDATE models SET state = 'retired' WHERE name = 'm'"))
    assert steward.registry.get_model(admin, "m").state is ModelState.RETIRED
    assert names(steward.registry.list_models(admin, ModelFilter(state="retired")).items) == ["m"]
    before = db_state(steward)
    with pytest.raises(InvalidTransition, match="retired"):
        steward.registry.register_version(admin, "m", version_spec(1))
    with pytest.raises(InvalidTransition):
        steward.registry.update_model(admin, "m", wire.ModelUpdate(revision=1, owner="x"))
    assert db_state(steward) == before
