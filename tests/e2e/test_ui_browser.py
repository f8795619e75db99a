"""The web UI in a real browser (Debian's Chromium via Playwright) against a real ``steward serve``.

The server runs on a database seeded with the demo inventory; each test signs in through the form
as one of the demo users. Screenshots of every page land in ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from steward.cli._demo import seed
from steward.service import Steward
from tests.e2e.conftest import LiveServer, start_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package (dev group)")
expect = sync_api.expect

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("ui-browser")]

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
ROLES = [
    "admin",
    "data_scientist",
    "ml_engineer",
    "validator",
    "compliance_officer",
    "business_owner",
    "auditor",
]
MAY_READ_AUDIT = {"admin", "validator", "compliance_officer", "auditor"}


class Demo:
    def __init__(self, server: LiveServer, tokens: dict[str, tuple[str, str]]) -> None:
        self.server = server
        self.url = server.url
        self.tokens = tokens  # role -> (user, token)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    workdir = tmp_path_factory.mktemp("ui-browser")
    database_url = f"sqlite:///{workdir / 'steward.db'}"
    core = Steward.open(database_url, migrate=True)
    try:
        summary = seed(core, workdir)
    finally:
        core.close()
    server = start_server(database_url, workdir)
    try:
        yield Demo(server, {role: (user, token) for user, role, token in summary.tokens})
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(
            f"browser tests drive Debian's Chromium at {CHROMIUM}, which is not installed "
            "(as root: `apt-get install chromium`, or run scripts/install-system-deps.sh)"
        )
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) whose console errors fail the test."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    opened.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield opened
    finally:
        context.close()
    # a CSP violation, a failed script or a broken htmx swap shows up here
    unexpected = [e for e in errors if "the server responded with a status of 4" not in e]
    assert not unexpected, unexpected


def shot(page: Page, name: str, *, full: bool = True) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)


def sign_in(page: Page, demo: Demo, role: str) -> str:
    user, token = demo.tokens[role]
    page.goto(demo.url + "/")
    assert re.search(r"/signin", page.url)
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(demo.url + "/")
    return user


def mark(page: Page) -> None:
    """Tag the document, to tell later whether htmx swapped a part or the browser reloaded."""
    page.evaluate("window.__stewardMark = 'kept'")


def still_marked(page: Page) -> bool:
    return bool(page.evaluate("window.__stewardMark === 'kept'"))


@pytest.mark.parametrize("role", ROLES)
def test_each_role_walks_inventory_model_lineage_and_audit(page: Page, demo: Demo, role: str) -> None:
    sign_in(page, demo, role)
    header = page.get_by_role("banner")
    assert header.get_by_text(re.compile(role.replace("_", " "), re.IGNORECASE)).count() >= 1
    assert page.get_by_role("heading", name="Model inventory").is_visible()
    assert page.locator("#inventory-results tbody tr").count() == 7
    shot(page, f"{role}-inventory")

    page.get_by_role("link", name="credit-default-scorer").click()
    page.wait_for_url(re.compile(r"/models/credit-default-scorer$"))
    assert page.get_by_role("heading", name="credit-default-scorer", level=1).is_visible()
    lineage = page.locator("#lineage")
    assert lineage.get_by_role("heading", name="Lineage of v4").is_visible()  # what runs in production
    assert lineage.locator("svg.lineage g.node").count() >= 5
    shot(page, f"{role}-model")

    nav = page.get_by_role("navigation", name="Main")
    assert (nav.get_by_role("link", name="Audit").count() == 1) is (role in MAY_READ_AUDIT)
    response = page.goto(demo.url + "/audit")
    assert response is not None
    if role in MAY_READ_AUDIT:
        assert response.status == 200
        assert page.get_by_role("heading", name="Audit trail").is_visible()
        assert page.locator("#audit-results tbody tr").count() == 50
    else:
        assert response.status == 403
        assert page.get_by_role("heading", name="Not allowed").is_visible()
        assert page.get_by_text("audit.read").is_visible()
    shot(page, f"{role}-audit", full=False)


def test_lineage_switches_version_in_place(page: Page, demo: Demo) -> None:
    sign_in(page, demo, "validator")
    page.goto(demo.url + "/models/credit-default-scorer")
    mark(page)
    page.get_by_role("link", name="Lineage of v2").click()
    lineage = page.locator("#lineage")
    lineage.get_by_role("heading", name="Lineage of v2").wait_for()
    assert still_marked(page), "htmx should swap the lineage section, not reload the page"
    assert page.url.endswith("/models/credit-default-scorer?version=2")
    assert lineage.get_by_text("not deployed").is_visible()
    gates = page.locator("#version-gates")  # swapped with the lineage, out of band
    expect(gates.get_by_role("heading", name="Gate decisions and checks of v2")).to_be_visible()
    lineage.screenshot(path=str(SHOTS / "lineage-v2.png"))
    lineage.get_by_text("Lineage as a table").click()
    assert lineage.get_by_role("cell", name="training run").first.is_visible()


def test_model_page_shows_gate_decisions_and_checks(page: Page, demo: Demo) -> None:
    sign_in(page, demo, "compliance_officer")
    row = page.locator(
        "#inventory-results tbody tr", has=page.get_by_role("link", name="credit-default-scorer")
    )
    expect(row.get_by_text("allowed")).to_be_visible()  # v4, in production, passed its gates
    page.goto(demo.url + "/models/credit-default-scorer")
    gates = page.locator("#version-gates")
    expect(gates.get_by_role("heading", name="Gate decisions and checks of v4")).to_be_visible()
    decision = gates.locator("article.decision").first
    expect(decision).to_contain_text("production")
    expect(decision).to_contain_text("allowed")
    expect(decision).to_contain_text("steward-builtin")
    checks = gates.locator("table.checks")
    expect(checks.get_by_role("rowheader", name=re.compile(r"^fairness"))).to_be_visible()
    expect(checks.get_by_text("demographic_parity_ratio").first).to_be_visible()
    gates.screenshot(path=str(SHOTS / "gates-v4.png"))

    # a version's gate in the versions table opens that version's decisions
    page.get_by_role("link", name="staging allowed (v5)").click()
    page.wait_for_url(re.compile(r"\?version=5#version-gates$"))
    expect(gates.get_by_role("heading", name="Gate decisions and checks of v5")).to_be_visible()

    # a refused version: every reason with its rule, what was measured and what was required
    page.goto(demo.url + "/models/readmission-risk?version=2")
    refused = gates.locator("article.decision.denied").first
    expect(refused).to_contain_text("denied")
    findings = refused.locator("table.findings tbody tr")
    assert findings.count() >= 1
    expect(findings.first.get_by_role("rowheader")).not_to_be_empty()
    shot(page, "model-denied")


def test_inventory_filters_search_sort_and_page(page: Page, demo: Demo) -> None:
    sign_in(page, demo, "compliance_officer")
    mark(page)
    page.get_by_label("Risk tier").select_option("high")
    page.wait_for_url(re.compile(r"tier=high"))
    rows = page.locator("#inventory-results tbody tr")
    expect(rows).to_have_count(4)
    page.get_by_label("Search").fill("fraud")
    expect(rows).to_have_count(1)
    assert rows.first.get_by_role("link", name="card-fraud-detector").is_visible()
    assert still_marked(page), "filters should update the results in place"
    shot(page, "inventory-filtered")
    page.goto(demo.url + "/?sort=production&order=desc")
    first = page.locator("#inventory-results tbody tr").first
    assert first.get_by_role("link", name="credit-default-scorer").is_visible()  # v4 before v3
    sorted_header = page.locator("th[aria-sort]")
    assert sorted_header.get_attribute("aria-sort") == "descending"
    page.goto(demo.url + "/?size=25&q=zzz-nothing")
    assert page.get_by_text("No model matches these filters").is_visible()


def test_dashboard_and_review_queue(page: Page, demo: Demo) -> None:
    sign_in(page, demo, "business_owner")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    page.wait_for_url(demo.url + "/dashboard")
    assert page.locator("svg.chart").count() >= 3
    assert page.get_by_role("img", name="Models by risk tier and state").is_visible()
    shot(page, "dashboard")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Review queue").click()
    page.wait_for_url(demo.url + "/reviews")
    assert page.get_by_role("heading", name="Review queue", level=1).is_visible()
    # the demo leaves card-fraud-detector v4 waiting for the business owner's sign-off
    item = page.get_by_role("form", name="Sign business sign-off of card-fraud-detector v4")
    expect(item).to_be_visible()
    expect(item.get_by_label("Comment")).to_have_attribute("required", "")
    for decision in ("Approve", "Approve with conditions", "Reject"):
        expect(item.get_by_role("button", name=decision, exact=True)).to_be_visible()
    assert page.locator("main form.sign-form").count() == 1  # only the stages this role signs
    shot(page, "reviews")


def test_a_validator_signs_from_the_queue_and_a_registrant_is_refused(page: Page, demo: Demo) -> None:
    sign_in(page, demo, "validator")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Review queue").click()
    page.wait_for_url(demo.url + "/reviews")
    form = page.get_by_role("form", name="Sign independent validation of aml-transaction-monitor v3")
    expect(form).to_be_visible()
    shot(page, "reviews-validator")

    # by keyboard: type into the labelled fields, then press Enter on Approve
    form.get_by_label("Comment").fill("Back-test over four quarters holds; alert volumes stable.")
    form.get_by_label("Evidence links").fill("https://wiki.example.com/validation/aml-transaction-monitor/v3")
    form.get_by_role("button", name="Approve", exact=True).focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == demo.url + "/reviews"  # POST, redirect, GET
    flash = page.get_by_role("status")
    expect(flash).to_contain_text("You approved independent validation of aml-transaction-monitor v3")
    expect(page.get_by_text("Nothing is waiting at a stage your roles sign.")).to_be_visible()
    shot(page, "reviews-approved", full=False)

    flash.get_by_role("link", name="See it on the model page").click()
    page.wait_for_url(re.compile(r"/models/aml-transaction-monitor\?version=3#version-reviews$"))
    reviews = page.locator("#version-reviews")
    expect(reviews.get_by_role("heading", name="Reviews and sign-offs of v3")).to_be_visible()
    row = reviews.locator(
        "tbody", has=page.get_by_role("rowheader", name=re.compile("^independent validation"))
    )
    expect(row).to_contain_text("vera")
    expect(row).to_contain_text("as model validator")
    expect(
        row.get_by_role("link", name="https://wiki.example.com/validation/aml-transaction-monitor/v3")
    ).to_be_visible()
    expect(reviews.get_by_text("still needs 2 of 4 sign-offs")).to_be_visible()  # production
    reviews.screenshot(path=str(SHOTS / "model-reviews.png"))
    shot(page, "model-reviews-page")

    # the ML engineer registered ticket-router v2 himself: the form warns, the rules refuse
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/signin"))
    sign_in(page, demo, "ml_engineer")
    page.goto(demo.url + "/reviews")
    form = page.get_by_role("form", name="Sign automated gates of ticket-router v2")
    expect(form.get_by_text("You registered this version.")).to_be_visible()
    form.get_by_label("Comment").fill("Gates pass.")
    with page.expect_navigation() as navigation:
        form.get_by_role("button", name="Approve", exact=True).click()
    response = navigation.value
    assert response is not None and response.status == 403
    alert = form.get_by_role("alert")
    expect(alert).to_contain_text("Refused by separation of duties")
    expect(alert).to_contain_text("You registered this version.")
    expect(alert).to_contain_text("separation.registrant")
    expect(form.get_by_label("Comment")).to_have_value("Gates pass.")  # kept for another try
    assert page.evaluate("document.activeElement.id") == "refusal"  # focus moves to the reason
    shot(page, "reviews-refused", full=False)
    form.screenshot(path=str(SHOTS / "reviews-refused-form.png"))


def test_verify_now_and_csrf_refusal(page: Page, demo: Demo) -> None:
    sign_in(page, demo, "auditor")
    page.goto(demo.url + "/audit")
    mark(page)
    page.get_by_role("button", name="Verify now").click()
    page.get_by_text("Verified.").wait_for()
    assert still_marked(page)
    shot(page, "audit-verified", full=False)

    # a post without the token, from this signed-in browser: refused
    refused = page.request.post(demo.url + "/audit/verify", form={"nothing": "here"})
    assert refused.status == 403
    # the same form with its token removed, submitted by the browser itself
    page.evaluate("document.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove())")
    page.evaluate("document.querySelector('form[action=\"/audit/verify\"]').removeAttribute('hx-post')")
    with page.expect_navigation():
        page.evaluate("document.querySelector('form[action=\"/audit/verify\"]').submit()")
    expect(page.get_by_role("heading", name="Form refused")).to_be_visible()
    shot(page, "csrf-refused", full=False)


def test_evidence_bundle_downloads_from_the_model_page(page: Page, demo: Demo, tmp_path: Path) -> None:
    sign_in(page, demo, "auditor")
    page.goto(demo.url + "/audit")
    checkpoint = page.get_by_role("region", name="Signed checkpoint and evidence")
    expect(checkpoint).to_contain_text("Tree size")
    page.goto(demo.url + "/models/credit-default-scorer")
    with page.expect_download() as download:
        page.get_by_role("link", name="Evidence bundle of v4").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == "credit-default-scorer-v4.evidence.json"
    assert json.loads(saved.read_text())  # a DSSE envelope: verified offline by `steward evidence verify`


def test_sign_out_ends_the_session(page: Page, demo: Demo) -> None:
    sign_in(page, demo, "ml_engineer")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/signin\?signed_out=1"))
    assert page.get_by_text("You are signed out.").is_visible()
    shot(page, "signed-out", full=False)
    page.goto(demo.url + "/dashboard")
    assert "/signin?next=%2Fdashboard" in page.url


def test_sign_in_errors_and_keyboard_use(page: Page, demo: Demo) -> None:
    page.goto(demo.url + "/signin")
    page.get_by_label("API token").fill("stw_not-a-real-token")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("not known to this server")
    shot(page, "signin-error", full=False)
    sign_in(page, demo, "validator")
    page.keyboard.press("Tab")
    focused: Any = page.evaluate("document.activeElement.textContent")
    assert "Skip to main content" in focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
