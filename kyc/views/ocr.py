"""OCR results of identity documents: every source side by side, the MRZ checks, the correction
form (MRZ check digits recomputed as the analyst types), the history of corrections and their
delivery to Artemis.

One page per document (`kyc:ocr-document`); the same view serves the delivery-state fragment
the page polls while a push is pending. Every form works without JavaScript.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling

from kyc import roles, services
from kyc.analysis.countries import normalise_code
from kyc.analysis.mrz import parse_mrz
from kyc.forms import add_service_errors
from kyc.models import Customer, Document, OcrCorrection, OcrResult
from kyc.providers import artemis
from kyc.selectors import ocr as selectors
from kyc.services.ocr import (
    DOCUMENT_TYPES,
    FIELD_KEYS,
    FIELD_LABELS,
    FIELDS,
    SOURCE_PREFERENCE,
    can_retry,
    check_label,
    corrected_keys,
    corrections_in_order,
    effective_fields,
    mrz_errors,
    mrz_normalise,
    primary_result,
)
from kyc.views.types import HtmxHttpRequest

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

PAGE = "kyc/ocr/document.html"
Sync = OcrCorrection.SyncStatus


# ----------------------------------------------------------------------------------------- form

SEX_CHOICES = [
    ("", gettext_lazy("Not read")),
    ("M", gettext_lazy("M (male)")),
    ("F", gettext_lazy("F (female)")),
    ("X", gettext_lazy("X (unspecified)")),
]


def _text(label: StrOrPromise, *, date: bool = False, **attrs: Any) -> forms.CharField:
    widget_attrs = {"autocomplete": "off", **attrs}
    if date:
        widget_attrs.update(placeholder=gettext_lazy("YYYY-MM-DD"), inputmode="numeric")
    # Generous lengths: an unchanged value is posted back as read and must not fail here (the
    # service validates what changed).
    return forms.CharField(
        label=label,
        required=False,
        max_length=200,
        strip=True,
        widget=forms.TextInput(attrs=widget_attrs),
    )


class OcrCorrectionForm(forms.Form):
    """The correctable fields, pre-filled with their effective values. Parsing only: what is a
    change and whether it is valid is the service's decision."""

    ocr_result = forms.IntegerField(widget=forms.HiddenInput)
    last_name = _text(FIELD_LABELS["last_name"])
    first_name = _text(FIELD_LABELS["first_name"])
    gender = forms.ChoiceField(label=FIELD_LABELS["gender"], required=False, choices=SEX_CHOICES)
    date_of_birth = _text(FIELD_LABELS["date_of_birth"], date=True)
    nationality = _text(FIELD_LABELS["nationality"], size=5, placeholder="FRA")
    issuing_country = _text(FIELD_LABELS["issuing_country"], size=5, placeholder="FRA")
    document_type = forms.ChoiceField(
        label=FIELD_LABELS["document_type"], required=False, choices=DOCUMENT_TYPES
    )
    document_number = _text(FIELD_LABELS["document_number"])
    personal_id_number = _text(FIELD_LABELS["personal_id_number"])
    issue_date = _text(FIELD_LABELS["issue_date"], date=True)
    expiry_date = _text(FIELD_LABELS["expiry_date"], date=True)
    mrz_raw_string = forms.CharField(
        label=FIELD_LABELS["mrz_raw_string"],
        required=False,
        max_length=400,
        strip=True,
        help_text=gettext_lazy("One MRZ line per row; the check digits are verified as you type."),
        widget=forms.Textarea(
            attrs={
                "rows": 3,
                "class": "mono mrz-input",
                "spellcheck": "false",
                "autocomplete": "off",
                "autocapitalize": "characters",
            }
        ),
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason for the correction"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Kept with the correction and shown in its history."),
    )

    def __init__(self, *args: Any, current: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A value the OCR read outside our choices stays selectable, so leaving it untouched is
        # not an error (and not a change).
        for name, declared in (("gender", SEX_CHOICES), ("document_type", DOCUMENT_TYPES)):
            value = str(current.get(name) or "")
            if value and value not in {key for key, _label in declared}:
                field = self.fields[name]
                assert isinstance(field, forms.ChoiceField)  # both are declared as ChoiceFields
                field.choices = [*declared, (value, _("%(value)s (as read)") % {"value": value})]
        mrz = self.fields["mrz_raw_string"].widget
        mrz.attrs.update(
            {
                "hx-get": reverse("kyc:ocr-mrz-check"),
                "hx-trigger": "input changed delay:300ms",
                "hx-target": "#mrz-check",
                "hx-swap": "outerHTML",
                "aria-describedby": "mrz-check",
            }
        )

    @staticmethod
    def initial_from(result: OcrResult, values: Mapping[str, Any]) -> dict[str, Any]:
        initial = {key: values.get(key) or "" for key in FIELD_KEYS}
        initial["gender"] = str(initial["gender"]).upper()
        initial["ocr_result"] = result.pk
        return initial


# ------------------------------------------------------------------------------------ MRZ report

FORMAT_LABELS = {
    "characters": gettext_lazy("MRZ alphabet"),
    "document_type": gettext_lazy("Document type code"),
    "country_code": gettext_lazy("Issuing country code"),
    "nationality_code": gettext_lazy("Nationality code"),
    "birth_date": gettext_lazy("Birth date format"),
    "expiry_date": gettext_lazy("Expiry date format"),
    "sex": gettext_lazy("Sex format"),
    "document_number": gettext_lazy("Document number format"),
    "optional_data": gettext_lazy("Optional data format"),
    "name": gettext_lazy("Name format"),
}


@dataclass(frozen=True)
class Flag:
    label: str
    ok: bool | None  # None: not applicable (an empty optional field)
    detail: str = ""


@dataclass(frozen=True)
class MrzReport:
    lines: tuple[str, ...]
    format: str = ""
    errors: tuple[str, ...] = ()  # the MRZ cannot be parsed at all
    checks: tuple[Flag, ...] = ()
    formats: tuple[Flag, ...] = ()
    specimen: bool = False

    @property
    def valid(self) -> bool:
        return not self.errors and all(f.ok is not False for f in (*self.checks, *self.formats))


def mrz_report(text: Any) -> MrzReport | None:
    """Every check digit recomputed and every format flag of an MRZ, for display."""
    lines = mrz_normalise(text)
    if not lines:
        return None
    parsed = parse_mrz(lines)
    if parsed is None:
        return MrzReport(lines=tuple(lines), errors=tuple(mrz_errors(lines)))
    checks = []
    for check in parsed.checks:
        detail = _("read %(read)s, computed %(computed)s") % {
            "read": check.read,
            "computed": check.computed if check.computed is not None else "?",
        }
        if check.misreads:
            detail += " · " + _("possible misread: %(list)s") % {
                "list": ", ".join(f"{m.read}→{m.alternative}" for m in check.misreads)
            }
        checks.append(
            Flag(
                label=_("Check digit: %(name)s") % {"name": check_label(check.name)},
                ok=check.valid if check.applicable else None,
                detail=detail if check.applicable else _("empty field"),
            )
        )
    formats = [
        Flag(label=str(FORMAT_LABELS.get(name, name)), ok=ok) for name, ok in parsed.formats.items()
    ]
    return MrzReport(
        lines=tuple(lines),
        format=parsed.format,
        checks=tuple(checks),
        formats=tuple(formats),
        specimen=parsed.specimen,
    )


# ---------------------------------------------------------------------------------- comparison


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c))


