"""The web UI in-process: sign-in and sessions, CSRF, roles, and every page over the real service."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import event, text

from steward import wire
from steward.domain import Deployment, DomainEvent, Origin, PolicyDecision, Role
from steward.errors import IntegrityError, PolicyViolation
from steward.ledger import encode_envelope, parse_verifiers, verify_evidence
from steward.server import create_app
from steward.service import Caller, Steward
from steward.service._events import writing
from steward.service._snapshots import snapshot
from steward.settings import Settings
from steward.storage import ModelFilter, ReadAccessFilter
from tests.integration.conftest import MakePrincipal
from tests.integration.gates_support import Governed, governed
from tests.integration.support import db_state, model_spec, version_spec

SignIn = Callable[[str], TestClient]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Clock:
    """A clock the test moves (the service stamps records and computes "today" with it)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def core(steward: Steward, clock: Clock) -> Steward:
    """The core object over the test database, on the test's clock."""
    return Steward(steward.store, clock=clock)


@pytest.fixture
def ui_app(core: Steward, database_url: str) -> FastAPI:
    return create_app(Settings(database_url=database_url, session_secret="test-secret"), steward=core)


@pytest.fixture
def browser(ui_app: FastAPI) -> Iterator[TestClient]:
    """A client without credentials, keeping cookies like a browser."""
    with TestClient(ui_app, raise_server_exceptions=False) as client:
        yield client


def csrf_of(page: str) -> str:
    found = CSRF.search(page)
    assert found, "the page has no CSRF field"
    return found.group(1)


@pytest.fixture
def sign_in(ui_app: FastAPI) -> Iterator[SignIn]:
    """``sign_in(token)`` → a client with a session, signed in through the form."""
    clients: list[TestClient] = []

    def make(token: str) -> TestClient:
        client = TestClient(ui_app, raise_server_exceptions=False)
        clients.append(client)
        form = client.get("/signin")
        done = client.post(
            "/signin", data={"token": token, "csrf_token": csrf_of(form.text)}, follow_redirects=False
        )
        assert done.status_code == 303, done.text
        return client

    yield make
    for client in clients:
        client.close()


def caller_of(core: Steward, name: str) -> Caller:
    principal = next(p for p in core.identity.list_principals(_admin(), 1000).items if p.name == name)
    return Caller(principal, Origin(actor=name))


def _admin() -> Caller:
    from steward.service import local_operator

    return local_operator(name="local:tester")


def recorded_deployment(
    core: Steward, caller: Caller, model: str, version: int, environment: str, target: str
) -> Deployment:
    """A deployment recorded as a fact, with its audit event, as Steward recorded them before a
    promotion became the only way to make one: the pages show such rows, which no workflow made."""
    with writing(core.store, core.bus, caller.origin, core.clock) as w:
        stored = w.tx.deployments.insert_deployment(
            Deployment(0, model, version, environment, target, caller.name, w.at)
        )
        w.emit(
            DomainEvent(
                "deployment.recorded",
                "deployment",
                f"{model}/{environment}/{stored.id}",
                after=snapshot(stored),
            )
        )
    return stored


@pytest.fixture
def inventory(core: Steward, make_principal: MakePrincipal, clock: Clock) -> dict[str, str]:
    """Three models (one in production), versions with data and a run, and a token per role."""
    tokens = {role.value: make_principal(role, name=role.value.replace("_", "-"))[1] for role in Role}
    builder = caller_of(core, "data-scientist")
    engineer = caller_of(core, "ml-engineer")
    registry = core.registry
    registry.create_dataset(builder, wire.DatasetCreate(name="loans", approved=True))
    registry.add_dataset_version(
        builder,
        "loans",
        wire.DatasetVersionCreate(version="v1", uri="s3://d/v1", digest="sha256:" + "1" * 64),
    )
    registry.record_run(builder, wire.TrainingRunCreate(run_id="run-1", user="dana", code_commit="abc1234"))
    registry.create_model(
        builder,
        model_spec(
            "credit-scorer",
            owner="credit-risk",
            risk_tier="high",
            use_case="Default risk for loans",
            intended_use="Rank applicants for underwriters",
            limitations="Thin-file applicants",
            regulatory_scopes=["sr-11-7"],
            review_cadence_months=6,
        ),
    )
    registry.create_model(
        builder, model_spec("churn", owner="growth", risk_tier="low", review_cadence_months=24)
    )
    registry.create_model(builder, model_spec("triage", owner="claims", risk_tier="medium"))
    for n in range(1, 3):
        registry.register_version(
            builder,
            "credit-scorer",
            version_spec(
                f"credit-{n}",
                training_run="run-1" if n == 2 else None,
                metrics={"auc": 0.8 + n / 100},
                datasets=[{"dataset": "loans", "version": "v1", "role": "training"}],
                code_commit="abc1234",
                code_repository="https://git.example.com/credit",
            ),
        )
    registry.register_version(builder, "churn", version_spec("churn-1"))
    recorded_deployment(core, engineer, "credit-scorer", 2, "production", "k8s://prod")
    recorded_deployment(core, engineer, "credit-scorer", 1, "staging", "k8s://stg")
    clock.now += timedelta(days=200)  # credit-scorer's six-month review is now overdue
    return tokens


# -- sign-in, session, CSRF ------------------------------------------------------------------


def test_pages_send_a_visitor_without_a_session_to_sign_in(browser: TestClient) -> None:
    for path, expected in (("/", "/signin"), ("/audit", "/signin?next=%2Faudit")):
        response = browser.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == expected


