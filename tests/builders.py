"""ORM builders for rows a test needs without running a provider job or a service (reports, jobs,
officers, alerts, OCR, decisions, webhook events). Reports take the columns the job engine
stores (`demo.bench.report_fields`).

Customers and documents go through the real services in tests/factories.py; these builders sit
on top of them. Every builder takes `**overrides` for any model field, and its defaults satisfy
the model's constraints so that calling it many times in one test just works (unique names and
vendor ids come from a counter). Foreign keys are filled in by default, so list pages built from
these rows exercise their joins.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from demo.bench import report_fields
from kyc.models import (
    AnalysisRequest,
    Customer,
    Decision,
    Document,
    FlagColor,
    ManagerAlert,
    OcrCorrection,
    OcrResult,
    Officer,
    OfficerRole,
    ProviderJob,
    Report,
    WebhookEvent,
)
from kyc.providers.base import Reason, ReportData
from tests.factories import VALID_SIRENS, make_customer, make_document, make_user

_seq = itertools.count(1)


def _request_of(request: AnalysisRequest | None, document: Document | None) -> AnalysisRequest:
    if request is not None:
        return request
    if document is not None:
        return document.request
    return make_customer().requests.get()


def make_job(
    *,
    request: AnalysisRequest | None = None,
    document: Document | None = None,
    **overrides: Any,
) -> ProviderJob:
    """A queued job. Several active jobs on one request need distinct operations or statuses."""
    n = next(_seq)
    fields: dict[str, Any] = {
        "provider": "october",
        "operation": "doc_xray",
        "status": ProviderJob.Status.QUEUED,
        "external_id": f"job-{n}",
    }
    fields.update(overrides)
    return ProviderJob.objects.create(
        request=_request_of(request, document), document=document, **fields
    )


def make_report(
    *,
    request: AnalysisRequest | None = None,
    document: Document | None = None,
    **overrides: Any,
) -> Report:
    n = next(_seq)
    # The columns the job engine stores for a provider's report (demo.bench.report_fields).
    fields = report_fields(
        ReportData(
            source=Report.Source.LOCAL_FORENSICS,
            external_id=f"report-{n}",
            flag_color=FlagColor.GREEN,
            score=0.1,
            reasons=(Reason(code="metadata", title="Metadata consistent"),),
            summary={"pages": 1},
            raw={"id": f"report-{n}", "result": "ok"},
        )
    )
    fields.update(overrides)
    return Report.objects.create(
        request=_request_of(request, document), document=document, **fields
    )


def make_officer(*, request: AnalysisRequest | None = None, **overrides: Any) -> Officer:
    n = next(_seq)
    fields: dict[str, Any] = {
        "last_name": f"Officer{n}",
        "first_name": "Jean",
        "birth_date": dt.date(1970, 1, 1),
        "confidence": 90,
    }
    fields.update(overrides)
    return Officer.objects.create(request=_request_of(request, None), **fields)


def make_officer_role(*, officer: Officer | None = None, **overrides: Any) -> OfficerRole:
    n = next(_seq)
    fields: dict[str, Any] = {
        "company_name": f"Holding {n} SAS",
        "siren": VALID_SIRENS[n % len(VALID_SIRENS)],
        "start_date": dt.date(2015, 1, 1),
    }
    fields.update(overrides)
    return OfficerRole.objects.create(officer=officer or make_officer(), **fields)


def make_alert(
    *,
    role: OfficerRole | None = None,
    customer: Customer | None = None,
    **overrides: Any,
) -> ManagerAlert:
    """A manager alert; its customer defaults to the one whose request found the officer."""
    n = next(_seq)
    role = role or make_officer_role()
    fields: dict[str, Any] = {
        "date": timezone.localdate(),
        "name": f"Collective proceedings {n}",
        "level": ManagerAlert.Level.HIGH,
    }
    fields.update(overrides)
    return ManagerAlert.objects.create(
        role=role, customer=customer or role.officer.request.customer, **fields
    )


def make_ocr_result(*, document: Document | None = None, **overrides: Any) -> OcrResult:
    """An OCR result; at most one per (document, source), so the document defaults to a new one."""
    fields: dict[str, Any] = {
        "source": OcrResult.Source.LOCAL_MRZ,
        "fields": {
            "last_name": "DUPONT",
            "first_name": "MARIE",
            "birth_date": "1985-04-12",
            "document_number": "X4RTBPFW4",
            "mrz_valid": True,
        },
        "confidence": {"last_name": 0.99, "first_name": 0.98},
    }
    fields.update(overrides)
    return OcrResult.objects.create(document=document or make_document(), **fields)


def make_ocr_correction(
    *,
    ocr_result: OcrResult | None = None,
    author: User | None = None,
    **overrides: Any,
) -> OcrCorrection:
    fields: dict[str, Any] = {
        "changes": {"first_name": {"old": "MARIE", "new": "MARIE-ANNE"}},
        "reason": "The MRZ truncates compound first names.",
    }
    fields.update(overrides)
    return OcrCorrection.objects.create(
        ocr_result=ocr_result or make_ocr_result(), author=author or make_user(), **fields
    )


def make_decision(
    *,
    customer: Customer | None = None,
    proposed_by: User | None = None,
    **overrides: Any,
) -> Decision:
    """A proposed decision (one open proposal per customer, so the customer defaults to a new one).

    Pass `reviewed_by` (a user other than the proposer) with a final `status` for a reviewed one.
    """
    fields: dict[str, Any] = {
        "outcome": Decision.Outcome.APPROVE,
        "reason_code": "documents_consistent",
        "reason": "Identity and company documents are consistent.",
    }
    fields.update(overrides)
    return Decision.objects.create(
        customer=customer or make_customer(),
        proposed_by=proposed_by or make_user(role="analyst"),
        **fields,
    )


def make_webhook_event(*, payload: Any = None, **overrides: Any) -> WebhookEvent:
    """A received webhook; `payload` is JSON-encoded into the body unless `body` is given."""
    n = next(_seq)
    payload = payload if payload is not None else {"event": "report.completed", "id": f"evt-{n}"}
    fields: dict[str, Any] = {
        "provider": "october",
        "headers": {"Content-Type": "application/json", "X-Signature": f"sig-{n}"},
        "body": json.dumps(payload).encode(),
        "signature_verdict": WebhookEvent.Verdict.VALID,
        "dedupe_key": f"october:evt-{n}",
        "event_type": "report.completed",
        "remote_addr": "203.0.113.10",
    }
    fields.update(overrides)
    return WebhookEvent.objects.create(**fields)
