"""Docs are executable: the reference pages are generated from the code and must be current.

Each page lists every command and option, route, role rule, error code, event and setting, so a
stale page means something is undocumented. Run `make docs` to regenerate.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _generator()


@pytest.mark.parametrize("page", sorted(GEN.PAGES))
def test_reference_page_is_current(page: str) -> None:
    path = GEN.REFERENCE / page
    expected = GEN.PAGES[page]()
    assert path.exists(), f"{path} is missing: run `make docs`"
    assert path.read_text(encoding="utf-8") == expected, f"{path} is stale: run `make docs`"


def test_every_error_code_event_and_setting_appears() -> None:
    from steward.domain import EVENT_TYPES
    from steward.errors import all_error_classes
    from steward.settings import Settings

    errors = (GEN.REFERENCE / "errors.md").read_text()
    events = (GEN.REFERENCE / "events.md").read_text()
    settings = (GEN.REFERENCE / "settings.md").read_text()
    assert all(f"`{cls.code}`" in errors for cls in all_error_classes())
    assert all(f"`{name}`" in events for name in EVENT_TYPES)
    assert all(f"`STEWARD_{name.upper()}`" in settings for name in Settings.model_fields)


def test_every_cli_command_is_in_the_reference() -> None:
    import typer.main

    from steward.cli import app

    cli = (GEN.REFERENCE / "cli.md").read_text()
    root = typer.main.get_command(app)
    for path, _ in GEN._walk(root, ["steward"]):
        if len(path) > 1:
            assert f"## `{' '.join(path)}`" in cli
