"""Guard mode in a harvest: catch the bypasses the webhook deliveries missed.

A harvest sees every alias of a registered model. A guarded alias pointing at a version Steward
has not promoted to its environment is reported (``unguarded`` in the summary). When it moved
there since Steward last looked (Steward had not recorded it on that version), it is a bypass made
while deliveries were not arriving, and :meth:`GuardService.on_alias_set` handles it exactly as
for a delivery: the alias is moved back or removed, ``alias.reverted`` is written and an incident
opened, by the connector's service account. An alias found on a model's first harvest, or already
recorded where it points, is reported only: it predates Steward's watch (a first look at a
registry must not take a team's production alias away), or was dealt with when it was first seen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from steward.domain import DEFAULT_ALIAS_GUARDS, ModelSource, ModelVersion, SourceModel
from steward.errors import StewardError
from steward.service._caller import Caller
from steward.service._guard import GuardService, promoted_deployments
from steward.service._harvest_support import HarvestSummary
from steward.storage import SqlTransaction


def seen_aliases(
    tx: SqlTransaction,
    source: ModelSource,
    src: SourceModel,
    linked: Mapping[str, tuple[str, int]],
    known: Mapping[tuple[str, int], ModelVersion],
) -> set[str]:
    """The model's aliases that Steward had already recorded on the version they point at now (read
    before the harvest writes)."""
    seen: set[str] = set()
    for alias, version in src.aliases.items():
        external_id = source.external_id(src.name, version)
        key = linked.get(external_id)
        record = (known.get(key) or tx.find_version(*key)) if key is not None else None
        link = next((s for s in record.sources if s.external_id == external_id), None) if record else None
        if link is not None and alias in (link.attributes.get("aliases") or []):
            seen.add(alias)
    return seen


def unguarded_aliases(
    tx: SqlTransaction,
    source: ModelSource,
    models: Sequence[SourceModel],
    linked: Mapping[str, tuple[str, int]],
    summary: HarvestSummary,
) -> dict[str, list[tuple[str, str]]]:
    """For each of ``models`` (recorded in Steward), the guarded aliases pointing at versions
    Steward has not promoted there, as ``(alias, version)``; each is reported in the summary's
    ``unguarded``. A batch's models are read together: their guards, then their deployments."""
    aliased = [m for m in models if m.aliases]
    stored = tx.sources.alias_guards_of(m.name for m in aliased)
    promoted = promoted_deployments(tx, [m.name for m in aliased])
    found: dict[str, list[tuple[str, str]]] = {m.name: [] for m in models}
    for src in aliased:
        guards = stored[src.name]
        for alias, version in sorted(src.aliases.items()):
            environment = (dict(DEFAULT_ALIAS_GUARDS) if guards is None else guards).get(alias)
            if environment is None:
                continue
            key = linked.get(source.external_id(src.name, version))
            active = promoted.get((src.name, environment))
            if key is None or active is None or active.version != key[1] or key[0] != src.name:
                summary.unguarded.append(
                    f"{src.name}@{alias} -> version {version}: not deployed to {environment} in Steward"
                )
                found[src.name].append((alias, version))
    return found


def guard_bypasses(
    guard: GuardService,
    caller: Caller,
    source: ModelSource,
    src: SourceModel,
    found: list[tuple[str, str]],
    skip: set[str],
    summary: HarvestSummary,
) -> None:
    """Hand each unguarded alias not in ``skip`` to the guard, as a delivery would; what it did
    goes to the summary's ``guarded`` (a failure to its ``errors``, the harvest goes on)."""
    for alias, version in found:
        if alias in skip:
            continue
        try:
            outcome = guard.on_alias_set(caller, source, src.name, alias)
        except StewardError as error:
            summary.errors.append(f"guard mode on {src.name}@{alias}: {error.message}")
            continue
        summary.guarded.append(f"{src.name}@{alias} -> version {version}: {outcome}")
