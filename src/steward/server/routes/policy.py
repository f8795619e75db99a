"""Policy bundles, their Rego tests, which bundle applies where, and impact simulation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from steward import wire
from steward.domain import Action
from steward.server.deps import CallerDep, StewardDep, action
from steward.service import Assignments, AssignmentSpec

router = APIRouter(tags=["policy"])
BundleName = Annotated[str, Path(min_length=1, max_length=128)]
BundleVersion = Annotated[str, Path(min_length=1, max_length=128)]


@router.get(
    "/policy/bundles", response_model=list[wire.PolicyBundleOut], openapi_extra=action(Action.POLICY_READ)
)
def list_bundles(caller: CallerDep, steward: StewardDep) -> list[wire.PolicyBundleOut]:
    """The built-in bundle, then every registered bundle (without their files)."""
    return [wire.PolicyBundleOut.model_validate(b) for b in steward.policies.list_bundles(caller)]


@router.post(
    "/policy/bundles",
    status_code=201,
    response_model=wire.PolicyBundleOut,
    openapi_extra=action(Action.POLICY_MANAGE),
)
def register_bundle(
    body: wire.PolicyBundleCreate, caller: CallerDep, steward: StewardDep
) -> wire.PolicyBundleOut:
    """Register a policy bundle; its name and version come from its `manifest.json`.

    Every module must parse and compile (errors name the file and line); a registered version is
    never replaced.
    """
    return wire.PolicyBundleOut.model_validate(steward.policies.register(caller, body.files))


@router.get(
    "/policy/bundles/{name}/{version}",
    response_model=wire.PolicyBundleOut,
    openapi_extra=action(Action.POLICY_READ),
)
def get_bundle(
    name: BundleName, version: BundleVersion, caller: CallerDep, steward: StewardDep
) -> wire.PolicyBundleOut:
    """One bundle with its files."""
    return wire.PolicyBundleOut.model_validate(steward.policies.get_bundle(caller, name, version))


@router.get(
    "/policy/bundles/{name}/{version}/tests",
    response_model=wire.PolicyTestReportOut,
    openapi_extra=action(Action.POLICY_READ),
)
def test_bundle(
    name: BundleName, version: BundleVersion, caller: CallerDep, steward: StewardDep
) -> wire.PolicyTestReportOut:
    """Run the bundle's Rego unit tests (rules named `test_*` in `*_test.rego` files)."""
    record, results = steward.policies.test_bundle(caller, name, version)
    passed = sum(1 for r in results if r.passed)
    return wire.PolicyTestReportOut(
        bundle=wire.BundleRefOut.model_validate(record),
        passed=passed,
        failed=len(results) - passed,
        results=[wire.RegoTestOut.model_validate(r) for r in results],
    )


@router.post(
    "/policy/simulate", response_model=wire.SimulationOut, openapi_extra=action(Action.POLICY_SIMULATE)
)
def simulate(body: wire.SimulationCreate, caller: CallerDep, steward: StewardDep) -> wire.SimulationOut:
    """Report which decisions a candidate bundle would change, before it is switched on.

    The candidate and the bundle in force are evaluated for every version deployed now (for its
    environment) and every version awaiting review or deployment, a page of versions at a time.
    Nothing is stored.
    """
    options = {"changed_only": body.changed_only}
    if body.bundle is not None:
        result = steward.policies.simulate_registered(
            caller, body.bundle.name, body.bundle.version, body.environments, **options
        )
    elif body.digest is not None:
        result = steward.policies.simulate_digest(caller, body.digest, body.environments, **options)
    else:  # the schema requires one of the three
        result = steward.policies.simulate_files(caller, body.files or {}, body.environments, **options)
    return wire.SimulationOut.model_validate(result)


@router.get(
    "/policy/assignments", response_model=wire.AssignmentsOut, openapi_extra=action(Action.POLICY_READ)
)
def get_assignments(caller: CallerDep, steward: StewardDep, response: Response) -> wire.AssignmentsOut:
    """Which policy bundle applies to which risk tier and target environment (`*` for any).

    The most specific row wins; the built-in bundle applies where none matches. `revision` (also
    the `ETag` header) is what a change must send back.
    """
    table = steward.policies.assignments(caller)
    response.headers["ETag"] = f'"{table.revision}"'
    return _assignments(table)


@router.put(
    "/policy/assignments", response_model=wire.AssignmentsOut, openapi_extra=action(Action.POLICY_MANAGE)
)
def set_assignments(
    body: wire.AssignmentsUpdate, caller: CallerDep, steward: StewardDep
) -> wire.AssignmentsOut:
    """Replace the assignment table; the change is recorded in the audit trail.

    `revision` must be the one read (else 409 `conflict`, and nothing changes).
    """
    specs = [
        AssignmentSpec(a.risk_tier, a.environment, a.bundle_name, a.bundle_version) for a in body.assignments
    ]
    return _assignments(steward.policies.set_assignments(caller, specs, body.reason, revision=body.revision))


def _assignments(result: Assignments) -> wire.AssignmentsOut:
    return wire.AssignmentsOut.model_validate(result)
