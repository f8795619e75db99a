"""The ledger's public surface: sorted, importable, documented, and free of I/O frameworks."""

from __future__ import annotations

import sys

import steward.ledger as ledger


def _isort_style(name: str) -> tuple[int, str]:
    """Ruff's RUF022 order: CONSTANTS, then Classes, then functions."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2), name


def test_all_is_sorted_and_every_name_is_exported_and_documented() -> None:
    assert ledger.__all__ == sorted(ledger.__all__, key=_isort_style)
    assert len(set(ledger.__all__)) == len(ledger.__all__)
    for name in ledger.__all__:
        value = getattr(ledger, name)
        if callable(value) and not isinstance(value, bytes):
            assert value.__doc__, f"{name} has no docstring"


def test_public_names_come_from_the_ledger_package() -> None:
    for name in ledger.__all__:
        module = getattr(getattr(ledger, name), "__module__", "steward.ledger")
        assert module.startswith("steward.ledger"), (name, module)


def test_the_ledger_imports_no_framework() -> None:
    forbidden = ("sqlalchemy", "fastapi", "starlette", "httpx", "typer", "uvicorn", "alembic")
    ledger_modules = [m for m in sys.modules if m.startswith("steward.ledger")]
    assert "steward.ledger._merkle" in ledger_modules
    for module_name in ledger_modules:
        module = sys.modules[module_name]
        for value in vars(module).values():
            origin = getattr(value, "__module__", None) or getattr(value, "__name__", "")
            assert not str(origin).startswith(forbidden), (module_name, origin)
