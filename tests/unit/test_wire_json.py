"""Records written straight to JSON (``server._json``) read exactly as their wire schemas would
write them, and JSON columns read back whatever ``json`` stored."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steward import wire
from steward.domain import (
    DatasetRole,
    DatasetUse,
    Deployment,
    DeploymentState,
    Environment,
    Model,
    ModelState,
    ModelVersion,
    Page,
    RiskTier,
    SourceLink,
    VersionState,
)
from steward.server._json import WIRE, page_response, record_response
from steward.storage._engine import _json_loads

text = st.text(max_size=12)  # any text: quotes, controls, every script (no lone surrogates)
names = st.text(st.characters(codec="utf-8"), min_size=1, max_size=12)
times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
optional = st.none() | names
finite = st.floats(allow_nan=False, allow_infinity=False)
plain = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | finite | names
nested = st.recursive(plain, lambda inner: st.lists(inner, max_size=3), max_leaves=6)
attributes = st.dictionaries(names, nested)
uses = st.builds(DatasetUse, names, names, st.sampled_from(DatasetRole))

models = st.builds(
    Model,
    name=names,
    owner=names,
    risk_tier=st.sampled_from(RiskTier),
    description=text,
    use_case=text,
    intended_use=text,
    limitations=text,
    regulatory_scopes=st.lists(names, max_size=3).map(tuple),
    tags=st.dictionaries(names, text, max_size=3),
    state=st.sampled_from(ModelState),
    review_cadence_months=st.none() | st.integers(1, 36),
    source_links=st.dictionaries(names, names, max_size=2),
    created_by=names,
    created_at=times,
    updated_at=times,
    revision=st.integers(1, 10**6),
)
versions = st.builds(
    ModelVersion,
    model=names,
    version=st.integers(1, 10**6),
    artifact_uri=names,
    artifact_digest=names,
    source_platform=names,
    external_id=optional,
    training_run=optional,
    description=text,
    metrics=st.dictionaries(names, finite, max_size=4),
    parameters=st.dictionaries(names, text, max_size=4),
    tags=st.dictionaries(names, text, max_size=4),
    datasets=st.lists(uses, max_size=3).map(tuple),
    code_repository=optional,
    code_commit=optional,
    environment=st.builds(Environment, optional, optional, optional),
    state=st.sampled_from(VersionState),
    registered_by=names,
    created_at=times,
    updated_at=times,
    revision=st.integers(1, 10**6),
    sources=st.lists(
        st.builds(SourceLink, names, names, names, names, attributes, names, st.none() | times), max_size=2
    ).map(tuple),
)
deployments = st.builds(
    Deployment,
    id=st.integers(1, 10**9),
    model=names,
    version=st.integers(1, 10**6),
    environment=names,
    target=text,
    deployed_by=names,
    deployed_at=times,
    state=st.sampled_from(DeploymentState),
    replaces=st.none() | st.integers(1, 10**9),
    reason=text,
    ended_at=st.none() | times,
)
records = st.one_of(models, versions, deployments)


@settings(max_examples=300)
@given(records)
def test_a_record_is_written_as_its_wire_schema_writes_it(record: object) -> None:
    schema = WIRE[type(record)]
    assert record_response(record).body == schema.model_validate(record).model_dump_json().encode()


@settings(max_examples=100)
@given(st.sampled_from([models, versions, deployments]).flatmap(lambda s: st.lists(s, max_size=4)), optional)
def test_a_page_is_written_as_the_wire_page_writes_it(items: list[object], token: str | None) -> None:
    kind = type(items[0]) if items else ModelVersion
    page = Page(tuple(items), token)
    expected = wire.page_out(WIRE[kind], page).model_dump_json().encode()
    response = page_response(kind, page)
    assert response.body == expected
    assert response.media_type == "application/json"


def test_a_record_without_a_wire_schema_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="DatasetUse has no wire schema"):
        record_response(DatasetUse("d", "v1", DatasetRole.TRAINING))


@given(attributes)
def test_a_json_column_reads_back_what_json_stored(value: dict[str, object]) -> None:
    assert _json_loads(json.dumps(value)) == value


def test_a_json_column_reads_back_what_only_json_reads() -> None:
    # json writes NaN and integers of any size; orjson refuses both, and json reads them instead
    stored = json.dumps({"loss": float("nan"), "big": 2**70})
    value = _json_loads(stored)
    assert value["big"] == 2**70
    assert value["loss"] != value["loss"]
