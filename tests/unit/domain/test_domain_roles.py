"""The role-by-action table and its invariants."""

from __future__ import annotations

import re

import pytest

from steward.domain import PERMISSIONS, WRITE_ACTIONS, Action, Principal, Role, allowed, authorize
from steward.errors import PermissionDenied

READ_ACTIONS = frozenset(a for a in Action if a.value.endswith(".read"))


def someone(*roles: Role, disabled: bool = False) -> Principal:
    return Principal(name="pat", roles=frozenset(roles), disabled=disabled)


def test_every_action_is_in_the_table_and_nothing_else() -> None:
    assert set(PERMISSIONS) == set(Action)
    assert all(PERMISSIONS[a] for a in Action), "an action nobody may do is dead"


def test_action_names_are_noun_dot_verb() -> None:
    for action in Action:
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*\.[a-z]+", action.value), action


def test_write_actions_are_every_action_that_is_not_a_read() -> None:
    assert frozenset(Action) - READ_ACTIONS == WRITE_ACTIONS
    assert Action.MODEL_CREATE in WRITE_ACTIONS
    assert Action.TOKEN_MANAGE in WRITE_ACTIONS
    assert Action.AUDIT_READ not in WRITE_ACTIONS


def test_auditor_is_read_only_and_reads_everything() -> None:
    auditor_may = {a for a in Action if Role.AUDITOR in PERMISSIONS[a]}
    assert auditor_may == READ_ACTIONS
    for action in WRITE_ACTIONS:
        assert not allowed(someone(Role.AUDITOR), action), action


def test_admin_may_do_everything_but_sign_a_stage() -> None:
    # Signing a workflow stage needs the stage's own role (separation of duties): being admin is
    # not enough, and an admin who also holds a stage role signs in that role.
    assert [a for a in Action if Role.ADMIN not in PERMISSIONS[a]] == [Action.REVIEW_SIGN]
    assert PERMISSIONS[Action.REVIEW_SIGN] == {
        Role.ML_ENGINEER,
        Role.VALIDATOR,
        Role.COMPLIANCE_OFFICER,
        Role.BUSINESS_OWNER,
    }


def test_everyone_reads_the_registry() -> None:
    for action in (
        Action.MODEL_READ,
        Action.VERSION_READ,
        Action.DATASET_READ,
        Action.RUN_READ,
        Action.DEPLOYMENT_READ,
    ):
        assert PERMISSIONS[action] == frozenset(Role)


def test_every_role_may_do_something() -> None:
    for role in Role:
        assert any(role in roles for roles in PERMISSIONS.values()), role


@pytest.mark.parametrize(
    ("action", "roles"),
    [
        (Action.MODEL_CREATE, {Role.ADMIN, Role.DATA_SCIENTIST, Role.ML_ENGINEER}),
        (Action.VERSION_REGISTER, {Role.ADMIN, Role.DATA_SCIENTIST, Role.ML_ENGINEER}),
        (Action.PROMOTION_PROMOTE, {Role.ADMIN, Role.ML_ENGINEER}),
        (Action.AUDIT_READ, {Role.ADMIN, Role.AUDITOR, Role.COMPLIANCE_OFFICER, Role.VALIDATOR}),
        (Action.PRINCIPAL_READ, {Role.ADMIN, Role.AUDITOR}),
        (Action.PRINCIPAL_MANAGE, {Role.ADMIN}),
        (Action.TOKEN_MANAGE, {Role.ADMIN}),
    ],
)
def test_table_rows(action: Action, roles: set[Role]) -> None:
    assert PERMISSIONS[action] == roles


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(Action))
def test_allowed_follows_the_table(role: Role, action: Action) -> None:
    assert allowed(someone(role), action) is (role in PERMISSIONS[action])


def test_any_one_matching_role_is_enough() -> None:
    assert allowed(someone(Role.AUDITOR, Role.ML_ENGINEER), Action.PROMOTION_PROMOTE)
    authorize(someone(Role.BUSINESS_OWNER, Role.ADMIN), Action.TOKEN_MANAGE)


def test_refusal_names_action_and_roles() -> None:
    with pytest.raises(PermissionDenied) as caught:
        authorize(someone(Role.AUDITOR, Role.VALIDATOR), Action.PROMOTION_PROMOTE)
    error = caught.value
    assert error.code == "permission_denied"
    assert error.message == ("pat may not promotion.promote: it needs one of the roles admin, ml_engineer")
    assert error.details == {
        "action": "promotion.promote",
        "required_roles": ["admin", "ml_engineer"],
        "roles": ["auditor", "validator"],
    }


def test_disabled_principal_may_do_nothing() -> None:
    disabled = someone(Role.ADMIN, disabled=True)
    assert not any(allowed(disabled, a) for a in Action)
    with pytest.raises(PermissionDenied, match="principal pat is disabled"):
        authorize(disabled, Action.MODEL_READ)


def test_principal_without_roles_may_do_nothing() -> None:
    assert not any(allowed(someone(), a) for a in Action)
