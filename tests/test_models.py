"""Database constraints of the domain model, hit for real (no service in the way).

Each refusal is an IntegrityError raised by the database inside its own savepoint, so the test
can go on using the connection afterwards and prove the good case still works.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from kyc.models import (
    AnalysisRequest,
    AuditEvent,
    Customer,
    Decision,
    Document,
    ManagerAlert,
    OcrCorrection,
    OcrResult,
    Officer,
    OfficerRole,
    ProviderJob,
    Report,
    WebhookEvent,
)


def refused(create) -> None:
    """The database refuses the write; the savepoint keeps the test's transaction usable."""
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture
def user(db):
    return User.objects.create_user("modeluser", password="pw-for-tests-only")


@pytest.fixture
def other_user(db):
    return User.objects.create_user("otheruser", password="pw-for-tests-only")


@pytest.fixture
def company(db):
    return Customer.objects.create(kind="company", legal_name="Acme Industries", siren="732829320")


@pytest.fixture
def person(db):
    return Customer.objects.create(kind="individual", last_name="Dupont", first_name="Marie")


@pytest.fixture
def analysis_request(company):
    return AnalysisRequest.objects.create(
        customer=company, code_type="siren", code_id=company.siren
    )


@pytest.fixture
def document(analysis_request):
    return make_document(analysis_request, sha256="a" * 64)


def make_document(analysis_request, **overrides) -> Document:
    values = {
        "request": analysis_request,
        "customer": analysis_request.customer,
        "kind": "passport",
        "original_name": "passport.png",
        "size": 1234,
        "sha256": "b" * 64,
        "content_type": "image/png",
    }
    values.update(overrides)
    return Document.objects.create(**values)


@pytest.fixture
def officer_role(analysis_request):
    officer = Officer.objects.create(request=analysis_request, last_name="Martin")
    return OfficerRole.objects.create(officer=officer, company_name="Acme", siren="732829320")


# ------------------------------------------------------------------------------------ customer


@pytest.mark.parametrize("siren", ["73282932", "73282932A", "7328 2932"])
def test_siren_that_is_not_nine_digits_is_refused(db, siren):
    refused(lambda: Customer.objects.create(kind="company", legal_name="Acme", siren=siren))
    assert not Customer.objects.exists()


def test_siren_constraint_speaks_to_the_analyst_through_full_clean(db):
    customer = Customer(kind="company", legal_name="Acme", siren="7328")
    with pytest.raises(ValidationError) as excinfo:
        customer.full_clean()
    assert "A SIREN is exactly nine digits." in excinfo.value.messages


@pytest.mark.parametrize("siret", ["7328293200001", "7328293200001X", "732829320000123"])
def test_siret_that_is_not_fourteen_digits_is_refused(db, siret):
    # 15 characters exceed max_length: PostgreSQL says DataError, so only ≤14 chars go to the DB.
    if len(siret) > 14:
        with pytest.raises(ValidationError):
            Customer(kind="company", legal_name="Acme", siren="732829320", siret=siret).full_clean()
        return
    refused(
        lambda: Customer.objects.create(
            kind="company", legal_name="Acme", siren="732829320", siret=siret
        )
    )


def test_company_with_fourteen_digit_siret_is_accepted(db):
    customer = Customer.objects.create(
        kind="company", legal_name="Acme", siren="732829320", siret="73282932000074"
    )
    assert customer.pk


def test_company_without_siren_is_refused(db):
    refused(lambda: Customer.objects.create(kind="company", legal_name="Acme"))


def test_company_without_legal_name_is_refused(db):
    refused(lambda: Customer.objects.create(kind="company", siren="732829320"))


def test_individual_without_last_name_is_refused(db):
    refused(lambda: Customer.objects.create(kind="individual", first_name="Marie"))


def test_individual_with_a_siren_is_refused(db):
    refused(
        lambda: Customer.objects.create(kind="individual", last_name="Dupont", siren="732829320")
    )


def test_individual_with_a_siret_is_refused(db):
    refused(
        lambda: Customer.objects.create(
            kind="individual", last_name="Dupont", siret="73282932000074"
        )
    )


def test_customer_of_unknown_kind_is_refused(db):
    refused(lambda: Customer.objects.create(kind="trust", legal_name="X", last_name="Y"))


def test_customer_kind_rule_is_reported_by_full_clean(db):
    with pytest.raises(ValidationError) as excinfo:
        Customer(kind="individual", first_name="Marie").full_clean()
    assert excinfo.value.message_dict["__all__"] == [
        "A company needs a legal name and a SIREN; an individual needs a last name."
    ]


