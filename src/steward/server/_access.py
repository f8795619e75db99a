"""ASGI middleware that notes every successful read of a record or evidence in the read access log.

A route takes part by its action (``x-steward-action``): reads of models, versions and lineage,
datasets, runs, deployments and evidence bundles. The subject comes from the route's path
parameters; the principal from the authenticated caller; the note is queued, not written, in the
request (see ``steward.service._access``).
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from steward.domain import Action
from steward.server._threads import in_thread
from steward.service import ReadRecorder

RECORD_READS: dict[str, str] = {
    Action.MODEL_READ.value: "model",
    Action.VERSION_READ.value: "model_version",
    Action.DATASET_READ.value: "dataset",
    Action.RUN_READ.value: "training_run",
    Action.DEPLOYMENT_READ.value: "deployment",
    Action.EVIDENCE_READ.value: "evidence",
}
"""Actions whose successful ``GET`` is a read of a record, and the subject type they read."""

CALLER_STATE = "steward_caller"
"""Where ``deps.get_caller`` (``CallerDep``) leaves the authenticated caller in the request's state."""


def subject_of(action: str, params: dict[str, Any]) -> tuple[str, str]:
    """``(subject_type, subject_id)`` of a read, like the audit log's subjects (``model_version
    m/3``); a listing has an empty id."""
    name, version = params.get("name"), params.get("version")
    if name is not None and version is not None:
        return ("evidence" if action == Action.EVIDENCE_READ.value else "model_version", f"{name}/{version}")
    if name is not None:
        return ("dataset" if action == Action.DATASET_READ.value else "model", str(name))
    if params.get("run_id") is not None:
        return "training_run", str(params["run_id"])
    return RECORD_READS[action], ""


class ReadAccessLog:
    """Notes successful record reads once the response has been sent."""

    def __init__(self, app: ASGIApp, recorder: ReadRecorder) -> None:
        self.app = app
        self.recorder = recorder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        status = 0

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        await self.app(scope, receive, sending)
        if not 200 <= status < 300:
            return
        extra = getattr(scope.get("route"), "openapi_extra", None) or {}
        action = extra.get("x-steward-action")
        caller = scope.get("state", {}).get(CALLER_STATE)
        if action not in RECORD_READS or caller is None:
            return
        subject_type, subject_id = subject_of(action, scope.get("path_params", {}))
        query = scope.get("query_string", b"").decode("latin-1")
        note = {
            "principal": caller.principal.name,
            "action": action,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "path": scope.get("path", "") + (f"?{query}" if query else ""),
            "request_id": caller.origin.request_id,
            "client_address": caller.origin.client_address,
            "user_agent": caller.origin.user_agent,
        }
        if self.recorder.interval > 0:
            self.recorder.note(**note)  # a queue append
        else:
            await in_thread(lambda: self.recorder.note(**note))  # a write, off the event loop
