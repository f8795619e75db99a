"""The approval workflow's calls of the CLI, on the local database or on a server.

Both ways answer with the API's response schemas, so the commands print the same thing. On the
local database the operator may sign as a stored principal (``--as NAME``): signing needs the
stage's role, which the local operator (an admin) does not hold.
"""

from __future__ import annotations

import getpass
from datetime import datetime
from typing import cast

from steward import wire
from steward.cli._backend import Backend, LocalBackend, RemoteBackend, follow_pages
from steward.domain import Origin, ReviewStage
from steward.errors import InvalidInput
from steward.service import Caller


class WorkflowOps:
    def __init__(self, backend: Backend, act_as: str | None = None) -> None:
        self.local = backend if isinstance(backend, LocalBackend) else None
        self.remote = cast(RemoteBackend, backend)
        self.caller = self.local.caller if self.local else None
        if act_as is not None:
            if self.local is None:
                raise InvalidInput.field(
                    "--as", "local_only", "works on the local database only; with --server the token decides"
                )
            self.caller = self._principal(self.local, act_as)

    @staticmethod
    def _principal(local: LocalBackend, name: str) -> Caller:
        found = local.steward.identity.get_principal(local.caller, name)
        origin = Origin(
            actor=found.name,
            client_address="local",
            user_agent=f"steward-cli (local:{getpass.getuser()} as {found.name})",
        )
        return Caller(found, origin)

    def _as(self) -> Caller:
        return cast(Caller, self.caller)

    # -- reviews -----------------------------------------------------------------------------

    def review(self, model: str, version: int, spec: wire.ReviewCreate) -> wire.ReviewOut:
        if self.local:
            return wire.ReviewOut.model_validate(
                self.local.steward.reviews.review(self._as(), model, version, spec)
            )
        return self.remote.record_review(model, version, spec)

    def list_reviews(self, model: str, version: int, limit: int) -> list[wire.ReviewOut]:
        def fetch(size: int, token: str | None) -> wire.Page[wire.ReviewOut]:
            if self.local:
                found = self.local.steward.reviews.list_reviews(self._as(), model, version, size, token)
                reviews: wire.Page[wire.ReviewOut] = wire.page_out(wire.ReviewOut, found)
                return reviews
            return self.remote.list_reviews(model, version, page_size=size, page_token=token)

        return follow_pages(fetch, limit)

    def conditions(
        self, model: str, version: int, open_only: bool, limit: int
    ) -> list[wire.ReviewConditionOut]:
        def fetch(size: int, token: str | None) -> wire.Page[wire.ReviewConditionOut]:
            if self.local:
                listed = self.local.steward.reviews.list_conditions(
                    self._as(), model, version, open_only, size, token
                )
                conditions: wire.Page[wire.ReviewConditionOut] = wire.page_out(
                    wire.ReviewConditionOut, listed
                )
                return conditions
            return self.remote.list_conditions(
                model, version, open_only=open_only, page_size=size, page_token=token
            )

        return follow_pages(fetch, limit)

    def meet(self, condition_id: int, spec: wire.ConditionMeet) -> wire.ReviewConditionOut:
        if self.local:
            met = self.local.steward.reviews.meet_condition(self._as(), condition_id, spec)
            return wire.ReviewConditionOut.model_validate(met)
        return self.remote.meet_condition(condition_id, spec)

    def queue(self, stage: ReviewStage | None, limit: int) -> list[wire.PendingReviewOut]:
        items: list[wire.PendingReviewOut] = []
        token = None
        while len(items) < limit:
            size = min(1000, limit - len(items))
            if self.local:
                page = self.local.steward.reviews.pending(self._as(), stage, size, token)
                items += [wire.PendingReviewOut.model_validate(p) for p in page.items]
                token = page.next_token
            else:
                found = self.remote.pending_reviews(
                    stage=stage.value if stage else None, page_size=size, page_token=token
                )
                items += found.items
                token = found.next_page_token
            if not token:
                break
        return items

    def due(self, overdue_only: bool, limit: int) -> list[wire.ReviewDueOut]:
        def fetch(size: int, token: str | None) -> wire.Page[wire.ReviewDueOut]:
            if self.local:
                found = self.local.steward.reviews.due(self._as(), overdue_only, size, token)
                due: wire.Page[wire.ReviewDueOut] = wire.page_out(wire.ReviewDueOut, found)
                return due
            return self.remote.due_reviews(overdue_only=overdue_only, page_size=size, page_token=token)

        return follow_pages(fetch, limit)

    def attest(self, model: str, spec: wire.AttestationCreate) -> wire.AttestationOut:
        if self.local:
            return wire.AttestationOut.model_validate(
                self.local.steward.reviews.attest(self._as(), model, spec)
            )
        return self.remote.attest(model, spec)

    def history(self, model: str, at: str | None, environment: str) -> wire.ModelHistoryOut:
        if self.local:
            when: datetime | None = wire.history_instant(at, "--at") if at else None
            found = self.local.steward.reviews.history(self._as(), model, when, environment)
            return wire.ModelHistoryOut.model_validate(found)
        return self.remote.history(model, at=at, environment=environment)

    # -- promotion, rollback, retirement, deprecation ----------------------------------------

    def promote(self, model: str, version: int, spec: wire.PromotionCreate) -> wire.PromotionOut:
        if self.local:
            done = self.local.steward.promotions.promote(self._as(), model, version, spec)
            return wire.PromotionOut.model_validate(done)
        return self.remote.promote(model, version, spec)

    def rollback(self, model: str, spec: wire.RollbackCreate) -> wire.PromotionOut:
        if self.local:
            return wire.PromotionOut.model_validate(
                self.local.steward.promotions.rollback(self._as(), model, spec)
            )
        return self.remote.rollback(model, spec)

    def retire(self, model: str, spec: wire.RetirementCreate) -> wire.RetirementOut:
        if self.local:
            return wire.RetirementOut.model_validate(
                self.local.steward.promotions.retire(self._as(), model, spec)
            )
        return self.remote.retire(model, spec)

    def deprecate(self, model: str, version: int, spec: wire.DeprecationCreate) -> wire.VersionOut:
        if self.local:
            done = self.local.steward.promotions.deprecate(self._as(), model, version, spec)
            return wire.VersionOut.model_validate(done)
        return self.remote.deprecate(model, version, spec)