def test_generated_name_is_the_legal_name_for_a_company(company):
    company.refresh_from_db()
    assert company.name == "Acme Industries"


def test_generated_name_is_last_then_first_name_for_an_individual(person):
    person.refresh_from_db()
    assert person.name == "Dupont Marie"


def test_generated_name_follows_an_update_of_the_names(person):
    Customer.objects.filter(pk=person.pk).update(last_name="Durand")
    person.refresh_from_db()
    assert person.name == "Durand Marie"


def test_generated_name_of_an_individual_without_first_name_has_no_trailing_space(db):
    customer = Customer.objects.create(kind="individual", last_name="Dupont")
    customer.refresh_from_db()
    assert customer.name == "Dupont"


# --------------------------------------------------------------------------- analysis request


def test_request_with_siren_code_that_is_not_nine_digits_is_refused(company):
    refused(
        lambda: AnalysisRequest.objects.create(customer=company, code_type="siren", code_id="12")
    )


def test_request_without_code_is_refused(company):
    refused(
        lambda: AnalysisRequest.objects.create(customer=company, code_type="internal", code_id="")
    )


# ----------------------------------------------------------------------------------- document


def test_empty_document_is_refused_unless_purged(analysis_request):
    refused(lambda: make_document(analysis_request, size=0))
    purged = make_document(analysis_request, size=0, status="purged")
    assert purged.pk


def test_document_sha256_must_be_lowercase_hex(analysis_request):
    refused(lambda: make_document(analysis_request, sha256="Z" * 64))


def test_document_of_unknown_kind_is_refused(analysis_request):
    refused(lambda: make_document(analysis_request, kind="selfie"))


# -------------------------------------------------------------------------------- provider job


def test_two_active_jobs_for_the_same_document_provider_and_operation_are_refused(document):
    request = document.request
    ProviderJob.objects.create(
        request=request, document=document, provider="local", operation="forensics"
    )
    refused(
        lambda: ProviderJob.objects.create(
            request=request,
            document=document,
            provider="local",
            operation="forensics",
            status="processing",
        )
    )
    assert ProviderJob.objects.count() == 1


def test_a_completed_job_does_not_prevent_a_new_queued_one(document):
    request = document.request
    ProviderJob.objects.create(
        request=request,
        document=document,
        provider="local",
        operation="forensics",
        status="completed",
    )
    ProviderJob.objects.create(
        request=request, document=document, provider="local", operation="forensics"
    )
    # A different operation or provider on the same document is also fine while one is active.
    ProviderJob.objects.create(
        request=request, document=document, provider="local", operation="mrz"
    )
    ProviderJob.objects.create(
        request=request, document=document, provider="finovox", operation="forensics"
    )
    assert ProviderJob.objects.filter(document=document).count() == 4


@pytest.mark.parametrize("status", ProviderJob.Status.values)
def test_the_one_active_job_rule_holds_for_exactly_the_active_statuses(document, status):
    # The constraints read ProviderJob.ACTIVE_STATUSES: a second job with the same document,
    # provider and operation is refused exactly when both are active.
    keys = {"request": document.request, "provider": "local", "operation": "forensics"}
    ProviderJob.objects.create(document=document, status=status, **keys)
    second = lambda: ProviderJob.objects.create(document=document, **keys)  # noqa: E731
    if status in ProviderJob.ACTIVE_STATUSES:
        refused(second)
    else:
        second()
    assert ProviderJob.objects.count() == (1 if status in ProviderJob.ACTIVE_STATUSES else 2)


def test_two_active_request_level_jobs_for_the_same_provider_and_operation_are_refused(
    analysis_request,
):
    ProviderJob.objects.create(
        request=analysis_request, provider="october", operation="manager_xray"
    )
    refused(
        lambda: ProviderJob.objects.create(
            request=analysis_request,
            provider="october",
            operation="manager_xray",
            status="submitted",
        )
    )


def test_request_level_job_may_be_queued_again_once_the_previous_one_failed(analysis_request):
    ProviderJob.objects.create(
        request=analysis_request, provider="october", operation="manager_xray", status="failed"
    )
    ProviderJob.objects.create(
        request=analysis_request, provider="october", operation="manager_xray"
    )
    assert ProviderJob.objects.filter(status="queued").count() == 1


def test_document_jobs_do_not_collide_with_the_request_level_job(document):
    request = document.request
    ProviderJob.objects.create(request=request, provider="october", operation="doc_xray")
    ProviderJob.objects.create(
        request=request, document=document, provider="october", operation="doc_xray"
    )
    assert ProviderJob.objects.count() == 2