def test_sign_in_page_sets_a_sealed_httponly_lax_cookie_and_a_csrf_field(browser: TestClient) -> None:
    page = browser.get("/signin")
    assert page.status_code == 200
    assert 'label for="token"' in page.text and csrf_of(page.text)
    cookie = page.headers["set-cookie"].lower()
    assert "steward_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # plain http in tests; https requests get Secure
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_sign_in_refuses_a_bad_token_with_the_reason(browser: TestClient, inventory: dict[str, str]) -> None:
    form = browser.get("/signin")
    refused = browser.post("/signin", data={"token": "stw_nope", "csrf_token": csrf_of(form.text)})
    assert refused.status_code == 401
    assert "not known to this server" in refused.text
    assert browser.get("/", follow_redirects=False).status_code == 303


def test_a_form_post_without_the_csrf_token_is_refused(
    browser: TestClient, inventory: dict[str, str]
) -> None:
    browser.get("/signin")
    refused = browser.post("/signin", data={"token": inventory["admin"]}, follow_redirects=False)
    assert refused.status_code == 403
    assert "CSRF" in refused.text
    forged = browser.post(
        "/signin", data={"token": inventory["admin"], "csrf_token": "forged"}, follow_redirects=False
    )
    assert forged.status_code == 403
    assert browser.get("/", follow_redirects=False).status_code == 303  # still signed out


def test_signed_in_forms_need_the_session_csrf_token(sign_in: SignIn, inventory: dict[str, str]) -> None:
    client = sign_in(inventory["auditor"])
    assert client.post("/signout", follow_redirects=False).status_code == 403
    assert client.post("/audit/verify", data={"csrf_token": "x"}).status_code == 403
    header = client.post("/audit/verify", headers={"X-CSRF-Token": csrf_of(client.get("/audit").text)})
    assert header.status_code == 200


def test_sign_in_rotates_the_session_and_sign_out_ends_it(
    browser: TestClient, inventory: dict[str, str]
) -> None:
    before = csrf_of(browser.get("/signin").text)
    done = browser.post(
        "/signin",
        data={"token": inventory["validator"], "csrf_token": before, "next": "/dashboard"},
        follow_redirects=False,
    )
    assert done.headers["location"] == "/dashboard"
    page = browser.get("/dashboard")
    after = csrf_of(page.text)
    assert after != before
    assert inventory["validator"] not in browser.cookies.get("steward_session", "")  # sealed, not readable
    out = browser.post("/signout", data={"csrf_token": after}, follow_redirects=False)
    assert out.headers["location"] == "/signin?signed_out=1"
    assert browser.get("/", follow_redirects=False).status_code == 303


def test_sign_in_never_redirects_off_site(browser: TestClient, inventory: dict[str, str]) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        csrf = csrf_of(browser.get("/signin").text)
        done = browser.post(
            "/signin",
            data={"token": inventory["admin"], "csrf_token": csrf, "next": target},
            follow_redirects=False,
        )
        assert done.headers["location"] == "/"
        browser.cookies.clear()


def test_a_revoked_token_ends_the_session(sign_in: SignIn, inventory: dict[str, str], core: Steward) -> None:
    client = sign_in(inventory["auditor"])
    assert client.get("/").status_code == 200
    token = next(t for t in core.identity.list_tokens(_admin(), "auditor").items)
    core.identity.revoke_token(_admin(), token.id)
    ended = client.get("/", follow_redirects=False)
    assert ended.status_code == 303
    assert ended.headers["location"] == "/signin?ended=1"
    assert "session ended" in client.get(ended.headers["location"]).text


def test_a_forged_or_foreign_cookie_is_no_session(
    ui_app: FastAPI, sign_in: SignIn, inventory: dict[str, str], core: Steward, database_url: str
) -> None:
    client = sign_in(inventory["admin"])
    sealed = client.cookies["steward_session"]
    other = create_app(Settings(database_url=database_url, session_secret="another-secret"), steward=core)
    with TestClient(other, cookies={"steward_session": sealed}) as stranger:
        assert stranger.get("/", follow_redirects=False).status_code == 303
    with TestClient(ui_app, cookies={"steward_session": sealed[:-4] + "AAAA"}) as tampered:
        assert tampered.get("/", follow_redirects=False).status_code == 303


# -- roles -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("admin", 200),
        ("auditor", 200),
        ("compliance_officer", 200),
        ("validator", 200),
        ("data_scientist", 403),
        ("ml_engineer", 403),
        ("business_owner", 403),
    ],
)
def test_the_audit_browser_follows_the_role_table(
    sign_in: SignIn, inventory: dict[str, str], role: str, status: int
) -> None:
    client = sign_in(inventory[role])
    page = client.get("/audit")
    assert page.status_code == status
    assert page.headers["content-type"].startswith("text/html")
    home = client.get("/")
    assert ('href="/audit"' in home.text) is (status == 200)  # no link to a page the role may not see
    if status == 403:
        assert "Not allowed" in page.text
        assert "audit.read" in page.text and "auditor" in page.text  # names the roles that may
        assert client.post("/audit/verify", data={"csrf_token": csrf_of(home.text)}).status_code == 403


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_role_reads_the_inventory_model_reviews_and_dashboard(
    sign_in: SignIn, inventory: dict[str, str], role: str
) -> None:
    client = sign_in(inventory[role])
    for path in ("/", "/models/credit-scorer", "/reviews", "/dashboard"):
        assert client.get(path).status_code == 200, path


# -- pages -----------------------------------------------------------------------------------


