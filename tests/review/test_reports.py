"""Report pages, one layout per source: readable, complete, and every vendor string escaped."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from django.core.files.base import ContentFile

from demo import payloads
from demo.bench import report_fields
from kyc.models import Report
from kyc.providers.finovox import risk_report_data
from kyc.providers.october import OctoberReport, doc_xray_report
from tests.builders import make_alert, make_job, make_officer, make_officer_role, make_report
from tests.factories import make_customer, make_document, pdf_bytes

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script>'
ESCAPED = "&lt;script&gt;alert("


def store(data, *, customer=None, document=None) -> Report:
    """A Report as the job engine stores a provider's ReportData (the columns of `report_fields`,
    which tests/test_seed_bench.py holds to the engine's)."""
    customer = customer or make_customer()
    report = Report.objects.create(
        request=customer.requests.get(), document=document, **report_fields(data)
    )
    if data.attachment is not None:
        name, content = data.attachment
        report.attachment.save(name, ContentFile(content), save=True)
    return report


def doc_xray_payload(text: str = "") -> dict:
    """The documented Doc X-Ray report (seed excerpt), with `text` put in every string."""
    return {
        "id": "rep-1",
        "request": "req-1",
        "source": "doc_xray",
        "raw": {
            "type": [
                {"class": "bank_statement" + text, "confidence": 0.9999703168869019},
                {"class": "invoice", "confidence": 0.00002},
            ],
            "reasons": [
                {
                    "criteria": {
                        "creationDate": "2021-09-01 00:52:16",
                        "modDate": "2021-09-03 12:25:51",
                        "lastSigningTime": None,
                        "modCreationDiff": 214415000,
                    },
                    "sentiment": "bad",
                    "message": {
                        "title": "Creation/Modification Time" + text,
                        "content": "modified 2.48 days after creation" + text,
                    },
                    "typeCode": "time",
                    "level": "suspicious",
                },
                {
                    "criteria": {"fonts": ["Arial", "Comic Sans" + text]},
                    "sentiment": "bad",
                    "message": {"title": "Inconsistent font", "content": "two fonts" + text},
                    "typeCode": "font",
                    "level": "fraudulent",
                },
                {
                    "criteria": {"producer": "LibreOffice" + text},
                    "sentiment": "good",
                    "message": {"title": "Producer", "content": "known producer"},
                    "typeCode": "producer",
                    "level": None,
                },
            ],
            "flag": {"color": "orange", "meta": ["time" + text], "value": 0.018018018018018018},
        },
    }


def doc_xray(text: str = "", **kwargs) -> Report:
    payload = doc_xray_payload(text)
    data = doc_xray_report(
        OctoberReport(
            id="rep-1", source="doc_xray", request_id="req-1", raw=payload["raw"], payload=payload
        )
    )
    return store(data, **kwargs)


def finovox_body(text: str = "", pdf: bytes | None = None) -> dict:
    body = payloads.finovox_result(
        name="statement.pdf" + text,
        global_risk="high",
        risks={
            "software": "high",
            "metadata": "medium",
            "datastructure": "low",
            "vision": "low",
            "coherence": "medium",
        },
        document_quality="acceptable" + text,
        software="photoshop" + text,
        explanation={"en": "Edited with Photoshop." + text, "fr": "Modifié avec Photoshop."},
    )
    if pdf is not None:
        body["pdf_report"] = {"en": base64.b64encode(pdf).decode()}
    return body


def finovox(text: str = "", pdf: bytes | None = None, **kwargs) -> Report:
    return store(risk_report_data(finovox_body(text, pdf), document_id=None), **kwargs)


def mindee(text: str = "") -> Report:
    return make_report(
        source=Report.Source.MINDEE_PASSPORT,
        flag_color="orange",
        flag_value="low confidence" + text,
        reasons=[
            {
                "code": "mindee_low_confidence",
                "title": "Low confidence: birth_date" + text,
                "detail": "Read as '1985-04-12'" + text,
                "level": None,
                "sentiment": "negative",
                "criteria": {"field": "birth_date", "confidence": 0.42},
            }
        ],
        summary={
            "product": "passport 1.1",
            "fields": {
                "last_name": {"value": "DUPONT" + text, "confidence": 0.99},
                "first_name": {"value": ["MARIE", "ANNE" + text], "confidence": 0.97},
                "birth_date": {"value": "1985-04-12", "confidence": 0.42},
                "document_number" + text: {"value": "X4RTBPFW4", "confidence": None},
            },
            "confidence_threshold": 0.8,
        },
        raw={"document": {"inference": {"prediction": {"surname": {"value": "DUPONT" + text}}}}},
    )


