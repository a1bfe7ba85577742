"""A customer's complete file as plain data, for an export to a regulator or to the customer.

One query per kind of row whatever their number; stored files are listed with the name they get
inside the archive, and read by the view while it streams.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch

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
)
from kyc.names import ascii_file_name

EXPORT_FORMAT = "kyc-dashboard/customer-file/1"


@dataclass(frozen=True)
class ExportFile:
    storage_name: str  # in default_storage
    archive_name: str  # inside the ZIP


def archive_name(folder: str, pk: int, original: str, content_type: str | None = None) -> str:
    """A safe member name: ASCII letters, digits, dot, dash and underscore only, no leading dot,
    the extension of the sniffed `content_type` (kyc.names.ascii_file_name), prefixed by the row
    id (unique). Whoever unpacks the archive gets no path and no surprise: a JPEG uploaded as
    `invoice.html` or `photo<U+202E>gnp.exe` comes out as `.jpg` / `.png`."""
    return f"{folder}/{pk}-{ascii_file_name(original, content_type, default='file')}"


def _user(user) -> str | None:
    return user.get_username() if user is not None else None


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def customer_export(customer: Customer) -> tuple[dict[str, Any], list[ExportFile]]:
    """Everything the dashboard holds about one customer, and the stored files to include."""
    files: list[ExportFile] = []
    requests = list(AnalysisRequest.objects.filter(customer=customer).order_by("pk"))
    documents = list(
        Document.objects.filter(customer=customer).select_related("uploaded_by").order_by("pk")
    )
    jobs = list(ProviderJob.objects.filter(request__customer=customer).order_by("pk"))
    reports = list(Report.objects.filter(request__customer=customer).order_by("pk"))
    ocr_results = list(
        OcrResult.objects.filter(document__customer=customer)
        .prefetch_related(
            Prefetch(
                "corrections",
                queryset=OcrCorrection.objects.select_related("author").order_by("pk"),
            )
        )
        .order_by("pk")
    )
    officers = list(
        Officer.objects.filter(request__customer=customer)
        .prefetch_related(
            Prefetch(
                "roles",
                queryset=OfficerRole.objects.prefetch_related(
                    Prefetch("alerts", queryset=ManagerAlert.objects.select_related("reviewed_by"))
                ).order_by("pk"),
            )
        )
        .order_by("pk")
    )
    decisions = list(
        Decision.objects.filter(customer=customer)
        .select_related("proposed_by", "reviewed_by")
        .order_by("pk")
    )
    events = list(
        AuditEvent.objects.filter(customer=customer).select_related("actor").order_by("pk")
    )

    document_rows = []
    for document in documents:
        member = None
        if document.file.name:
            member = archive_name(
                "documents", document.pk, document.original_name, document.content_type
            )
            files.append(ExportFile(document.file.name, member))
        document_rows.append(
            {
                "id": document.pk,
                "request": document.request_id,
                "kind": document.kind,
                "period": document.period,
                "document_date": _iso(document.document_date),
                "original_name": document.original_name,
                "size": document.size,
                "sha256": document.sha256,
                "content_type": document.content_type,
                "status": document.status,
                "duplicate_of": document.duplicate_of_id,
                "uploaded_by": _user(document.uploaded_by),
                "uploaded_at": _iso(document.created_at),
                "october_media_id": document.october_media_id or None,
                "artemis_document_id": document.artemis_document_id or None,
                "file_in_archive": member,
            }
        )
    report_rows = []
    for report in reports:
        member = None
        if report.attachment.name:
            member = archive_name(
                "report-files", report.pk, report.attachment.name.rsplit("/", 1)[-1]
            )
            files.append(ExportFile(report.attachment.name, member))
        report_rows.append(
            {
                "id": report.pk,
                "request": report.request_id,
                "document": report.document_id,
                "job": report.job_id,
                "source": report.source,
                "vendor_report_id": report.external_id or None,
                "flag_color": report.flag_color,
                "flag_value": report.flag_value,
                "score": report.score,
                "reasons": report.reasons,
                "summary": report.summary,
                "raw": report.raw,
                "created_at": _iso(report.created_at),
                "file_in_archive": member,
            }
        )

    data = {
        "format": EXPORT_FORMAT,
        "customer": {
            "id": customer.pk,
            "kind": customer.kind,
            "legal_name": customer.legal_name,
            "siren": customer.siren,
            "siret": customer.siret,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "birth_date": _iso(customer.birth_date),
            "nationality": customer.nationality,
            "status": customer.status,
            "risk_level": customer.risk_level,
            "assignee": _user(customer.assignee),
            "artemis_customer_id": customer.artemis_customer_id or None,
            "created_by": _user(customer.created_by),
            "created_at": _iso(customer.created_at),
        },
        "analysis_requests": [
            {
                "id": request.pk,
                "code": request.october_code,
                "status": request.status,
                "stage": request.stage,
                "october_request_id": request.october_request_id,
                "created_at": _iso(request.created_at),
            }
            for request in requests
        ],
        "documents": document_rows,
        "jobs": [
            {
                "id": job.pk,
                "request": job.request_id,
                "document": job.document_id,
                "provider": job.provider,
                "operation": job.operation,
                "status": job.status,
                "external_id": job.external_id or None,
                "attempts": job.attempts,
                "last_error": job.last_error,
                "submitted_at": _iso(job.submitted_at),
                "finished_at": _iso(job.finished_at),
                "created_at": _iso(job.created_at),
            }
            for job in jobs
        ],
        "reports": report_rows,
        "ocr_results": [
            {
                "id": result.pk,
                "document": result.document_id,
                "report": result.report_id,
                "source": result.source,
                "fields": result.fields,
                "confidence": result.confidence,
                "created_at": _iso(result.created_at),
                "corrections": [
                    {
                        "id": correction.pk,
                        "changes": correction.changes,
                        "reason": correction.reason,
                        "author": _user(correction.author),
                        "created_at": _iso(correction.created_at),
                        "artemis_sync": correction.sync_status,
                        "synced_at": _iso(correction.synced_at),
                    }
                    for correction in result.corrections.all()
                ],
            }
            for result in ocr_results
        ],
        "company_managers": [
            {
                "id": officer.pk,
                "request": officer.request_id,
                "report": officer.report_id,
                "last_name": officer.last_name,
                "first_name": officer.first_name,
                "birth_date": _iso(officer.birth_date),
                "match_confidence": officer.confidence,
                "companies": [
                    {
                        "company_name": role.company_name,
                        "siren": role.siren,
                        "start_date": _iso(role.start_date),
                        "end_date": _iso(role.end_date),
                        "alerts": [
                            {
                                "id": alert.pk,
                                "date": _iso(alert.date),
                                "name": alert.name,
                                "level": alert.level,
                                "review_status": alert.review_status,
                                "reviewed_by": _user(alert.reviewed_by),
                                "reviewed_at": _iso(alert.reviewed_at),
                                "review_note": alert.review_note,
                            }
                            for alert in role.alerts.all()
                        ],
                    }
                    for role in officer.roles.all()
                ],
            }
            for officer in officers
        ],
        "decisions": [
            {
                "id": decision.pk,
                "outcome": decision.outcome,
                "reason_code": decision.reason_code,
                "reason": decision.reason,
                "status": decision.status,
                "proposed_by": _user(decision.proposed_by),
                "proposed_at": _iso(decision.proposed_at),
                "reviewed_by": _user(decision.reviewed_by),
                "reviewed_at": _iso(decision.reviewed_at),
                "review_comment": decision.review_comment,
                "void_reason": decision.void_reason,
            }
            for decision in decisions
        ],
        "audit_events": [
            {
                "id": event.pk,
                "time": _iso(event.created_at),
                "actor": _user(event.actor),
                "action": event.action,
                "object_type": event.object_type,
                "object_id": event.object_id,
                "before": event.before,
                "after": event.after,
                "source_ip": event.ip_address,
            }
            for event in events
        ],
    }
    return data, files
