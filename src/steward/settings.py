"""Settings, read from ``STEWARD_*`` environment variables by the entry points only.

Documented in ``docs/reference/settings.md`` (a test checks every field is there).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from platformdirs import user_data_dir
from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from steward.domain import Workflow


def default_database_url() -> str:
    """SQLite in the user's data directory: ``steward serve`` works with no setup."""
    return f"sqlite:///{Path(user_data_dir('steward')) / 'steward.db'}"


def default_ledger_key_path(database_url: str) -> Path | None:
    """Where the ledger's signing key lives when ``STEWARD_LEDGER_KEY_PATH`` is unset.

    Beside a SQLite database file (``steward.db`` → ``steward.db.ledger.key``); in the user's data
    directory for PostgreSQL; ``None`` (a key held in memory) for an in-memory SQLite database.
    """
    if database_url.startswith("sqlite:"):
        database = database_url.removeprefix("sqlite:").removeprefix("///").split("?", 1)[0]
        if not database or database in (":memory:", "//", "//:memory:"):
            return None
        path = Path(database).expanduser()
        return path.with_name(path.name + ".ledger.key")
    return Path(user_data_dir("steward")) / "ledger.key"


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
    auth_cache_seconds: float = Field(
        5.0,
        ge=0,
        le=300,
        description=(
            "How long a server keeps an API token's check (its hash, the token's state and its "
            "principal, never the secret) before reading it again; expiry is checked on every "
            "request. A token revoked, or a principal changed, through this server stops working "
            "at once; through another server or the CLI on the same database, within this many "
            "seconds. 0 reads the token on every request."
        ),
    )
    session_secret: SecretStr | None = Field(
        None,
        description=(
            "Key the web UI's session cookies are sealed with. Unset: a random key per server "
            "process (sessions end when it restarts); set the same value on every server behind "
            "one load balancer."
        ),
    )
    ledger_key_path: Path | None = Field(
        None,
        description=(
            "File of the Ed25519 key that signs the audit ledger's checkpoints, created (mode 0600) "
            "on first start. Unset: beside a SQLite database file (`<db file>.ledger.key`), else "
            "`<user data dir>/steward/ledger.key`. Share it between servers on one database; "
            "rotate it with `steward ledger rotate-key`."
        ),
    )

    public_url: str | None = Field(
        None,
        description=(
            "The URL people reach this server at (e.g. https://steward.example.com), used in links "
            "Steward writes elsewhere (the `steward.record` tag on MLflow versions). Unset: "
            "http://HOST:PORT."
        ),
    )
    mlflow_tracking_uri: str | None = Field(
        None,
        description=(
            "The MLflow tracking server whose webhooks this server receives, guards and writes tags "
            "back to (credentials from MLflow's own MLFLOW_TRACKING_TOKEN or "
            "MLFLOW_TRACKING_USERNAME/PASSWORD)."
        ),
    )
    mlflow_webhook_secret: SecretStr | None = Field(
        None,
        description=(
            "The shared secret MLflow signs webhook deliveries with (`steward mlflow connect` "
            "registers it at MLflow). Unset: signed deliveries are refused."
        ),
    )
    mlflow_allowed_tracking_uris: Annotated[list[str], NoDecode] = Field(
        [],
        description=(
            "Other MLflow tracking servers `POST /api/v1/harvests` may harvest, besides "
            "STEWARD_MLFLOW_TRACKING_URI: comma-separated http(s) URLs. The server calls them with "
            "its own MLflow credentials, so list only servers you trust; any other `tracking_uri` "
            "is refused (422, rule `allowed`). An operator's `steward harvest mlflow` on the "
            "database is not limited."
        ),
    )
    mlflow_owner_tag: str = Field(
        "steward.owner", description="MLflow registered-model tag holding the model's owner."
    )
    mlflow_risk_tier_tag: str = Field(
        "steward.risk_tier",
        description="MLflow registered-model tag holding the risk tier (high, medium, low).",
    )
    mlflow_use_case_tag: str = Field(
        "steward.use_case", description="MLflow registered-model tag holding the business use case."
    )

    workflow_production: dict[str, list[str]] = Field(
        {
            "high": ["automated_gates", "independent_validation", "compliance_review", "business_signoff"],
            "medium": ["automated_gates", "compliance_review"],
            "low": ["automated_gates"],
        },
        description=(
            "The sign-offs each risk tier needs before production (and any environment other than "
            "staging), as JSON: risk tier → stages (automated_gates, independent_validation, "
            "compliance_review, business_signoff; signed in that order). A tier left out keeps its "
            "default."
        ),
    )
    workflow_staging: dict[str, list[str]] = Field(
        {"high": ["automated_gates", "independent_validation"], "medium": ["automated_gates"], "low": []},
        description="The sign-offs each risk tier needs before staging, as JSON (see WORKFLOW_PRODUCTION).",
    )
    review_cadence_months: dict[str, int] = Field(
        {"high": 6, "medium": 12, "low": 24},
        description=(
            "Months between periodic reviews (and owner attestations) per risk tier, as JSON; a "
            "model's own review cadence, when set, wins."
        ),
    )

    @field_validator("mlflow_allowed_tracking_uris", mode="before")
    @classmethod
    def _split_uris(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("mlflow_allowed_tracking_uris")
    @classmethod
    def _http_uris(cls, value: list[str]) -> list[str]:
        for uri in value:
            if not uri.startswith(("http://", "https://")):
                raise ValueError(f"{uri!r} is not an http(s) URL")
        return value

    @field_validator("workflow_production", "workflow_staging", "review_cadence_months")
    @classmethod
    def _valid_workflow(cls, value: Any, info: ValidationInfo) -> Any:
        tables = {"workflow_production": "production", "workflow_staging": "staging"}
        key = tables.get(info.field_name or "", "cadence_months")
        Workflow.from_tables(**{key: value})  # raises InvalidInput naming the tier or stage
        return value

    def workflow(self) -> Workflow:
        """The approval workflow these settings describe."""
        return Workflow.from_tables(
            self.workflow_production, self.workflow_staging, self.review_cadence_months
        )

    def record_base_url(self) -> str:
        """Where this server's records are reached from outside (``public_url``, else host:port)."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def resolved_ledger_key_path(self) -> Path | None:
        """The ledger key file to use (``None``: an in-memory database gets an in-memory key)."""
        if self.ledger_key_path is not None:
            return self.ledger_key_path.expanduser()
        return default_ledger_key_path(self.database_url)
