"""Settings, read from ``STEWARD_*`` environment variables by the entry points only.

Documented in ``docs/reference/settings.md`` (a test checks every field is there).
"""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_database_url() -> str:
    """SQLite in the user's data directory: ``steward serve`` works with no setup."""
    return f"sqlite:///{Path(user_data_dir('steward')) / 'steward.db'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STEWARD_", extra="ignore")

    database_url: str = Field(
        default_factory=default_database_url,
        description="Database URL: sqlite:///PATH or postgresql://USER@HOST/DB.",
    )
    host: str = Field("127.0.0.1", description="Address `steward serve` listens on.")
    port: int = Field(8080, ge=0, le=65535, description="Port `steward serve` listens on.")
    max_body_bytes: int = Field(
        1_048_576, ge=1024, description="Largest request body the API accepts, in bytes."
    )
    auto_migrate: bool = Field(True, description="Upgrade the schema when the server starts.")
    session_secret: SecretStr | None = Field(
        None,
        description=(
            "Key the web UI's session cookies are sealed with. Unset: a random key per server "
            "process (sessions end when it restarts); set the same value on every server behind "
            "one load balancer."
        ),
    )
