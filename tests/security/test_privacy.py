"""Data protection: retention (documents purged after the final decision), erasure of a customer
on request, and the export of a customer's complete file."""

from __future__ import annotations

import io
import json
import re
import zipfile
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.urls import reverse
from freezegun import freeze_time

from kyc import services
from kyc.models import (
    AuditEvent,
    Customer,
    Decision,
    Document,
    ManagerAlert,
    OcrCorrection,
    OcrResult,
    Officer,
    ProviderJob,
    Report,
)
from kyc.services import privacy
from kyc.services.decisions import ReasonCode
from tests.builders import (
    make_alert,
    make_job,
    make_ocr_correction,
    make_ocr_result,
    make_officer,
    make_officer_role,
    make_report,
)
from tests.factories import make_customer, make_document, make_user, pdf_bytes, png_bytes
from tests.security.test_corpus import stored_files

pytestmark = pytest.mark.django_db

LONG_AGO = "2019-06-03 10:00:00"


@pytest.fixture
def people(db):
    return {
        "analyst": make_user("ana", role="analyst"),
        "reviewer": make_user("rev", role="reviewer"),
        "admin": make_user("adm", role="admin", is_staff=True),
    }


def decide(customer, people, outcome="approve", reason_code=ReasonCode.DOCS_OK):
    decision = services.decision_propose(
        customer=customer,
        outcome=outcome,
        reason_code=reason_code,
        reason="Checked.",
        actor=people["analyst"],
    )
    return services.decision_confirm(decision=decision, actor=people["reviewer"], comment="ok")


def closed_case(people, *, when: str = LONG_AGO, outcome: str = "approve"):
    """A customer with two documents (one with a vendor report file), decided at `when`."""
    with freeze_time(when):
        customer = make_customer(actor=people["analyst"])
        passport = make_document(customer=customer, actor=people["analyst"])
        statement = make_document(
            customer=customer, content=pdf_bytes(), name="bank.pdf", kind="bank_statement"
        )
        report = make_report(document=statement, source="finovox_risk")
        report.attachment.save("finovox.pdf", ContentFile(pdf_bytes()))
        # The built-in engine's jobs ran long ago (their tasks do not run in tests).
        ProviderJob.objects.filter(request__customer=customer).update(status="completed")
        decide(customer, people, outcome=outcome)
    return customer, passport, statement, report


# ------------------------------------------------------------------------------------ retention


def test_retention_defaults_to_five_years(settings):
    assert settings.RETENTION_DAYS_AFTER_DECISION == 1825


def test_documents_are_purged_after_the_retention(people):
    customer, passport, statement, report = closed_case(people)
    files = {passport.file.name, statement.file.name, report.attachment.name}
    assert files <= stored_files() | {report.attachment.name}
    audit_before = list(AuditEvent.objects.order_by("pk").values())

    result = privacy.documents_purge_expired()

    assert sorted(result.documents) == sorted([passport.pk, statement.pk])
    assert result.customers == {customer.pk}
    assert result.attachments == 1
    for document in (passport, statement):
        document.refresh_from_db()
        assert document.status == Document.Status.PURGED
        assert not document.file
        assert document.sha256 and document.size  # the evidence of what was received stays
    report.refresh_from_db()
    assert not report.attachment
    assert report.reasons  # reports stay
    for name in files:
        assert not default_storage.exists(name)
    # Audit rows are kept as they were, and each purge is recorded.
    assert list(AuditEvent.objects.order_by("pk").values())[: len(audit_before)] == audit_before
    purges = AuditEvent.objects.filter(action="document.purge")
    assert sorted(int(e.object_id) for e in purges) == sorted([passport.pk, statement.pk])
    event = purges.get(object_id=str(statement.pk))
    assert event.actor is None
    assert event.customer == customer
    assert event.after["reason"] == "retention"
    assert event.after["files_deleted"] == 2
    assert event.after["retention_days"] == 1825


