"""Rows of the approval workflow and their queries (used through ``SqlTransaction.workflow``).

Reviews are insert-only; ``review_stages`` keeps the newest decision of each stage of each
version (written with the review, in its transaction) so that the review queue is a few indexed
queries. Conditions, attestations, promotions (allowed and denied, rollbacks too), retirements and
deprecations each have their own table; rows become domain records here and nowhere else.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column

from steward.domain import (
    Attestation,
    Deployment,
    ModelVersion,
    Page,
    PromotionKind,
    Reason,
    Retirement,
    Review,
    ReviewCondition,
    ReviewDecision,
    ReviewStage,
    RiskTier,
    Role,
    Signed,
    VersionState,
)
from steward.domain import Promotion as PromotionRecord
from steward.errors import Conflict, InvalidInput, NotFound
from steward.storage import _convert as convert
from steward.storage import _subjects as subjects
from steward.storage._gates import SqlPolicyDecision
from steward.storage._pages import (
    check_page_size,
    composite_position,
    composite_token,
    decode_token,
    page_of,
)
from steward.storage._tables import Base, SqlDeployment, SqlModel, SqlModelVersion, UTCDateTime


def queue_token(since: datetime, version_id: int) -> str:
    """The page token of the review queue after the item waiting since ``since``."""
    return composite_token(since.isoformat(), version_id)


def queue_position(token: str | None) -> tuple[datetime, int] | None:
    """The keyset in a :func:`queue_token` (``None`` for the first page)."""
    keys = composite_position(token, 2)
    if keys is None:
        return None
    try:
        return datetime.fromisoformat(keys[0]), int(keys[1])
    except ValueError:
        raise InvalidInput.field("page_token", "page_token", "is not a token this server issued") from None


def due_token(due_at: datetime, model: str) -> str:
    """The page token of the periodic-review listing after the model due at ``due_at``."""
    return composite_token(due_at.isoformat(), model)


def due_position(token: str | None) -> tuple[datetime, str] | None:
    """The keyset in a :func:`due_token` (``None`` for the first page)."""
    keys = composite_position(token, 2)
    if keys is None:
        return None
    try:
        return datetime.fromisoformat(keys[0]), keys[1]
    except ValueError:
        raise InvalidInput.field("page_token", "page_token", "is not a token this server issued") from None


class SqlReview(Base):
    __tablename__ = "reviews"
    __table_args__ = (Index("ix_reviews_version", "version_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    stage: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(32))
    reviewer: Mapped[str] = mapped_column(String(256), index=True)
    role: Mapped[str] = mapped_column(String(32))
    comment: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[Any]] = mapped_column(JSON)
    gate_decision_id: Mapped[int | None] = mapped_column(ForeignKey("policy_decisions.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    audit_seq: Mapped[int | None] = mapped_column(BigInteger)


class SqlReviewCondition(Base):
    __tablename__ = "review_conditions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    met_by: Mapped[str | None] = mapped_column(String(256))
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text)


class SqlReviewStage(Base):
    """The newest decision of one stage of one version (derived from ``reviews``, kept in step)."""

    __tablename__ = "review_stages"
    __table_args__ = (Index("ix_review_stages_stage", "stage", "approved", "decided_at"),)

    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"), primary_key=True)
    stage: Mapped[str] = mapped_column(String(64), primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"))
    decision: Mapped[str] = mapped_column(String(32))
    approved: Mapped[bool] = mapped_column(Boolean)
    reviewer: Mapped[str] = mapped_column(String(256))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SqlAttestation(Base):
    __tablename__ = "attestations"
    __table_args__ = (Index("ix_attestations_model", "model_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"))
    attested_by: Mapped[str] = mapped_column(String(256))
    statement: Mapped[str] = mapped_column(Text)
    attested_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SqlPromotion(Base):
    """One promotion or rollback request, allowed or denied."""

    __tablename__ = "promotions"
    __table_args__ = (Index("ix_promotions_version", "version_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    environment: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    allowed: Mapped[bool] = mapped_column(Boolean)
    reasons: Mapped[list[Any]] = mapped_column(JSON)
    warnings: Mapped[list[Any]] = mapped_column(JSON)
    gate_decision_id: Mapped[int | None] = mapped_column(ForeignKey("policy_decisions.id"))
    deployment_id: Mapped[int | None] = mapped_column(ForeignKey("deployments.id"), index=True)
    replaced_id: Mapped[int | None] = mapped_column(ForeignKey("deployments.id"))
    requested_by: Mapped[str] = mapped_column(String(256))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text)
    audit_seq: Mapped[int | None] = mapped_column(BigInteger)


class SqlRetirement(Base):
    __tablename__ = "model_retirements"

    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"), primary_key=True)
    retired_by: Mapped[str] = mapped_column(String(256))
    retired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text)
    ended_deployments: Mapped[list[Any]] = mapped_column(JSON)


class SqlDeprecation(Base):
    __tablename__ = "version_deprecations"

    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"), primary_key=True)
    deprecated_by: Mapped[str] = mapped_column(String(256))
    deprecated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text)


class SqlReviewClock(Base):
    """A model's periodic-review clock: the newest approval in force of any stage of any of its
    versions, and its newest attestation. Derived from ``review_stages`` and ``attestations`` and
    kept in step with them (in the transaction that writes a review or an attestation), so the
    listing of what is due reads one row per model instead of grouping every review."""

    __tablename__ = "model_review_clocks"

    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"), primary_key=True)
    last_reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


@dataclass(frozen=True, slots=True)
class WaitingRow:
    """A version waiting at one stage, as the queue query finds it."""

    version_id: int
    model: str
    version: int
    state: VersionState
    registered_by: str
    since: datetime


@dataclass(frozen=True, slots=True)
class DueRow:
    """A model's periodic-review clock as stored: last approval, last attestation, production."""

    model_id: int
    name: str
    owner: str
    risk_tier: RiskTier
    cadence_months: int | None
    created_at: datetime
    last_reviewed_at: datetime | None
    last_attested_at: datetime | None
    production_version: int | None


