"""MLflow webhook deliveries: verify the signature and timestamp, parse the payload (pure).

MLflow 3 signs each delivery (``mlflow/webhooks/delivery.py``) with HMAC-SHA256 over
``"{delivery_id}.{timestamp}.{body}"`` using the webhook's secret, and sends
``X-MLflow-Signature: v1,<base64 digest>``, ``X-MLflow-Timestamp: <unix seconds>`` and
``X-MLflow-Delivery-Id: <uuid>``. The body is ``{"entity", "action", "timestamp", "data"}``.
A delivery is accepted when the signature matches, the timestamp is within ``tolerance`` of now
(older ones are replays, or clocks too far apart), and — checked by the service — its delivery id
was not seen before. Each refusal's ``details["reason"]`` says which check failed
(``missing_headers``, ``bad_signature``, ``bad_timestamp``, ``stale``), for the server's counts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from steward.domain import SourceEvent
from steward.errors import InvalidInput, Unauthenticated

SIGNATURE_HEADER = "X-MLflow-Signature"
TIMESTAMP_HEADER = "X-MLflow-Timestamp"
DELIVERY_HEADER = "X-MLflow-Delivery-Id"
SIGNATURE_VERSION = "v1"
TOLERANCE_SECONDS = 300

#: The MLflow events Steward subscribes to.
EVENTS = (
    "registered_model.created",
    "model_version.created",
    "model_version_tag.set",
    "model_version_tag.deleted",
    "model_version_alias.created",
    "model_version_alias.deleted",
)


def sign(secret: str, delivery_id: str, timestamp: str, body: bytes) -> str:
    """The signature MLflow sends for this delivery (also used by tests and replay tools)."""
    content = f"{delivery_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.encode("utf-8"), content, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def is_signed(headers: Mapping[str, str]) -> bool:
    return _header(headers, SIGNATURE_HEADER) is not None


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    tolerance: int = TOLERANCE_SECONDS,
) -> tuple[str, datetime]:
    """``(delivery id, sent at)`` of an authentic, fresh delivery; ``Unauthenticated`` otherwise."""
    signature = _header(headers, SIGNATURE_HEADER)
    timestamp = _header(headers, TIMESTAMP_HEADER)
    delivery_id = _header(headers, DELIVERY_HEADER)
    missing = [
        n
        for n, v in (
            (SIGNATURE_HEADER, signature),
            (TIMESTAMP_HEADER, timestamp),
            (DELIVERY_HEADER, delivery_id),
        )
        if not v
    ]
    if missing:
        raise Unauthenticated(
            f"the delivery is not signed: {', '.join(missing)} missing (set a secret on the MLflow webhook)",
            {"missing_headers": missing, "reason": "missing_headers"},
        )
    signature, timestamp, delivery_id = signature or "", timestamp or "", delivery_id or ""
    expected = sign(secret, delivery_id, timestamp, body)
    offered = [s.strip() for s in signature.split(" ") if s.strip()]
    if not any(hmac.compare_digest(expected, s) for s in offered):
        raise Unauthenticated(
            "the delivery's signature does not match: it was forged, altered on the way, or the MLflow "
            "webhook's secret differs from STEWARD_MLFLOW_WEBHOOK_SECRET",
            {"delivery_id": delivery_id, "reason": "bad_signature"},
        )
    try:
        sent = datetime.fromtimestamp(int(timestamp), UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise Unauthenticated(
            f"the delivery's timestamp {timestamp!r} is not Unix seconds",
            {"delivery_id": delivery_id, "reason": "bad_timestamp"},
        ) from exc
    skew = abs((now - sent).total_seconds())
    if skew > tolerance:
        raise Unauthenticated(
            f"the delivery was sent {int(skew)} s away from now (more than {tolerance} s): a replay, or "
            "the clocks of MLflow and Steward disagree",
            {"delivery_id": delivery_id, "skew_seconds": int(skew), "reason": "stale"},
        )
    return delivery_id, sent


def _text(data: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise InvalidInput.field(f"data.{key}", "required", "is missing from the MLflow payload")
        return None
    if not isinstance(value, str | int):
        raise InvalidInput.field(f"data.{key}", "type", "must be a string")
    return str(value)


def _precise(stamp: Any, fallback: datetime) -> datetime:
    """The payload's own ISO timestamp (microseconds) when it is one within a second of the signed
    header's (whole seconds), else the header's."""
    if isinstance(stamp, str):
        try:
            parsed = datetime.fromisoformat(stamp)
        except ValueError:
            return fallback
        if parsed.tzinfo is not None and abs((parsed - fallback).total_seconds()) <= 1:
            return parsed
    return fallback


def parse(body: bytes, delivery_id: str, sent_at: datetime) -> SourceEvent:
    """The delivery's event; ``InvalidInput`` naming what is wrong with a malformed body."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput.field("body", "json", f"is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise InvalidInput.field("body", "object", "must be a JSON object")
    entity, action, data = payload.get("entity"), payload.get("action"), payload.get("data")
    if not isinstance(entity, str) or not isinstance(action, str):
        raise InvalidInput.field("entity", "required", "entity and action must be strings")
    if not isinstance(data, dict):
        raise InvalidInput.field("data", "object", "must be a JSON object")
    tags = data.get("tags") or {}
    if not isinstance(tags, dict):
        raise InvalidInput.field("data.tags", "object", "must be an object of strings")
    return SourceEvent(
        platform="mlflow",
        delivery_id=delivery_id,
        sent_at=_precise(payload.get("timestamp"), sent_at),
        type=f"{entity}.{action}",
        model=_text(data, "name", required=True) or "",
        version=_text(data, "version"),
        alias=_text(data, "alias"),
        key=_text(data, "key"),
        value=_text(data, "value"),
        description=_text(data, "description") or "",
        tags={str(k): str(v) for k, v in tags.items()},
    )