def test_inventory_lists_models_with_governance_columns(sign_in: SignIn, inventory: dict[str, str]) -> None:
    page = sign_in(inventory["compliance_officer"]).get("/").text
    for name in ("credit-scorer", "churn", "triage"):
        assert f'href="/models/{name}"' in page
    assert "v2" in page  # credit-scorer's production version
    assert "not evaluated" in page  # no gate decision stored yet
    assert "2026-09-02" in page and "overdue" in page  # created + 6 months, now past
    assert "2028-03-02" in page  # churn: + 24 months
    assert "2027-03-02" in page  # triage has no cadence of its own: the medium tier's 12 months


def test_inventory_filters_searches_sorts_and_pages(
    sign_in: SignIn, inventory: dict[str, str], core: Steward
) -> None:
    client = sign_in(inventory["admin"])
    high = client.get("/", params={"tier": "high"}).text
    assert "credit-scorer" in high and 'href="/models/churn"' not in high
    found = client.get("/", params={"q": "DEFAULT risk"}).text
    assert 'href="/models/credit-scorer"' in found and 'href="/models/triage"' not in found
    assert 'href="/models/churn"' in client.get("/", params={"owner": "growth"}).text
    assert 'href="/models/credit-scorer"' in client.get("/", params={"scope": "sr-11-7"}).text
    due_first = client.get("/", params={"sort": "review_due"}).text
    assert due_first.index("/models/credit-scorer") < due_first.index("/models/triage")
    assert due_first.index("/models/triage") < due_first.index("/models/churn")
    by_name_desc = client.get("/", params={"order": "desc"}).text
    assert by_name_desc.index("/models/triage") < by_name_desc.index("/models/churn")
    builder = caller_of(core, "data-scientist")
    for n in range(30):
        core.registry.create_model(builder, model_spec(f"bulk-{n:02d}"))
    first = client.get("/", params={"size": 25}).text
    assert "Page 1 of 2" in first and "showing 1\N{EN DASH}25" in first
    second = client.get("/", params={"size": 25, "page": 2}).text
    assert "showing 26\N{EN DASH}33" in second and "/models/triage" in second
    bad = client.get("/", params={"tier": "extreme"})
    assert bad.status_code == 422 and "must be one of high, medium, low" in bad.text


def test_inventory_answers_htmx_with_the_results_fragment(sign_in: SignIn, inventory: dict[str, str]) -> None:
    client = sign_in(inventory["auditor"])
    fragment = client.get(
        "/", params={"q": "churn"}, headers={"HX-Request": "true", "HX-Target": "inventory-results"}
    )
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<section id="inventory-results"')
    assert "<html" not in fragment.text and "/models/churn" in fragment.text


def test_model_page_shows_record_versions_lineage_and_deployments(
    sign_in: SignIn, inventory: dict[str, str]
) -> None:
    page = sign_in(inventory["business_owner"]).get("/models/credit-scorer").text
    for fact in (
        "Default risk for loans",
        "Rank applicants for underwriters",
        "Thin-file applicants",
        "sr-11-7",
    ):
        assert fact in page
    assert 'id="version-1"' in page and 'id="version-2"' in page
    assert "Lineage of v2" in page  # the production version by default
    assert '<svg class="lineage"' in page
    for node in ("loans@v1", "run-1", "credit-scorer v2", "production (k8s://prod)", "commit abc1234"):
        assert node in page, node
    assert 'id="deployment-1"' in page and 'id="deployment-2"' in page
    assert "No check is recorded on v2" in page and "No reviews yet" in page
    assert "no gate decision is stored for v2" in page
    v1 = sign_in(inventory["auditor"]).get("/models/credit-scorer", params={"version": 1}).text
    assert "Lineage of v1" in v1 and "no training run recorded" in v1 and "staging (k8s://stg)" in v1


def test_model_page_lineage_fragment_for_htmx(sign_in: SignIn, inventory: dict[str, str]) -> None:
    fragment = sign_in(inventory["validator"]).get(
        "/models/credit-scorer", params={"version": 1}, headers={"HX-Request": "true", "HX-Target": "lineage"}
    )
    assert fragment.text.lstrip().startswith('<section class="card" id="lineage"')
    assert 'id="version-gates"' in fragment.text  # swapped with it, out of band
    assert "Gate decisions and checks of v1" in fragment.text


# -- gate decisions, checks and the review clock ---------------------------------------------


def evaluate(core: Steward, model: str, version: int, target: str = "production") -> PolicyDecision:
    return core.gates.evaluate(caller_of(core, "ml-engineer"), model, version, target)


def section(page: str, start: str, end: str = "</section>") -> str:
    """The part of ``page`` from ``start`` to the next ``end``."""
    assert start in page, start
    return page.split(start, 1)[1].split(end, 1)[0]


