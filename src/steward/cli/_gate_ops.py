"""The gate, check and policy calls of the CLI, on the local database or on a server.

Both ways answer with the API's response schemas, so the commands print the same thing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

from steward import wire
from steward.cli._backend import Backend, LocalBackend, RemoteBackend
from steward.cli._files import bundle_text
from steward.domain import CheckResult, Page
from steward.service import AssignmentSpec, SimulationProgress

Progress = Callable[[SimulationProgress], None]


def _checks(page: Page[CheckResult]) -> wire.Page[wire.CheckResultOut]:
    return wire.Page[wire.CheckResultOut](
        items=[wire.CheckResultOut.model_validate(c) for c in page.items], next_page_token=page.next_token
    )


class GateOps:
    def __init__(self, backend: Backend) -> None:
        self.local = backend if isinstance(backend, LocalBackend) else None
        self.remote = cast(RemoteBackend, backend)

    # -- decisions ---------------------------------------------------------------------------

    def gate_input(self, model: str, version: int, target: str) -> dict[str, Any]:
        if self.local:
            return self.local.steward.gates.gate_input(self.local.caller, model, version, target)
        return self.remote.gate_input(model, version, target)

    def evaluate(self, model: str, version: int, target: str) -> wire.PolicyDecisionOut:
        if self.local:
            decision = self.local.steward.gates.evaluate(self.local.caller, model, version, target)
            return wire.PolicyDecisionOut.model_validate(decision)
        return self.remote.evaluate(model, version, target)

    def list_decisions(self, model: str, version: int, size: int) -> list[wire.PolicyDecisionOut]:
        if self.local:
            page = self.local.steward.gates.list_decisions(self.local.caller, model, version, size)
            return [wire.PolicyDecisionOut.model_validate(d) for d in page.items]
        return self.remote.list_decisions(model, version, page_size=size).items

    def replay(self, model: str, version: int, decision_id: int) -> wire.ReplayOut:
        if self.local:
            replay = self.local.steward.gates.replay(self.local.caller, model, version, decision_id)
            return wire.ReplayOut.model_validate(replay)
        return self.remote.replay_decision(model, version, decision_id)

    # -- checks ------------------------------------------------------------------------------

    def record_check(self, model: str, version: int, spec: wire.CheckCreate) -> wire.CheckResultOut:
        if self.local:
            result = self.local.steward.checks.record(
                self.local.caller,
                model,
                version,
                spec.kind,
                spec.status,
                spec.values,
                spec.messages,
                wire.provenance_of(spec.provenance),
            )
            return wire.CheckResultOut.model_validate(result)
        return self.remote.record_check(model, version, spec)

    def record_dataset_check(self, dataset: str, version: str, spec: wire.CheckCreate) -> wire.CheckResultOut:
        if self.local:
            result = self.local.steward.checks.record_dataset(
                self.local.caller,
                dataset,
                version,
                spec.kind,
                spec.status,
                spec.values,
                spec.messages,
                wire.provenance_of(spec.provenance),
            )
            return wire.CheckResultOut.model_validate(result)
        return self.remote.record_dataset_check(dataset, version, spec)

    def list_checks(self, model: str, version: int, kind: str | None, size: int) -> list[wire.CheckResultOut]:
        if self.local:
            page = self.local.steward.checks.list(self.local.caller, model, version, kind, size)
            return _checks(page).items
        return self.remote.list_checks(model, version, kind=kind, page_size=size).items

    # -- bundles -----------------------------------------------------------------------------

    def register_bundle(self, files: Mapping[str, bytes]) -> wire.PolicyBundleOut:
        if self.local:
            stored = self.local.steward.policies.register(self.local.caller, files)
            return wire.PolicyBundleOut.model_validate(stored)
        return self.remote.register_bundle(bundle_text(dict(files)))

    def list_bundles(self) -> list[wire.PolicyBundleOut]:
        if self.local:
            found = self.local.steward.policies.list_bundles(self.local.caller)
            return [wire.PolicyBundleOut.model_validate(b) for b in found]
        return self.remote.list_bundles()

    def get_bundle(self, name: str, version: str) -> wire.PolicyBundleOut:
        if self.local:
            found = self.local.steward.policies.get_bundle(self.local.caller, name, version)
            return wire.PolicyBundleOut.model_validate(found)
        return self.remote.get_bundle(name, version)

    def test_bundle(self, name: str, version: str) -> wire.PolicyTestReportOut:
        if self.local:
            record, results = self.local.steward.policies.test_bundle(self.local.caller, name, version)
            passed = sum(1 for r in results if r.passed)
            return wire.PolicyTestReportOut(
                bundle=wire.BundleRefOut.model_validate(record),
                passed=passed,
                failed=len(results) - passed,
                results=[wire.RegoTestOut.model_validate(r) for r in results],
            )
        return self.remote.test_bundle(name, version)

    def simulate(
        self, spec: wire.SimulationCreate, page_size: int, progress: Progress | None = None
    ) -> wire.SimulationOut:
        """Simulate the candidate ``spec`` names; locally ``page_size`` versions per read
        transaction with ``progress`` after each page, on a server as the server pages."""
        if self.local:
            policies, caller = self.local.steward.policies, self.local.caller
            options: dict[str, Any] = {
                "page_size": page_size,
                "changed_only": spec.changed_only,
                "progress": progress,
            }
            if spec.bundle is not None:
                result = policies.simulate_registered(
                    caller, spec.bundle.name, spec.bundle.version, spec.environments, **options
                )
            elif spec.digest is not None:
                result = policies.simulate_digest(caller, spec.digest, spec.environments, **options)
            else:
                result = policies.simulate_files(caller, spec.files or {}, spec.environments, **options)
            return wire.SimulationOut.model_validate(result)
        return self.remote.simulate(spec)

    def assignments(self) -> wire.AssignmentsOut:
        if self.local:
            return wire.AssignmentsOut.model_validate(
                self.local.steward.policies.assignments(self.local.caller)
            )
        return self.remote.get_assignments()

    def set_assignments(self, spec: wire.AssignmentsUpdate) -> wire.AssignmentsOut:
        if self.local:
            specs = [
                AssignmentSpec(a.risk_tier, a.environment, a.bundle_name, a.bundle_version)
                for a in spec.assignments
            ]
            result = self.local.steward.policies.set_assignments(
                self.local.caller, specs, spec.reason, revision=spec.revision
            )
            return wire.AssignmentsOut.model_validate(result)
        return self.remote.set_assignments(spec)
