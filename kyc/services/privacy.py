"""Data protection: retention (purging documents after a final decision, and webhook payloads
after WEBHOOK_RETENTION_DAYS), erasure of a customer on request, and the audit record of a
customer-file export.

What is kept, and why, in one place:

- **Audit rows are never changed or deleted**, not even on erasure. They are the institution's
  record of what it did and why, which AML law (French CMF L.561-12: five years) requires it to
  keep, and which GDPR allows it to keep (art. 17(3)(b) and (e)). Their before/after snapshots may
  hold personal values written at the time (a name at customer creation, a corrected OCR
  value, an uploaded file's name). Blanking those values would need an UPDATE on an append-only
  table, which the model refuses on purpose: an audit trail that can be edited proves nothing.
  The trade-off is therefore explicit: after erasure, personal data survives only in the audit
  trail, readable only by reviewers and administrators, and goes when the audit rows themselves
  reach the end of their retention (a retention job for audit rows, run outside the app with
  the database owner's rights, is the place for that). The erasure is itself audited, without
  any personal value in its snapshot.
- **Stored files are deleted before the transaction that records their deletion commits**: if
  the database write fails, the rows still point at files that may be gone (the viewer says so)
  and running the same service again finishes the job; the opposite order could leave personal
  files on disk behind rows that claim they were deleted.
- **Companies**: a SIREN identifies a legal person, which GDPR does not protect, and the company
  register is public; erasing a company customer pseudonymises the people around it (officers,
  documents, free text) but keeps its legal name, SIREN and SIRET unless asked to erase them too
  (`erase_company_identity=True`), which is right for a sole trader (entreprise individuelle),
  whose company name and SIREN identify a person.
- **Webhook payloads**: a delivery's raw body and headers are evidence of what a vendor sent, but
  Mindee's carry the OCR of identity documents (names, birth dates, document numbers), and
  nothing reads them once the delivery is processed (processing re-fetches the result from the
  vendor). They are blanked WEBHOOK_RETENTION_DAYS after receipt; the row stays (provider,
  event, signature verdict, state, times, dedupe key) because its unique dedupe key is what
  recognises a replayed delivery as a duplicate. A delivery still `received` at the end of its
  retention was never processed (its task was lost and the sweeper was not run, or gave up): it
  is ended `failed`, saying so, and blanked like the others; one received moments ago (a
  retention of 0 days) is left to its task.
- **Vendor copies** (October, Finovox, Mindee, Artemis) are not erased here: the erasure audit row
  lists the vendor references so that the data protection officer can ask each vendor.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from kyc import roles
from kyc.i18n import Deferred, as_detail, as_text
from kyc.models import (
    AnalysisRequest,
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
from kyc.services.audit import audit_record, touch_customer

logger = logging.getLogger(__name__)

ERASED_TEXT = "[erased]"
MAX_REASON_LENGTH = 2000
# Report reason keys kept on erasure: the finding itself, not what it was about.
KEPT_REASON_KEYS = ("code", "typeCode", "level", "title")
FINAL_OUTCOMES = (Decision.Outcome.APPROVE, Decision.Outcome.REJECT)
FINAL_STATUSES = (Customer.Status.APPROVED, Customer.Status.REJECTED)


def _delete_file(name: str) -> None:
    """Delete one stored file; a missing one is already what we want."""
    if name:
        default_storage.delete(name)


# ------------------------------------------------------------------------------------ retention


@dataclass
class PurgeResult:
    dry_run: bool
    cutoff: dt.datetime
    documents: list[int] = field(default_factory=list)
    customers: set[int] = field(default_factory=set)
    attachments: int = 0
    skipped_busy: list[int] = field(default_factory=list)


def final_decision_times() -> Subquery:
    """When each customer's latest confirmed approve/reject decision was confirmed."""
    return Subquery(
        Decision.objects.filter(
            customer=OuterRef("customer"),
            status=Decision.Status.CONFIRMED,
            outcome__in=FINAL_OUTCOMES,
            reviewed_at__isnull=False,
        )
        .order_by("-reviewed_at", "-pk")
        .values("reviewed_at")[:1]
    )