def test_model_page_shows_the_latest_decisions_and_checks_with_their_values(
    sign_in: SignIn, inventory: dict[str, str], core: Steward
) -> None:
    builder = caller_of(core, "data-scientist")
    core.registry.register_version(builder, "churn", version_spec("churn-2", metrics={"accuracy": 0.41}))
    evaluate(core, "churn", 2, "staging")
    older = evaluate(core, "churn", 2)
    latest = evaluate(core, "churn", 2)  # of two production decisions, the newer one is shown
    core.checks.record(builder, "churn", 2, "documentation")
    core.checks.record(
        caller_of(core, "validator"),
        "churn",
        2,
        "fairness",
        "pass",
        {"rows": 200, "attributes": {"sex": {"demographic_parity_ratio": 0.93}}},
    )
    page = sign_in(inventory["business_owner"]).get("/models/churn").text  # v2, the newest, by default
    gates = section(page, 'id="version-gates"')
    assert "Gate decisions and checks of v2" in gates
    assert f"decision #{latest.id}" in gates and f"decision #{older.id}" not in gates
    assert gates.count("<article") == 2 and gates.index(">production<") < gates.index(">staging<")
    assert "denied" in gates and "by ml-engineer" in gates
    assert "<code>metrics.floor</code>" in gates
    assert "metric accuracy is 0.41; required &gt;= 0.6 for risk tier low" in gates
    floor = section(gates, "<code>metrics.floor</code>", "</tr>")
    assert "<code>0.41</code>" in floor and "<code>0.6</code>" in floor  # measured, required
    assert f"<strong>{latest.bundle_name}</strong> {latest.bundle_version}" in gates
    assert f'title="{latest.bundle_digest}"' in gates
    checks = section(gates, 'id="checks-title"')
    assert "documentation" in checks and "fairness" in checks
    assert "attributes.sex.demographic_parity_ratio</span> <code>0.93</code>" in checks
    assert "completeness</span> <code>0.4</code>" in checks  # what Steward computed
    assert "intended_use is missing" in checks and "by validator" in checks
    assert ">computed</span>" in checks and ">reported</span>" in checks  # who produced the values
    row = section(page, 'id="version-2"', "</tr>")  # the versions table: each environment
    assert "production</span>" in row and "staging</span>" in row and "denied" in row
    assert "1/2 checks pass" in row
    assert "not evaluated" in section(page, 'id="version-1"', "</tr>")
    status = section(page, 'id="status-title"')
    assert "denied" in status and "for production · v2 (newest) · 7 violations" in status
    first = sign_in(inventory["auditor"]).get("/models/churn", params={"version": 1}).text
    assert "no gate decision is stored for v1" in first and "No check is recorded on v1" in first


def test_inventory_gate_status_is_the_production_versions_latest_production_decision(
    sign_in: SignIn, inventory: dict[str, str], core: Steward
) -> None:
    evaluate(core, "credit-scorer", 1)  # not the version in production: not the model's status
    evaluate(core, "churn", 1, "staging")  # nor is a decision for another environment
    client = sign_in(inventory["compliance_officer"])
    page = client.get("/").text
    assert "latest production decision stored for the version in production, or for the newest" in page
    assert "not evaluated" in section(page, 'href="/models/credit-scorer"', "</tr>")
    assert "not evaluated" in section(page, 'href="/models/churn"', "</tr>")
    assert "no version" in section(page, 'href="/models/triage"', "</tr>")
    running = evaluate(core, "credit-scorer", 2)
    denied = evaluate(core, "churn", 1)  # nothing of churn runs in production: its newest version
    page = client.get("/").text
    credit = section(page, 'href="/models/credit-scorer"', "</tr>")
    verdict = "allowed" if running.allow else "denied"
    assert verdict in credit and "(newest)" not in credit  # v2 runs in production
    churn = section(page, 'href="/models/churn"', "</tr>")
    assert "denied" in churn and f"v1 (newest) · {len(denied.denies)} violations" in churn
    assert 'href="/models/churn?version=1#version-gates"' in churn
    assert "metrics.missing" in churn  # the rules it broke, in the link's title
    status = core.gates.gate_status(caller_of(core, "auditor"), ["churn", "credit-scorer", "triage"])
    assert status["churn"].decision is not None and status["churn"].decision.id == denied.id
    assert status["credit-scorer"].decision is not None and status["credit-scorer"].deployed
    assert (status["credit-scorer"].version, status["credit-scorer"].decision.id) == (2, running.id)
    assert "triage" not in status
    core.registry.register_version(caller_of(core, "data-scientist"), "churn", version_spec("churn-2"))
    churn = section(client.get("/").text, 'href="/models/churn"', "</tr>")
    assert "not evaluated" in churn and "v2 (newest)" in churn  # a newer version is not yet evaluated


def test_the_gate_queries_do_not_grow_with_the_rows_shown(
    sign_in: SignIn, inventory: dict[str, str], core: Steward
) -> None:
    builder = caller_of(core, "data-scientist")
    for n in range(12):
        core.registry.create_model(builder, model_spec(f"bulk-{n:02d}"))
        core.registry.register_version(builder, f"bulk-{n:02d}", version_spec(f"bulk-{n}"))
        evaluate(core, f"bulk-{n:02d}", 1)
    for n in range(2, 7):
        core.registry.register_version(builder, "churn", version_spec(f"churn-{n}"))
        evaluate(core, "churn", n)
        evaluate(core, "churn", n, "staging")
        core.checks.record(builder, "churn", n, "documentation")
    client = sign_in(inventory["auditor"])
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    event.listen(core.store.engine, "before_cursor_execute", seen)
    try:
        assert "denied" in client.get("/").text
        inventory_reads = [s for s in statements if "policy_decisions" in s or "check_results" in s]
        statements.clear()
        assert "0/1 checks pass" in client.get("/models/churn").text
        model_reads = [s for s in statements if "policy_decisions" in s or "check_results" in s]
    finally:
        event.remove(core.store.engine, "before_cursor_execute", seen)
    assert len(inventory_reads) == 1  # one statement for the page's 15 models
    assert len(model_reads) == 3  # decisions and checks of the page's 6 versions, the newest's status


