"""The wire's public surface: every schema importable from ``steward.wire``, in sorted order."""

from __future__ import annotations

import pkgutil

import pydantic

import steward.wire as wire


def _isort_style(name: str) -> tuple[int, str]:
    """Ruff's RUF022 order: CONSTANTS, then Classes, then functions."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2), name


def test_all_is_sorted_unique_and_resolves() -> None:
    assert wire.__all__ == sorted(wire.__all__, key=_isort_style)
    assert len(set(wire.__all__)) == len(wire.__all__)
    for name in wire.__all__:
        assert getattr(wire, name) is not None, name


def test_every_schema_of_the_private_modules_is_exported_and_builds() -> None:
    """A schema added to a submodule but not to ``__all__`` would be missing from ``wire.X``; each
    one's JSON schema builds, so no annotation names a schema its module does not import."""
    for info in pkgutil.iter_modules(wire.__path__):
        module = __import__(f"steward.wire.{info.name}", fromlist=["_"])
        for name, value in vars(module).items():
            if not (isinstance(value, type) and issubclass(value, pydantic.BaseModel)):
                continue
            if value.__module__ != module.__name__ or name in {"In", "Out"}:  # the bases
                continue
            assert name in wire.__all__, (info.name, name)
            if not value.__pydantic_generic_metadata__["parameters"]:  # Page[T] builds per T
                value.model_json_schema()


def test_every_exported_schema_has_its_own_docstring_and_a_description() -> None:
    """Each schema says what it is: its own docstring (not one inherited from ``In``/``Out``), which
    pydantic turns into the ``description`` of its JSON schema and OpenAPI component."""
    for name in wire.__all__:
        value = getattr(wire, name)
        if not (isinstance(value, type) and issubclass(value, pydantic.BaseModel)):
            continue
        assert value.__dict__.get("__doc__"), f"{name} has no docstring"
        assert value.model_json_schema().get("description", "").strip(), f"{name} has no description"


def test_each_page_of_a_schema_names_it_in_its_description() -> None:
    """A parametrized ``Page[X]`` has no docstring of its own; its description is ``Page``'s, naming ``X``."""
    description = wire.Page[wire.ModelOut].model_json_schema()["description"]
    assert description.startswith("One page of ``ModelOut`` items; ``next_page_token``")
    assert "a listing" in wire.Page.model_json_schema()["description"]