def documents_due_for_purge(*, now: dt.datetime | None = None, days: int | None = None):
    """Documents whose retention has run out: their customer's file is closed (approved or
    rejected) by a decision confirmed more than `days` (RETENTION_DAYS_AFTER_DECISION) ago, and
    they were uploaded before that decision. A document uploaded after the final decision (a
    later review) waits for the decision that closes that review."""
    now = now or timezone.now()
    days = settings.RETENTION_DAYS_AFTER_DECISION if days is None else days
    cutoff = now - dt.timedelta(days=days)
    return (
        Document.objects.exclude(status=Document.Status.PURGED)
        .filter(customer__status__in=FINAL_STATUSES)
        .annotate(decided_at=final_decision_times())
        .filter(decided_at__lte=cutoff, created_at__lte=F("decided_at"))
        .order_by("customer_id", "pk")
    ), cutoff


def documents_purge_expired(
    *, now: dt.datetime | None = None, days: int | None = None, dry_run: bool = False
) -> PurgeResult:
    """Purge every document past its retention (see `documents_due_for_purge`): delete its
    stored file and the vendor report files made from it, mark it purged with an empty file
    field, and audit "document.purge" for each. Reports, OCR results, decisions and audit rows
    stay. Idempotent: purged documents are skipped. `dry_run` lists what would go and changes
    nothing. A document with an analysis still running is left for the next run."""
    days = settings.RETENTION_DAYS_AFTER_DECISION if days is None else days
    due, cutoff = documents_due_for_purge(now=now, days=days)
    result = PurgeResult(dry_run=dry_run, cutoff=cutoff)
    for document_id, customer_id, decided_at in due.values_list("pk", "customer_id", "decided_at"):
        if ProviderJob.objects.filter(
            document_id=document_id, status__in=ProviderJob.ACTIVE_STATUSES
        ).exists():
            result.skipped_busy.append(document_id)
            continue
        if dry_run:
            purged = True
            attachments = (
                Report.objects.filter(document_id=document_id).exclude(attachment="").count()
            )
        else:
            purged, attachments = document_purge(
                document_id=document_id,
                reason="retention",
                details={"decided_at": decided_at.isoformat(), "retention_days": days},
            )
        if purged:
            result.documents.append(document_id)
            result.customers.add(customer_id)
            result.attachments += attachments
    return result


@transaction.atomic
def document_purge(
    *, document_id: int, reason: str, actor=None, details: dict[str, Any] | None = None
) -> tuple[bool, int]:
    """Delete one document's stored file (and its vendor report files), keep the row as purged.

    Returns (purged now, report files deleted); (False, 0) when it was purged already.
    """
    document = (
        Document.objects.select_for_update(of=("self",))
        .select_related("customer")
        .filter(pk=document_id)
        .first()
    )
    if document is None or document.status == Document.Status.PURGED:
        return False, 0
    names = [document.file.name] if document.file.name else []
    reports = list(Report.objects.filter(document=document).exclude(attachment=""))
    names += [report.attachment.name for report in reports if report.attachment.name]
    before = {"status": document.status}
    Report.objects.filter(pk__in=[r.pk for r in reports]).update(attachment="")
    document.file = ""
    document.status = Document.Status.PURGED
    document.save(update_fields=["file", "status", "updated_at"])
    audit_record(
        actor=actor,
        action="document.purge",
        obj=document,
        customer=document.customer,
        before=before,
        after={
            "status": document.status,
            "reason": reason,
            "files_deleted": len(names),
            **(details or {}),
        },
    )
    for name in names:  # last: see the module docstring
        _delete_file(name)
    return True, len(reports)


# ------------------------------------------------------------------ webhook payload retention

# Deliveries in these states are done with: nothing reads their body again. A RECEIVED one still
# waits for its task, which needs the body, unless it has waited past WEBHOOK_STALE_SECONDS too.
WEBHOOK_FINAL_STATES = tuple(
    state for state in WebhookEvent.State if state != WebhookEvent.State.RECEIVED
)
WEBHOOK_PURGE_BATCH = 1000


@dataclass(frozen=True)
class WebhookPurgeResult:
    dry_run: bool
    cutoff: dt.datetime
    days: int
    count: int
    providers: dict[str, int] = field(default_factory=dict)