def test_the_purge_is_idempotent(people):
    closed_case(people)
    privacy.documents_purge_expired()
    events = AuditEvent.objects.count()

    again = privacy.documents_purge_expired()

    assert again.documents == []
    assert AuditEvent.objects.count() == events


def test_a_dry_run_changes_nothing(people):
    _customer, passport, statement, _report = closed_case(people)
    before = stored_files()
    events = AuditEvent.objects.count()

    result = privacy.documents_purge_expired(dry_run=True)

    assert sorted(result.documents) == sorted([passport.pk, statement.pk])
    assert result.attachments == 1
    assert stored_files() == before
    assert AuditEvent.objects.count() == events
    assert not Document.objects.filter(status=Document.Status.PURGED).exists()


def test_recent_open_and_non_final_cases_are_kept(people):
    recent, *_ = closed_case(people, when="2026-01-05 10:00:00")
    info, *_ = closed_case(people)
    Decision.objects.filter(customer=info).update(outcome="request_info")
    Customer.objects.filter(pk=info.pk).update(status="info_requested")
    with freeze_time(LONG_AGO):
        open_case = make_customer()
        make_document(customer=open_case)

    result = privacy.documents_purge_expired()

    assert result.documents == []
    assert not Document.objects.filter(status=Document.Status.PURGED).exists()
    assert recent.documents.count() == 2


def test_documents_uploaded_after_the_final_decision_wait(people):
    customer, *_ = closed_case(people)
    later = make_document(customer=customer, name="renewal.png")

    result = privacy.documents_purge_expired()

    assert later.pk not in result.documents
    later.refresh_from_db()
    assert later.file and default_storage.exists(later.file.name)


def test_the_retention_is_configurable(people, settings):
    closed_case(people, when="2026-01-05 10:00:00")
    assert privacy.documents_purge_expired().documents == []

    settings.RETENTION_DAYS_AFTER_DECISION = 30
    assert len(privacy.documents_purge_expired().documents) == 2


def test_a_document_still_being_analysed_is_left_for_the_next_run(people):
    _customer, passport, _statement, _report = closed_case(people)
    make_job(document=passport, provider="finovox", operation="risk", status="processing")

    result = privacy.documents_purge_expired()

    assert passport.pk in result.skipped_busy
    assert passport.pk not in result.documents


def test_a_purged_document_is_shown_as_purged_and_cannot_be_analysed_again(client, people):
    customer, passport, _statement, _report = closed_case(people)
    job = make_job(document=passport, provider="local", operation="identity", status="failed")
    privacy.documents_purge_expired()
    client.force_login(people["analyst"])

    viewer = client.get(reverse("kyc:document-viewer", args=[passport.pk]))
    assert "file was purged" in viewer.text
    assert client.get(reverse("kyc:document-file", args=[passport.pk])).status_code == 404
    assert client.get(reverse("kyc:customer-detail", args=[customer.pk])).status_code == 200
    with pytest.raises(ValidationError, match="purged"):
        services.job_retry(job_id=job.pk, actor=people["analyst"])


def test_the_purge_command(people):
    closed_case(people)
    out = StringIO()

    call_command("purge_documents", "--dry-run", stdout=out)
    assert "would purge 2 document(s) of 1 customer(s) and 1 report file(s)" in out.getvalue()
    assert not Document.objects.filter(status="purged").exists()

    out = StringIO()
    call_command("purge_documents", stdout=out)
    assert "purged 2 document(s)" in out.getvalue()
    assert Document.objects.filter(status="purged").count() == 2

    out = StringIO()
    call_command("purge_documents", "--days", "100000", stdout=out)
    assert "purged 0 document(s)" in out.getvalue()


# -------------------------------------------------------------------------------------- erasure


MARIE = "Marie-Thérèse"
DUPONT = "Dupont-Erasable"