def test_the_review_clock_runs_from_creation_so_an_edit_does_not_reset_it(
    sign_in: SignIn, inventory: dict[str, str], core: Steward
) -> None:
    builder = caller_of(core, "data-scientist")
    before = core.registry.get_model(builder, "credit-scorer")
    core.registry.update_model(
        builder, "credit-scorer", wire.ModelUpdate(revision=before.revision, tags={"team": "risk"})
    )
    client = sign_in(inventory["auditor"])
    row = section(client.get("/").text, 'href="/models/credit-scorer"', "</tr>")
    assert "2026-09-02" in row and "overdue" in row  # still created + 6 months, not the edit + 6
    status = section(client.get("/models/credit-scorer").text, 'id="status-title"')
    assert "2026-09-02" in status and "overdue" in status
    dashboard = client.get("/dashboard").text
    assert '<span class="figure">1</span><span class="figure-label">reviews overdue</span>' in dashboard
    reader = caller_of(core, "auditor")  # the gates read the same clock
    assert core.gates.gate_input(reader, "credit-scorer", 2)["model"]["review_overdue"] is True
    assert core.gates.gate_input(reader, "churn", 1)["model"]["review_overdue"] is False


def test_missing_records_answer_readable_404_pages(sign_in: SignIn, inventory: dict[str, str]) -> None:
    client = sign_in(inventory["admin"])
    missing = client.get("/models/nope")
    assert missing.status_code == 404
    assert "model &#39;nope&#39; does not exist" in missing.text
    assert client.get("/models/credit-scorer", params={"version": 9}).status_code == 404


# -- the review queue and its forms ----------------------------------------------------------


def post_form(client: TestClient, action: str, page: str, **fields: str) -> Response:
    """Post a queue form as the browser does: the page's CSRF token and the given fields."""
    data = {"csrf_token": csrf_of(page), "back": "/reviews", **fields}
    return client.post(action, data=data, follow_redirects=False)


@pytest.fixture
def candidate(core: Steward, inventory: dict[str, str]) -> str:
    """A high-risk model whose version 1 (registered by data-scientist, trained by alice) passed
    its production gates: its automated_gates stage waits for the ML engineer."""
    governed(core, caller_of(core, "data-scientist"), "loan-approval")
    assert evaluate(core, "loan-approval", 1).allow
    return "/models/loan-approval/versions/1/reviews"


def test_a_stage_is_approved_through_the_queue_and_shown_on_the_model_page(
    sign_in: SignIn, inventory: dict[str, str], core: Steward, candidate: str
) -> None:
    engineer = sign_in(inventory["ml_engineer"])
    queue = engineer.get("/reviews").text
    assert f'action="{candidate}"' in queue and 'name="stage" value="automated_gates"' in queue
    assert "Waiting less than a minute" in queue  # how long it has waited, oldest first
    assert '<label for="sign-loan-approval-v1-automated_gates-comment">Comment' in queue
    done = post_form(
        engineer,
        candidate,
        queue,
        stage="automated_gates",
        decision="approved",
        comment="gates pass; metrics reviewed",
        evidence="https://ci.example.com/loan-approval/1",
    )
    assert done.status_code == 303 and done.headers["location"] == "/reviews"  # POST, redirect, GET
    after = engineer.get("/reviews").text
    assert '<div class="flash" role="status">' in after
    assert "You approved automated gates of loan-approval v1 as ml engineer" in after
    assert f'action="{candidate}"' not in after  # signed: out of the engineer's queue
    assert '<div class="flash"' not in engineer.get("/reviews").text  # shown once

    # the same review the REST API reads back
    status = core.reviews.signoff_status(caller_of(core, "auditor"), "loan-approval", 1)
    [review] = status.reviews
    assert (review.stage.value, review.reviewer, review.role) == (
        "automated_gates",
        "ml-engineer",
        Role.ML_ENGINEER,
    )
    assert review.evidence == ("https://ci.example.com/loan-approval/1",) and review.audit_seq

    # next in line: the validator, who approves with conditions
    validator = sign_in(inventory["validator"])
    queue = validator.get("/reviews").text
    assert "independent validation" in queue and f'action="{candidate}"' in queue
    signed = post_form(
        validator,
        candidate,
        queue,
        stage="independent_validation",
        decision="approved_with_conditions",
        comment="back-test holds",
        conditions="Monitor the approval rate monthly\n\nRe-run the back-test after the Q3 refresh\n",
        evidence="https://wiki.example.com/validation/loan-approval",
    )
    assert signed.status_code == 303
    assert "with 2 open conditions" in validator.get("/reviews").text
    core.reviews.meet_condition(
        caller_of(core, "compliance-officer"),
        core.reviews.list_conditions(caller_of(core, "auditor"), "loan-approval", 1).items[0].id,
        wire.ConditionMeet(note="dashboard live"),
    )

    page = validator.get("/models/loan-approval").text
    reviews = section(page, 'id="version-reviews"')
    for fact in (
        "Reviews and sign-offs of v1",
        "automated gates",
        "ml-engineer",
        "as ml engineer",
        "gates pass; metrics reviewed",
        '<a class="block" href="https://ci.example.com/loan-approval/1"',
        "approved with conditions",
        "as model validator",
        "Monitor the approval rate monthly",
        "met by compliance-officer",
        "dashboard live",
        "Re-run the back-test after the Q3 refresh",
        "sign-offs in place",  # staging: gates and validation
        "still needs 2 of 4 sign-offs",  # production: compliance and business still missing
        "signoff.missing",
        "1 condition is open",
        "waiting in the review queue",  # compliance review is next
    ):
        assert fact in reviews, fact
    assert (
        '<span class="badge warn">open</span>' in reviews and '<span class="badge ok">met</span>' in reviews
    )
    fragment = validator.get(
        "/models/loan-approval", params={"version": 1}, headers={"HX-Request": "true", "HX-Target": "lineage"}
    ).text
    assert 'id="version-reviews"' in fragment  # swapped with the lineage, out of band


