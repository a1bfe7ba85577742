"""Data protection screens: export one customer's complete file (a streamed ZIP) and erase a
customer on request, each behind a confirmation form; and the customer file's panel linking them.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterator
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from kyc import roles
from kyc.forms import add_service_errors
from kyc.models import Customer
from kyc.names import json_visible
from kyc.selectors import privacy as selectors
from kyc.selectors.customers import customer_for_detail
from kyc.services import privacy as services

READ_CHUNK = 1024 * 1024


class ExportForm(forms.Form):
    purpose = forms.ChoiceField(
        label=gettext_lazy("Why is the file exported?"),
        choices=[
            ("regulator", gettext_lazy("A regulator's or auditor's request")),
            ("access_request", gettext_lazy("The customer's access request (GDPR art. 15)")),
            ("other", gettext_lazy("Other (say which in the reference)")),
        ],
        widget=forms.RadioSelect,
    )
    reference = forms.CharField(
        label=gettext_lazy("Reference"),
        max_length=500,
        help_text=gettext_lazy("The request's number or date, and who asked for the file."),
    )


class EraseForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason for the erasure"),
        max_length=services.MAX_REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("E.g. the customer's erasure request of 12 March, reference …"),
    )
    erase_company_identity = forms.BooleanField(
        label=gettext_lazy("Also erase the company's name, SIREN and SIRET (a sole trader)"),
        required=False,
    )
    confirm = forms.BooleanField(
        label=gettext_lazy("I understand that the files and personal data are gone for good."),
        required=True,
    )


def privacy_panel_context(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    """The customer file's data protection panel: no query (roles are cached on the user)."""
    return {
        "can_export_file": roles.can_review(request.user),
        "can_erase": roles.can_administer(request.user),
        "retention_days": settings.RETENTION_DAYS_AFTER_DECISION,
    }


# -------------------------------------------------------------------------------------- export


@require_http_methods(["GET", "POST"])
def customer_export(request: HttpRequest, pk: int) -> HttpResponseBase:
    """GET: the form (purpose and reference). POST: the audited, streamed ZIP of the file."""
    customer = customer_for_detail(request.user, pk)
    if not roles.can_review(request.user):
        raise PermissionDenied(_("Only reviewers and administrators may export a customer file."))
    form = ExportForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.customer_export_record(
                customer=customer, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _zip_response(request, customer, form.cleaned_data)
    return render(request, "kyc/privacy/export.html", {"customer": customer, "form": form})


class _Sink:
    """A write-only, unseekable file for ZipFile: what it gets is handed out as it comes."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def write(self, data: bytes, /) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass  # nothing to release: the chunks are taken as they come

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def _readme(
    request: HttpRequest, customer: Customer, cleaned: dict[str, Any], now: dt.datetime
) -> str:
    return "\n".join(
        [
            _("Customer file #%(id)d, exported %(time)s by %(user)s.")
            % {"id": customer.pk, "time": now.isoformat(), "user": request.user.get_username()},
            _("Purpose: %(purpose)s. Reference: %(reference)s.")
            % {"purpose": cleaned["purpose"], "reference": cleaned["reference"]},
            "",
            _(
                "customer-file.json: the customer's data, analysis requests, documents, jobs, "
                "reports with the providers' raw answers, OCR results and corrections, company "
                "managers and their alerts, decisions and the audit trail."
            ),
            _("documents/: the documents as uploaded (purged ones are listed, without a file)."),
            _("report-files/: files attached to reports by the providers."),
            "",
        ]
    )


def _zip_stream(data: dict, files: list[selectors.ExportFile], readme: str) -> Iterator[bytes]:
    sink = _Sink()
    missing = []
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", readme)
        archive.writestr(
            "customer-file.json",
            # Exact values (the record), with invisible characters written as \u escapes.
            json_visible(data, indent=2, default=str),
        )
        yield sink.take()
        for item in files:
            try:
                source = default_storage.open(item.storage_name, "rb")
            except FileNotFoundError:
                missing.append(item.archive_name)
                continue
            with source, archive.open(item.archive_name, "w") as target:
                while chunk := source.read(READ_CHUNK):
                    target.write(chunk)
                    yield sink.take()
        if missing:
            archive.writestr("MISSING.txt", "\n".join(missing) + "\n")
    yield sink.take()


def _zip_response(
    request: HttpRequest, customer: Customer, cleaned: dict[str, Any]
) -> StreamingHttpResponse:
    data, files = selectors.customer_export(customer)
    now = timezone.now()
    data = {
        "exported_at": now.isoformat(),
        "exported_by": request.user.get_username(),
        "purpose": cleaned["purpose"],
        "reference": cleaned["reference"],
        **data,
    }
    stamp = timezone.localtime(now).strftime("%Y%m%d-%H%M%S")
    return StreamingHttpResponse(
        _zip_stream(data, files, _readme(request, customer, cleaned, now)),
        content_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="customer-{customer.pk}-{stamp}.zip"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


# ------------------------------------------------------------------------------------- erasure


@require_http_methods(["GET", "POST"])
def customer_erase(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what erasing would do, and the form (a reason is required). POST: erase."""
    if not roles.can_administer(request.user):
        raise PermissionDenied(_("Only administrators may erase a customer."))
    customer = customer_for_detail(request.user, pk)
    form = EraseForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.customer_erase(
                customer=customer,
                reason=form.cleaned_data["reason"],
                erase_company_identity=form.cleaned_data["erase_company_identity"],
                actor=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _(
                    "Customer file #%(id)d erased: its files are deleted and its personal data "
                    "pseudonymised. The audit trail keeps the record."
                )
                % {"id": customer.pk},
            )
            return redirect("kyc:home")
    return render(
        request,
        "kyc/privacy/erase.html",
        {
            "customer": customer,
            "form": form,
            "summary": services.erasure_summary(customer),
        },
    )