def local(text: str = "", source=Report.Source.LOCAL_FORENSICS) -> Report:
    return make_report(
        source=source,
        flag_color="red",
        flag_value="0.650",
        score=0.65,
        reasons=[
            {
                "code": "time",
                "title": "Creation/Modification Time" + text,
                "detail": "modified 3 hours before it was created" + text,
                "level": "fraudulent",
                "sentiment": "negative",
                "criteria": {
                    "creationDate": "2024-03-01T10:00:00+01:00",
                    "modDate": "2024-03-01T07:00:00+01:00",
                    "lastSigningTime": None,
                    "modCreationDiff": -10800000,
                },
            },
            {
                "code": "software",
                "title": "Editing software",
                "detail": "GIMP" + text,
                "level": "suspicious",
                "sentiment": "negative",
                "criteria": {"producer": "GIMP 2.10" + text},
            },
        ],
        summary={"meta": ["time", "software" + text], "content_type": "application/pdf"},
        raw={"findings": [{"title": text or "x"}], "flag": {"color": "red"}},
    )


def manager_xray(text: str = "") -> Report:
    customer = make_customer(kind="company")
    request = customer.requests.get()
    report = make_report(
        request=request,
        source=Report.Source.MANAGER_XRAY,
        flag_color="red",
        flag_value="high",
        reasons=[],
        summary={"persons": 1, "companies": 1, "alerts": {"low": 0, "medium": 0, "high": 1}},
        raw={"persons": [{"lastname": "Doe" + text}]},
    )
    officer = make_officer(request=request, report=report, last_name="Doe" + text)
    role = make_officer_role(officer=officer, company_name="Holding" + text)
    make_alert(role=role, name="Liquidation" + text)
    return report


BUILDERS = {
    "doc_xray": doc_xray,
    "finovox": finovox,
    "mindee": mindee,
    "local_forensics": local,
    "local_mrz": lambda text="": local(text, source=Report.Source.LOCAL_MRZ),
    "manager_xray": manager_xray,
    "generic": lambda text="": make_report(
        source="some_future_source",
        reasons=[{"code": "x", "title": text, "detail": text, "level": None, "criteria": {}}],
        summary={"note": "n" + text},
        raw={"x": text},
    ),
}


# ----------------------------------------------------------------------------------- escaping


@pytest.mark.parametrize("source", list(BUILDERS))
def test_every_vendor_string_is_escaped(analyst_client, source):
    report = BUILDERS[source](XSS)
    response = analyst_client.get(f"/reports/{report.pk}/")
    assert response.status_code == 200
    html = response.text
    assert "<script>alert" not in html
    assert ESCAPED in html


@pytest.mark.parametrize("source", list(BUILDERS))
def test_the_raw_payload_is_collapsed_and_pretty_printed(analyst_client, source):
    report = BUILDERS[source]()
    html = analyst_client.get(f"/reports/{report.pk}/").text
    assert '<section class="card" id="report-raw"' in html
    details = html[html.index('id="report-raw"') :]
    assert "<details>" in details and "<details open" not in details
    # Indented JSON, escaped (quotes become &quot;).
    first_key = next(iter(report.raw))
    assert f"\n  &quot;{first_key}&quot;" in details


# ----------------------------------------------------------------------------------- Doc X-Ray


def test_doc_xray_page_shows_classification_flag_and_grouped_reasons(analyst_client):
    report = doc_xray()
    html = analyst_client.get(f"/reports/{report.pk}/").text
    assert "bank_statement" in html
    assert "100 %" in html  # 0.99997 as a percentage
    assert "flag-orange" in html
    assert "0.018018018018018018" in html
    # Grouped worst first.
    fraudulent = html.index('id="reasons-fraudulent"')
    suspicious = html.index('id="reasons-suspicious"')
    informational = html.index('id="reasons-info"')
    assert fraudulent < suspicious < informational
    assert html.index("Inconsistent font") < html.index("Creation/Modification Time")
    # Criteria made readable: dates as dates, the gap as a human duration.
    assert 'datetime="2021-09-01T00:52:16"' in html
    assert 'datetime="2021-09-03T12:25:51"' in html
    assert "2\xa0days, 11\xa0hours" in html
    assert "Last signed" in html
    assert "modified 2.48 days after creation" in html
    assert "Comic Sans" in html


def test_builtin_engine_reports_use_the_doc_xray_layout(analyst_client):
    report = local()
    html = analyst_client.get(f"/reports/{report.pk}/").text
    assert 'id="reasons-fraudulent"' in html
    assert 'id="reasons-suspicious"' in html
    assert "Modified before creation" in html
    assert "3\xa0hours" in html
    assert "GIMP 2.10" in html
    assert 'id="report-classification"' in html