def test_separation_of_duties_refusal_names_the_rule_and_keeps_the_form(
    sign_in: SignIn,
    inventory: dict[str, str],
    core: Steward,
    candidate: str,
    make_principal: MakePrincipal,
) -> None:
    engineer = caller_of(core, "ml-engineer")
    core.registry.register_version(  # the engineer registers v2 himself
        engineer,
        "loan-approval",
        version_spec("loan-2", code_commit="4f2a9c1", metrics={"accuracy": 0.9, "auc": 0.86}),
    )
    client = sign_in(inventory["ml_engineer"])
    queue = client.get("/reviews").text
    assert "You registered this version." in queue  # said before the post, decided at the post
    before = db_state(core)
    refused = post_form(
        client,
        "/models/loan-approval/versions/2/reviews",
        queue,
        stage="automated_gates",
        decision="approved",
        comment="looks fine to me",
    )
    assert refused.status_code == 403
    assert "Refused by separation of duties" in refused.text and 'role="alert"' in refused.text
    assert "You registered this version." in refused.text
    assert "<code>separation.registrant</code>" in refused.text
    assert "ml-engineer registered this version; required a reviewer who did not register it" in refused.text
    assert ">looks fine to me</textarea>" in refused.text  # what was typed is kept
    assert db_state(core) == before  # nothing written

    # one person, two stages: a validator who also reviews compliance
    dual = sign_in(make_principal(Role.VALIDATOR, Role.COMPLIANCE_OFFICER, name="vic")[1])
    fields = {"stage": "automated_gates", "decision": "approved", "comment": "gates pass"}
    assert post_form(client, candidate, queue, **fields).status_code == 303
    queue = dual.get("/reviews").text
    assert (
        post_form(
            dual, candidate, queue, stage="independent_validation", decision="approved", comment="validated"
        ).status_code
        == 303
    )
    queue = dual.get("/reviews").text
    assert 'name="stage" value="compliance_review"' in queue  # the role signs it: a form
    refused = post_form(
        dual, candidate, queue, stage="compliance_review", decision="approved", comment="compliant"
    )
    assert refused.status_code == 403
    assert "You signed another stage of this version." in refused.text
    assert "<code>separation.one_stage</code>" in refused.text


def test_invalid_input_names_the_field(
    sign_in: SignIn, inventory: dict[str, str], core: Steward, candidate: str
) -> None:
    client = sign_in(inventory["ml_engineer"])
    queue = client.get("/reviews").text
    before = db_state(core)
    blank = post_form(client, candidate, queue, stage="automated_gates", decision="approved", comment="  ")
    assert blank.status_code == 422
    assert "Not signed: the form needs a change" in blank.text
    assert 'href="#sign-loan-approval-v1-automated_gates-comment">Comment</a>: enter a comment' in blank.text
    assert 'aria-invalid="true">  </textarea>' in blank.text
    conditions = post_form(
        client, candidate, queue, stage="automated_gates", decision="approved", comment="ok", conditions="one"
    )
    assert conditions.status_code == 422
    assert "conditions go with approved_with_conditions, not with approved" in conditions.text
    link = post_form(
        client,
        candidate,
        queue,
        stage="automated_gates",
        decision="approved",
        comment="ok",
        evidence="https://ok.example.com\nnot a link",
    )
    assert link.status_code == 422 and "line 2: not a link" in link.text
    validator = sign_in(inventory["validator"])
    early = post_form(
        validator,
        candidate,
        validator.get("/reviews").text,
        stage="independent_validation",
        decision="approved",
        comment="too early",
    )
    assert early.status_code == 409
    assert "cannot be approved before automated_gates is approved" in early.text
    assert db_state(core) == before


def test_a_review_post_without_the_csrf_token_is_refused(
    sign_in: SignIn, inventory: dict[str, str], core: Steward, candidate: str
) -> None:
    client = sign_in(inventory["ml_engineer"])
    before = db_state(core)
    fields = {"stage": "automated_gates", "decision": "approved", "comment": "ok"}
    missing = client.post(candidate, data=fields, follow_redirects=False)
    assert missing.status_code == 403 and "Form refused" in missing.text
    forged = client.post(candidate, data={**fields, "csrf_token": "forged"}, follow_redirects=False)
    assert forged.status_code == 403
    assert db_state(core) == before


@pytest.mark.parametrize("role", ["auditor", "admin", "data_scientist"])
def test_a_role_that_may_not_sign_gets_no_forms_and_a_post_answers_403(
    sign_in: SignIn, inventory: dict[str, str], core: Steward, candidate: str, role: str
) -> None:
    client = sign_in(inventory[role])
    queue = client.get("/reviews")
    assert queue.status_code == 200
    assert "signs no review stage" in queue.text and "loan-approval v1" in queue.text  # still readable
    assert 'class="sign-form"' not in queue.text
    before = db_state(core)
    refused = post_form(
        client, candidate, queue.text, stage="automated_gates", decision="approved", comment="x"
    )
    assert refused.status_code == 403
    assert "review.sign" in refused.text
    assert db_state(core) == before


def test_the_queue_is_the_workflow_queue_for_each_role(
    sign_in: SignIn, inventory: dict[str, str], core: Steward, candidate: str
) -> None:
    validator = sign_in(inventory["validator"]).get("/reviews").text
    assert "Nothing is waiting at a stage your roles sign." in validator
    engineer = sign_in(inventory["ml_engineer"]).get("/reviews").text
    for item in ("loan-approval v1", "credit-scorer v1", "credit-scorer v2", "churn v1"):
        assert item in engineer, item
    assert engineer.count('class="sign-form"') == 4
    assert engineer.index("credit-scorer v1") < engineer.index("loan-approval v1")  # oldest first
    by_stage = sign_in(inventory["validator"]).get("/reviews", params={"stage": "automated_gates"}).text
    assert "loan-approval v1" in by_stage and 'class="sign-form"' not in by_stage  # readable, not signable
    assert "Your roles do not sign automated gates" in by_stage
    assert sign_in(inventory["validator"]).get("/reviews", params={"stage": "nope"}).status_code == 422


