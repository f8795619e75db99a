"""What one server process's MLflow webhook receiver did since it started: deliveries accepted
(by event), refused (by reason) and failed (by error kind), and how long the recent ones took.

Refusals are counted here rather than stored: a forged delivery must not cost a database write.
The counts are per process (with several servers behind a load balancer, ask each) and start
again at zero when the process does; ``GET /api/v1/connectors/mlflow`` serves them.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from steward.errors import PermissionDenied, StewardError

RECENT = 100

#: Why a delivery is refused (the ``reason`` of each count).
REASONS = (
    "missing_headers",  # signed, but without the timestamp or delivery id header
    "bad_signature",  # the HMAC does not match: forged, altered, or another secret
    "bad_timestamp",  # the signed timestamp is not Unix seconds
    "stale",  # sent too long ago (or the clocks disagree): a replay of an old delivery
    "replay",  # a delivery id received before
    "malformed",  # the body is not an MLflow webhook payload
    "no_secret",  # signed, but this server has no STEWARD_MLFLOW_WEBHOOK_SECRET to check it
    "unauthenticated",  # not signed, and without a valid token (missing, unknown or revoked)
    "forbidden",  # not signed, with a token whose roles may not run harvests
)


def refusal_reason(error: StewardError, stage: str) -> str | None:
    """The reason a delivery was refused at ``stage`` (``authenticate``, ``parse`` or
    ``deliver``), or ``None`` when the error is a failure to act on an accepted delivery."""
    named = error.details.get("reason")
    if isinstance(named, str) and named in REASONS:  # the verifier's and the replay check's own
        return named
    if stage == "authenticate":
        return "forbidden" if isinstance(error, PermissionDenied) else "unauthenticated"
    if stage == "parse":
        return "malformed"
    return None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One accepted delivery: when MLflow sent it, when it arrived, how long Steward took from its
    arrival to the first commit of what it changed (``None``: it changed nothing), and to its
    answer (Steward's own calls back to MLflow done: fetching the version, writing tags back)."""

    event: str
    model: str
    sent_at: datetime
    received_at: datetime
    processing_seconds: float
    outcome: str
    commit_seconds: float | None = None

    @property
    def delivery_seconds(self) -> float:
        """From MLflow's send stamp to the arrival (MLflow stamps when its sender thread posts)."""
        return (self.received_at - self.sent_at).total_seconds()


class DeliveryStats:
    def __init__(self, started_at: datetime) -> None:
        self.started_at = started_at
        self._lock = threading.Lock()
        self._accepted: Counter[str] = Counter()
        self._refused: Counter[str] = Counter()
        self._failed: Counter[str] = Counter()
        self._recent: deque[Delivery] = deque(maxlen=RECENT)
        self._open: dict[str, float | None] = {}  # request id → monotonic time of its first commit

    def arrived(self, request_id: str) -> None:
        """Watch for the first commit made on behalf of ``request_id`` (the delivery id, which the
        connector's audit events carry as their request id)."""
        if request_id:
            with self._lock:
                self._open[request_id] = None

    def committed(self, request_id: str, at: float) -> None:
        """An after-commit sink: a transaction made for ``request_id`` committed at ``at``."""
        if request_id in self._open:
            with self._lock:
                if request_id in self._open and self._open[request_id] is None:
                    self._open[request_id] = at

    def first_commit(self, request_id: str) -> float | None:
        """Stop watching ``request_id``; the monotonic time of its first commit, if any."""
        with self._lock:
            return self._open.pop(request_id, None)

    def accepted(self, delivery: Delivery) -> None:
        with self._lock:
            self._accepted[delivery.event] += 1
            self._recent.append(delivery)

    def refused(self, reason: str) -> None:
        with self._lock:
            self._refused[reason] += 1

    def failed(self, code: str) -> None:
        with self._lock:
            self._failed[code] += 1

    def snapshot(self) -> dict[str, Any]:
        """The counts and the recent deliveries, newest last, with percentiles of their timings."""
        with self._lock:
            accepted, refused, failed = dict(self._accepted), dict(self._refused), dict(self._failed)
            recent = list(self._recent)
        return {
            "since": self.started_at,
            "accepted": dict(sorted(accepted.items())),
            "refused": dict(sorted(refused.items())),
            "failed": dict(sorted(failed.items())),
            "commit_seconds": _figures([d.commit_seconds for d in recent if d.commit_seconds is not None]),
            "processing_seconds": _figures([d.processing_seconds for d in recent]),
            "delivery_seconds": _figures([d.delivery_seconds for d in recent]),
            "recent": [
                {
                    "event": d.event,
                    "model": d.model,
                    "sent_at": d.sent_at,
                    "received_at": d.received_at,
                    "delivery_seconds": round(d.delivery_seconds, 4),
                    "commit_seconds": None if d.commit_seconds is None else round(d.commit_seconds, 4),
                    "processing_seconds": round(d.processing_seconds, 4),
                    "outcome": d.outcome,
                }
                for d in recent
            ],
        }


def _figures(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def rank(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 4)

    return {"p50": rank(0.5), "p95": rank(0.95), "max": round(ordered[-1], 4), "last": round(values[-1], 4)}
