"""Every write of the dashboard, one module per area. Each service is atomic and writes its
AuditEvent in the same transaction; side effects (tasks, vendor calls) run on commit.

Naming: `<noun>_<verb>(*, ..., actor)`. Services validate their input themselves and raise
`django.core.exceptions.ValidationError` with a message fit for the analyst, before writing.
The names below are the public surface; import them from `kyc.services`.
"""

from kyc.services.alerts import alert_review
from kyc.services.audit import audit_export_record, audit_record, touch_customer
from kyc.services.customers import (
    analysis_request_open,
    customer_assign,
    customer_create,
    customer_details_clean,
    customer_take_next,
    customers_with_siren,
    normalize_siren,
    normalize_siret,
)
from kyc.services.decisions import (
    ReasonCode,
    decision_confirm,
    decision_propose,
    decision_send_back,
    decisions_void_for_customer,
)
from kyc.services.documents import document_access_record, document_add
from kyc.services.jobs import job_retry, jobs_sweep
from kyc.services.ocr import artemis_link_create, ocr_correct, ocr_push, ocr_push_retry

__all__ = [
    "ReasonCode",
    "alert_review",
    "analysis_request_open",
    "artemis_link_create",
    "audit_export_record",
    "audit_record",
    "customer_assign",
    "customer_create",
    "customer_details_clean",
    "customer_take_next",
    "customers_with_siren",
    "decision_confirm",
    "decision_propose",
    "decision_send_back",
    "decisions_void_for_customer",
    "document_access_record",
    "document_add",
    "job_retry",
    "jobs_sweep",
    "normalize_siren",
    "normalize_siret",
    "ocr_correct",
    "ocr_push",
    "ocr_push_retry",
    "touch_customer",
]
