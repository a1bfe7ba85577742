"""OCR results of identity documents: the correction page and the customer file's OCR panel.

Documents are only ever found through `documents_visible_to`, so a user reaches the OCR of the
customers they may see and nothing else. Corrections come prefetched with their authors: pages
issue the same few queries whatever the number of sources and corrections.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, TypedDict

from django.db.models import (
    Count,
    IntegerField,
    JSONField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from kyc.models import AuditEvent, Customer, Document, OcrCorrection, OcrResult
from kyc.selectors.access import documents_visible_to

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class CorrectionsSummary(TypedDict):
    """What `customer_ocr_results` annotates on each OCR result."""

    correction_count: int
    latest_correction_id: int | None
    latest_sync_status: str | None
    # The `changes` of the latest correction of the MRZ, if any.
    mrz_correction: dict[str, Any] | None


def _results() -> QuerySet[OcrResult]:
    corrections = OcrCorrection.objects.select_related("author").order_by("pk")
    return OcrResult.objects.order_by("source", "pk").prefetch_related(
        Prefetch("corrections", queryset=corrections)
    )


def ocr_document(user, pk: int) -> Document:
    """An identity document the user may see (404 otherwise), with its customer."""
    return get_object_or_404(
        documents_visible_to(user)
        .filter(kind__in=Document.IDENTITY_KINDS)
        .select_related("customer"),
        pk=pk,
    )


def document_results(document: Document) -> list[OcrResult]:
    """Every source's reading of the document, with corrections (oldest first) and authors."""
    return list(_results().filter(document=document))


def customer_ocr_results(
    customer: Customer,
) -> list[WithAnnotations[OcrResult, CorrectionsSummary]]:
    """The OCR results of the customer's identity documents with their documents and a summary
    of their corrections, in one query (the customer file shows it on every visit): how many,
    the latest one and its delivery state, and the latest corrected MRZ (as `changes`)."""
    corrections = OcrCorrection.objects.filter(ocr_result=OuterRef("pk")).order_by("-pk")
    counts = (
        OcrCorrection.objects.filter(ocr_result=OuterRef("pk"))
        .order_by()
        .values("ocr_result")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return list(
        OcrResult.objects.filter(
            document__customer=customer, document__kind__in=Document.IDENTITY_KINDS
        )
        .select_related("document")
        .defer("confidence")
        .annotate(
            correction_count=Coalesce(Subquery(counts, output_field=IntegerField()), Value(0)),
            latest_correction_id=Subquery(corrections.values("pk")[:1]),
            latest_sync_status=Subquery(corrections.values("sync_status")[:1]),
            mrz_correction=Subquery(
                corrections.filter(changes__has_key="mrz_raw_string").values("changes")[:1],
                output_field=JSONField(),
            ),
        )
        .order_by("-document__created_at", "-document_id", "source")
    )


def visible_correction(user, pk: int) -> OcrCorrection:
    return get_object_or_404(
        OcrCorrection.objects.select_related("ocr_result__document").filter(
            ocr_result__document__in=documents_visible_to(user)
        ),
        pk=pk,
    )


def scheduled_retry(correction: OcrCorrection | None) -> dt.datetime | None:
    """When the next automatic push of a failed correction is due (from its latest failure's
    audit row), or None when no automatic retry is coming."""
    if correction is None or correction.sync_status != OcrCorrection.SyncStatus.FAILED:
        return None
    after = (
        AuditEvent.objects.filter(
            action="ocr.sync_error", object_type="ocrcorrection", object_id=str(correction.pk)
        )
        .order_by("-created_at", "-id")
        .values_list("after", flat=True)
        .first()
    )
    raw = (after or {}).get("retry_at")
    if not raw:
        return None
    try:
        when = dt.datetime.fromisoformat(raw)
    except ValueError:
        return None
    return when if when > timezone.now() - dt.timedelta(minutes=1) else None


def pending_since(correction: OcrCorrection) -> dt.datetime:
    """When the correction was last queued for delivery (saved, or sent again), from the audit
    trail: the Retry button reappears when a push has been on its way for too long."""
    queued = (
        AuditEvent.objects.filter(
            action__in=("ocr.correct", "ocr.sync_retry"),
            object_type="ocrcorrection",
            object_id=str(correction.pk),
        )
        .order_by("-created_at", "-id")
        .values_list("created_at", flat=True)
        .first()
    )
    return queued or correction.created_at
