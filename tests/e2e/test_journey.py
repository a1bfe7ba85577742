"""One customer file from creation to a confirmed approval, in a real browser, as people do it.

An analyst creates a company by SIREN, uploads an identity card and a PDF, watches the analyses
finish without reloading, reads a report, corrects an OCR field (the MRZ check follows the
typing) and proposes approval; the four-eyes rule stops the analyst from confirming; a reviewer
confirms; the interface switches to French. A screenshot is taken at each step
(artifacts/e2e/<vendor>/<test>/, see conftest.py).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation
from playwright.sync_api import Page, expect

from tests.analysis.specimens import Identity, render
from tests.factories import VALID_SIRENS, make_user, pdf_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-only"  # tests.factories.make_user's
# The built-in OCR loads its model on the first picture, then reads one in 1 to 3 s here; both
# share two cores with the browser and the server.
ANALYSIS_TIMEOUT_MS = 90_000
IDENTITY = Identity(
    fmt="TD1",
    document_code="ID",
    issuing_country="FRA",
    surname="MARTIN",
    given_names="CLAIRE",
    document_number="X4RTB7PW4",
    nationality="FRA",
    birth_date=dt.date(1990, 5, 17),
    sex="F",
    expiry_date=dt.date(2031, 3, 2),
)
FRENCH_CATALOGUE = Path(settings.BASE_DIR) / "kyc" / "locale" / "fr" / "LC_MESSAGES" / "django.mo"


def id_card_png() -> bytes:
    buffer = io.BytesIO()
    render(IDENTITY).save(buffer, "PNG")
    return buffer.getvalue()


def log_in(page: Page, username: str) -> None:
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def select_in_textarea(page: Page, selector: str, start: int, end: int) -> None:
    """Put the caret on characters [start, end) of a textarea, as a click and shift-arrows
    would; the next keystroke replaces them."""
    page.locator(selector).evaluate(
        "(el, [start, end]) => { el.focus(); el.setSelectionRange(start, end); }", [start, end]
    )


@pytest.fixture
def people(role_groups):
    # Users first: the test process must not touch the ORM once Playwright's loop is running.
    return {
        "analyst": make_user("e2e-analyst", role="analyst", first_name="Ana", last_name="Lyst"),
        "reviewer": make_user("e2e-reviewer", role="reviewer"),
    }


def test_a_company_file_from_creation_to_a_confirmed_approval(
    people, task_worker, server_log, browser
):
    page = browser.page
    shot = browser.screenshot

    # --- Anonymous: sent to the login page ------------------------------------------------
    page.goto(browser.url("/"))
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    shot("anonymous-sent-to-login")

    # --- The analyst logs in and creates a company by SIREN ----------------------------------
    log_in(page, "e2e-analyst")
    expect(page.get_by_role("heading", name="Cases", exact=True)).to_be_visible()
    expect(page.locator(".whoami")).to_have_text("Ana Lyst")
    shot("analyst-case-queue")

    page.get_by_role("link", name="New customer").click()
    expect(page.get_by_role("heading", name="New customer")).to_be_visible()
    page.get_by_label("Legal name").fill("Ateliers Martin SAS")
    siren = page.locator("input[name=siren]")
    siren_check = page.locator("#siren-check")
    # Eight digits: the check says what is wrong while the analyst is still typing.
    siren.press_sequentially(VALID_SIRENS[0][:8], delay=40)
    expect(siren_check).to_have_class(re.compile(r"\berror\b"))
    shot("siren-incomplete")
    siren.press_sequentially(VALID_SIRENS[0][8:], delay=40)
    expect(siren_check).to_have_class(re.compile(r"\bok\b"))
    expect(siren_check).to_contain_text("Valid SIREN 732 829 320")
    shot("siren-valid")
    page.get_by_role("button", name="Create the customer file").click()

    expect(page.get_by_role("heading", name="Ateliers Martin SAS")).to_be_visible()
    expect(page.locator(".messages")).to_contain_text("Customer file created.")
    customer_path = re.search(r"/customers/\d+/$", page.url)
    assert customer_path, page.url
    customer_url = browser.url(customer_path.group(0))

    # --- Upload an identity card and a PDF, one kind per file --------------------------------
    page.locator("#upload-files").set_input_files(
        [
            {"name": "id-card.png", "mimeType": "image/png", "buffer": id_card_png()},
            {"name": "kbis.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()},
        ]
    )
    rows = page.locator("[data-upload-rows] .upload-row")
    expect(rows).to_have_count(2)
    rows.filter(has_text="id-card.png").locator("select[name=kind]").select_option("id_card")
    rows.filter(has_text="kbis.pdf").locator("select[name=kind]").select_option(
        "company_registration"
    )
    shot("upload-two-files-with-kinds")
    # A full page load would lose this; the live updates below must keep it.
    page.evaluate("window.e2eNoReload = true")
    status_polls: list[str] = []
    page.on(
        "request",
        lambda request: status_polls.append(request.url) if "/status/" in request.url else None,
    )
    page.get_by_role("button", name="Upload and analyse").click()

    panel = page.locator("#documents-panel")
    expect(panel.locator(".upload-results")).to_contain_text("id-card.png: uploaded")
    expect(panel.locator(".upload-results")).to_contain_text("kbis.pdf: uploaded")
    expect(panel.get_by_text("Analyses running")).to_be_visible()
    shot("uploaded-analyses-running")

    # --- The job badges turn to Completed by themselves (polling, no reload) -----------------
    active = panel.locator("li.job:is(.job-queued, .job-submitted, .job-processing)")
    expect(active).to_have_count(0, timeout=ANALYSIS_TIMEOUT_MS)
    expect(panel.get_by_text("Analyses running")).to_have_count(0)
    jobs = panel.locator("li.job:not(.job-skipped)")
    job_count = jobs.count()
    assert job_count >= 2, "one built-in analysis per document at least"
    expect(jobs.locator(".badge")).to_have_text(["Completed"] * job_count)
    assert page.evaluate("window.e2eNoReload") is True, "the page was reloaded"
    assert status_polls, "the documents panel never polled the status endpoint"
    assert all(url.endswith(f"{customer_path.group(0)}status/") for url in status_polls)
    shot("analyses-completed")

    # --- A report, from the summary the live updates filled in --------------------------------
    summary = page.locator("#reports-summary")
    report_link = summary.locator("tr", has_text="id-card.png").locator("a").first
    expect(report_link).to_be_visible()
    report_link.click()
    expect(page).to_have_url(re.compile(r"/reports/\d+/$"))
    expect(page.locator("main")).to_contain_text("id-card.png")
    shot("report")
    page.goto(customer_url)

    # --- OCR: the MRZ check follows the typing; a field is corrected -----------------------------
    page.locator("#documents-panel article", has_text="id-card.png").get_by_role(
        "link", name="OCR fields"
    ).click()
    expect(page.get_by_role("heading", name="OCR results", exact=True)).to_be_visible()
    mrz_input = "textarea[name=mrz_raw_string]"
    mrz_check = page.locator("#mrz-check")
    expect(page.locator(mrz_input)).to_have_value("\n".join(IDENTITY.lines))
    expect(mrz_check).to_contain_text("every check passes")
    shot("ocr-page")

    # The first character of the document number (line 1, column 6): its check digit fails.
    position = IDENTITY.lines[0].index(IDENTITY.document_number)
    original = IDENTITY.document_number[0]
    select_in_textarea(page, mrz_input, position, position + 1)
    page.keyboard.type("Y")
    expect(mrz_check).to_contain_text("some checks fail")
    # The document number's own check digit, and the composite one that covers it.
    expect(mrz_check.locator(".check-bad", has_text="Check digit: document")).to_be_visible()
    shot("ocr-mrz-check-digit-invalid")
    select_in_textarea(page, mrz_input, position, position + 1)
    page.keyboard.type(original)
    expect(mrz_check).to_contain_text("every check passes")
    expect(mrz_check.locator(".check-bad")).to_have_count(0)

    # The issue date is printed on the card but not in the MRZ: the analyst types it in.
    page.get_by_label("Issue date").fill("2021-03-03")
    page.get_by_label("Reason for the correction").fill("Issue date printed on the card.")
    page.get_by_role("button", name="Save the correction").click()
    expect(page.locator(".messages")).to_contain_text("Correction saved.")
    history = page.locator("#ocr-history")
    expect(history.locator("article.correction")).to_have_count(1)
    expect(history).to_contain_text("2021-03-03")
    expect(page.locator("#ocr-row-issue_date")).to_contain_text("corrected")
    shot("ocr-corrected")

    # --- The analyst proposes approval ---------------------------------------------------------
    page.get_by_role("link", name="Back to the customer file").click()
    decisions = page.locator("#decisions-panel")
    decisions.get_by_label("Approve").check()
    decisions.get_by_label("Reason code").select_option("DOCS_OK")
    # The label reads "Reason *" (the required mark), beside "Reason code *": by name here.
    decisions.locator("textarea[name=reason]").fill("Identity card and Kbis consistent.")
    decisions.get_by_role("button", name="Propose").click()
    expect(decisions).to_contain_text("Awaiting review")
    expect(decisions).to_contain_text("You proposed this decision")
    shot("approval-proposed")

    # --- Four eyes: the proposer has no Confirm button, and a direct POST is refused -------------
    expect(decisions.get_by_role("button", name="Confirm")).to_have_count(0)
    proposal_id = decisions.locator("article.proposal").get_attribute("id")
    assert proposal_id and proposal_id.startswith("decision-"), proposal_id
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    refused = page.request.post(
        browser.url(f"/decisions/{proposal_id.removeprefix('decision-')}/confirm/"),
        form={"comment": "I confirm my own proposal."},
        headers={"X-CSRFToken": csrf, "Referer": customer_url},
    )
    assert refused.status == 403, (refused.status, refused.text()[:500])
    page.reload()
    expect(page.locator("#customer-status")).not_to_have_text("Approved")
    expect(page.locator("#decisions-panel")).to_contain_text("Awaiting review")

    # --- Log out; the reviewer follows a link to the file and confirms -------------------------
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    shot("logged-out")
    page.goto(customer_url)
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/customers/\d+/$"))
    log_in(page, "e2e-reviewer")
    expect(page).to_have_url(customer_url)
    decisions = page.locator("#decisions-panel")
    expect(decisions.get_by_role("button", name="Confirm")).to_be_visible()
    shot("reviewer-sees-the-proposal")
    decisions.get_by_label("Comment (required to send back)").fill("Checked: documents agree.")
    decisions.get_by_role("button", name="Confirm").click()
    expect(decisions.locator("h2 .badge")).to_have_text("Approved")
    expect(decisions).to_contain_text("Confirmed by e2e-reviewer")
    # The status at the top of the file follows without a reload (out-of-band swap)...
    expect(page.locator("#customer-status")).to_have_text("Approved")
    expect(page.locator("#customer-status")).to_have_count(1)
    # ...and is what the server says.
    page.reload()
    expect(page.locator("#customer-status")).to_have_text("Approved")
    shot("approved")

    # --- French ----------------------------------------------------------------------------------
    page.locator(".langswitch").get_by_role("button", name="FR").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page).to_have_url(customer_url)
    # The words are the catalogue's own, whatever the translator chose: "Log out" is French
    # even without ours (Django's admin catalogue has it); our own strings, such as the menu's
    # "Cases", need kyc/locale/fr compiled (`make messages`), checked once it translates them.
    with translation.override("fr"):
        log_out, cases = translation.gettext("Log out"), translation.gettext("Cases")
    assert log_out != "Log out"
    expect(page.locator(".topbar").get_by_role("button", name=log_out)).to_be_visible()
    if FRENCH_CATALOGUE.exists() and cases != "Cases":
        expect(page.locator(".mainnav").get_by_role("link", name=cases, exact=True)).to_be_visible()
    shot("french")

    assert browser.console_errors == [], browser.console_errors
