"""The audit trail: the global log (reviewers and admins), its CSV export, and the customer
file's activity panel. Read-only: audit rows are never changed through the app."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterable, Iterator

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from kyc import roles, services
from kyc.forms import BoundedDateField
from kyc.models import AuditEvent
from kyc.names import json_visible
from kyc.roles import RequestUser
from kyc.selectors import audit as selectors
from kyc.selectors.customers import customer_for_detail, customer_timeline, paginate
from kyc.views.types import HtmxHttpRequest

PAGE_SIZE = 50
EXPORT_CHUNK = 2000
# Spreadsheet programs run a cell starting with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class AuditFilterForm(forms.Form):
    """The audit log's filters, from the query string; an invalid value is ignored."""

    actor = forms.RegexField(
        label=gettext_lazy("User"), required=False, regex=rf"^([0-9]{{1,18}}|{selectors.SYSTEM})$"
    )
    action = forms.CharField(label=gettext_lazy("Action"), required=False, max_length=64)
    customer = forms.IntegerField(
        label=gettext_lazy("Customer id"), required=False, min_value=1, max_value=2**62
    )
    date_from = BoundedDateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = BoundedDateField(
        label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=1_000_000)

    def filters(self) -> tuple[selectors.AuditFilters, int]:
        self.is_valid()
        data = {k: v for k, v in self.cleaned_data.items() if k not in self.errors}
        return (
            selectors.AuditFilters(
                actor=data.get("actor") or "",
                action=(data.get("action") or "").strip(),
                customer_id=data.get("customer"),
                date_from=data.get("date_from"),
                date_to=data.get("date_to"),
            ),
            data.get("page") or 1,
        )


def _require_auditor(user: RequestUser) -> None:
    if not roles.can_review(user):
        raise PermissionDenied(_("Only reviewers and administrators may read the audit log."))


@require_GET
def audit_log(request: HtmxHttpRequest) -> HttpResponse:
    _require_auditor(request.user)
    return _log_page(request, AuditFilterForm(request.GET))


def _log_page(
    request: HtmxHttpRequest,
    form: AuditFilterForm,
    *,
    export_refused: bool = False,
    status: int = 200,
) -> HttpResponse:
    """The log, filtered by the form's valid values; its invalid ones are listed above the table
    (ignored here, refused by the export)."""
    filters, page_number = form.filters()
    page = paginate(selectors.audit_log(request.user, filters), page_number, size=PAGE_SIZE)
    for event in page.rows:
        event.before_text = _pretty(event.before)
        event.after_text = _pretty(event.after)
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "form": form,
        "filter_errors": _filter_errors(form),
        "export_refused": export_refused,
        "filters": filters,
        "page": page,
        "querystring": params.urlencode(),
        "action_suggestions": selectors.action_suggestions(),
        "users": get_user_model().objects.order_by("username").values_list("pk", "username"),
        "system": selectors.SYSTEM,
    }
    template = "kyc/audit/log.html"
    if request.htmx and request.htmx.target == "audit-table":
        template += "#audit-table"
    return render(request, template, context, status=status)


def _filter_errors(form: AuditFilterForm) -> list[str]:
    """Each invalid filter as "label: message" (the page number is not a filter)."""
    return [
        f"{form.fields[name].label}: {message}"
        for name, messages in form.errors.items()
        if name in form.fields and name != "page"
        for message in messages
    ]


# ------------------------------------------------------------------------------------ export


class _Echo:
    """A file-like object whose write() returns the line, for csv.writer into a stream."""

    def write(self, value: str) -> str:
        return value


def safe_cell(value: object) -> str:
    """A CSV cell that no spreadsheet will evaluate as a formula."""
    if value is None:
        return ""
    cell = str(value)
    if cell.startswith(FORMULA_PREFIXES):
        return "'" + cell
    return cell


def _pretty(value: object) -> str:
    return json_visible(value, indent=2, sort_keys=True, default=str)


def _json(value: object) -> str:
    # Exact values (the record), with invisible characters (a U+202E in a file name) escaped so
    # that no spreadsheet shows them reordered.
    return "" if value is None else json_visible(value, sort_keys=True)


def export_rows(events: Iterable[AuditEvent]) -> Iterator[list[str]]:
    yield [
        _("time"),
        _("user"),
        _("action"),
        _("object type"),
        _("object id"),
        _("customer id"),
        _("customer"),
        _("source IP"),
        _("before"),
        _("after"),
    ]
    for event in events:
        yield [
            timezone.localtime(event.created_at).isoformat(),
            event.actor.get_username() if event.actor else _("system"),
            event.action,
            event.object_type,
            event.object_id,
            str(event.customer_id) if event.customer_id else "",
            event.customer.display_name if event.customer else "",
            event.ip_address or "",
            _json(event.before),
            _json(event.after),
        ]


@require_GET
def audit_export(request: HtmxHttpRequest) -> HttpResponseBase:
    """The filtered audit rows as CSV, streamed (any size, constant memory).

    An invalid filter refuses the export (400, the log page saying why): dropping it would export
    more than was asked. The export is audited once its query has run, before the first byte is
    sent, so a failed export leaves no "audit.export" row and a sent one always has its row."""
    _require_auditor(request.user)
    form = AuditFilterForm(request.GET)
    filters, _page = form.filters()
    if _filter_errors(form):
        return _log_page(request, form, export_refused=True, status=400)
    events = selectors.audit_log(request.user, filters).iterator(chunk_size=EXPORT_CHUNK)
    first = next(events, None)  # runs the query
    services.audit_export_record(actor=request.user, filters=filters.as_dict())
    writer = csv.writer(_Echo())
    rows = export_rows(itertools.chain([first] if first is not None else [], events))
    stream = (writer.writerow([safe_cell(cell) for cell in row]) for row in rows)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    return StreamingHttpResponse(
        # A BOM so that spreadsheet programs read the file as UTF-8.
        _with_bom(stream),
        content_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="audit-{stamp}.csv"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _with_bom(lines: Iterator[str]) -> Iterator[str]:
    yield "\ufeff"
    yield from lines


# ------------------------------------------------------------------- customer file timeline


@require_GET
def customer_timeline_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """The customer file's activity panel, alone: refreshed when another panel changes it."""
    customer = customer_for_detail(request.user, pk)
    return render(
        request,
        "kyc/customers/_timeline.html",
        {"customer": customer, "timeline": customer_timeline(customer)},
    )