def test_job_with_unknown_status_is_refused(analysis_request):
    refused(
        lambda: ProviderJob.objects.create(
            request=analysis_request, provider="local", operation="x", status="lost"
        )
    )


# ------------------------------------------------------------------------------------ webhook


def test_webhook_dedupe_key_is_unique(db):
    WebhookEvent.objects.create(
        provider="october", body=b"{}", signature_verdict="valid", dedupe_key="evt-1"
    )
    refused(
        lambda: WebhookEvent.objects.create(
            provider="october", body=b"{}", signature_verdict="valid", dedupe_key="evt-1"
        )
    )


def test_webhooks_without_dedupe_key_may_be_many(db):
    for _ in range(2):
        WebhookEvent.objects.create(
            provider="october", body=b"{}", signature_verdict="invalid", dedupe_key=None
        )
    assert WebhookEvent.objects.filter(dedupe_key__isnull=True).count() == 2


# ------------------------------------------------------------------------------------- report


@pytest.mark.parametrize("score", [-0.01, 1.01, 42.0])
def test_report_score_outside_zero_to_one_is_refused(analysis_request, score):
    refused(
        lambda: Report.objects.create(request=analysis_request, source="finovox_risk", score=score)
    )


@pytest.mark.parametrize("score", [None, 0.0, 0.5, 1.0])
def test_report_score_inside_zero_to_one_is_accepted(analysis_request, score):
    report = Report.objects.create(request=analysis_request, source="finovox_risk", score=score)
    assert report.pk


def test_report_score_out_of_range_fails_full_clean(analysis_request):
    with pytest.raises(ValidationError) as excinfo:
        Report(request=analysis_request, source="finovox_risk", score=1.5).full_clean()
    assert "score" in excinfo.value.message_dict


def test_report_vendor_id_is_unique_per_source(analysis_request):
    Report.objects.create(request=analysis_request, source="doc_xray", external_id="R-1")
    refused(
        lambda: Report.objects.create(
            request=analysis_request, source="doc_xray", external_id="R-1"
        )
    )
    # The same id from another vendor is another report.
    Report.objects.create(request=analysis_request, source="finovox_risk", external_id="R-1")


def test_reports_without_vendor_id_may_be_many(analysis_request):
    Report.objects.create(request=analysis_request, source="local_forensics", external_id="")
    Report.objects.create(request=analysis_request, source="local_forensics", external_id="")
    assert Report.objects.filter(source="local_forensics").count() == 2


def test_report_with_unknown_flag_colour_is_refused(analysis_request):
    refused(
        lambda: Report.objects.create(
            request=analysis_request, source="doc_xray", flag_color="purple"
        )
    )


# ----------------------------------------------------------------------------------- decision


def test_proposer_cannot_review_their_own_decision(company, user):
    refused(
        lambda: Decision.objects.create(
            customer=company,
            outcome="approve",
            reason_code="ok",
            reason="All documents check out.",
            status="confirmed",
            proposed_by=user,
            reviewed_by=user,
        )
    )


def test_another_user_may_review_a_decision(company, user, other_user):
    decision = Decision.objects.create(
        customer=company,
        outcome="approve",
        reason_code="ok",
        reason="All documents check out.",
        status="confirmed",
        proposed_by=user,
        reviewed_by=other_user,
    )
    assert decision.pk


def test_only_one_open_proposal_per_customer(company, user, other_user):
    def propose(by, status="proposed"):
        return Decision.objects.create(
            customer=company,
            outcome="reject",
            reason_code="fraud",
            reason="Forged passport.",
            status=status,
            proposed_by=by,
        )

    propose(user)
    refused(lambda: propose(other_user))
    # Closed decisions do not count as open proposals.
    propose(other_user, status="void")
    propose(other_user, status="sent_back")
    assert Decision.objects.filter(customer=company, status="proposed").count() == 1


def test_decision_without_reason_is_refused(company, user):
    refused(
        lambda: Decision.objects.create(
            customer=company, outcome="approve", reason_code="ok", reason="", proposed_by=user
        )
    )


# ------------------------------------------------------------------------------- OCR, officers


def test_ocr_correction_without_reason_is_refused(document, user):
    ocr = OcrResult.objects.create(document=document, source="local_mrz", fields={"surname": "X"})
    refused(
        lambda: OcrCorrection.objects.create(
            ocr_result=ocr, changes={"surname": {"old": "X", "new": "Y"}}, reason="", author=user
        )
    )
    correction = OcrCorrection.objects.create(
        ocr_result=ocr,
        changes={"surname": {"old": "X", "new": "Y"}},
        reason="Misread letter.",
        author=user,
    )
    assert correction.sync_status == OcrCorrection.SyncStatus.PENDING