def test_model_page_shows_promotions_allowed_and_denied_and_the_retirement(
    sign_in: SignIn, inventory: dict[str, str], core: Steward, candidate: str
) -> None:
    engineer = caller_of(core, "ml-engineer")
    with pytest.raises(PolicyViolation):  # no sign-off yet: denied, and the denial recorded
        core.promotions.promote(
            engineer, "loan-approval", 1, wire.PromotionCreate(target="production", reason="go")
        )
    core.promotions.retire(
        caller_of(core, "compliance-officer"),
        "loan-approval",
        wire.RetirementCreate(reason="product withdrawn"),
    )
    page = sign_in(inventory["auditor"]).get("/models/loan-approval").text
    history = section(page, 'id="history"')
    assert "Retired" in history and "by compliance-officer" in history and "product withdrawn" in history
    assert '<span class="badge danger">denied</span>' in history and "“go”" in history
    assert "<code>signoff.missing</code> stage automated_gates has no sign-off" in history

    governed(core, caller_of(core, "data-scientist"), "quick-scorer", Governed(model={"risk_tier": "low"}))
    assert evaluate(core, "quick-scorer", 1).allow
    core.reviews.review(
        engineer,
        "quick-scorer",
        1,
        wire.ReviewCreate(stage="automated_gates", decision="approved", comment="gates pass"),
    )
    done = core.promotions.promote(
        engineer, "quick-scorer", 1, wire.PromotionCreate(target="production", reason="first release")
    )
    assert done.deployment is not None
    history = section(sign_in(inventory["auditor"]).get("/models/quick-scorer").text, 'id="history"')
    assert '<span class="badge ok">allowed</span>' in history and "“first release”" in history
    assert f'href="#deployment-{done.deployment.id}"' in history and "Retired" not in history


def test_dashboard_draws_the_governance_figures(sign_in: SignIn, inventory: dict[str, str]) -> None:
    page = sign_in(inventory["business_owner"]).get("/dashboard").text
    assert page.count('<svg class="chart"') == 4
    assert "Models by risk tier and state" in page and "Deployments per environment" in page
    assert "Versions registered per week" in page and "Overdue reviews by risk tier" in page
    assert '<span class="figure">3</span><span class="figure-label">models</span>' in page
    assert '<span class="figure">1</span><span class="figure-label">reviews overdue</span>' in page
    assert "No promotion was asked for in the last 12 weeks." in page
    assert "No gate decision was denied in the last 12 weeks." in page


def test_dashboard_counts_denials_by_rule(sign_in: SignIn, inventory: dict[str, str], core: Steward) -> None:
    engineer = caller_of(core, "ml-engineer")
    denied = [core.gates.evaluate(engineer, "churn", 1) for _ in range(2)]  # no docs, no lineage
    assert not any(d.allow for d in denied)
    rules = sorted({str(d["rule"]) for d in denied[0].denies})
    since = datetime(2026, 1, 1, tzinfo=UTC)
    counted = core.gates.violations_by_rule(caller_of(core, "auditor"), since)
    assert sorted(rule for rule, _ in counted) == rules and {n for _, n in counted} == {2}
    assert core.gates.violations_by_rule(caller_of(core, "auditor"), datetime(2027, 1, 1, tzinfo=UTC)) == []
    page = sign_in(inventory["auditor"]).get("/dashboard").text
    assert "Policy violations by rule, last 12 weeks" in page
    assert all(f"<code>{rule}</code>" in page for rule in rules[:12])
    assert page.count('<svg class="chart"') == 5


def test_promotion_outcomes_are_counted_per_day_from_the_audit_log(
    core: Steward, inventory: dict[str, str]
) -> None:
    with core.store.read() as tx:
        created = tx.count_events_by_day(
            ["model.created", "model_version.registered"], datetime(2026, 1, 1, tzinfo=UTC)
        )
        assert tx.count_events_by_day(["model.created"], datetime(2027, 1, 1, tzinfo=UTC)) == []
    assert [(day.isoformat(), action, n) for day, action, n in created] == [
        ("2026-03-02", "model.created", 3),
        ("2026-03-02", "model_version.registered", 3),
    ]
    assert core.gates.promotions_per_day(caller_of(core, "auditor"), datetime(2026, 1, 1, tzinfo=UTC)) == []


def test_audit_browser_filters_and_verifies(
    sign_in: SignIn, inventory: dict[str, str], core: Steward
) -> None:
    client = sign_in(inventory["auditor"])
    page = client.get("/audit", params={"subject_type": "model", "subject_id": "credit-scorer"}).text
    assert "<code>model.created</code>" in page and "<code>principal.created</code>" not in page
    assert 'data-slot="ledger-checkpoint"' in page
    by_action = client.get("/audit", params={"action": "deployment.recorded"}).text
    assert by_action.count("<code>deployment.recorded</code>") == 2
    by_actor = client.get("/audit", params={"actor": "ml-engineer"}).text
    assert "<td>ml-engineer</td>" in by_actor and "<td>data-scientist</td>" not in by_actor
    assert "No event matches" in client.get("/audit", params={"since": "2030-01-01"}).text
    assert client.get("/audit", params={"since": "yesterday"}).status_code == 422
    verified = client.post("/audit/verify", data={"csrf_token": csrf_of(page)})
    assert verified.status_code == 200 and "Verified." in verified.text
    with core.store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 3"))
    broken = client.post(
        "/audit/verify",
        data={"csrf_token": csrf_of(page)},
        headers={"HX-Request": "true", "HX-Target": "verification"},
    )
    assert broken.text.lstrip().startswith('<div id="verification"')
    assert "Does not verify." in broken.text and "First event that fails: 3;" in broken.text


