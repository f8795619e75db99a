"""Where the ledger key lives by default, and how a read is named in the read access log."""

from __future__ import annotations

from pathlib import Path

import pytest

from steward.server._access import subject_of
from steward.settings import Settings, default_ledger_key_path


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:////srv/steward/registry.db", Path("/srv/steward/registry.db.ledger.key")),
        ("sqlite:///relative/steward.db?mode=rwc", Path("relative/steward.db.ledger.key")),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
    ],
)
def test_the_key_sits_beside_a_sqlite_file(url: str, expected: Path | None) -> None:
    assert default_ledger_key_path(url) == expected


def test_postgresql_keys_live_in_the_user_data_dir_unless_set(tmp_path: Path) -> None:
    default = default_ledger_key_path("postgresql://steward@db/steward")
    assert default is not None and default.name == "ledger.key" and default.parent.name == "steward"
    settings = Settings(database_url="postgresql://steward@db/steward", ledger_key_path=tmp_path / "k")
    assert settings.resolved_ledger_key_path() == tmp_path / "k"


@pytest.mark.parametrize(
    ("action", "params", "subject"),
    [
        ("model.read", {"name": "m"}, ("model", "m")),
        ("model.read", {}, ("model", "")),
        ("version.read", {"name": "m", "version": 3}, ("model_version", "m/3")),
        ("version.read", {"name": "m"}, ("model", "m")),
        ("evidence.read", {"name": "m", "version": 3}, ("evidence", "m/3")),
        ("dataset.read", {"name": "loans"}, ("dataset", "loans")),
        ("run.read", {"run_id": "r-1"}, ("training_run", "r-1")),
        ("deployment.read", {}, ("deployment", "")),
    ],
)
def test_reads_are_named_like_audit_subjects(
    action: str, params: dict[str, object], subject: tuple[str, str]
) -> None:
    assert subject_of(action, params) == subject