def test_officer_role_ending_before_it_starts_is_refused(officer_role):
    officer = officer_role.officer
    refused(
        lambda: OfficerRole.objects.create(
            officer=officer,
            company_name="Other",
            start_date=dt.date(2020, 1, 1),
            end_date=dt.date(2019, 12, 31),
        )
    )
    same_day = OfficerRole.objects.create(
        officer=officer,
        company_name="Other",
        start_date=dt.date(2020, 1, 1),
        end_date=dt.date(2020, 1, 1),
    )
    assert same_day.pk


def test_the_same_alert_on_the_same_date_is_refused(officer_role):
    values = {
        "role": officer_role,
        "customer": officer_role.officer.request.customer,
        "date": dt.date(2024, 3, 1),
        "name": "Liquidation",
        "level": "high",
    }
    ManagerAlert.objects.create(**values)
    refused(lambda: ManagerAlert.objects.create(**values))


def test_the_same_undated_alert_is_refused(officer_role):
    values = {
        "role": officer_role,
        "customer": officer_role.officer.request.customer,
        "date": None,
        "name": "Liquidation",
        "level": "high",
    }
    ManagerAlert.objects.create(**values)
    refused(lambda: ManagerAlert.objects.create(**values))


def test_the_same_undated_role_of_an_officer_is_refused(officer_role):
    refused(
        lambda: OfficerRole.objects.create(
            officer=officer_role.officer, company_name="Acme", siren="732829320"
        )
    )


def test_the_same_officer_twice_in_a_request_is_refused(analysis_request):
    Officer.objects.create(request=analysis_request, last_name="Martin", first_name="Paul")
    refused(
        lambda: Officer.objects.create(
            request=analysis_request, last_name="Martin", first_name="Paul"
        )
    )
    born = dt.date(1970, 5, 4)
    Officer.objects.create(
        request=analysis_request, last_name="Martin", first_name="Paul", birth_date=born
    )
    refused(
        lambda: Officer.objects.create(
            request=analysis_request, last_name="Martin", first_name="Paul", birth_date=born
        )
    )


def test_alerts_with_different_dates_or_names_are_distinct(officer_role):
    customer = officer_role.officer.request.customer
    for date, name in [(None, "A"), (dt.date(2024, 1, 1), "A"), (None, "B")]:
        ManagerAlert.objects.create(
            role=officer_role, customer=customer, date=date, name=name, level="low"
        )
    assert ManagerAlert.objects.count() == 3


def test_alert_with_unknown_level_is_refused(officer_role):
    refused(
        lambda: ManagerAlert.objects.create(
            role=officer_role,
            customer=officer_role.officer.request.customer,
            name="X",
            level="extreme",
        )
    )


# ---------------------------------------------------------------------------------- audit log


@pytest.fixture
def audit_event(company):
    return AuditEvent.objects.create(
        action="customer.create",
        object_type="customer",
        object_id=str(company.pk),
        customer=company,
        after={"legal_name": "Acme Industries"},
    )


def test_existing_audit_event_cannot_be_saved_again(audit_event):
    audit_event.action = "customer.delete"
    with pytest.raises(PermissionError):
        audit_event.save()
    assert AuditEvent.objects.get(pk=audit_event.pk).action == "customer.create"


def test_audit_event_cannot_be_deleted(audit_event):
    with pytest.raises(PermissionError):
        audit_event.delete()
    assert AuditEvent.objects.filter(pk=audit_event.pk).exists()


def test_audit_events_cannot_be_updated_in_bulk(audit_event):
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=audit_event.pk).update(action="tampered")
    with pytest.raises(PermissionError):
        AuditEvent.objects.update(action="tampered")
    audit_event.action = "tampered"
    # bulk_update runs in atomic(savepoint=False): give it a savepoint of its own.
    with pytest.raises(PermissionError), transaction.atomic():
        AuditEvent.objects.bulk_update([audit_event], ["action"])
    assert AuditEvent.objects.get(pk=audit_event.pk).action == "customer.create"


def test_audit_events_cannot_be_deleted_in_bulk(audit_event):
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=audit_event.pk).delete()
    assert AuditEvent.objects.count() == 1


def test_new_audit_events_can_still_be_appended(audit_event):
    AuditEvent(action="customer.view", object_type="customer", object_id="1").save()
    assert AuditEvent.objects.count() == 2
