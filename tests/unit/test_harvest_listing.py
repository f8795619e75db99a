"""How a harvest consumes a platform's listing while it writes: models grouped as the listing passes
them, and the listing read ahead by a thread of its own (errors raised where their item would be)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from steward.domain import SourceModel, SourceVersion
from steward.errors import Unavailable
from steward.service._harvest import _groups
from steward.service._read_ahead import ReadAhead


def model(name: str) -> SourceModel:
    return SourceModel(name=name, url=f"http://mlflow/{name}")


def version(name: str, number: int, run: str | None = None) -> SourceVersion:
    return SourceVersion(
        name, str(number), f"http://mlflow/{name}/{number}", f"s3://{name}/{number}", run_id=run
    )


def shape(groups: object) -> list[tuple[str, list[str]]]:
    return [(g.model.name, [v.version for v in g.versions]) for g in groups]  # type: ignore[attr-defined]


def test_each_model_comes_whole_and_in_version_order_then_the_models_without_versions() -> None:
    models = [model("a"), model("b"), model("empty"), model("c")]
    listing = [version("a", 2), version("a", 10), version("a", 1), version("b", 1), version("c", 3)]
    listing.insert(3, version("unknown", 1))  # a model not asked for is passed over
    assert shape(_groups(models, listing, None)) == [
        ("a", ["1", "2", "10"]),
        ("b", ["1"]),
        ("c", ["3"]),
        ("empty", []),
    ]


def test_a_model_is_yielded_before_the_listing_goes_on_past_it() -> None:
    seen: list[str] = []

    def listing() -> Iterator[SourceVersion]:
        for name in ("a", "b"):
            seen.append(name)
            yield version(name, 1)

    groups = _groups([model("a"), model("b")], listing(), None)
    first = next(groups)
    assert first.model.name == "a" and seen == ["a", "b"]  # "a" is whole once "b" begins
    assert [g.model.name for g in groups] == ["b"]


def test_only_the_wanted_runs_versions_and_no_empty_groups_then() -> None:
    models = [model("a"), model("b"), model("c")]
    listing = [version("a", 1, "r1"), version("a", 2, "r2"), version("b", 1, "r3")]
    assert shape(_groups(models, listing, {"r2"})) == [("a", ["2"])]


def test_a_source_that_interleaves_models_gets_one_more_group_not_a_lost_version() -> None:
    listing = [version("a", 1), version("b", 1), version("a", 2)]
    assert shape(_groups([model("a"), model("b")], listing, None)) == [
        ("a", ["1"]),
        ("b", ["1"]),
        ("a", ["2"]),
    ]


def test_read_ahead_keeps_order_and_reads_in_another_thread() -> None:
    readers: set[str] = set()

    def items() -> Iterator[int]:
        for n in range(1_000):
            readers.add(threading.current_thread().name)
            yield n

    assert list(ReadAhead(items(), 64, name="reader")) == list(range(1_000))
    assert readers == {"reader"}


def test_an_error_in_the_listing_is_raised_after_every_item_read_before_it() -> None:
    def items() -> Iterator[int]:
        yield from range(10)
        raise Unavailable("MLflow at http://mlflow went away while listing model versions")

    got: list[int] = []
    with pytest.raises(Unavailable, match="went away while listing"):
        got.extend(ReadAhead(items(), 4))
    assert got == list(range(10))


def test_leaving_early_stops_the_reader() -> None:
    read = 0

    def items() -> Iterator[int]:
        nonlocal read
        for n in range(1_000_000):
            read = n
            yield n

    def readers() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "early"]

    for n in ReadAhead(items(), 10, name="early"):
        if n == 5:
            break
    deadline = time.monotonic() + 10
    while readers() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not readers()
    assert read < 1_000  # a few chunks ahead at most, then it stopped


def test_the_reading_starts_at_once_and_closing_before_reading_stops_it() -> None:
    started = threading.Event()

    def items() -> Iterator[int]:
        started.set()
        yield from range(1_000_000)

    with ReadAhead(items(), 10, name="unread"):
        assert started.wait(10)  # before anyone asked for an item
    deadline = time.monotonic() + 10
    while any(t.name == "unread" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not any(t.name == "unread" for t in threading.enumerate())
