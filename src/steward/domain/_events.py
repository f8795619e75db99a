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
    "deployment.recorded": (
        "A promotion placed a version in an environment (replacing the deployment there, kept as "
        "its replaces pointer); only an allowed promotion records one."
    ),
    "principal.created": "A user or service account was created.",
    "token.created": "An API token was issued (only its hash is kept).",
    "token.revoked": "An API token was revoked.",
    "ledger.key_rotated": (
        "The ledger's signing key was rotated; before and after hold the old and new verifier keys."
    ),
    "model_version.updated": (
        "Harvested fields of a version changed at its source platform (description, tags, run, "
        "metrics, datasets, aliases); before/after hold the changed fields."
    ),
    "model_version.source_linked": (
        "The same artefact (same digest) was found at another source; the version now links it "
        "instead of being registered twice."
    ),
    "alias.reverted": (
        "A guarded alias was set (or removed) at a source platform on a version Steward has not "
        "promoted to that environment; Steward moved it back, removed it or put it back."
    ),
    "alias.synced": (
        "Steward set a guarded alias at a source platform after a promotion or a rollback, or "
        "removed it after the model was retired."
    ),
    "alias_guards.updated": "The aliases Steward guards for a model, and their environments, changed.",
    "incident.opened": "An incident was opened on a model (by a person, guard mode or monitoring).",
    "incident.resolved": "An incident was resolved, with its resolution.",
    "check.recorded": (
        "An automated check (fairness, data quality, documentation, lineage, ...) of a model or "
        "dataset version was recorded with its measured values."
    ),
    "policy_bundle.registered": (
        "A policy bundle (a name, a version and its files) was registered; bundles are never edited in place."
    ),
    "policy_assignment.changed": (
        "Which policy bundle applies to which risk tier and target environment changed; before and "
        "after hold the whole table."
    ),
    "gate.evaluated": (
        "The policy bundle was evaluated for a version and a target environment; after holds the "
        "decision (allow, every denial and warning, bundle digest, input digest, engine)."
    ),
    "review.recorded": (
        "A reviewer signed a workflow stage of a version (approved, rejected or approved with "
        "conditions); after holds the review, the role it was signed in, any approval it revokes "
        "and the version's state before and after."
    ),
    "review_condition.fulfilled": "A condition an approval was given under was marked met, with a note.",
    "promotion.allowed": (
        "A promotion passed the gates, the sign-offs its target needs and (for production) "
        "traceability; after holds the gate decision, the deployment made and the one it replaced."
    ),
    "promotion.denied": (
        "A promotion was refused; after holds every reason (failed gates, missing, rejected or "
        "revoked sign-offs, untraceable artefact) and the gate decision."
    ),
    "deployment.rolled_back": (
        "The previous approved version of a model was put back in an environment in one step; "
        "before holds the deployment it ended, after the deployment it made, with the reason."
    ),
    "rollback.denied": "A rollback was refused because the target version's approvals were revoked.",
    "model.retired": (
        "A model was retired: every deployment ended, deployed versions deprecated, the reason and "
        "date recorded; its record is read-only from then on."
    ),
    "model_version.deprecated": "A version was deprecated (no longer to be deployed), with the reason.",
    "model.attested": "The owner of a model attested that its governance record is current.",
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
