"""Document intake: validate by content, store the original bytes, record the row."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from kyc import intake, names
from kyc.dates import EARLIEST_DATE
from kyc.models import AnalysisRequest, Document
from kyc.services.audit import audit_record, touch_customer
from kyc.services.jobs import jobs_create_for_document

BANK_STATEMENT_PERIODS = ("", "month", "quarter", "semester")


def _validate_period(kind: str, period: str, document_date: dt.date | None) -> None:
    errors: dict[str, list[str]] = {}
    if kind not in Document.Kind.values:
        errors["kind"] = [_("Choose the kind of document.")]
    if period not in Document.Period.values:
        errors["period"] = [_("Choose a valid period.")]
    elif kind == Document.Kind.BANK_STATEMENT and period not in (
        "",
        "month",
        "quarter",
        "semester",
    ):
        errors["period"] = [_("A bank statement covers a month, a quarter or a semester.")]
    elif kind == Document.Kind.FINANCIAL_STATEMENT and period not in ("", "year"):
        errors["period"] = [_("A financial statement covers a year.")]
    if document_date is not None and document_date > timezone.localdate():
        errors["document_date"] = [_("The document date cannot be in the future.")]
    elif document_date is not None and document_date < EARLIEST_DATE:
        errors["document_date"] = [_("The document date cannot be before 1900.")]
    if errors:
        raise ValidationError(errors)


def document_add(
    *,
    request: AnalysisRequest,
    uploaded_file: File,
    kind: str,
    actor,
    period: str = "",
    document_date: dt.date | None = None,
) -> Document:
    """Validate an uploaded file by its content, store its original bytes, record it.

    Refuses empty, oversized and unrecognised files with a ValidationError before anything is
    written. The bytes are stored unchanged (fraud engines read the original), under a random
    name; if the database write fails the stored file is removed again, so nothing is half-saved.
    """
    _validate_period(kind, period, document_date)
    uploaded_file.seek(0)
    try:
        inspected = intake.inspect_chunks(
            uploaded_file.chunks(), max_bytes=settings.MAX_UPLOAD_BYTES
        )
        intake.check_content(lambda: _rewound(uploaded_file), inspected.content_type)
    except intake.IntakeError as exc:
        raise ValidationError({"file": [str(exc)]}) from exc
    uploaded_file.seek(0)

    customer = request.customer
    original_name = names.recorded_file_name(getattr(uploaded_file, "name", "") or "")
    stored_name = default_storage.save(f"documents/{customer.pk}/{uuid.uuid4().hex}", uploaded_file)
    try:
        with transaction.atomic():
            duplicate_of = (
                Document.objects.filter(customer=customer, sha256=inspected.sha256)
                .order_by("created_at", "id")
                .first()
            )
            document = Document.objects.create(
                request=request,
                customer=customer,
                kind=kind,
                period=period,
                document_date=document_date,
                file=stored_name,
                original_name=original_name,
                size=inspected.size,
                sha256=inspected.sha256,
                content_type=inspected.content_type,
                status=Document.Status.ONLINE,
                duplicate_of=duplicate_of,
                uploaded_by=actor,
            )
            audit_record(
                actor=actor,
                action="document.add",
                obj=document,
                customer=customer,
                after={
                    "kind": kind,
                    "original_name": original_name,
                    "size": inspected.size,
                    "sha256": inspected.sha256,
                    "content_type": inspected.content_type,
                    "duplicate_of": duplicate_of.pk if duplicate_of else None,
                },
            )
            touch_customer(customer)
            jobs_create_for_document(document=document, actor=actor)
    except BaseException:
        default_storage.delete(stored_name)
        raise
    return document


def _rewound(uploaded_file: File):
    """The upload, from its first byte, in a context manager that leaves it open afterwards."""
    uploaded_file.seek(0)
    return contextlib.nullcontext(uploaded_file)


def document_access_record(
    *, actor: User | AnonymousUser, document: Document, action: str, obj: Model | None = None
) -> None:
    """Record who opened an identity document (`obj`: what was opened, when it is not the
    document itself, e.g. a vendor's report file that reproduces it). Reading someone's
    identity papers is itself personal-data processing; other documents are not recorded.
    Call it once the file is known to open, so that a failed read leaves no row."""
    if document.is_identity:
        audit_record(actor=actor, action=action, obj=obj or document, customer=document.customer)
