"""A small world with one row of every kind, hostile text in every field a person or a vendor can
write, and a client per role: the crawl, the escaping checks and the data-protection tests share
it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from kyc import services
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
    ProviderJob,
    Report,
    WebhookEvent,
)
from kyc.services.decisions import ReasonCode
from tests.builders import (
    make_alert,
    make_job,
    make_ocr_correction,
    make_ocr_result,
    make_officer,
    make_officer_role,
    make_report,
    make_webhook_event,
)
from tests.factories import VALID_SIRENS, make_document, make_user, pdf_bytes, png_bytes

# Breaks out of an attribute, opens a script, and hides a handler in an image: rendered as
# text, none of it may reach the page as markup.
XSS = "\"'><script>alert('xss')</script><img src=x onerror=alert(1)>"
# A short one for fields with tight limits (names are 150 characters).
XSS_SHORT = "<script>alert(1)</script><img src=x onerror=alert(2)>"
UNESCAPED_MARKERS = ("<script>alert", "<img src=x onerror", "onerror=alert(1)>", "'><script")

ROLES = ("anonymous", "no_role", "analyst", "reviewer", "admin")


@dataclass
class World:
    users: dict
    individual: Customer
    company: Customer
    request: AnalysisRequest
    company_request: AnalysisRequest
    passport: Document
    statement: Document
    job: ProviderJob
    reports: dict[str, Report]
    officer: Officer
    alert: ManagerAlert
    ocr_result: OcrResult
    correction: OcrCorrection
    open_decision: Decision
    confirmed_decision: Decision
    webhook: WebhookEvent

    def client(self, role: str) -> Client:
        client = Client(raise_request_exception=False)
        if role != "anonymous":
            client.force_login(self.users[role])
        return client


def vendor_reason(code: str) -> dict:
    return {
        "code": code,
        "title": XSS,
        "detail": XSS,
        "level": "suspicious",
        "criteria": {XSS: XSS, "creationDate": XSS, "modDate": "2024-01-01T00:00:00"},
        "message": {"title": XSS, "content": XSS},
    }


def build_world() -> World:
    users = {
        "no_role": make_user("nobody", role=None),
        "analyst": make_user("analyst", role="analyst", first_name=XSS_SHORT),
        "reviewer": make_user("reviewer", role="reviewer", last_name=XSS_SHORT),
        "admin": make_user("admin", role="admin", is_staff=True, is_superuser=True),
    }
    analyst, reviewer = users["analyst"], users["reviewer"]

    individual = services.customer_create(
        kind="individual",
        actor=analyst,
        first_name=XSS_SHORT,
        last_name=XSS_SHORT,
        birth_date=dt.date(1985, 4, 12),
        nationality="FRA",
    )
    company = services.customer_create(
        kind="company", actor=analyst, legal_name=XSS, siren=VALID_SIRENS[1]
    )
    request = individual.requests.get()
    company_request = company.requests.get()
    AnalysisRequest.objects.filter(pk=request.pk).update(stage=XSS[:16])

    passport = make_document(
        request=request, content=png_bytes(), name=f"{XSS}.png", kind="passport", actor=analyst
    )
    statement = make_document(
        request=company_request,
        content=pdf_bytes(),
        name=f"{XSS}.pdf",
        kind="bank_statement",
        actor=analyst,
    )
    job = passport.jobs.get()
    ProviderJob.objects.filter(pk=job.pk).update(status="failed", last_error=XSS)
    make_job(request=company_request, status="processing", last_error=XSS, provider="october")

    reports = {}
    for source in Report.Source.values:
        target = company_request if source == "manager_xray" else request
        document = None if source == "manager_xray" else passport
        reports[source] = make_report(
            request=target,
            document=document,
            source=source,
            flag_color="red",
            flag_value=XSS[:60],
            reasons=[vendor_reason(XSS), vendor_reason("metadata"), XSS],
            summary={
                XSS: XSS,
                "meta": [XSS],
                "document_types": [{"class": XSS, "confidence": 0.9}],
                "fields": {"surname": {"value": XSS, "confidence": 0.5}, XSS: XSS},
                "global_risk": XSS,
                "software": XSS,
                "explanation": {XSS: XSS},
                "alerts": {"high": XSS},
            },
            raw={XSS: XSS, "raw": {"flag": {"meta": [XSS]}, "type": [{"class": XSS}]}},
        )
    reports["finovox_risk"].attachment.save(f"{XSS}.pdf", ContentFile(pdf_bytes()))

    officer = make_officer(request=company_request, last_name=XSS_SHORT, first_name=XSS_SHORT)
    role = make_officer_role(officer=officer, company_name=XSS)
    alert = make_alert(role=role, customer=company, name=XSS)
    reviewed = make_alert(role=role, customer=company, name=f"{XSS} 2")
    services.alert_review(alert=reviewed, action="dismiss", note=XSS, actor=analyst)

    ocr_result = make_ocr_result(
        document=passport,
        fields={
            "last_name": XSS,
            "first_name": XSS,
            "document_number": XSS,
            "mrz_raw_string": XSS,
            "nationality": XSS,
            "date_of_birth": XSS,
        },
    )
    correction = make_ocr_correction(
        ocr_result=ocr_result,
        author=analyst,
        changes={"last_name": {"old": XSS, "new": XSS}},
        reason=XSS,
        sync_status="failed",
        sync_error=XSS,
    )

    confirmed = services.decision_propose(
        customer=company,
        outcome="approve",
        reason_code=ReasonCode.DOCS_OK,
        reason=XSS,
        actor=analyst,
    )
    confirmed = services.decision_confirm(decision=confirmed, actor=reviewer, comment=XSS)
    sent_back = services.decision_propose(
        customer=individual,
        outcome="reject",
        reason_code=ReasonCode.FRAUD_SUSPECTED,
        reason=XSS,
        actor=analyst,
    )
    services.decision_send_back(decision=sent_back, actor=reviewer, comment=XSS)
    open_decision = services.decision_propose(
        customer=individual,
        outcome="reject",
        reason_code=ReasonCode.OTHER,
        reason=XSS,
        actor=analyst,
    )
    Decision.objects.filter(pk=sent_back.pk).update(void_reason=XSS)

    webhook = make_webhook_event(
        payload={"event": XSS, "ids": [XSS]}, headers={"X-Test": XSS}, event_type=XSS[:60]
    )
    # audit_record refuses an unregistered action: a hostile one can only come from a row
    # written by hand, which every page must still escape.
    AuditEvent.objects.create(
        actor=reviewer,
        action=XSS[:60],
        object_type="customer",
        object_id=str(individual.pk),
        customer=individual,
        before={XSS: XSS},
        after={"note": XSS},
    )
    Customer.objects.filter(pk=individual.pk).update(last_activity_at=timezone.now())
    return World(
        users=users,
        individual=individual,
        company=company,
        request=request,
        company_request=company_request,
        passport=passport,
        statement=statement,
        job=job,
        reports=reports,
        officer=officer,
        alert=alert,
        ocr_result=ocr_result,
        correction=correction,
        open_decision=open_decision,
        confirmed_decision=confirmed,
        webhook=webhook,
    )


@pytest.fixture
def world(db) -> World:
    return build_world()