def personal_case(people, vendor_id: str = "mindee-42"):
    """An individual with everything that can hold personal data."""
    customer = make_customer(
        actor=people["analyst"], first_name=MARIE, last_name=DUPONT, nationality="BEL"
    )
    passport = make_document(
        customer=customer, name=f"passport {DUPONT}.png", actor=people["analyst"]
    )
    report = make_report(
        document=passport,
        source="mindee_passport",
        external_id=vendor_id,
        reasons=[{"code": "name", "title": "Name read", "detail": f"read {DUPONT}", "level": None}],
        summary={"fields": {"surname": {"value": DUPONT}}},
        raw={"surname": DUPONT, "given_names": [MARIE]},
    )
    report.attachment.save("mindee.pdf", ContentFile(pdf_bytes()))
    ocr = make_ocr_result(document=passport, fields={"last_name": DUPONT, "first_name": MARIE})
    make_ocr_correction(
        ocr_result=ocr,
        author=people["analyst"],
        changes={"first_name": {"old": "MARIE", "new": MARIE}},
        reason=f"The passport says {MARIE}",
        sync_status="pending",
    )
    officer = make_officer(request=customer.requests.get(), last_name=DUPONT, first_name=MARIE)
    role = make_officer_role(officer=officer)
    alert = make_alert(role=role, customer=customer)
    services.alert_review(
        alert=alert, action="dismiss", note=f"{DUPONT} is a homonym", actor=people["analyst"]
    )
    services.decision_propose(
        customer=customer,
        outcome="reject",
        reason_code=ReasonCode.ID_MISMATCH,
        reason=f"{DUPONT}'s photo differs",
        actor=people["analyst"],
    )
    make_job(document=passport, provider="finovox", operation="risk", status="processing")
    ProviderJob.objects.filter(document=passport, provider="local").update(
        last_error=f"could not read {DUPONT}"
    )
    return customer


def test_an_administrator_erases_a_customer(people):
    customer = personal_case(people)
    files = stored_files() | {r.attachment.name for r in Report.objects.exclude(attachment="")}
    assert files
    audit_before = list(AuditEvent.objects.order_by("pk").values())

    privacy.customer_erase(customer=customer, reason="Request of 2 March", actor=people["admin"])

    customer.refresh_from_db()
    assert customer.erased_at is not None
    assert (customer.first_name, customer.last_name) == ("", f"ERASED-{customer.pk}")
    assert customer.birth_date is None and customer.nationality == ""
    # Files: all gone.
    assert stored_files() == set()
    for name in files:
        assert not default_storage.exists(name)
    document = Document.objects.get(customer=customer)
    assert (document.status, document.file.name, document.original_name) == (
        "purged",
        "",
        "[erased]",
    )
    # Nothing personal left outside the audit trail.
    rows = json.dumps(
        [
            list(Customer.objects.filter(pk=customer.pk).values()),
            list(Document.objects.filter(customer=customer).values()),
            list(Report.objects.filter(request__customer=customer).values()),
            list(OcrResult.objects.values()),
            list(OcrCorrection.objects.values()),
            list(Officer.objects.values()),
            list(ManagerAlert.objects.values()),
            list(Decision.objects.filter(customer=customer).values()),
            list(ProviderJob.objects.filter(request__customer=customer).values()),
        ],
        default=str,
    )
    assert DUPONT not in rows and MARIE not in rows
    report = Report.objects.get(external_id="mindee-42")
    assert report.reasons == [{"code": "name", "title": "Name read", "level": None}]
    assert (report.raw, report.summary, report.attachment.name) == ({}, {}, "")
    correction = OcrCorrection.objects.get()
    assert correction.changes == {"first_name": {"old": None, "new": None}}
    assert correction.sync_status == "failed"  # never sent to Artemis now
    assert not ProviderJob.objects.filter(status__in=ProviderJob.ACTIVE_STATUSES).exists()
    assert Decision.objects.get(customer=customer).status == "void"
    # The audit trail: untouched, plus one row that says why and holds nothing personal.
    assert list(AuditEvent.objects.order_by("pk").values())[: len(audit_before)] == audit_before
    erase = AuditEvent.objects.get(action="customer.erase")
    assert erase.actor == people["admin"]
    assert erase.after["reason"] == "Request of 2 March"
    assert erase.after["files_deleted"] == 2
    assert erase.after["vendor_references"]["vendor_report_ids"] == ["mindee_passport:mindee-42"]
    assert DUPONT not in json.dumps(erase.after) and erase.before is None


