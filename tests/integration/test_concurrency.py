"""Writers at the same time: optimistic concurrency refuses the stale one, and nothing is lost."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient

from steward import wire
from steward.domain import AuditEvent, Role
from steward.errors import Conflict
from steward.service import Caller, Steward
from steward.storage import AuditFilter, VersionFilter
from tests.integration.conftest import ClientFor, MakeCaller, MakePrincipal
from tests.integration.support import digest, model_spec, version_body, version_spec

API = "/api/v1"
T = TypeVar("T")


def all_events(steward: Steward, caller: Caller, **where: Any) -> list[AuditEvent]:
    events: list[AuditEvent] = []
    token = None
    while True:
        page = steward.audit.list_events(caller, AuditFilter(**where), 1000, token)
        events.extend(page.items)
        token = page.next_token
        if token is None:
            return events


def together(*calls: Callable[[], T]) -> list[T | BaseException]:
    """Run the calls in threads released at the same instant; their results or exceptions."""
    barrier = threading.Barrier(len(calls))
    results: list[T | BaseException] = [RuntimeError("did not run")] * len(calls)

    def run(i: int, call: Callable[[], T]) -> None:
        barrier.wait()
        try:
            results[i] = call()
        except BaseException as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.parametrize("rounds", [4])
def test_same_revision_over_http_one_wins(
    steward: Steward, admin: Caller, make_principal: MakePrincipal, client_for: ClientFor, rounds: int
) -> None:
    steward.registry.create_model(admin, model_spec("shared"))
    alice: TestClient = client_for(make_principal(Role.DATA_SCIENTIST, name="alice")[1])
    bob: TestClient = client_for(make_principal(Role.ML_ENGINEER, name="bob")[1])
    for round_ in range(rounds):
        revision = alice.get(f"{API}/models/shared").json()["revision"]
        assert bob.get(f"{API}/models/shared").json()["revision"] == revision
        responses = together(
            *[
                (
                    lambda c=client, who=who, rev=revision, n=round_: c.patch(
                        f"{API}/models/shared", json={"revision": rev, "owner": f"{who}-{n}"}
                    )
                )
                for who, client in (("alice", alice), ("bob", bob))
            ]
        )
        statuses = sorted(r.status_code for r in responses)  # type: ignore[union-attr]
        assert statuses == [200, 409], [r.text for r in responses]  # type: ignore[union-attr]
        winner = next(r for r in responses if r.status_code == 200)  # type: ignore[union-attr]
        loser = next(r for r in responses if r.status_code == 409)  # type: ignore[union-attr]
        error = loser.json()["error"]
        assert error["code"] == "conflict"
        assert error["details"] == {
            "model": "shared",
            "expected_revision": revision,
            "current_revision": revision + 1,
        }
        stored = steward.registry.get_model(admin, "shared")
        assert stored.revision == revision + 1
        assert stored.owner == winner.json()["owner"]
    updates = all_events(steward, admin, action="model.updated")
    assert len(updates) == rounds
    assert {e.actor for e in updates} <= {"alice", "bob"}
    assert steward.audit.verify(admin).ok


def test_same_revision_in_the_service_one_wins(
    steward: Steward, admin: Caller, make_caller: MakeCaller
) -> None:
    steward.registry.create_model(admin, model_spec("shared"))
    callers = [make_caller(Role.DATA_SCIENTIST) for _ in range(4)]
    results = together(
        *[
            (
                lambda c=c: steward.registry.update_model(
                    c, "shared", wire.ModelUpdate(revision=1, owner=c.name)
                )
            )
            for c in callers
        ]
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1, results
    assert len(losers) == 3
    assert all(isinstance(e, Conflict) for e in losers), losers
    stored = steward.registry.get_model(admin, "shared")
    assert (stored.revision, stored.owner) == (2, winners[0].owner)  # type: ignore[union-attr]
    assert len(all_events(steward, admin, action="model.updated")) == 1
    assert steward.audit.verify(admin).ok


def test_parallel_version_registrations_lose_nothing(
    steward: Steward, admin: Caller, make_caller: MakeCaller
) -> None:
    n = 40
    steward.registry.create_model(admin, model_spec("busy"))
    steward.registry.create_model(admin, model_spec("quiet"))
    callers = [make_caller(Role.DATA_SCIENTIST) for _ in range(8)]
    events_before = len(all_events(steward, admin))

    def register(i: int) -> int:
        caller = callers[i % len(callers)]
        return steward.registry.register_version(caller, "busy", version_spec(f"busy-{i}")).version

    with ThreadPoolExecutor(max_workers=8) as pool:
        numbers = list(pool.map(register, range(n)))
    assert sorted(numbers) == list(range(1, n + 1))

    stored: dict[int, str] = {}
    token = None
    while True:
        page = steward.registry.search_versions(admin, VersionFilter(model="busy"), 7, token)
        for version in page.items:
            assert version.version not in stored
            stored[version.version] = version.artifact_digest
        token = page.next_token
        if token is None:
            break
    assert sorted(stored) == list(range(1, n + 1))
    assert sorted(stored.values()) == sorted(digest(f"busy-{i}") for i in range(n))
    assert steward.registry.search_versions(admin, VersionFilter(model="quiet")).items == ()

    events = all_events(steward, admin)
    registered = [e for e in events if e.action == "model_version.registered"]
    assert len(registered) == n
    assert sorted(e.subject_id for e in registered) == sorted(f"busy/{v}" for v in range(1, n + 1))
    assert len(events) == events_before + n
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    verdict = steward.audit.verify(admin)
    assert verdict.ok, verdict.problem
    assert verdict.events == len(events)


def test_parallel_registrations_over_http(
    steward: Steward, admin: Caller, make_principal: MakePrincipal, client_for: ClientFor
) -> None:
    n = 16
    steward.registry.create_model(admin, model_spec("busy"))
    clients = [client_for(make_principal(Role.ML_ENGINEER)[1]) for _ in range(4)]

    def register(i: int) -> tuple[int, int]:
        response = clients[i % len(clients)].post(f"{API}/models/busy/versions", json=version_body(f"h{i}"))
        return response.status_code, response.json().get("version", -1)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(register, range(n)))
    assert sorted(results) == [(201, v) for v in range(1, n + 1)]
    assert len(all_events(steward, admin, action="model_version.registered")) == n
    assert steward.audit.verify(admin).ok


def test_mixed_writers_keep_one_chain(steward: Steward, admin: Caller, make_caller: MakeCaller) -> None:
    engineers = [make_caller(Role.ML_ENGINEER) for _ in range(4)]
    steward.registry.create_model(admin, model_spec("base", risk_tier="low"))
    for n in range(1, 9):  # one for each promotion below
        steward.registry.register_version(admin, "base", version_spec(f"base-{n}", metrics={"accuracy": 0.9}))

    def work(i: int) -> str:
        caller = engineers[i % 4]
        kind = i % 4
        if kind == 0:
            steward.registry.create_model(caller, model_spec(f"m-{i}"))
        elif kind == 1:
            steward.registry.register_version(caller, "base", version_spec(f"v-{i}"))
        elif kind == 2:
            steward.registry.record_run(caller, wire.TrainingRunCreate(run_id=f"run-{i}"))
        else:  # a promotion to staging: a low-risk version needs no sign-off there, the gates only
            spec = wire.PromotionCreate(target="staging", reason=f"step {i}", endpoint=f"t-{i}")
            steward.promotions.promote(caller, "base", i // 4 + 1, spec)
        return caller.name

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(work, range(32)))
    deployments = steward.registry.list_deployments(admin, "base", "staging").items
    assert len(deployments) == 8
    assert sum(d.state.value == "active" for d in deployments) == 1
    pointers = sorted(d.replaces for d in deployments if d.replaces is not None)
    assert pointers == sorted(d.id for d in deployments if d.state.value == "replaced")
    events = all_events(steward, admin)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert sum(e.action == "model.created" for e in events) == 9
    assert steward.audit.verify(admin).ok
