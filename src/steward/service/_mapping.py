"""How a source platform's records map onto Steward's (pure functions, no I/O).

Rules worth knowing (docs/guides/mlflow.md repeats them):

- Owner, risk tier and use case come from the registered model's tags named in
  :class:`~steward.domain.SourceSettings` (``steward.owner``, ``steward.risk_tier``,
  ``steward.use_case``), else from the newest version's tags. Missing ones are never guessed: the
  record gets the placeholders ``owner="unassigned"`` and ``risk_tier="high"`` (the strictest
  workflow until someone classifies it) and the tag ``steward.incomplete`` lists what is missing.
  Later harvests fill only fields still listed there; a value maintained in Steward wins.
- A dataset input becomes a dataset (its MLflow name) and a dataset version named by MLflow's own
  digest. MLflow's digest is 8 hex characters, so Steward's ``sha256:`` digest covers MLflow's
  description of it (name, digest, source type, source, schema): it identifies that record, not
  the bytes of the data, which MLflow does not hold.
- The input's ``mlflow.data.context`` tag gives its role: ``training``/``train``,
  ``validation``/``val``/``eval``... an input without a known context is not linked (and is counted).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from steward.domain import (
    LONG_TEXT_MAX,
    NAME_MAX,
    NAME_PATTERN,
    TAG_KEY_MAX,
    TAG_VALUE_MAX,
    TAGS_MAX,
    WRITE_BACK_PREFIX,
    DatasetRole,
    DatasetUse,
    Model,
    ModelVersion,
    RiskTier,
    SourceDataset,
    SourceModel,
    SourceRun,
    SourceSettings,
    SourceVersion,
    TrainingRun,
)

INCOMPLETE_TAG = "steward.incomplete"
UNASSIGNED_OWNER = "unassigned"

_ROLES = {
    "training": DatasetRole.TRAINING,
    "train": DatasetRole.TRAINING,
    "validation": DatasetRole.VALIDATION,
    "val": DatasetRole.VALIDATION,
    "valid": DatasetRole.VALIDATION,
    "eval": DatasetRole.VALIDATION,
    "evaluation": DatasetRole.VALIDATION,
    "test": DatasetRole.TEST,
    "testing": DatasetRole.TEST,
    "holdout": DatasetRole.TEST,
}
_COMMIT_CHARS = frozenset("0123456789abcdef")


def sha256_of(data: bytes | str) -> str:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# -- models ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Governance:
    """The governance fields a platform's tags gave, and those it did not."""

    owner: str | None
    risk_tier: RiskTier | None
    use_case: str | None
    problems: tuple[str, ...] = ()

    @property
    def missing(self) -> tuple[str, ...]:
        names = ("owner", "risk_tier", "use_case")
        return tuple(
            n for n, v in zip(names, (self.owner, self.risk_tier, self.use_case), strict=True) if not v
        )


def governance(tags: dict[str, str], fallback: dict[str, str], settings: SourceSettings) -> Governance:
    def pick(key: str) -> str | None:
        value = (tags.get(key) or fallback.get(key) or "").strip()
        return value or None

    problems: list[str] = []
    tier_text = pick(settings.risk_tier_tag)
    tier = None
    if tier_text is not None:
        try:
            tier = RiskTier(tier_text.lower())
        except ValueError:
            problems.append(
                f"tag {settings.risk_tier_tag}={tier_text!r} is not a risk tier (high, medium, low)"
            )
    owner = pick(settings.owner_tag)
    return Governance(
        owner=owner[:256] if owner else None,
        risk_tier=tier,
        use_case=pick(settings.use_case_tag),
        problems=tuple(problems),
    )


def model_tags(tags: dict[str, str], missing: tuple[str, ...]) -> dict[str, str]:
    kept = {
        k: v
        for k, v in sorted(tags.items())
        if not k.startswith(WRITE_BACK_PREFIX) and len(k) <= TAG_KEY_MAX and len(v) <= TAG_VALUE_MAX
    }
    kept = dict(list(kept.items())[: TAGS_MAX - 1])
    if missing:
        kept[INCOMPLETE_TAG] = ",".join(missing)
    return kept


def new_model(src: SourceModel, gov: Governance, platform: str, by: str, at: datetime) -> Model:
    return Model(
        name=src.name,
        owner=gov.owner or UNASSIGNED_OWNER,
        risk_tier=gov.risk_tier or RiskTier.HIGH,
        use_case=gov.use_case or "",
        description=src.description[:LONG_TEXT_MAX],
        tags=model_tags(src.tags, gov.missing),
        source_links={platform: src.url},
        created_by=by,
        created_at=at,
        updated_at=at,
    )


def refreshed_model(current: Model, src: SourceModel, gov: Governance, platform: str) -> Model:
    """The record with the fields still flagged incomplete filled from the platform, and the source
    linked; Steward's own values are never overwritten."""
    pending = [f for f in current.tags.get(INCOMPLETE_TAG, "").split(",") if f]
    changes: dict[str, Any] = {}
    if "owner" in pending and gov.owner:
        changes["owner"] = gov.owner
    if "risk_tier" in pending and gov.risk_tier:
        changes["risk_tier"] = gov.risk_tier
    if "use_case" in pending and gov.use_case:
        changes["use_case"] = gov.use_case
    still = [f for f in pending if f not in changes]
    tags = dict(current.tags)
    if pending != still:
        if still:
            tags[INCOMPLETE_TAG] = ",".join(still)
        else:
            tags.pop(INCOMPLETE_TAG, None)
        changes["tags"] = tags
    if current.source_links.get(platform) != src.url:
        changes["source_links"] = {**current.source_links, platform: src.url}
    return replace(current, **changes) if changes else current


