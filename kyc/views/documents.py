"""Documents: upload, viewer, the permission-checked file view, job retry and live status."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_cache_control
from django.utils.http import parse_etags, quote_etag
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling, trigger_client_event

from kyc import roles, services
from kyc.analysis import pdf_render
from kyc.forms import DocumentRowForm
from kyc.models import AnalysisRequest, Customer, Document, ProviderJob, stored_name
from kyc.roles import RequestUser
from kyc.selectors import customers as selectors
from kyc.selectors.access import customers_visible_to, documents_visible_to
from kyc.views.common import documents_context, reports_context
from kyc.views.types import HtmxHttpRequest

# Types a browser may show inline from our origin; everything else is downloaded.
INLINE_TYPES = {"application/pdf", "image/jpeg", "image/png", "image/webp"}
PDF_RENDER_SCALE = 1.6
MAX_PDF_PAGES_RENDERED = 500


@dataclass
class UploadResult:
    name: str
    document: object = None
    errors: list[str] | None = None


@require_POST
def upload(request: HtmxHttpRequest, request_id: int) -> HttpResponse:
    """Several files at once, each with its kind (and period/date). Each file is validated and
    saved on its own: refused files get their own message, accepted ones are kept."""
    roles.require_case_worker(request.user)
    analysis_request = get_object_or_404(
        AnalysisRequest.objects.select_related("customer").filter(
            customer__in=customers_visible_to(request.user)
        ),
        pk=request_id,
    )
    customer = analysis_request.customer
    files = request.FILES.getlist("files")
    kinds = request.POST.getlist("kind")
    periods = request.POST.getlist("period")
    dates = request.POST.getlist("document_date")
    results: list[UploadResult] = []
    if not files:
        results.append(UploadResult(name="", errors=[_("Choose at least one file.")]))
    for index, uploaded in enumerate(files):
        # One kind for all files (plain form) or one per file (the enhanced form).
        row = DocumentRowForm(
            {
                "kind": _pick(kinds, index),
                "period": _pick(periods, index),
                "document_date": _pick(dates, index),
            }
        )
        result = UploadResult(name=uploaded.name or "")
        if not row.is_valid():
            result.errors = [str(e) for errors in row.errors.values() for e in errors]
        else:
            try:
                result.document = services.document_add(
                    request=analysis_request,
                    uploaded_file=uploaded,
                    actor=request.user,
                    kind=row.cleaned_data["kind"],
                    period=row.cleaned_data["period"] or "",
                    document_date=row.cleaned_data["document_date"],
                )
            except ValidationError as exc:
                result.errors = exc.messages
        results.append(result)

    if request.htmx:
        context = {
            "customer": customer,
            "upload_results": results,
            **documents_context(customer),
            "can_work": True,
        }
        response = render(request, "kyc/customers/_documents.html", context)
        return trigger_client_event(response, "documents-changed")
    for result in results:
        if result.errors:
            messages.error(request, f"{result.name}: {' '.join(result.errors)}".strip(": "))
        else:
            messages.success(request, _("%(name)s uploaded.") % {"name": result.name})
    return redirect("kyc:customer-detail", pk=customer.pk)


def _pick(values: list[str], index: int) -> str:
    if not values:
        return ""
    return values[index] if index < len(values) else values[-1]


def _visible_document(user: RequestUser, pk: int) -> Document:
    return get_object_or_404(
        documents_visible_to(user).select_related("customer", "request"), pk=pk
    )


def _open_stored(document: Document) -> File:
    """The document's stored file, open; 404 with a message when it is purged or missing."""
    if not document.file.name:
        raise Http404(_("This document's file was purged."))
    try:
        return default_storage.open(document.file.name, "rb")
    except OSError as exc:
        raise Http404(_("This document's file is missing from storage.")) from exc


@require_GET
def viewer(request: HttpRequest, pk: int) -> HttpResponse:
    document = _visible_document(request.user, pk)
    services.document_access_record(actor=request.user, document=document, action="document.view")
    page_count = 0
    if document.content_type == "application/pdf" and document.file:
        page_count = _pdf_page_count(document)
    return render(
        request,
        "kyc/documents/viewer.html",
        {
            "document": document,
            "customer": document.customer,
            "is_image": document.content_type.startswith("image/")
            and document.content_type != "image/tiff",
            "page_count": page_count,
            "pages": range(1, min(page_count, MAX_PDF_PAGES_RENDERED) + 1),
        },
    )


