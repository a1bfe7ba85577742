from __future__ import annotations

from django.urls import path

from kyc.views import alerts, audit, customers, decisions, documents, ocr, privacy, reports

app_name = "kyc"

urlpatterns = [
    path("", customers.queue, name="home"),
    path("queue/next/", customers.take_next, name="queue-next"),
    path("customers/new/", customers.customer_create, name="customer-create"),
    path("customers/siren-check/", customers.siren_check, name="siren-check"),
    path("customers/<int:pk>/", customers.customer_detail, name="customer-detail"),
    path("customers/<int:pk>/assign/", customers.assign, name="customer-assign"),
    path("customers/<int:pk>/status/", documents.live_status, name="customer-status"),
    # Data protection: export a customer's complete file, erase a customer on request
    path("customers/<int:pk>/export/", privacy.customer_export, name="customer-export"),
    path("customers/<int:pk>/erase/", privacy.customer_erase, name="customer-erase"),
    path("requests/<int:request_id>/documents/", documents.upload, name="document-upload"),
    path("documents/<int:pk>/", documents.viewer, name="document-viewer"),
    path("documents/<int:pk>/file/", documents.file, name="document-file"),
    path("documents/<int:pk>/pages/<int:number>.png", documents.pdf_page, name="document-page"),
    path("jobs/<int:pk>/retry/", documents.job_retry, name="job-retry"),
    # Review and decide (reports, manager alerts, four-eyes decisions, audit trail)
    path("reports/<int:pk>/", reports.report_detail, name="report-detail"),
    path("reports/<int:pk>/file/", reports.report_attachment, name="report-attachment"),
    path("customers/<int:pk>/alerts/", alerts.customer_alerts, name="customer-alerts"),
    path("alerts/", alerts.alerts_inbox, name="alerts-inbox"),
    path("alerts/<int:pk>/review/", alerts.alert_review, name="alert-review"),
    path("customers/<int:pk>/decisions/", decisions.decision_propose, name="decision-propose"),
    path("decisions/<int:pk>/confirm/", decisions.decision_confirm, name="decision-confirm"),
    path("decisions/<int:pk>/send-back/", decisions.decision_send_back, name="decision-send-back"),
    path("customers/<int:pk>/timeline/", audit.customer_timeline_panel, name="customer-timeline"),
    path("audit/", audit.audit_log, name="audit-log"),
    path("audit/export.csv", audit.audit_export, name="audit-export"),
    # OCR corrections, delivered to Artemis
    path("documents/<int:pk>/ocr/", ocr.document_ocr, name="ocr-document"),
    path("documents/<int:pk>/ocr/artemis/", ocr.artemis_link, name="ocr-artemis-link"),
    path("ocr/mrz-check/", ocr.mrz_check, name="ocr-mrz-check"),
    path("ocr-corrections/<int:pk>/retry/", ocr.correction_retry, name="ocr-correction-retry"),
]