def webhook_payloads_due_for_purge(
    *, now: dt.datetime | None = None, days: int | None = None
) -> tuple[QuerySet[WebhookEvent], dt.datetime]:
    """Deliveries received before now - `days` (WEBHOOK_RETENTION_DAYS) whose body and headers are
    still stored: those whose processing is over, and those never processed that have also waited
    longer than WEBHOOK_STALE_SECONDS (see the module docstring)."""
    now = now or timezone.now()
    days = settings.WEBHOOK_RETENTION_DAYS if days is None else days
    cutoff = now - dt.timedelta(days=days)
    stale = now - dt.timedelta(seconds=settings.WEBHOOK_STALE_SECONDS)
    return (
        WebhookEvent.objects.filter(received_at__lt=cutoff, payload_purged_at__isnull=True).filter(
            Q(state__in=WEBHOOK_FINAL_STATES)
            | Q(state=WebhookEvent.State.RECEIVED, received_at__lt=stale)
        ),
        cutoff,
    )


@transaction.atomic
def webhook_payloads_purge(
    *,
    now: dt.datetime | None = None,
    days: int | None = None,
    dry_run: bool = False,
    batch_size: int = WEBHOOK_PURGE_BATCH,
) -> WebhookPurgeResult:
    """Blank the raw body and headers of every webhook delivery past its retention (see
    `webhook_payloads_due_for_purge`) and stamp `payload_purged_at`; the rows stay, so their
    dedupe keys still catch replays (see the module docstring). One UPDATE per batch of
    `batch_size` rows, all in one transaction with one "webhook.purge" audit row counting them,
    so that the audit trail and the table never disagree. Idempotent: a second run finds nothing
    (and audits nothing). `dry_run` counts what would go and changes nothing."""
    now = now or timezone.now()
    days = settings.WEBHOOK_RETENTION_DAYS if days is None else days
    due, cutoff = webhook_payloads_due_for_purge(now=now, days=days)
    if dry_run:
        counts = dict(
            due.order_by()
            .values_list("provider")
            .annotate(n=Count("pk"))
            .values_list("provider", "n")
        )
        return WebhookPurgeResult(
            dry_run=True, cutoff=cutoff, days=days, count=sum(counts.values()), providers=counts
        )
    providers: dict[str, int] = {}
    unprocessed = 0
    never_processed = _("Never processed: its retention ran out before any worker took it.")
    last_id = 0
    while True:
        # Locked, so that two purges running at once do not both count the same rows.
        batch = list(
            due.filter(pk__gt=last_id)
            .select_for_update()
            .order_by("pk")
            .values_list("pk", "provider", "state")[:batch_size]
        )
        if not batch:
            break
        last_id = batch[-1][0]
        # A delivery never processed never will be once blanked: it ends failed, saying why.
        waiting = Q(state=WebhookEvent.State.RECEIVED)
        WebhookEvent.objects.filter(
            pk__in=[pk for pk, _provider, _state in batch], payload_purged_at__isnull=True
        ).update(
            body=b"",
            headers={},
            payload_purged_at=now,
            state=Case(When(waiting, then=Value(WebhookEvent.State.FAILED)), default=F("state")),
            processed_at=Case(
                When(waiting, then=Value(now)),
                default=F("processed_at"),
                output_field=DateTimeField(),
            ),
            error=Case(
                When(waiting, then=Value(never_processed)),
                default=F("error"),
                output_field=TextField(),
            ),
        )
        for _pk, provider, state in batch:
            providers[provider] = providers.get(provider, 0) + 1
            unprocessed += state == WebhookEvent.State.RECEIVED
    count = sum(providers.values())
    if count:
        audit_record(
            actor=None,
            action="webhook.purge",
            obj=WebhookEvent,
            after={
                "reason": "retention",
                "retention_days": days,
                "received_before": cutoff.isoformat(),
                "webhooks": count,
                "unprocessed": unprocessed,
                "providers": providers,
            },
        )
        logger.info("purged %d webhook payload(s) received before %s", count, cutoff.isoformat())
    return WebhookPurgeResult(
        dry_run=False, cutoff=cutoff, days=days, count=count, providers=providers
    )


# ------------------------------------------------------------------------------------- erasure


@dataclass(frozen=True)
class ErasureSummary:
    """What an erasure of this customer would touch (shown on the confirmation page)."""

    documents: int
    files: int
    reports: int
    ocr_results: int
    officers: int
    decisions: int