def test_static_assets_ship_with_the_package(browser: TestClient) -> None:
    htmx = browser.get("/ui/static/htmx.min.js")
    assert htmx.status_code == 200 and "htmx" in htmx.text[:200]
    assert "0BSD" in browser.get("/ui/static/THIRD-PARTY-NOTICES.txt").text
    assert browser.get("/ui/static/steward.css").status_code == 200


def test_the_api_is_unchanged_beside_the_ui(browser: TestClient) -> None:
    assert browser.get("/api/v1/health").json()["status"] == "ok"
    refused = browser.get("/api/v1/models")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthenticated"


# -- the read methods the UI needs -----------------------------------------------------------


def test_model_summaries_carry_the_production_version_and_follow_filters(
    core: Steward, inventory: dict[str, str]
) -> None:
    reader = caller_of(core, "auditor")
    summaries = {s.name: s for s in core.registry.model_summaries(reader, ModelFilter())}
    assert list(summaries) == ["churn", "credit-scorer", "triage"]
    assert summaries["credit-scorer"].production_version == 2
    assert summaries["churn"].production_version is None
    assert summaries["credit-scorer"].regulatory_scopes == ("sr-11-7",)
    assert [s.name for s in core.registry.model_summaries(reader, ModelFilter(risk_tier="low"))] == ["churn"]
    assert [s.name for s in core.registry.model_summaries(reader, ModelFilter(text="DEFAULT"))] == [
        "credit-scorer"
    ]


def test_figures_count_versions_per_day_and_deployments(core: Steward, inventory: dict[str, str]) -> None:
    reader = caller_of(core, "auditor")
    per_day = core.registry.versions_registered_per_day(reader)
    assert [(day.isoformat(), n) for day, n in per_day] == [("2026-03-02", 3)]
    assert core.registry.versions_registered_per_day(reader, since=datetime(2026, 3, 3, tzinfo=UTC)) == []
    assert core.registry.deployment_counts(reader) == [("production", "active", 1), ("staging", "active", 1)]


# -- incidents, evidence, the ledger and the read access log ---------------------------------


def test_open_incidents_show_in_inventory_model_page_and_dashboard(
    sign_in: SignIn, inventory: dict[str, str], core: Steward
) -> None:
    officer = caller_of(core, "compliance-officer")
    core.incidents.open(
        officer,
        wire.IncidentCreate(
            model="credit-scorer", version=2, severity="high", title="Score drift in production"
        ),
    )
    client = sign_in(inventory["auditor"])
    assert 'href="/models/credit-scorer#incidents"' in client.get("/").text
    model = client.get("/models/credit-scorer").text
    assert "Score drift in production" in model and "1 open" in model
    dashboard = client.get("/dashboard").text
    assert '<span class="figure">1</span><span class="figure-label">open incidents</span>' in dashboard


def test_evidence_bundles_download_for_the_roles_that_may_read_them(
    sign_in: SignIn, inventory: dict[str, str]
) -> None:
    auditor = sign_in(inventory["auditor"])
    assert 'href="/models/credit-scorer/versions/2/evidence"' in auditor.get("/models/credit-scorer").text
    bundle = auditor.get("/models/credit-scorer/versions/2/evidence")
    assert bundle.status_code == 200
    assert bundle.headers["content-disposition"] == 'attachment; filename="credit-scorer-v2.evidence.json"'
    # the auditor verifies the downloaded file offline, trusting only the ledger's published key
    published = auditor.get(
        "/api/v1/ledger/keys", headers={"Authorization": f"Bearer {inventory['auditor']}"}
    )
    keys = parse_verifiers(k["vkey"] for k in published.json())
    report = verify_evidence(bundle.content, keys)
    assert (report.model, report.version) == ("credit-scorer", 2)
    assert {"model.created", "model_version.registered", "deployment.recorded"} <= {
        e.action for e in report.events
    }
    envelope = json.loads(bundle.content)
    statement = base64.b64decode(envelope["payload"]).replace(b"credit-scorer", b"credit-scorez")
    envelope["payload"] = base64.b64encode(statement).decode()
    with pytest.raises(IntegrityError, match="signature"):
        verify_evidence(encode_envelope(envelope), keys)  # one changed record: refused
    builder = sign_in(inventory["data_scientist"])
    assert "/evidence" not in builder.get("/models/credit-scorer").text
    refused = builder.get("/models/credit-scorer/versions/2/evidence")
    assert refused.status_code == 403 and "evidence.read" in refused.text


def test_audit_shows_the_latest_signed_checkpoint(sign_in: SignIn, inventory: dict[str, str]) -> None:
    page = sign_in(inventory["compliance_officer"]).get("/audit").text
    assert "Tree size" in page and "Signed note" in page and "No signed checkpoint yet" not in page


def test_page_reads_are_in_the_read_access_log(
    sign_in: SignIn, inventory: dict[str, str], core: Steward
) -> None:
    sign_in(inventory["validator"]).get("/models/credit-scorer")
    reads = core.reads.list_reads(caller_of(core, "auditor"), ReadAccessFilter(principal="validator"))
    assert ("model", "credit-scorer") in {(r.subject_type, r.subject_id) for r in reads.items}