# Document types by first letter, as ICAO document codes go: P passport; I, A, C (MRZ codes) and
# N (NATIONAL_ID) identity cards; R residence permit; D driving licence.
_DOCUMENT_FAMILY = {"P": "P", "I": "I", "N": "I", "C": "I", "A": "I", "R": "R", "D": "D"}


def comparable(key: str, value: Any) -> str:
    """A value reduced to what sources can agree on: an MRZ has no accents or hyphens in
    names, and writes "P" where Mindee writes "PASSPORT"."""
    if value is None or value == "":
        return ""
    text = " ".join(str(value).split())
    if key in ("first_name", "last_name"):
        return " ".join(_plain(text).upper().replace("-", " ").replace("'", " ").split())
    if key in ("nationality", "issuing_country"):
        return normalise_code(text.upper())
    if key == "gender":
        return text.upper().replace("<", "X")[:1]
    if key == "document_type":
        first = text.upper()[:1]
        return _DOCUMENT_FAMILY.get(first, first)
    if key in ("document_number", "personal_id_number"):
        return text.upper().replace(" ", "").replace("<", "")
    if key == "mrz_raw_string":
        return "".join(mrz_normalise(value))
    return text


@dataclass
class Cell:
    value: Any
    mismatch: bool = False
    # The source's confidence in this reading (0..1), and whether it is under the threshold.
    confidence: float | None = None
    low: bool = False