def erasure_summary(customer: Customer) -> ErasureSummary:
    documents = Document.objects.filter(customer=customer)
    reports = Report.objects.filter(request__customer=customer)
    return ErasureSummary(
        documents=documents.count(),
        files=documents.exclude(file="").count() + reports.exclude(attachment="").count(),
        reports=reports.count(),
        ocr_results=OcrResult.objects.filter(document__customer=customer).count(),
        officers=Officer.objects.filter(request__customer=customer).count(),
        decisions=Decision.objects.filter(customer=customer).count(),
    )


def _pseudonymised_reasons(reasons: Any) -> list[dict[str, Any]]:
    if not isinstance(reasons, list):
        return []
    return [
        {key: reason[key] for key in KEPT_REASON_KEYS if key in reason}
        for reason in reasons
        if isinstance(reason, dict)
    ]


@transaction.atomic
def customer_erase(
    *, customer: Customer, reason: str, actor, erase_company_identity: bool = False
) -> Customer:
    """Erase a customer on request (GDPR art. 17): administrators only, with a reason.

    Deletes every stored file of the customer (documents and vendor report files) and
    pseudonymises what identifies a person: the customer's names, birth date and nationality;
    the documents' original file names; OCR readings and corrections; the managers found by
    Manager X-Ray; raw vendor payloads and report details; every free text written about the
    case (decision reasons and comments, alert notes, job errors). What remains is the skeleton
    of the case: which checks ran, what they found (reason codes and levels), what was decided,
    by whom and when. Active jobs are failed and pending OCR pushes cancelled, so nothing reads
    or sends the erased data afterwards. Sets `erased_at`; the customer then disappears from
    every page.

    The audit trail is kept unchanged (see the module docstring for why) and gains one
    "customer.erase" row holding the reason and the vendor references to erase at each vendor,
    and no personal value.
    """
    if not roles.can_administer(actor):
        raise PermissionDenied(_("Only administrators may erase a customer."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why this customer is erased.")]})
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationError(
            {"reason": [_("%(max)d characters at most.") % {"max": MAX_REASON_LENGTH}]}
        )
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.erased_at is not None:
        raise ValidationError(_("This customer file was erased already."), code="erased")
    now = timezone.now()

    documents = list(Document.objects.filter(customer=customer).order_by("pk"))
    reports = list(Report.objects.filter(request__customer=customer).order_by("pk"))
    requests = list(AnalysisRequest.objects.filter(customer=customer))
    files = [d.file.name for d in documents if d.file.name] + [
        r.attachment.name for r in reports if r.attachment.name
    ]
    vendor_references = {
        "artemis_customer_id": customer.artemis_customer_id or None,
        "artemis_document_ids": sorted({d.artemis_document_id for d in documents} - {""}),
        "october_request_ids": sorted(
            {r.october_request_id for r in requests if r.october_request_id}
        ),
        "october_media_ids": sorted({d.october_media_id for d in documents} - {""}),
        "vendor_report_ids": sorted(
            {f"{r.source}:{r.external_id}" for r in reports if r.external_id}
        ),
    }

    # The customer.
    fields = ["first_name", "last_name", "birth_date", "nationality", "erased_at"]
    customer.erased_at = now
    if customer.kind == Customer.Kind.INDIVIDUAL:
        customer.first_name = ""
        customer.last_name = f"ERASED-{customer.pk}"
        customer.birth_date = None
        customer.nationality = ""
    elif erase_company_identity:
        customer.legal_name = f"ERASED-{customer.pk}"
        # Nine digits, as the format constraint wants, and no company's number.
        customer.siren = "000000000"
        customer.siret = ""
        fields += ["legal_name", "siren", "siret"]
        AnalysisRequest.objects.filter(
            customer=customer, code_type=AnalysisRequest.CodeType.SIREN
        ).update(code_id=customer.siren, updated_at=now)
    customer.save(update_fields=fields)

    # Documents: files go (below), rows stay as purged, their names go.
    Document.objects.filter(customer=customer).update(
        file="", status=Document.Status.PURGED, original_name=ERASED_TEXT, updated_at=now
    )
    # Vendor results: keep what was found, not what it was about.
    for report in reports:
        report.reasons = _pseudonymised_reasons(report.reasons)
        report.summary = {}
        report.raw = {}
        report.attachment = ""
    Report.objects.bulk_update(reports, ["reasons", "summary", "raw", "attachment"])
    OcrResult.objects.filter(document__customer=customer).update(
        fields={}, confidence={}, updated_at=now
    )
    corrections = list(OcrCorrection.objects.filter(ocr_result__document__customer=customer))
    for correction in corrections:
        correction.changes = {key: {"old": None, "new": None} for key in (correction.changes or {})}
        correction.reason = ERASED_TEXT
        correction.sync_error = ""
        if correction.sync_status == OcrCorrection.SyncStatus.PENDING:
            correction.sync_status = OcrCorrection.SyncStatus.FAILED
            correction.sync_error = _("Customer erased: not sent.")
    OcrCorrection.objects.bulk_update(
        corrections, ["changes", "reason", "sync_error", "sync_status"]
    )
    officers = list(Officer.objects.filter(request__customer=customer))
    for officer in officers:
        officer.last_name = f"ERASED-{officer.pk}"  # unique per request, as the model wants
        officer.first_name = ""
        officer.birth_date = None
    Officer.objects.bulk_update(officers, ["last_name", "first_name", "birth_date"])
    ManagerAlert.objects.filter(customer=customer).exclude(review_note="").update(
        review_note=ERASED_TEXT
    )
    # Free text about the case.
    decisions = Decision.objects.filter(customer=customer)
    decisions.filter(status=Decision.Status.PROPOSED).update(
        status=Decision.Status.VOID, void_reason=ERASED_TEXT
    )
    decisions.update(reason=ERASED_TEXT)
    decisions.exclude(review_comment="").update(review_comment=ERASED_TEXT)
    decisions.exclude(void_reason="").update(void_reason=ERASED_TEXT)
    # Nothing may read the deleted files or send erased data any more.
    jobs = ProviderJob.objects.filter(request__customer=customer)
    active = list(jobs.filter(status__in=ProviderJob.ACTIVE_STATUSES).values_list("pk", flat=True))
    jobs.update(last_error="", last_error_detail=None)  # vendor messages may quote what they read
    erased = Deferred(gettext_noop("Customer erased."))
    ProviderJob.objects.filter(pk__in=active).update(
        status=ProviderJob.Status.FAILED,
        last_error=as_text(erased),
        last_error_detail=as_detail(erased),
        finished_at=now,
        next_poll_at=None,
        lease_expires_at=None,
        updated_at=now,
    )

    audit_record(
        actor=actor,
        action="customer.erase",
        obj=customer,
        customer=customer,
        after={
            "reason": reason,
            "documents": len(documents),
            "files_deleted": len(files),
            "reports": len(reports),
            "officers": len(officers),
            "jobs_stopped": len(active),
            "company_identity_erased": bool(
                erase_company_identity and customer.kind == Customer.Kind.COMPANY
            ),
            "vendor_references": vendor_references,
        },
    )
    touch_customer(customer)
    for name in files:  # last: see the module docstring
        _delete_file(name)
    return customer


# -------------------------------------------------------------------------------------- export


EXPORT_PURPOSES = ("regulator", "access_request", "other")


@transaction.atomic
def customer_export_record(*, customer: Customer, actor, purpose: str, reference: str) -> None:
    """Record that `actor` exported the customer's complete file (before the first byte is sent):
    reviewers and administrators only, with a purpose and a reference (the regulator's request
    number, the data subject's request date...)."""
    if not roles.can_review(actor):
        raise PermissionDenied(_("Only reviewers and administrators may export a customer file."))
    errors: dict[str, list[str]] = {}
    if purpose not in EXPORT_PURPOSES:
        errors["purpose"] = [_("Choose why the file is exported.")]
    reference = (reference or "").strip()
    if not reference:
        errors["reference"] = [_("Give the request's reference, or say who asked for it.")]
    elif len(reference) > 500:
        errors["reference"] = [_("500 characters at most.")]
    if errors:
        raise ValidationError(errors)
    if customer.erased_at is not None:
        raise ValidationError(_("This customer file was erased."))
    audit_record(
        actor=actor,
        action="customer.export",
        obj=customer,
        customer=customer,
        after={"purpose": purpose, "reference": reference},
    )