def test_criteria_of_unknown_shapes_do_not_break_the_page(analyst_client):
    report = make_report(
        reasons=[
            {"title": "odd", "level": "weird", "criteria": ["a", "b"]},
            "a bare string",
            {"title": "dates", "criteria": {"creationDate": "not a date", "modDate": 12}},
        ],
        summary=["not", "a", "dict"],
        raw=[1, 2, 3],
    )
    html = analyst_client.get(f"/reports/{report.pk}/").text
    assert "odd" in html and "a bare string" in html and "not a date" in html
    # An unknown level is a finding, shown with the suspicious ones.
    assert 'id="reasons-suspicious"' in html


# ------------------------------------------------------------------------------------- Finovox


def test_finovox_page_shows_global_and_sub_risks_quality_software_and_explanation(analyst_client):
    report = finovox()
    html = analyst_client.get(f"/reports/{report.pk}/").text
    for label in ("Software", "Metadata", "Data structure", "Vision", "Coherence"):
        assert f'<th scope="row">{label}</th>' in html
    assert html.count("flag flag-red") >= 2  # global and software
    assert "acceptable" in html
    assert "photoshop" in html
    assert "Edited with Photoshop." in html
    assert "Modifié avec Photoshop." in html
    assert "sent no PDF report" in html


def test_finovox_pdf_report_is_served_through_a_permission_checked_view(
    analyst_client, client, nobody
):
    pdf = pdf_bytes()
    report = finovox(pdf=pdf)
    html = analyst_client.get(f"/reports/{report.pk}/").text
    assert f"/reports/{report.pk}/file/" in html
    response = analyst_client.get(f"/reports/{report.pk}/file/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == pdf
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]

    client.force_login(nobody)
    assert client.get(f"/reports/{report.pk}/file/").status_code == 404
    client.logout()
    assert client.get(f"/reports/{report.pk}/file/").status_code == 302  # to the login page


def test_a_report_without_attachment_has_no_file(analyst_client):
    report = finovox()
    assert analyst_client.get(f"/reports/{report.pk}/file/").status_code == 404


def test_opening_the_pdf_report_of_an_identity_document_is_audited(analyst_client, analyst):
    from kyc.models import AuditEvent

    customer = make_customer()
    document = make_document(customer=customer, kind="passport")
    report = finovox(pdf=pdf_bytes(), customer=customer, document=document)
    analyst_client.get(f"/reports/{report.pk}/file/")
    assert AuditEvent.objects.filter(
        action="report.download", actor=analyst, object_id=str(report.pk)
    ).exists()


# -------------------------------------------------------------------------------------- Mindee


def test_mindee_page_lists_fields_with_confidence(analyst_client):
    report = mindee()
    html = analyst_client.get(f"/reports/{report.pk}/").text
    assert "Last name" in html and "DUPONT" in html
    assert "MARIE, ANNE" in html
    assert "99 %" in html
    assert "42 %" in html
    assert 'class="row-warn"' in html  # 0.42 is under the 0.8 threshold
    assert "Low confidence: birth_date" in html


# ------------------------------------------------------------------------------- Manager X-Ray


def test_manager_xray_page_counts_alerts_and_links_the_alerts_page(analyst_client):
    report = manager_xray()
    customer = report.request.customer
    html = analyst_client.get(f"/reports/{report.pk}/").text
    assert "High: 1" in html
    assert f"/customers/{customer.pk}/alerts/" in html
    assert "DOE" in html and "Holding" in html


# -------------------------------------------------------------------------------------- access


def test_a_user_without_role_cannot_open_a_report(client, nobody):
    report = make_report()
    client.force_login(nobody)
    assert client.get(f"/reports/{report.pk}/").status_code == 404


def test_a_report_of_an_erased_customer_is_gone(analyst_client):
    report = make_report()
    customer = report.request.customer
    type(customer).objects.filter(pk=customer.pk).update(erased_at=dt.datetime.now(dt.UTC))
    assert analyst_client.get(f"/reports/{report.pk}/").status_code == 404


def test_the_customer_file_links_each_report_summary_line_to_its_page(analyst_client):
    customer = make_customer()
    report = make_report(request=customer.requests.get())
    html = analyst_client.get(f"/customers/{customer.pk}/").text
    assert f'href="/reports/{report.pk}/"' in html


def test_the_live_status_fragment_keeps_the_report_links(analyst_client):
    customer = make_customer()
    document = make_document(customer=customer)
    make_job(request=customer.requests.get(), document=document, status="completed")
    report = make_report(request=customer.requests.get(), document=document)
    html = analyst_client.get(
        f"/customers/{customer.pk}/status/", headers={"HX-Request": "true"}
    ).text
    assert f'href="/reports/{report.pk}/"' in html


def test_report_page_json_is_valid_after_unescaping(analyst_client):
    import html as html_lib

    report = doc_xray(XSS)
    page = analyst_client.get(f"/reports/{report.pk}/").text
    start = page.index('<pre class="raw-json">') + len('<pre class="raw-json">')
    end = page.index("</pre>", start)
    assert json.loads(html_lib.unescape(page[start:end])) == report.raw