def _confidence(result: OcrResult, key: str) -> float | None:
    value = (result.confidence or {}).get(key) if isinstance(result.confidence, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _low(result: OcrResult, confidence: float | None) -> bool:
    # MINDEE_MIN_CONFIDENCE is Mindee's scale; other sources' confidences are shown, not judged.
    return (
        confidence is not None
        and result.source.startswith("mindee_")
        and confidence < settings.MINDEE_MIN_CONFIDENCE
    )


@dataclass
class Row:
    key: str
    label: str
    cells: list[Cell]
    declared: Cell | None
    effective: Any
    corrected: bool
    disagree: bool


def declared_values(customer: Customer) -> dict[str, Any]:
    """What the customer declared, in OCR keys (individuals only)."""
    if customer.kind != Customer.Kind.INDIVIDUAL:
        return {}
    return {
        "last_name": customer.last_name,
        "first_name": customer.first_name,
        "date_of_birth": customer.birth_date.isoformat() if customer.birth_date else "",
        "nationality": customer.nationality,
    }


def comparison_rows(
    results: Sequence[OcrResult],
    declared: Mapping[str, Any],
    effective: Mapping[str, Any],
    corrected: set[str],
) -> list[Row]:
    rows = []
    for key, label in FIELDS:
        values = [result.fields.get(key) for result in results]
        known = [comparable(key, v) for v in values if comparable(key, v)]
        declared_value = declared.get(key) if key in declared else None
        if comparable(key, declared_value):
            known.append(comparable(key, declared_value))
        reference = comparable(key, effective.get(key)) or (known[0] if known else "")

        def cell(
            value: Any, reference: str = reference, key: str = key, result: OcrResult | None = None
        ) -> Cell:
            reduced = comparable(key, value)
            confidence = _confidence(result, key) if result is not None and value else None
            return Cell(
                value=value,
                mismatch=bool(reduced) and reduced != reference,
                confidence=confidence,
                low=result is not None and _low(result, confidence),
            )

        rows.append(
            Row(
                key=key,
                label=str(label),
                cells=[cell(v, result=r) for v, r in zip(values, results, strict=True)],
                declared=cell(declared_value) if key in declared else None,
                effective=effective.get(key),
                corrected=key in corrected,
                disagree=len(set(known)) > 1,
            )
        )
    return rows


# ------------------------------------------------------------------------------------- context


@dataclass
class SyncState:
    configured: bool
    latest: OcrCorrection | None
    customer_ref: str
    document_ref: str
    can_create_customer: bool
    retry_at: Any = None
    message: str = ""
    retryable: bool = False  # see kyc.services.ocr.can_retry

    @property
    def pending(self) -> bool:
        """A push is on its way: the delivery panel polls until it is not."""
        latest = self.latest
        return latest is not None and latest.sync_status == Sync.PENDING and not self.retryable

    @property
    def missing_link(self) -> bool:
        return not (self.customer_ref and self.document_ref)

    @property
    def can_retry(self) -> bool:
        return self.configured and self.retryable


@dataclass
class HistoryEntry:
    correction: OcrCorrection
    source: str
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)