def _reason(value: Any) -> Reason:
    return Reason(
        str(value.get("rule", "")),
        str(value.get("message", "")),
        value.get("measured"),
        value.get("required"),
    )


def to_condition(
    row: SqlReviewCondition, model: str = "", version: int = 0, stage: str = ""
) -> ReviewCondition:
    return ReviewCondition(
        id=row.id,
        review_id=row.review_id,
        text=row.text,
        model=model,
        version=version,
        stage=ReviewStage(stage) if stage else None,
        met_by=row.met_by,
        met_at=row.met_at,
        note=row.note,
    )


def to_review(row: SqlReview, model: str, version: int, conditions: Sequence[SqlReviewCondition]) -> Review:
    return Review(
        id=row.id,
        model=model,
        version=version,
        stage=ReviewStage(row.stage),
        decision=ReviewDecision(row.decision),
        reviewer=row.reviewer,
        role=Role(row.role),
        created_at=row.created_at,
        comment=row.comment,
        conditions=tuple(to_condition(c, model, version, row.stage) for c in conditions),
        evidence=tuple(str(e) for e in row.evidence),
        gate_decision=row.gate_decision_id,
        audit_seq=row.audit_seq,
    )


class SqlWorkflow:
    """Reviews, conditions, the queue, attestations, promotions, retirements, deprecations."""

    def __init__(self, session: Session) -> None:
        self.s = session

    # -- subjects ----------------------------------------------------------------------------

    def version_id(self, model: str, version: int) -> int:
        return subjects.version_id(self.s, model, version)

    def model_id(self, model: str) -> int:
        return subjects.model_id(self.s, model)

    def set_version_state(self, version: ModelVersion, expected_revision: int) -> None:
        """Write a version's lifecycle state if its stored revision is still ``expected_revision``."""
        result = self.s.execute(
            update(SqlModelVersion)
            .where(
                SqlModelVersion.id == self.version_id(version.model, version.version),
                SqlModelVersion.revision == expected_revision,
            )
            .values(state=version.state.value, updated_at=version.updated_at, revision=version.revision)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(
                f"version {version.model}/{version.version} changed since revision {expected_revision} "
                "was read; read it again and retry",
                {"model": version.model, "version": version.version, "expected_revision": expected_revision},
            )
        self.s.expire_all()

    # -- reviews -----------------------------------------------------------------------------

    def insert_review(self, review: Review, version_id: int) -> Review:
        """Store a review and its conditions, and make it its stage's current decision."""
        row = SqlReview(
            version_id=version_id,
            stage=review.stage.value,
            decision=review.decision.value,
            reviewer=review.reviewer,
            role=review.role.value,
            comment=review.comment,
            evidence=list(review.evidence),
            gate_decision_id=review.gate_decision,
            created_at=review.created_at,
            audit_seq=review.audit_seq,
        )
        self.s.add(row)
        self.s.flush()
        conditions = [
            SqlReviewCondition(review_id=row.id, position=i, text=c.text, met_by=None, met_at=None, note="")
            for i, c in enumerate(review.conditions)
        ]
        self.s.add_all(conditions)
        current = self.s.get(SqlReviewStage, (version_id, review.stage.value))
        replaced = None if current is None else (current.approved, current.decided_at)
        if current is None:
            current = SqlReviewStage(version_id=version_id, stage=review.stage.value)
            self.s.add(current)
        current.review_id = row.id
        current.decision = row.decision
        current.approved = review.decision.approves
        current.reviewer = row.reviewer
        current.decided_at = row.created_at
        self.s.flush()  # the clock's query below reads the stage as it is now (no autoflush)
        model_id = self.s.scalars(
            select(SqlModelVersion.model_id).where(SqlModelVersion.id == version_id)
        ).one()
        clock = self._clock(model_id)
        last = clock.last_reviewed_at
        if replaced is not None and replaced[0] and last is not None and replaced[1] == last:
            # the decision replaced was the newest approval in force: read the newest again (it is
            # this one when it approves, or an older one when it does not)
            clock.last_reviewed_at = self._newest_approval(model_id)
        elif review.decision.approves and (last is None or row.created_at > last):
            clock.last_reviewed_at = row.created_at
        self.s.flush()
        return to_review(row, review.model, review.version, conditions)

    def _clock(self, model_id: int) -> SqlReviewClock:
        """The model's periodic-review clock row (added, empty, the first time)."""
        clock = self.s.get(SqlReviewClock, model_id)
        if clock is None:
            clock = SqlReviewClock(model_id=model_id, last_reviewed_at=None, last_attested_at=None)
            self.s.add(clock)
        return clock

    def _newest_approval(self, model_id: int) -> datetime | None:
        """The newest approval in force of any stage of any version of the model (its stages: an
        index range of ``review_stages`` per version)."""
        return self.s.scalar(
            select(func.max(SqlReviewStage.decided_at))
            .join(SqlModelVersion, SqlModelVersion.id == SqlReviewStage.version_id)
            .where(SqlModelVersion.model_id == model_id, SqlReviewStage.approved.is_(True))
        )

    def set_review_seq(self, review_id: int, seq: int) -> None:
        self.s.execute(
            update(SqlReview)
            .where(SqlReview.id == review_id)
            .values(audit_seq=seq)
            .execution_options(synchronize_session=False)
        )

    def reviews_of(
        self, version_ids: Iterable[int], *, after: int | None = None, limit: int | None = None
    ) -> dict[int, list[Review]]:
        """The reviews of each version, oldest first, with their conditions (with ``after`` and
        ``limit``: the first ``limit`` past review id ``after``, for a page of one version)."""
        ids = list(version_ids)
        found: dict[int, list[Review]] = {i: [] for i in ids}
        if not ids:
            return found
        rows = self.s.execute(
            select(SqlReview, SqlModel.name, SqlModelVersion.version)
            .join(SqlModelVersion, SqlModelVersion.id == SqlReview.version_id)
            .join(SqlModel, SqlModel.id == SqlModelVersion.model_id)
            .where(SqlReview.version_id.in_(ids), *([] if after is None else [SqlReview.id > after]))
            .order_by(SqlReview.version_id, SqlReview.id)
            .limit(limit)
        ).all()
        review_ids = [r.id for r, _, _ in rows]
        conditions: dict[int, list[SqlReviewCondition]] = {i: [] for i in review_ids}
        if review_ids:
            for c in self.s.scalars(
                select(SqlReviewCondition)
                .where(SqlReviewCondition.review_id.in_(review_ids))
                .order_by(SqlReviewCondition.review_id, SqlReviewCondition.position)
            ):
                conditions[c.review_id].append(c)
        for row, model, number in rows:
            found[row.version_id].append(to_review(row, model, number, conditions[row.id]))
        return found

    def list_reviews(self, model: str, version: int, page_size: int, token: str | None) -> Page[Review]:
        """A version's reviews, oldest first."""
        check_page_size(page_size)
        position = decode_token(token, "id")
        version_id = self.version_id(model, version)
        after = position["id"] if position else None
        rows = self.reviews_of([version_id], after=after, limit=page_size + 1)[version_id]
        kept, next_token = page_of(rows, page_size, lambda r: {"id": r.id})
        return Page(tuple(kept), next_token)

    def newest_decision(self, version_id: int) -> tuple[int, bool, str] | None:
        """``(id, allow, environment)`` of the version's newest policy decision."""
        found = self.s.execute(
            select(SqlPolicyDecision.id, SqlPolicyDecision.allow, SqlPolicyDecision.environment)
            .where(SqlPolicyDecision.version_id == version_id)
            .order_by(SqlPolicyDecision.id.desc())
            .limit(1)
        ).one_or_none()
        return None if found is None else (int(found[0]), bool(found[1]), str(found[2]))

    # -- conditions --------------------------------------------------------------------------

    def _condition_rows(
        self, *where: Any, limit: int | None = None
    ) -> list[tuple[SqlReviewCondition, str, int, str]]:
        rows = self.s.execute(
            select(SqlReviewCondition, SqlModel.name, SqlModelVersion.version, SqlReview.stage)
            .join(SqlReview, SqlReview.id == SqlReviewCondition.review_id)
            .join(SqlModelVersion, SqlModelVersion.id == SqlReview.version_id)
            .join(SqlModel, SqlModel.id == SqlModelVersion.model_id)
            .where(*where)
            .order_by(SqlReviewCondition.id)
            .limit(limit)
        ).all()
        return [(c, name, int(number), stage) for c, name, number, stage in rows]

    def find_condition(self, condition_id: int) -> ReviewCondition | None:
        rows = self._condition_rows(SqlReviewCondition.id == condition_id)
        return to_condition(*rows[0]) if rows else None

    def _conditions_where(self, model: str, version: int, open_only: bool) -> list[Any]:
        where: list[Any] = [SqlReview.version_id == self.version_id(model, version)]
        if open_only:
            where.append(SqlReviewCondition.met_at.is_(None))
        return where

    def conditions_of(self, model: str, version: int, open_only: bool) -> list[ReviewCondition]:
        """Every condition of a version's approvals (open ones only), oldest first."""
        where = self._conditions_where(model, version, open_only)
        return [to_condition(*row) for row in self._condition_rows(*where)]

    def list_conditions(
        self, model: str, version: int, open_only: bool, page_size: int, token: str | None
    ) -> Page[ReviewCondition]:
        """A page of :meth:`conditions_of`."""
        check_page_size(page_size)
        position = decode_token(token, "id")
        where = self._conditions_where(model, version, open_only)
        if position:
            where.append(SqlReviewCondition.id > position["id"])
        rows = [to_condition(*row) for row in self._condition_rows(*where, limit=page_size + 1)]
        kept, next_token = page_of(rows, page_size, lambda c: {"id": c.id})
        return Page(tuple(kept), next_token)

    def meet_condition(self, condition_id: int, by: str, at: datetime, note: str) -> ReviewCondition:
        """Mark an open condition met (``Conflict`` if someone did in the meantime)."""
        result = self.s.execute(
            update(SqlReviewCondition)
            .where(SqlReviewCondition.id == condition_id, SqlReviewCondition.met_at.is_(None))
            .values(met_by=by, met_at=at, note=note)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(f"condition {condition_id} is met already", {"condition": condition_id})
        self.s.expire_all()
        found = self.find_condition(condition_id)
        if found is None:  # pragma: no cover (it was just written)
            raise NotFound(f"condition {condition_id} does not exist", {"condition": condition_id})
        return found

    # -- the review queue --------------------------------------------------------------------

    def waiting(
        self,
        arms: Sequence[tuple[RiskTier, ReviewStage, Sequence[ReviewStage]]],
        after: tuple[datetime, int] | None,
        limit: int,
    ) -> list[tuple[int, WaitingRow]]:
        """What waits at each arm ``(tier, stage, before)`` of the queue, in one statement: versions
        of ``tier`` models whose ``stage`` nobody has signed while every stage of ``before`` is
        approved. Rows come by how long they have waited (since the approval of the stage just
        before, or since registration), then version id, after the keyset ``after``; each is paired
        with the index of its arm. One statement, because the auditor's queue has an arm for every
        stage of every tier."""
        if not arms:
            return []
        params: dict[str, Any] = {"limit": limit, "states": _WAITING_STATES}
        if after is not None:
            params.update(after_since=after[0], after_id=after[1])
        key = tuple((tier, stage, tuple(before)) for tier, stage, before in arms)
        rows: Sequence[Any] = self.s.execute(_waiting_union(key, after is not None), params).all()
        return [
            (
                int(r.arm),
                WaitingRow(
                    int(r.id), r.name, int(r.version), VersionState(r.state), r.registered_by, r.since
                ),
            )
            for r in rows
        ]

    # -- periodic reviews --------------------------------------------------------------------

    def due_rows(self, model: str | None = None) -> list[DueRow]:
        """Every model that is not retired (or the one named) with its review clock: one row per
        model from ``model_review_clocks``, and the version it runs in production."""
        one = [] if model is None else [self.model_id(model)]  # one model: its rows only
        deployed = (
            select(
                SqlDeployment.model_id.label("model_id"), func.max(SqlModelVersion.version).label("version")
            )
            .join(SqlModelVersion, SqlModelVersion.id == SqlDeployment.version_id)
            .where(
                SqlDeployment.environment == "production",
                SqlDeployment.state == "active",
                *(SqlDeployment.model_id == i for i in one),
            )
            .group_by(SqlDeployment.model_id)
            .subquery()
        )
        stmt = (
            select(
                SqlModel.id,
                SqlModel.name,
                SqlModel.owner,
                SqlModel.risk_tier,
                SqlModel.review_cadence_months,
                SqlModel.created_at,
                SqlReviewClock.last_reviewed_at,
                SqlReviewClock.last_attested_at,
                deployed.c.version,
            )
            .outerjoin(SqlReviewClock, SqlReviewClock.model_id == SqlModel.id)
            .outerjoin(deployed, deployed.c.model_id == SqlModel.id)
            .where(*(SqlModel.id == i for i in one) if one else (SqlModel.state != "retired",))
        )
        return [
            DueRow(
                model_id=int(row[0]),
                name=row[1],
                owner=row[2],
                risk_tier=RiskTier(row[3]),
                cadence_months=row[4],
                created_at=row[5],
                last_reviewed_at=row[6],
                last_attested_at=row[7],
                production_version=None if row[8] is None else int(row[8]),
            )
            for row in self.s.execute(stmt.order_by(SqlModel.name)).all()
        ]

    def insert_attestation(self, attestation: Attestation) -> Attestation:
        row = SqlAttestation(
            model_id=self.model_id(attestation.model),
            attested_by=attestation.attested_by,
            statement=attestation.statement,
            attested_at=attestation.attested_at,
        )
        self.s.add(row)
        clock = self._clock(row.model_id)
        if clock.last_attested_at is None or row.attested_at > clock.last_attested_at:
            clock.last_attested_at = row.attested_at
        self.s.flush()
        return Attestation(row.id, attestation.model, row.attested_by, row.attested_at, row.statement)

    # -- promotions and rollbacks ------------------------------------------------------------

    def insert_promotion(self, promotion: PromotionRecord, version_id: int) -> PromotionRecord:
        row = SqlPromotion(
            version_id=version_id,
            environment=promotion.environment,
            kind=promotion.kind.value,
            allowed=promotion.allowed,
            reasons=[r.to_dict() for r in promotion.reasons],
            warnings=[r.to_dict() for r in promotion.warnings],
            gate_decision_id=promotion.gate_decision,
            deployment_id=promotion.deployment.id if promotion.deployment else None,
            replaced_id=promotion.replaced.id if promotion.replaced else None,
            requested_by=promotion.requested_by,
            requested_at=promotion.requested_at,
            reason=promotion.reason,
            audit_seq=promotion.audit_seq,
        )
        self.s.add(row)
        self.s.flush()
        return PromotionRecord(
            id=row.id,
            model=promotion.model,
            version=promotion.version,
            environment=promotion.environment,
            kind=promotion.kind,
            allowed=promotion.allowed,
            requested_by=promotion.requested_by,
            requested_at=promotion.requested_at,
            reason=promotion.reason,
            reasons=promotion.reasons,
            warnings=promotion.warnings,
            gate_decision=promotion.gate_decision,
            deployment=promotion.deployment,
            replaced=promotion.replaced,
            audit_seq=promotion.audit_seq,
        )

    def set_promotion_seq(self, promotion_id: int, seq: int) -> None:
        self.s.execute(
            update(SqlPromotion)
            .where(SqlPromotion.id == promotion_id)
            .values(audit_seq=seq)
            .execution_options(synchronize_session=False)
        )

    def _deployments_by_id(self, ids: Iterable[int | None]) -> dict[int, Deployment]:
        wanted = sorted({i for i in ids if i is not None})
        if not wanted:
            return {}
        rows = self.s.execute(
            select(SqlDeployment, SqlModel.name, SqlModelVersion.version)
            .join(SqlModelVersion, SqlModelVersion.id == SqlDeployment.version_id)
            .join(SqlModel, SqlModel.id == SqlDeployment.model_id)
            .where(SqlDeployment.id.in_(wanted))
        ).all()
        return {d.id: convert.to_deployment(d, name, int(number)) for d, name, number in rows}

    def _promotions(
        self, *where: Any, newest: int | None = None, limit: int | None = None
    ) -> list[PromotionRecord]:
        """Promotions oldest first (the first ``limit``; with ``newest``: the newest that many,
        newest first)."""
        stmt = (
            select(SqlPromotion, SqlModel.name, SqlModelVersion.version)
            .join(SqlModelVersion, SqlModelVersion.id == SqlPromotion.version_id)
            .join(SqlModel, SqlModel.id == SqlModelVersion.model_id)
            .where(*where)
        )
        if newest is None:
            stmt = stmt.order_by(SqlPromotion.id).limit(limit)
        else:
            stmt = stmt.order_by(SqlPromotion.id.desc()).limit(newest)
        rows = self.s.execute(stmt).all()
        deployments = self._deployments_by_id(
            [p.deployment_id for p, _, _ in rows] + [p.replaced_id for p, _, _ in rows]
        )
        return [
            PromotionRecord(
                id=p.id,
                model=name,
                version=int(number),
                environment=p.environment,
                kind=PromotionKind(p.kind),
                allowed=p.allowed,
                requested_by=p.requested_by,
                requested_at=p.requested_at,
                reason=p.reason,
                reasons=tuple(_reason(r) for r in p.reasons),
                warnings=tuple(_reason(r) for r in p.warnings),
                gate_decision=p.gate_decision_id,
                deployment=deployments.get(p.deployment_id) if p.deployment_id else None,
                replaced=deployments.get(p.replaced_id) if p.replaced_id else None,
                audit_seq=p.audit_seq,
            )
            for p, name, number in rows
        ]

    def list_promotions(
        self, model: str, version: int, page_size: int, token: str | None
    ) -> Page[PromotionRecord]:
        """A version's promotion and rollback requests, oldest first."""
        check_page_size(page_size)
        position = decode_token(token, "id")
        where: list[Any] = [SqlPromotion.version_id == self.version_id(model, version)]
        if position:
            where.append(SqlPromotion.id > position["id"])
        rows = self._promotions(*where, limit=page_size + 1)
        kept, next_token = page_of(rows, page_size, lambda p: {"id": p.id})
        return Page(tuple(kept), next_token)

    def model_promotions(self, model: str, limit: int) -> list[PromotionRecord]:
        """The model's newest ``limit`` promotion and rollback requests (every version), newest first."""
        return self._promotions(SqlModelVersion.model_id == self.model_id(model), newest=limit)

    def promotions_for(self, deployment_ids: Iterable[int]) -> dict[int, PromotionRecord]:
        """The allowed request that made each deployment (deployments recorded directly have none)."""
        ids = list(deployment_ids)
        if not ids:
            return {}
        found = self._promotions(SqlPromotion.deployment_id.in_(ids), SqlPromotion.allowed.is_(True))
        return {p.deployment.id: p for p in found if p.deployment is not None}

    # -- retirement and deprecation ----------------------------------------------------------

    def insert_retirement(self, retirement: Retirement) -> None:
        self.s.add(
            SqlRetirement(
                model_id=self.model_id(retirement.model),
                retired_by=retirement.retired_by,
                retired_at=retirement.retired_at,
                reason=retirement.reason,
                ended_deployments=list(retirement.ended_deployments),
            )
        )
        self.s.flush()

    def find_retirement(self, model: str) -> Retirement | None:
        row = self.s.get(SqlRetirement, self.model_id(model))
        if row is None:
            return None
        return Retirement(
            model, row.retired_by, row.retired_at, row.reason, tuple(int(i) for i in row.ended_deployments)
        )

    def insert_deprecation(self, version_id: int, by: str, at: datetime, reason: str) -> None:
        self.s.add(SqlDeprecation(version_id=version_id, deprecated_by=by, deprecated_at=at, reason=reason))
        self.s.flush()

    def stage_rows(self, version_ids: Iterable[int]) -> dict[int, list[Signed]]:
        """The current decision of each signed stage of each version."""
        ids = list(version_ids)
        found: dict[int, list[Signed]] = {i: [] for i in ids}
        if ids:
            for row in self.s.scalars(select(SqlReviewStage).where(SqlReviewStage.version_id.in_(ids))):
                found[row.version_id].append(
                    Signed(
                        ReviewStage(row.stage),
                        ReviewDecision(row.decision),
                        row.reviewer,
                        row.decided_at,
                        row.review_id,
                    )
                )
        return found


_WAITING_STATES = [
    s.value for s in (VersionState.REGISTERED, VersionState.VALIDATED, VersionState.DEPLOYED_STAGING)
]


@functools.cache
def _waiting_union(
    arms: tuple[tuple[RiskTier, ReviewStage, tuple[ReviewStage, ...]], ...], keyset: bool
) -> Any:
    """The queue query for every arm at once (arms, keyset; the states and limit are bound).

    One pass over the versions in a waiting state (an index, and few of them) with their models;
    each stage any arm names is joined once from review_stages' primary key, and a ``CASE`` picks
    the arm a version waits at (at most one: within a tier a stage waits only once every stage
    before it is approved) and when it began to wait. Earlier forms ran a query per arm, each
    scanning the same versions again, and PostgreSQL planned the tier as a nested loop over
    models; the auditor's queue, with an arm for every stage of every tier, paid for both.
    """
    version, model = SqlModelVersion, SqlModel
    stages = sorted(
        {stage for _, stage, before in arms for stage in (stage, *before)}, key=list(ReviewStage).index
    )
    joined = {stage: aliased(SqlReviewStage, name=f"stage_{n}") for n, stage in enumerate(stages)}
    source: Any = version.__table__.join(model.__table__, model.id == version.model_id)
    for stage, row in joined.items():
        source = source.outerjoin(row, and_(row.version_id == version.id, row.stage == stage.value))
    which, since = [], []
    for index, (tier, stage, before) in enumerate(arms):
        condition = and_(
            model.risk_tier == tier.value,
            joined[stage].version_id.is_(None),
            *(joined[earlier].approved.is_(True) for earlier in before),
        )
        which.append((condition, index))
        since.append((condition, joined[before[-1]].decided_at if before else version.created_at))
    inner = (
        select(
            version.id,
            model.name,
            version.version,
            version.state,
            version.registered_by,
            case(*since, else_=None).label("since"),
            case(*which, else_=None).label("arm"),
        )
        .select_from(source)
        .where(version.state.in_(bindparam("states", expanding=True)), model.state != "retired")
        .subquery("waiting")
    )
    stmt = select(inner).where(inner.c.arm.is_not(None))
    if keyset:
        after_since = bindparam("after_since", type_=UTCDateTime())
        stmt = stmt.where(
            or_(
                inner.c.since > after_since,
                and_(inner.c.since == after_since, inner.c.id > bindparam("after_id")),
            )
        )
    return stmt.order_by(inner.c.since, inner.c.id).limit(bindparam("limit", type_=Integer()))