def test_an_erased_customer_disappears_from_every_page(client, people):
    customer = personal_case(people)
    privacy.customer_erase(customer=customer, reason="Request", actor=people["admin"])
    client.force_login(people["reviewer"])

    assert client.get(reverse("kyc:customer-detail", args=[customer.pk])).status_code == 404
    for url in (reverse("kyc:home"), reverse("kyc:alerts-inbox") + "?status=all"):
        assert DUPONT.upper() not in client.get(url).text
    search = client.get(reverse("kyc:home"), {"q": DUPONT})
    assert DUPONT.upper() not in search.text
    document = Document.objects.get(customer=customer)
    assert client.get(reverse("kyc:document-viewer", args=[document.pk])).status_code == 404


def test_a_company_keeps_its_siren_unless_asked(people):
    company = make_customer(kind="company", legal_name="Boulangerie Dupont")
    officer = make_officer(request=company.requests.get(), last_name=DUPONT)
    privacy.customer_erase(customer=company, reason="Request", actor=people["admin"])
    company.refresh_from_db()
    officer.refresh_from_db()
    assert (company.legal_name, company.siren) == ("Boulangerie Dupont", "732829320")
    assert officer.last_name == f"ERASED-{officer.pk}"

    sole_trader = make_customer(kind="company", legal_name="Jean Dupont EI")
    privacy.customer_erase(
        customer=sole_trader, reason="Request", actor=people["admin"], erase_company_identity=True
    )
    sole_trader.refresh_from_db()
    assert sole_trader.legal_name == f"ERASED-{sole_trader.pk}"
    assert sole_trader.siren == "000000000"
    assert sole_trader.requests.get().code_id == "000000000"


def test_only_administrators_erase_and_a_reason_is_required(people):
    customer = personal_case(people)
    with pytest.raises(PermissionDenied):
        privacy.customer_erase(customer=customer, reason="x", actor=people["reviewer"])
    with pytest.raises(ValidationError, match="Say why"):
        privacy.customer_erase(customer=customer, reason="  ", actor=people["admin"])
    customer.refresh_from_db()
    assert customer.erased_at is None
    assert customer.last_name == DUPONT

    privacy.customer_erase(customer=customer, reason="Request", actor=people["admin"])
    with pytest.raises(ValidationError, match="erased already"):
        privacy.customer_erase(customer=customer, reason="Again", actor=people["admin"])


def test_a_storage_failure_erases_nothing_and_a_second_run_finishes(people, monkeypatch):
    customer = personal_case(people)
    calls = []
    original = privacy._delete_file

    def flaky_delete(name):
        calls.append(name)
        if len(calls) == 2:
            raise OSError("storage down")
        original(name)

    monkeypatch.setattr(privacy, "_delete_file", flaky_delete)
    with pytest.raises(OSError):
        privacy.customer_erase(customer=customer, reason="Request", actor=people["admin"])
    customer.refresh_from_db()
    assert customer.erased_at is None
    assert customer.last_name == DUPONT
    assert not AuditEvent.objects.filter(action="customer.erase").exists()

    monkeypatch.setattr(privacy, "_delete_file", original)
    privacy.customer_erase(customer=customer, reason="Request", actor=people["admin"])
    assert stored_files() == set()


