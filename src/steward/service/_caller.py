"""The caller of a use case: who (principal and roles) and from where (origin)."""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from steward.domain import Action, Origin, Principal, PrincipalKind, Role, authorize


@dataclass(frozen=True, slots=True)
class Caller:
    principal: Principal
    origin: Origin

    def authorize(self, action: Action) -> None:
        authorize(self.principal, action)

    @property
    def name(self) -> str:
        return self.principal.name


def local_operator(request_id: str = "", name: str | None = None) -> Caller:
    """Whoever runs the CLI against the database directly: an operator with the database's keys.

    Recorded in the audit trail as ``local:<os user>`` with origin ``cli``.
    """
    user = name or f"local:{getpass.getuser()}"
    principal = Principal(name=user, roles=frozenset({Role.ADMIN}), kind=PrincipalKind.SERVICE)
    return Caller(
        principal,
        Origin(actor=user, request_id=request_id, client_address="local", user_agent="steward-cli"),
    )


def connector_caller(
    platform: str, request_id: str = "", client_address: str = "", user_agent: str = ""
) -> Caller:
    """Who acts for a source platform: the service account ``connector:<platform>``, on its signed
    deliveries, and in guard mode (also when a harvest finds a bypass the deliveries missed).

    It may register and update what the platform reports (as an ML engineer) and open incidents;
    its name is the actor of every audit event a delivery causes.
    """
    name = f"connector:{platform}"
    principal = Principal(
        name=name, roles=frozenset({Role.ML_ENGINEER, Role.DATA_SCIENTIST}), kind=PrincipalKind.SERVICE
    )
    return Caller(principal, Origin(name, request_id, client_address, user_agent))