def _pdf_page_count(document: Document) -> int:
    try:
        with default_storage.open(stored_name(document.file), "rb") as handle:
            data = handle.read()
    except OSError:
        return 0
    return pdf_render.page_count(data)


@require_GET
def file(request: HttpRequest, pk: int) -> FileResponse:
    """The original bytes, only through this permission check. Images and PDFs inline, anything
    else as a download; never sniffed by the browser."""
    document = _visible_document(request.user, pk)
    handle = _open_stored(document)
    services.document_access_record(
        actor=request.user, document=document, action="document.download"
    )
    inline = document.content_type in INLINE_TYPES and not request.GET.get("download")
    response = FileResponse(
        handle,
        content_type=document.content_type,
        as_attachment=not inline,
        filename=document.download_name,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    # A PDF opened directly must not run scripts or reach anything.
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    return response


@require_GET
def pdf_page(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    """One PDF page as PNG, rendered on the server (no PDF reader in the browser needed)."""
    document = _visible_document(request.user, pk)
    if document.content_type != "application/pdf":
        raise Http404
    with _open_stored(document) as handle:
        data = handle.read()
    try:
        png = pdf_render.render_page_png(
            data, number, scale=PDF_RENDER_SCALE, max_pages=MAX_PDF_PAGES_RENDERED
        )
    except pdf_render.PdfRenderError as exc:
        raise Http404(_("This PDF cannot be rendered.")) from exc
    if png is None:
        raise Http404
    # Not cached (kyc.middleware.PrivateNoStoreMiddleware): the page of an identity document is
    # the document itself, and its file is never stored either.
    response = HttpResponse(png, content_type="image/png")
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
def job_retry(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    roles.require_case_worker(request.user)
    job = get_object_or_404(
        ProviderJob.objects.filter(request__customer__in=customers_visible_to(request.user)),
        pk=pk,
    )
    try:
        services.job_retry(job_id=job.pk, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The job is queued again."))
    customer = job.request.customer
    if request.htmx:
        return _live_response(request, customer)
    return redirect("kyc:customer-detail", pk=customer.pk)


@require_GET
def live_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The one endpoint the customer file polls while jobs are pending: documents with their
    jobs, plus out-of-band updates of the report summary and the risk flag. Answers 286 (stop
    polling) once nothing is pending.

    Conditional: the fragment carries an ETag of what it shows (one query), so a browser polling
    every 2 s revalidates with If-None-Match and gets 304 Not Modified, without the fragment being
    rendered again, as long as nothing changed (measured in bench/: the full render costs most of
    a web worker's time while analyses run)."""
    etag = _live_etag(request, selectors.customer_live_state(request.user, pk))
    response: HttpResponse
    if etag in parse_etags(request.headers.get("If-None-Match", "")):
        response = HttpResponseNotModified()
    else:
        response = _live_response(request, selectors.customer_for_detail(request.user, pk))
        if response.status_code != 200:
            return response
    response["ETag"] = etag
    # Cached by the browser only, and always revalidated: the poll still reaches us every time.
    patch_cache_control(response, private=True, no_cache=True)
    return response


def _live_etag(request: HttpRequest, state: tuple) -> str:
    """What the fragment depends on besides the data: who asks (the Retry buttons), in which
    language, and the CSRF secret its forms are masked with."""
    key = repr(
        (
            state,
            roles.can_work_cases(request.user),
            get_language(),
            request.META.get("CSRF_COOKIE", ""),
        )
    )
    return quote_etag(hashlib.sha256(key.encode()).hexdigest()[:32])


def _live_response(request: HttpRequest, customer: Customer) -> HttpResponse:
    context = {
        "customer": customer,
        "can_work": roles.can_work_cases(request.user),
        "oob": True,
        **documents_context(customer),
        **reports_context(customer),
    }
    response = render(request, "kyc/customers/_live.html", context)
    if not context["pending"]:
        stop = HttpResponseStopPolling(response.content)
        stop["Content-Type"] = response["Content-Type"]
        return stop
    return response