def _target(results: Sequence[OcrResult], raw: str | None) -> OcrResult | None:
    if raw:
        chosen = next((r for r in results if str(r.pk) == str(raw).strip()), None)
        if chosen is None:
            raise Http404(_("This OCR result does not belong to this document."))
        return chosen
    return primary_result(results)


def sync_state(document: Document, target: OcrResult | None, *, message: str = "") -> SyncState:
    corrections = corrections_in_order(target) if target else []
    latest = corrections[-1] if corrections else None
    customer = document.customer
    return SyncState(
        configured=artemis.is_configured(),
        latest=latest,
        customer_ref=customer.artemis_customer_id,
        document_ref=document.artemis_document_id,
        can_create_customer=customer.kind == Customer.Kind.INDIVIDUAL,
        retry_at=selectors.scheduled_retry(latest),
        message=message,
        retryable=latest is not None and can_retry(latest),
    )


def page_context(
    request: HttpRequest,
    document: Document,
    results: list[OcrResult],
    target: OcrResult | None,
    form: OcrCorrectionForm | None,
    *,
    sync_message: str = "",
) -> dict[str, Any]:
    customer = document.customer
    context: dict[str, Any] = {
        "document": document,
        "customer": customer,
        "results": results,
        "target": target,
        "sync": sync_state(document, target, message=sync_message),
        "can_work": True,
    }
    if target is None:
        return context
    corrections = corrections_in_order(target)
    effective = effective_fields(target, corrections)
    declared = declared_values(customer)
    history = []
    by_pk = {r.pk: r for r in results}
    for result in results:
        for correction in result.corrections.all():
            history.append(
                HistoryEntry(
                    correction=correction,
                    source=by_pk[correction.ocr_result_id].get_source_display(),
                    changes=[
                        (str(FIELD_LABELS.get(key, key)), change.get("old"), change.get("new"))
                        for key, change in (correction.changes or {}).items()
                    ],
                )
            )
    history.sort(key=lambda entry: entry.correction.pk, reverse=True)
    form = form or OcrCorrectionForm(
        initial=OcrCorrectionForm.initial_from(target, effective), current=effective
    )
    context.update(
        {
            "rows": comparison_rows(results, declared, effective, corrected_keys(corrections)),
            "declared": bool(declared),
            "mrz_sources": [
                (result, mrz_report(result.fields.get("mrz_raw_string"))) for result in results
            ],
            "form": form,
            "mrz": mrz_report(form["mrz_raw_string"].value()),
            "history": history,
        }
    )
    return context


def _page_url(document: Document, target: OcrResult | None) -> str:
    url = reverse("kyc:ocr-document", args=[document.pk])
    return f"{url}?result={target.pk}" if target else url


# --------------------------------------------------------------------------------------- views


