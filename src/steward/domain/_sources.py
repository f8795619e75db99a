"""Source platforms (MLflow today, Azure ML next): what a connector reads, and the port it implements.

A connector turns a platform's own objects into these plain records; the harvest use case
(``steward.service``) maps them onto the governance records. The service depends on the
:class:`ModelSource` protocol only, so it never imports a platform's library, and the entry points
(CLI, server) build the connector and pass it in.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

#: The aliases guarded by default, and the environment a version must be deployed to in Steward
#: before a platform alias may point at it.
DEFAULT_ALIAS_GUARDS: dict[str, str] = {"production": "production", "champion": "production"}

#: Tags Steward writes back on the platform's versions; harvests ignore them on the way in.
WRITE_BACK_PREFIX = "steward."


@dataclass(frozen=True, slots=True)
class SourceDataset:
    """A dataset input of a run: the platform's name and digest, where it came from, its role."""

    name: str
    digest: str
    source_type: str = ""
    source: str = ""
    schema: str | None = None
    row_count: int | None = None
    context: str | None = None


@dataclass(frozen=True, slots=True)
class SourceExperiment:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class SourceRun:
    """A training run as the platform knows it; ``status`` is the platform's (``FINISHED``…)."""

    run_id: str
    experiment: str
    status: str
    user: str = ""
    parameters: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    parent_run_id: str | None = None
    code_commit: str | None = None
    code_repository: str | None = None
    source_name: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    datasets: tuple[SourceDataset, ...] = ()
    deleted: bool = False

    @property
    def finished(self) -> bool:
        return self.status in {"FINISHED", "FAILED", "KILLED"}


@dataclass(frozen=True, slots=True)
class SourceModel:
    """A registered model: its tags (where owner, risk tier and use case may be) and aliases."""

    name: str
    url: str
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SourceVersion:
    """A registered version; ``external_id`` is unique on the platform (its page's URL)."""

    model: str
    version: str
    external_id: str
    source: str
    status: str = "READY"
    run_id: str | None = None
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    logged_model_id: str | None = None


@dataclass(frozen=True, slots=True)
class SourceArtifact:
    """The artefact behind a version: its digest and how it was computed, what its files say.

    ``method`` is ``files`` when every artefact file was read and hashed, ``metadata`` when the
    files could not be reached and the digest covers the platform's description of the artefact.
    """

    uri: str
    digest: str
    method: str
    python_version: str | None = None
    dependency_lock_digest: str | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class SourceSettings:
    """Which platform tags carry the governance fields Steward does not invent."""

    owner_tag: str = "steward.owner"
    risk_tier_tag: str = "steward.risk_tier"
    use_case_tag: str = "steward.use_case"


class ModelSource(Protocol):
    """A platform Steward harvests and guards. Errors are :mod:`steward.errors` kinds:
    ``Unavailable`` (cannot reach), ``Unauthenticated`` (credentials refused), ``NotFound``."""

    platform: str
    location: str

    def check(self) -> None:
        """Reach the platform and prove the credentials work, or raise saying which failed."""

    def external_id(self, model: str, version: str) -> str:
        """The platform's unique id of a version (what :attr:`SourceVersion.external_id` holds)."""

    def experiments(self, names: Sequence[str] | None) -> list[SourceExperiment]: ...

    def runs(self, experiments: Sequence[SourceExperiment]) -> Iterator[SourceRun]: ...

    def run(self, run_id: str) -> SourceRun | None:
        """The run, or ``None`` when it was deleted (or never existed)."""

    def models(self, names: Sequence[str] | None) -> Iterator[SourceModel]: ...

    def model(self, name: str) -> SourceModel | None: ...

    def versions(self, models: Sequence[SourceModel]) -> Iterator[SourceVersion]:
        """The versions of ``models``: each model's together (never interleaved with another's),
        oldest first, so that a harvest can write a model as soon as the listing passes it."""

    def version(self, model: str, version: str) -> SourceVersion | None: ...

    def artifact(self, version: SourceVersion) -> SourceArtifact: ...

    def set_version_tags(self, model: str, version: str, tags: Mapping[str, str]) -> None: ...

    def set_alias(self, model: str, alias: str, version: str) -> None: ...

    def delete_alias(self, model: str, alias: str) -> None: ...


@dataclass(frozen=True, slots=True)
class HarvestJob:
    """A harvest asked for over REST, run in the background; ``summary`` is filled as it runs."""

    id: int
    platform: str
    location: str
    experiments: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    state: str = "queued"
    summary: dict[str, object] = field(default_factory=dict)
    error: str = ""
    requested_by: str = ""
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SourceEvent:
    """One event a platform pushed (a webhook delivery), already authenticated and parsed.

    ``type`` is the platform's ``entity.action`` (``model_version.created``,
    ``model_version_alias.created``…); the other fields are what its payload carried.
    """

    platform: str
    delivery_id: str
    sent_at: datetime
    type: str
    model: str
    version: str | None = None
    alias: str | None = None
    key: str | None = None
    value: str | None = None
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
