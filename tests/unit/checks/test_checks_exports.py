"""The public surface of steward.checks: sorted, importable, documented, and free of frameworks."""

from __future__ import annotations

import sys

import steward.checks as package


def _isort_style(name: str) -> tuple[int, str]:
    """Ruff's RUF022 order: CONSTANTS, then Classes, then functions."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2), name


def test_all_is_sorted_and_every_name_is_exported_and_documented() -> None:
    assert package.__all__ == sorted(package.__all__, key=_isort_style)
    assert len(set(package.__all__)) == len(package.__all__)
    for name in package.__all__:
        value = getattr(package, name)
        if isinstance(value, type) or (callable(value) and hasattr(value, "__code__")):
            assert value.__doc__, f"{name} has no docstring"


def test_public_names_come_from_the_package() -> None:
    for name in package.__all__:
        module = getattr(getattr(package, name), "__module__", "steward.checks")
        assert module is None or module.startswith(("steward.checks", "typing", "types")), (name, module)


def test_the_package_imports_no_framework() -> None:
    forbidden = ("sqlalchemy", "fastapi", "starlette", "httpx", "typer", "uvicorn", "alembic", "rich")
    modules = [m for m in sys.modules if m.startswith("steward.checks")]
    assert len(modules) > 3
    for module_name in modules:
        for value in vars(sys.modules[module_name]).values():
            origin = getattr(value, "__module__", None) or getattr(value, "__name__", "")
            assert not str(origin).startswith(forbidden), (module_name, origin)