@require_http_methods(["GET", "POST"])
def document_ocr(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The OCR page of one identity document; POST saves a correction."""
    roles.require_case_worker(request.user)
    document = selectors.ocr_document(request.user, pk)
    results = selectors.document_results(document)
    raw_target = request.POST.get("ocr_result") if request.method == "POST" else None
    target = _target(results, raw_target or request.GET.get("result"))
    form = None
    if request.method == "POST":
        if target is None:
            raise Http404(_("This document has no OCR result to correct."))
        current = effective_fields(target, corrections_in_order(target))
        form = OcrCorrectionForm(request.POST, current=current)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.ocr_correct(
                    ocr_result=target,
                    changes={key: data.get(key) for key in FIELD_KEYS},
                    reason=data["reason"],
                    actor=request.user,
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Correction saved."))
                return redirect(_page_url(document, target) + "#ocr-history")

    context = page_context(request, document, results, target, form)
    if request.method == "GET" and request.htmx and request.htmx.target == "ocr-sync":
        return _sync_fragment(request, context)
    return render(request, PAGE, context)


def _sync_fragment(request: HttpRequest, context: dict[str, Any]) -> HttpResponse:
    response = render(request, PAGE + "#ocr-sync", context)
    if context["sync"].pending:
        return response
    # Nothing left to wait for: htmx stops polling on 286.
    stop = HttpResponseStopPolling(response.content)
    stop["Content-Type"] = response["Content-Type"]
    return stop


@require_GET
def mrz_check(request: HttpRequest) -> HttpResponse:
    """The MRZ checks of what the analyst is typing (htmx fragment; no data is read or kept)."""
    roles.require_case_worker(request.user)
    text = request.GET.get("mrz_raw_string", "")[:400]
    return render(request, "kyc/ocr/_mrz_check.html", {"mrz": mrz_report(text)})


@require_POST
def correction_retry(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The Retry button: send a failed correction to Artemis again."""
    roles.require_case_worker(request.user)
    correction = selectors.visible_correction(request.user, pk)
    message = ""
    try:
        services.ocr_push_retry(correction=correction, actor=request.user)
    except ValidationError as exc:
        message = " ".join(exc.messages)
    document = selectors.ocr_document(request.user, correction.ocr_result.document_id)
    results = selectors.document_results(document)
    target = _target(results, str(correction.ocr_result_id))
    if request.htmx:
        context = page_context(request, document, results, target, None, sync_message=message)
        return render(request, PAGE + "#ocr-sync", context)
    if message:
        messages.error(request, message)
    else:
        messages.success(request, _("The correction is being sent to Artemis again."))
    return redirect(_page_url(document, target) + "#ocr-sync")


@require_POST
def artemis_link(request: HttpRequest, pk: int) -> HttpResponse:
    """Create the missing customer and document in Artemis, then send the corrections."""
    roles.require_case_worker(request.user)
    document = selectors.ocr_document(request.user, pk)
    try:
        services.artemis_link_create(
            document=document,
            country_of_residence=request.POST.get("country_of_residence", "")[:10],
            actor=request.user,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("Linked to Artemis. Corrections not yet delivered are being sent.")
        )
    target = request.POST.get("result", "")
    url = reverse("kyc:ocr-document", args=[document.pk])
    return redirect(f"{url}?result={target}#ocr-sync" if target.isdigit() else url)


# ------------------------------------------------------------------------ customer file panel


@dataclass
class DocumentSummary:
    document: Document
    sources: list[str] = field(default_factory=list)
    corrections: int = 0
    latest_id: int = 0
    latest_sync: str = ""
    mrz: MrzReport | None = None

    @property
    def latest_sync_label(self) -> str:
        return str(Sync(self.latest_sync).label) if self.latest_sync else ""


def ocr_panel_context(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    """The customer file's "OCR results" panel: per identity document read so far, its sources,
    whether its MRZ checks pass, and where its corrections stand (1 query)."""
    summaries: dict[int, DocumentSummary] = {}
    # document -> (rank, MRZ used) of its primary reading
    mrz: dict[int, tuple[tuple[int, int], Any]] = {}
    for result in selectors.customer_ocr_results(customer):
        summary = summaries.setdefault(result.document_id, DocumentSummary(result.document))
        summary.sources.append(str(result.get_source_display()))
        summary.corrections += result.correction_count
        if result.latest_correction_id and result.latest_correction_id > summary.latest_id:
            summary.latest_id = result.latest_correction_id
            summary.latest_sync = result.latest_sync_status or ""
        # The same reading the correction page starts from: the last corrected, else the
        # preferred source.
        rank = (result.latest_correction_id or 0, -_source_rank(result.source))
        text = (result.mrz_correction or {}).get("mrz_raw_string", {}).get("new")
        if text is None:
            text = result.fields.get("mrz_raw_string")
        if result.document_id not in mrz or rank > mrz[result.document_id][0]:
            mrz[result.document_id] = (rank, text)
    for document_id, (_rank, text) in mrz.items():
        summaries[document_id].mrz = mrz_report(text)
    return {"ocr_documents": list(summaries.values())}


def _source_rank(source: str) -> int:
    order = [str(s) for s in SOURCE_PREFERENCE]
    return order.index(source) if source in order else len(order)