# -- datasets ----------------------------------------------------------------------------------


def dataset_role(context: str | None) -> DatasetRole | None:
    return _ROLES.get((context or "").strip().lower())


def dataset_uri(ds: SourceDataset) -> str:
    try:
        parsed = json.loads(ds.source) if ds.source else {}
    except ValueError:
        parsed = {}
    if isinstance(parsed, dict):
        for key in ("uri", "url", "path"):
            value = parsed.get(key)
            if isinstance(value, str) and value:
                return value[:2048]
    return f"mlflow-dataset:{ds.source_type or 'unknown'}/{ds.name}@{ds.digest}"


def dataset_digest(ds: SourceDataset) -> str:
    return sha256_of(
        canonical(
            {
                "name": ds.name,
                "digest": ds.digest,
                "source_type": ds.source_type,
                "source": ds.source,
                "schema": ds.schema,
            }
        )
    )


def dataset_valid(ds: SourceDataset) -> str | None:
    """Why Steward cannot record this dataset input, or ``None``."""
    if not ds.name or len(ds.name) > NAME_MAX or not re.fullmatch(NAME_PATTERN, ds.name):
        return f"dataset name {ds.name!r} is not a valid Steward name"
    if not ds.digest or not re.match(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$", ds.digest) or len(ds.digest) > 128:
        return f"dataset {ds.name!r} has no usable digest ({ds.digest!r})"
    return None


# -- runs and versions -------------------------------------------------------------------------


def clean_commit(value: str | None) -> str | None:
    """A commit as the wire rule wants it (7 to 64 lower-case hex digits), else ``None``."""
    if not value:
        return None
    value = value.strip().lower()
    return value if 7 <= len(value) <= 64 and set(value) <= _COMMIT_CHARS else None


def clean_metrics(metrics: dict[str, float]) -> dict[str, float]:
    return {
        k: float(v)
        for k, v in sorted(metrics.items())
        if len(k) <= TAG_KEY_MAX and isinstance(v, int | float) and math.isfinite(v)
    }


def clean_params(params: dict[str, str]) -> dict[str, str]:
    return {
        k: str(v) for k, v in sorted(params.items()) if len(k) <= TAG_KEY_MAX and len(str(v)) <= TAG_VALUE_MAX
    }


def version_tags(src: SourceVersion) -> dict[str, str]:
    kept = {
        k: v
        for k, v in sorted(src.tags.items())
        if not k.startswith(WRITE_BACK_PREFIX) and len(k) <= TAG_KEY_MAX and len(v) <= TAG_VALUE_MAX
    }
    return dict(list(kept.items())[:TAGS_MAX])


def training_run(run: SourceRun, platform: str, by: str, at: datetime) -> TrainingRun:
    return TrainingRun(
        run_id=run.run_id,
        platform=platform,
        experiment=run.experiment[:256],
        user=run.user[:256],
        parameters=clean_params(run.parameters),
        metrics=clean_metrics(run.metrics),
        parent_run_id=run.parent_run_id,
        code_commit=clean_commit(run.code_commit),
        started_at=run.started_at,
        ended_at=run.ended_at,
        created_by=by,
        created_at=at,
    )


def code_repository(run: SourceRun | None) -> str | None:
    """The run's git repository, or its source name (script, notebook) when it recorded none."""
    if run is None:
        return None
    value = run.code_repository or run.source_name
    return value[:2048] if value else None


@dataclass(slots=True)
class Desired:
    """What the platform says a version's harvested fields are."""

    description: str
    tags: dict[str, str]
    training_run: str | None
    metrics: dict[str, float] | None = None
    parameters: dict[str, str] | None = None
    datasets: tuple[DatasetUse, ...] | None = None
    code_commit: str | None = None
    code_repository: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def desired(
    src: SourceVersion, run: SourceRun | None, recorded_run: bool, uses: tuple[DatasetUse, ...]
) -> Desired:
    """The version's fields from the platform; run-derived fields only when the run is recorded."""
    wanted = Desired(
        description=src.description[:LONG_TEXT_MAX],
        tags=version_tags(src),
        training_run=run.run_id if run is not None and recorded_run else None,
    )
    if run is not None and recorded_run:
        wanted.metrics = clean_metrics(run.metrics)
        wanted.parameters = clean_params(run.parameters)
        wanted.datasets = uses
        wanted.code_commit = clean_commit(run.code_commit)
        wanted.code_repository = code_repository(run)
    return wanted


def apply(current: ModelVersion, wanted: Desired, at: datetime) -> ModelVersion:
    """The version with the platform's fields; fields the platform did not give stay as they are."""
    changes: dict[str, Any] = {"description": wanted.description, "tags": wanted.tags}
    if wanted.training_run is not None:
        changes["training_run"] = wanted.training_run
        changes["metrics"] = wanted.metrics
        changes["parameters"] = wanted.parameters
        # the same uses in another order (the store keeps its own) are no change
        same = sorted(map(repr, wanted.datasets or ())) == sorted(map(repr, current.datasets))
        changes["datasets"] = current.datasets if same else wanted.datasets
        changes["code_commit"] = wanted.code_commit
        changes["code_repository"] = wanted.code_repository
    updated = replace(current, **changes)
    return current if updated == current else replace(updated, updated_at=at)


def link_attributes(src: SourceVersion, location: str) -> dict[str, Any]:
    return {
        "location": location,
        "model": src.model,
        "version": src.version,
        "status": src.status,
        "aliases": sorted(src.aliases),
        "run_id": src.run_id,
    }
