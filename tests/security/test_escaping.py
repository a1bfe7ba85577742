"""Hostile text in every field a person or a vendor can fill renders as text.

The world (tests/security/conftest.py) puts `<script>` and `onerror=` payloads in customer names,
file names, decision reasons and comments, alert names and notes, OCR readings and corrections,
report reasons/titles/details/summaries/raw payloads, officer and company names, job errors,
webhook headers and bodies, audit snapshots and user names. Each page that shows them must show
them escaped: the payload is there (as text), its markup is not. The crawl (test_crawl.py) checks
every page for the markup; this module makes sure the pages really do show the payloads.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.security.conftest import UNESCAPED_MARKERS

ESCAPED = "&lt;script&gt;alert("


def page(client, url: str, *, must_show: bool = True, **headers) -> str:
    response = client.get(url, **headers)
    assert response.status_code in (200, 286), (url, response.status_code)
    html = response.content.decode()
    for marker in UNESCAPED_MARKERS:
        assert marker not in html, f"{url} shows {marker!r} unescaped"
    if must_show:
        assert ESCAPED in html, f"{url} does not show the payload: the check proves nothing"
    return html


def test_app_pages_show_hostile_text_as_text(world):
    reviewer = world.client("reviewer")
    urls = [
        reverse("kyc:home"),
        reverse("kyc:home") + "?q=%3Cscript%3E",
        reverse("kyc:customer-detail", args=[world.individual.pk]),
        reverse("kyc:customer-detail", args=[world.company.pk]),
        reverse("kyc:customer-status", args=[world.individual.pk]),
        reverse("kyc:customer-timeline", args=[world.individual.pk]),
        reverse("kyc:customer-alerts", args=[world.company.pk]),
        reverse("kyc:alerts-inbox"),
        reverse("kyc:document-viewer", args=[world.passport.pk]),
        reverse("kyc:document-viewer", args=[world.statement.pk]),
        reverse("kyc:ocr-document", args=[world.passport.pk]),
        reverse("kyc:audit-log"),
        reverse("kyc:customer-export", args=[world.individual.pk]),
    ]
    for url in urls:
        page(reviewer, url)


@pytest.mark.parametrize(
    "source",
    [
        "doc_xray",
        "manager_xray",
        "finovox_risk",
        "mindee_passport",
        "mindee_international_id",
        "local_forensics",
        "local_mrz",
    ],
)
def test_every_report_layout_shows_vendor_payloads_as_text(world, source):
    html = page(
        world.client("analyst"), reverse("kyc:report-detail", args=[world.reports[source].pk])
    )
    # The raw payload is shown too, escaped inside its <pre>.
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_htmx_fragments_show_hostile_text_as_text(world):
    analyst = world.client("analyst")
    hx = {"HTTP_HX_REQUEST": "true"}
    page(analyst, reverse("kyc:home"), HTTP_HX_TARGET="case-table", **hx)
    page(analyst, reverse("kyc:customer-status", args=[world.individual.pk]), **hx)
    page(
        analyst,
        reverse("kyc:customer-alerts", args=[world.company.pk]),
        HTTP_HX_TARGET="alerts-timeline",
        **hx,
    )
    page(analyst, reverse("kyc:alerts-inbox"), HTTP_HX_TARGET="alerts-inbox-table", **hx)


def test_admin_pages_show_hostile_text_as_text(world):
    admin = world.client("admin")
    objects = {
        "customer": world.individual.pk,
        "document": world.passport.pk,
        "providerjob": world.job.pk,
        "report": world.reports["doc_xray"].pk,
        "officer": world.officer.pk,
        "manageralert": world.alert.pk,
        "ocrresult": world.ocr_result.pk,
        "ocrcorrection": world.correction.pk,
        "decision": world.open_decision.pk,
        "webhookevent": world.webhook.pk,
    }
    for model, pk in objects.items():
        page(admin, reverse(f"admin:kyc_{model}_change", args=[pk]))
        page(admin, reverse(f"admin:kyc_{model}_changelist"), must_show=False)
    page(admin, reverse("admin:kyc_customer_changelist"))
    page(admin, reverse("admin:kyc_auditevent_changelist"))


def test_search_terms_are_echoed_as_text(world):
    html = world.client("analyst").get(reverse("kyc:home"), {"q": "\"><script>alert('q')</script>"})
    assert "<script>alert('q')" not in html.content.decode()
