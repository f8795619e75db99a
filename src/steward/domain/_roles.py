"""Who may do what: the one role x action table.

Every REST route, CLI command and SDK call names one :class:`Action`; the server checks the
caller's roles against :data:`PERMISSIONS` before the service runs. ``docs/reference/roles.md`` is
generated from this table and a test walks every route x every role against it. ``auditor`` is
read-only everywhere.
"""

from __future__ import annotations

from enum import StrEnum

from steward.domain._records import Principal
from steward.domain._values import Role
from steward.errors import PermissionDenied


class Action(StrEnum):
    MODEL_READ = "model.read"
    MODEL_CREATE = "model.create"
    MODEL_UPDATE = "model.update"
    VERSION_READ = "version.read"
    VERSION_REGISTER = "version.register"
    DATASET_READ = "dataset.read"
    DATASET_WRITE = "dataset.write"
    RUN_READ = "run.read"
    RUN_WRITE = "run.write"
    DEPLOYMENT_READ = "deployment.read"
    AUDIT_READ = "audit.read"
    PRINCIPAL_READ = "principal.read"
    PRINCIPAL_MANAGE = "principal.manage"
    TOKEN_MANAGE = "token.manage"  # noqa: S105 (an action name, not a secret)
    INCIDENT_READ = "incident.read"
    INCIDENT_OPEN = "incident.open"
    INCIDENT_RESOLVE = "incident.resolve"
    HARVEST_READ = "harvest.read"
    HARVEST_RUN = "harvest.run"
    LEDGER_READ = "ledger.read"
    LEDGER_MANAGE = "ledger.manage"
    EVIDENCE_READ = "evidence.read"
    ACCESS_LOG_READ = "access_log.read"
    CHECK_READ = "check.read"
    CHECK_RECORD = "check.record"
    GATE_READ = "gate.read"
    GATE_EVALUATE = "gate.evaluate"
    POLICY_READ = "policy.read"
    POLICY_MANAGE = "policy.manage"
    POLICY_SIMULATE = "policy.simulate"
    REVIEW_READ = "review.read"
    REVIEW_SIGN = "review.sign"
    REVIEW_CONDITION_RESOLVE = "review_condition.resolve"
    PROMOTION_PROMOTE = "promotion.promote"
    DEPLOYMENT_ROLLBACK = "deployment.rollback"
    MODEL_RETIRE = "model.retire"
    VERSION_DEPRECATE = "version.deprecate"
    MODEL_ATTEST = "model.attest"


_EVERYONE = frozenset(Role)
_BUILDERS = frozenset({Role.ADMIN, Role.DATA_SCIENTIST, Role.ML_ENGINEER})
_OVERSIGHT = frozenset({Role.ADMIN, Role.AUDITOR, Role.COMPLIANCE_OFFICER, Role.VALIDATOR})
_EVIDENCE = frozenset({Role.ADMIN, Role.AUDITOR, Role.COMPLIANCE_OFFICER})
# Signing a workflow stage needs the stage's own role: admin is not one of them (separation of
# duties), so ``review.sign`` is the one action an admin may not do by being admin.
_SIGNERS = frozenset({Role.ML_ENGINEER, Role.VALIDATOR, Role.COMPLIANCE_OFFICER, Role.BUSINESS_OWNER})
_DEPLOYERS = frozenset({Role.ADMIN, Role.ML_ENGINEER})

PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.MODEL_READ: _EVERYONE,
    Action.MODEL_CREATE: _BUILDERS,
    Action.MODEL_UPDATE: _BUILDERS,
    Action.VERSION_READ: _EVERYONE,
    Action.VERSION_REGISTER: _BUILDERS,
    Action.DATASET_READ: _EVERYONE,
    Action.DATASET_WRITE: _BUILDERS,
    Action.RUN_READ: _EVERYONE,
    Action.RUN_WRITE: _BUILDERS,
    Action.DEPLOYMENT_READ: _EVERYONE,
    Action.AUDIT_READ: _OVERSIGHT,
    Action.PRINCIPAL_READ: frozenset({Role.ADMIN, Role.AUDITOR}),
    Action.PRINCIPAL_MANAGE: frozenset({Role.ADMIN}),
    Action.TOKEN_MANAGE: frozenset({Role.ADMIN}),
    Action.INCIDENT_READ: _EVERYONE,
    Action.INCIDENT_OPEN: _EVERYONE - {Role.AUDITOR},
    Action.INCIDENT_RESOLVE: frozenset({Role.ADMIN, Role.ML_ENGINEER, Role.COMPLIANCE_OFFICER}),
    Action.HARVEST_READ: _EVERYONE,
    Action.HARVEST_RUN: _BUILDERS,
    Action.LEDGER_READ: _EVERYONE,
    Action.LEDGER_MANAGE: frozenset({Role.ADMIN}),
    Action.EVIDENCE_READ: _EVIDENCE,
    Action.ACCESS_LOG_READ: _EVIDENCE,
    Action.CHECK_READ: _EVERYONE,
    Action.CHECK_RECORD: _BUILDERS | {Role.VALIDATOR},
    Action.GATE_READ: _EVERYONE,
    Action.GATE_EVALUATE: _EVERYONE - {Role.AUDITOR},
    Action.POLICY_READ: _EVERYONE,
    Action.POLICY_MANAGE: frozenset({Role.ADMIN, Role.COMPLIANCE_OFFICER}),
    Action.POLICY_SIMULATE: _EVERYONE - {Role.AUDITOR},
    Action.REVIEW_READ: _EVERYONE,
    Action.REVIEW_SIGN: _SIGNERS,
    Action.REVIEW_CONDITION_RESOLVE: _SIGNERS | {Role.ADMIN},
    Action.PROMOTION_PROMOTE: _DEPLOYERS,
    Action.DEPLOYMENT_ROLLBACK: _DEPLOYERS,
    Action.MODEL_RETIRE: _DEPLOYERS | {Role.COMPLIANCE_OFFICER, Role.BUSINESS_OWNER},
    Action.VERSION_DEPRECATE: _BUILDERS,
    Action.MODEL_ATTEST: _BUILDERS | {Role.BUSINESS_OWNER},
}

WRITE_ACTIONS = frozenset(a for a in Action if not a.value.endswith(".read"))
assert not any(Role.AUDITOR in PERMISSIONS[a] for a in WRITE_ACTIONS)  # the table's own invariant


def allowed(principal: Principal, action: Action) -> bool:
    return not principal.disabled and bool(principal.roles & PERMISSIONS[action])


def authorize(principal: Principal, action: Action) -> None:
    """Raise :class:`PermissionDenied` naming the action and the roles that may do it."""
    if principal.disabled:
        raise PermissionDenied(f"principal {principal.name} is disabled")
    if not allowed(principal, action):
        roles = sorted(r.value for r in PERMISSIONS[action])
        raise PermissionDenied(
            f"{principal.name} may not {action.value}: it needs one of the roles {', '.join(roles)}",
            {
                "action": action.value,
                "required_roles": roles,
                "roles": sorted(r.value for r in principal.roles),
            },
        )
