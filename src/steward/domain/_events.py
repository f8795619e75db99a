"""Typed events the service emits. Audit entries and webhooks hang off these.

Names are past tense and dotted. :data:`EVENT_TYPES` is the catalogue (documented in
``docs/reference/events.md``; a test checks every name is there).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

EVENT_TYPES: dict[str, str] = {
    "model.created": "A governance record was created for a model.",
    "model.updated": "Fields of a model's record changed; before/after hold the changed fields.",
    "model_version.registered": "A trained artefact was registered as a new version of a model.",
    "dataset.created": "A dataset was recorded.",
    "dataset.updated": "A dataset's record changed (for example, its approval).",
    "dataset_version.created": "A version of a dataset, with its digest, was recorded.",
    "training_run.recorded": "A training run, with its parameters and metrics, was recorded.",
    "deployment.recorded": "A version was recorded as placed in an environment.",
    "principal.created": "A user or service account was created.",
    "token.created": "An API token was issued (only its hash is kept).",
    "token.revoked": "An API token was revoked.",
}


@dataclass(frozen=True, slots=True)
class Origin:
    """Who asked, and from where: recorded on every audit event."""

    actor: str
    request_id: str = ""
    client_address: str = ""
    user_agent: str = ""


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """Something that happened to a subject, with its state before and after."""

    type: str
    subject_type: str
    subject_id: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {self.type!r}; add it to EVENT_TYPES")