def test_the_erase_page_asks_for_a_reason_and_a_confirmation(client, people):
    customer = personal_case(people)
    url = reverse("kyc:customer-erase", args=[customer.pk])
    client.force_login(people["admin"])

    page = client.get(url)
    assert page.status_code == 200
    assert "2 stored files" in page.text
    assert "audit trail is kept" in page.text

    refused = client.post(url, {"reason": "", "confirm": ""})
    assert refused.status_code == 200
    assert "This field is required." in refused.text
    assert Customer.objects.get(pk=customer.pk).erased_at is None

    done = client.post(url, {"reason": "Request of 2 March", "confirm": "on"}, follow=True)
    assert done.redirect_chain[-1][0] == reverse("kyc:home")
    assert f"Customer file #{customer.pk} erased" in done.text
    assert Customer.objects.get(pk=customer.pk).erased_at is not None


@pytest.mark.parametrize("role", ["analyst", "reviewer"])
def test_only_administrators_see_the_erase_page(client, people, role):
    customer = personal_case(people)
    client.force_login(people[role])

    url = reverse("kyc:customer-erase", args=[customer.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"reason": "x", "confirm": "on"}).status_code == 403
    assert Customer.objects.get(pk=customer.pk).erased_at is None
    detail = client.get(reverse("kyc:customer-detail", args=[customer.pk]))
    assert url not in detail.text


# --------------------------------------------------------------------------------------- export


def download(client, customer, **data):
    response = client.post(
        reverse("kyc:customer-export", args=[customer.pk]),
        {"purpose": "regulator", "reference": "ACPR 2026-118", **data},
    )
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith(
        f'attachment; filename="customer-{customer.pk}-'
    )
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_a_reviewer_exports_the_complete_file(client, people):
    customer = personal_case(people)
    decided = make_customer(kind="company", legal_name="Other SAS")  # not in the export
    make_document(customer=decided, name="other.png")
    client.force_login(people["reviewer"])

    archive = download(client, customer)

    names = archive.namelist()
    assert {"README.txt", "customer-file.json"} <= set(names)
    data = json.loads(archive.read("customer-file.json"))
    assert data["customer"]["last_name"] == DUPONT
    assert data["purpose"] == "regulator" and data["reference"] == "ACPR 2026-118"
    assert data["exported_by"] == "rev"
    document = Document.objects.get(customer=customer)
    row = data["documents"][0]
    assert row["original_name"] == f"passport {DUPONT}.png"
    assert archive.read(row["file_in_archive"]) == default_storage.open(document.file.name).read()
    report = next(r for r in data["reports"] if r["vendor_report_id"] == "mindee-42")
    assert report["raw"] == {"surname": DUPONT, "given_names": [MARIE]}
    attachment = Report.objects.get(external_id="mindee-42").attachment.name
    assert archive.read(report["file_in_archive"]) == default_storage.open(attachment).read()
    assert data["ocr_results"][0]["corrections"][0]["changes"]["first_name"]["new"] == MARIE
    assert data["company_managers"][0]["last_name"] == DUPONT
    assert data["company_managers"][0]["companies"][0]["alerts"][0]["review_note"]
    assert data["decisions"][0]["reason"] == f"{DUPONT}'s photo differs"
    actions = [event["action"] for event in data["audit_events"]]
    assert "customer.create" in actions and "customer.export" in actions
    assert "other.png" not in json.dumps(data)
    assert not any("other" in name for name in names)
    # The export is audited with its purpose.
    event = AuditEvent.objects.get(action="customer.export")
    assert event.actor == people["reviewer"]
    assert event.after == {"purpose": "regulator", "reference": "ACPR 2026-118"}


def test_archive_member_names_are_safe(client, people):
    customer = make_customer()
    for name in ("../../etc/passwd.png", "..\\evil.png", ".hidden.png", "Ünïcödé 名前.png"):
        make_document(customer=customer, name=name, content=png_bytes(color="red"))
    client.force_login(people["reviewer"])

    archive = download(client, customer)

    for name in archive.namelist():
        assert re.fullmatch(r"[A-Za-z0-9._-]+(/[0-9]+-[A-Za-z0-9._-]+)?", name), name
        assert ".." not in name.split("/")


