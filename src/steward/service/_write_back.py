"""Write-back after Steward's own changes: a platform version's ``steward.*`` tags follow its
record.

The harvest and the webhook receiver write the tags of the versions they touch. This is the other
half: after a gate evaluation, or a change of a version's state made in Steward (a review, a
promotion, a deployment, a rollback, a deprecation, a retirement), :meth:`WriteBackService.push`
sets the tags of each version concerned that is linked to the platform, where they differ:
``steward.state``, ``steward.decision`` (``allow``, or ``deny: <first reason>``, of the latest
decision) and ``steward.record``. The server runs it after commit, off the request thread, so a
slow or unreachable platform never delays or fails the change itself.
"""

from __future__ import annotations

from steward.domain import Action, AuditEvent, ModelSource
from steward.service._caller import Caller
from steward.service._guard import platform_versions
from steward.service._harvest_support import RecordUrl, decision_text, write_back_tags
from steward.storage import SqlStore

#: The events after which the tags of the versions they concern are written back.
WRITE_BACK_ACTIONS = frozenset(
    {
        "gate.evaluated",
        "review.recorded",
        "promotion.allowed",
        "promotion.denied",
        "deployment.recorded",
        "deployment.rolled_back",
        "model_version.deprecated",
        "model.retired",
    }
)


def written_versions(event: AuditEvent) -> list[tuple[str, int]]:
    """The versions whose tags ``event`` may change (none unless it is in :data:`WRITE_BACK_ACTIONS`):
    its subject when that is a version, the versions its before/after name (a deployment and the
    one it replaced), the versions whose states a promotion or rollback moved, the versions a
    retirement deprecated."""
    if event.action not in WRITE_BACK_ACTIONS:
        return []
    found: list[tuple[str, int]] = []
    keys = [event.subject_id] if event.subject_type == "model_version" else []
    for part in (event.after, event.before):
        if not isinstance(part, dict):
            continue
        model, number = part.get("model"), part.get("version")
        if isinstance(model, str) and isinstance(number, int):
            found.append((model, number))
        states = part.get("states")
        keys += [str(k) for k in states] if isinstance(states, dict) else []
        if event.subject_type == "model":
            deprecated = part.get("deprecated_versions") or []
            found += [(event.subject_id, n) for n in deprecated if isinstance(n, int)]
    for key in keys:  # "model/version"
        model, _, number = key.rpartition("/")
        if model and number.isdigit():
            found.append((model, int(number)))
    return list(dict.fromkeys(found))


class WriteBackService:
    def __init__(self, store: SqlStore) -> None:
        self.store = store

    def push(
        self,
        caller: Caller,
        source: ModelSource,
        model: str,
        version: int,
        record_url: RecordUrl | None = None,
    ) -> dict[str, str]:
        """Set the ``steward.*`` tags of Steward's ``model`` ``version`` on each version linked to
        it at ``source``, where they differ from its record now; gives the tags set (empty when the
        version is not linked there, or its tags are current)."""
        caller.authorize(Action.HARVEST_RUN)
        with self.store.read() as tx:
            record = tx.find_version(model, version)
            if record is None:
                return {}
            targets = platform_versions(record, source)
            decision = decision_text(tx, model, version) if targets else ""
        wanted = write_back_tags(record, record_url, decision)
        written: dict[str, str] = {}
        for platform_model, platform_version in targets:
            current = source.version(platform_model, platform_version)
            if current is None:
                continue
            stale = {k: v for k, v in wanted.items() if current.tags.get(k) != v}
            if stale:
                source.set_version_tags(platform_model, platform_version, stale)
                written.update(stale)
        return written
