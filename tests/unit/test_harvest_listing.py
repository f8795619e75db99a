"""How a harvest consumes a platform's listing while it writes: models grouped as the listing passes
them (the listing's read-ahead is tested in ``test_read_ahead``)."""

from __future__ import annotations

from collections.abc import Iterator

from steward.domain import SourceModel, SourceVersion
from steward.service._harvest import _groups


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
