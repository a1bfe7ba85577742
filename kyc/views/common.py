"""What several screens share: the customer file's context, built with a bounded number of
queries whatever the number of documents, jobs and reports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest

from kyc import roles
from kyc.models import RISK_ORDER, Customer, Document, ProviderJob, Report
from kyc.selectors import customers as selectors
from kyc.services.jobs import skipped_providers
from kyc.views.decision_panel import review_panels_context
from kyc.views.ocr import ocr_panel_context
from kyc.views.privacy import privacy_panel_context

# Other screen areas (decisions, manager alerts, OCR) register their panel of the customer file
# here: (template name, f(request, customer) -> extra context). Panels render in this order.
CUSTOMER_FILE_PANELS: list[tuple[str, Callable]] = [
    # Manager alerts summary + decisions: one context, fetched together (2 queries).
    ("kyc/decisions/_review_panels.html", review_panels_context),
    ("kyc/ocr/_panel.html", ocr_panel_context),
    ("kyc/privacy/_panel.html", privacy_panel_context),
]


def latest_by_source(reports: list[Report]) -> list[Report]:
    """The newest report of each source, worst flag first: the summary's one line per source."""
    latest: dict[str, Report] = {}
    for report in reports:  # newest first
        latest.setdefault(report.source, report)
    return sorted(
        latest.values(), key=lambda r: (-RISK_ORDER.get(r.flag_color, 0), r.get_source_display())
    )


def documents_context(customer: Customer) -> dict[str, Any]:
    documents, request_jobs = selectors.customer_documents(customer)
    pending = any(job.is_active for job in request_jobs) or any(
        job.is_active for document in documents for job in document.job_list
    )
    skipped = {document.pk: skipped_providers(document) for document in documents}
    return {
        "documents": documents,
        "request_jobs": request_jobs,
        "skipped": skipped,
        "pending": pending,
    }


def reports_context(customer: Customer) -> dict[str, Any]:
    reports = selectors.customer_reports(customer)
    return {
        "reports": reports,
        "report_summary": latest_by_source(reports),
        # Here rather than in a panel: the live status endpoint re-renders the summary too.
        "report_url_name": "kyc:report-detail",
    }


def customer_file_context(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    context = {
        "customer": customer,
        "requests": list(customer.requests.all()),
        "timeline": selectors.customer_timeline(customer),
        "kinds": Document.Kind.choices,
        "periods": Document.Period.choices,
        "can_work": roles.can_work_cases(request.user),
        "job_statuses": ProviderJob.Status,
        **documents_context(customer),
        **reports_context(customer),
    }
    context["panels"] = []
    for template, panel_context in CUSTOMER_FILE_PANELS:
        context.update(panel_context(request, customer))
        context["panels"].append(template)
    return context