def test_purged_documents_are_listed_without_a_file(client, people):
    customer, passport, _statement, _report = closed_case(people)
    privacy.documents_purge_expired()
    client.force_login(people["reviewer"])

    data = json.loads(download(client, customer).read("customer-file.json"))

    row = next(d for d in data["documents"] if d["id"] == passport.pk)
    assert row["status"] == "purged" and row["file_in_archive"] is None


def test_the_export_needs_a_purpose_and_a_reference(client, people):
    customer = personal_case(people)
    client.force_login(people["reviewer"])
    url = reverse("kyc:customer-export", args=[customer.pk])

    assert client.get(url).status_code == 200
    response = client.post(url, {"purpose": "regulator", "reference": ""})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert not AuditEvent.objects.filter(action="customer.export").exists()


def test_analysts_cannot_export(client, people):
    customer = personal_case(people)
    client.force_login(people["analyst"])
    url = reverse("kyc:customer-export", args=[customer.pk])

    assert client.get(url).status_code == 403
    assert client.post(url, {"purpose": "regulator", "reference": "x"}).status_code == 403
    assert not AuditEvent.objects.filter(action="customer.export").exists()
    with pytest.raises(PermissionDenied):
        privacy.customer_export_record(
            customer=customer, actor=people["analyst"], purpose="regulator", reference="x"
        )


def test_an_erased_customer_cannot_be_exported(client, people):
    customer = personal_case(people)
    privacy.customer_erase(customer=customer, reason="Request", actor=people["admin"])
    client.force_login(people["admin"])

    response = client.post(
        reverse("kyc:customer-export", args=[customer.pk]),
        {"purpose": "regulator", "reference": "x"},
    )
    assert response.status_code == 404


def test_the_export_issues_the_same_queries_whatever_the_rows(client, people):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    small = personal_case(people)
    large = personal_case(people, vendor_id="mindee-43")
    for n in range(6):
        document = make_document(customer=large, name=f"d{n}.png", content=png_bytes(color="red"))
        make_report(document=document)
        make_ocr_result(document=document)
    client.force_login(people["reviewer"])

    def count(customer):
        with CaptureQueriesContext(connection) as captured:
            download(client, customer)
        # The idle session is re-saved at most once a minute: leave that write out.
        return [
            q["sql"]
            for q in captured
            if "django_session" not in q["sql"] and "SAVEPOINT" not in q["sql"]
        ]

    small_sql, large_sql = count(small), count(large)
    assert len(large_sql) == len(small_sql), "\n".join(large_sql)


def test_the_customer_file_links_export_and_erasure_by_role(client, people):
    customer = make_customer()
    export = reverse("kyc:customer-export", args=[customer.pk])
    erase = reverse("kyc:customer-erase", args=[customer.pk])
    seen = {}
    for role in ("analyst", "reviewer", "admin"):
        client.force_login(people[role])
        html = client.get(reverse("kyc:customer-detail", args=[customer.pk])).text
        seen[role] = (export in html, erase in html)
    assert seen == {
        "analyst": (False, False),
        "reviewer": (True, False),
        "admin": (True, True),
    }


def test_the_admin_cannot_delete_or_fake_an_erasure(client, people):
    customer = personal_case(people)
    document = Document.objects.get(customer=customer)
    client.force_login(make_user("root", role="admin", is_staff=True, is_superuser=True))

    for model, pk in (("customer", customer.pk), ("document", document.pk)):
        url = reverse(f"admin:kyc_{model}_delete", args=[pk])
        assert client.get(url).status_code == 403
        assert client.post(url, {"post": "yes"}).status_code == 403
    change = client.get(reverse("admin:kyc_customer_change", args=[customer.pk]))
    assert 'name="erased_at_0"' not in change.text
    assert Customer.objects.filter(pk=customer.pk, erased_at__isnull=True).exists()
