"""One page per report, laid out for its source, and the permission-checked attachment view.

Vendor payloads are untrusted: this module turns them into plain values (strings, numbers,
datetimes) and the templates print them auto-escaped. Nothing here marks text as safe.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from kyc import intake, services
from kyc.i18n import from_detail
from kyc.json_values import json_object
from kyc.models import Report, stored_name
from kyc.names import safe_file_name
from kyc.providers.mindee import FIELD_LABELS as MINDEE_FIELD_LABELS
from kyc.selectors import reports as selectors

Source = Report.Source

TEMPLATES: dict[str, str] = {
    Source.DOC_XRAY: "kyc/reports/doc_xray.html",
    # The built-in engine writes its findings in Doc X-Ray's layout, so they read the same.
    Source.LOCAL_FORENSICS: "kyc/reports/doc_xray.html",
    Source.LOCAL_MRZ: "kyc/reports/doc_xray.html",
    Source.FINOVOX_RISK: "kyc/reports/finovox.html",
    Source.MINDEE_PASSPORT: "kyc/reports/mindee.html",
    Source.MINDEE_INTERNATIONAL_ID: "kyc/reports/mindee.html",
    Source.MANAGER_XRAY: "kyc/reports/manager_xray.html",
}
GENERIC_TEMPLATE = "kyc/reports/generic.html"

# Reasons are shown worst first; an unknown level is a finding and goes with "suspicious".
LEVELS = (
    ("fraudulent", gettext_lazy("Fraudulent")),
    ("suspicious", gettext_lazy("Suspicious")),
    ("", gettext_lazy("Informational")),
)

CRITERIA_LABELS = {
    "creationDate": gettext_lazy("Created"),
    "modDate": gettext_lazy("Last modified"),
    "lastSigningTime": gettext_lazy("Last signed"),
    "modCreationDiff": gettext_lazy("Modified after creation"),
}
DATE_CRITERIA = ("creationDate", "modDate", "lastSigningTime")

FINOVOX_AXES = (
    ("software", gettext_lazy("Software")),
    ("metadata", gettext_lazy("Metadata")),
    ("datastructure", gettext_lazy("Data structure")),
    ("vision", gettext_lazy("Vision")),
    ("coherence", gettext_lazy("Coherence")),
)
RISK_COLORS = {"low": "green", "medium": "orange", "high": "red"}

FIELD_LABELS = {
    "first_name": gettext_lazy("First names"),
    "given_names": gettext_lazy("Given names"),
    "last_name": gettext_lazy("Last name"),
    "surname": gettext_lazy("Surname"),
    "surnames": gettext_lazy("Surnames"),
    "birth_date": gettext_lazy("Birth date"),
    "birth_place": gettext_lazy("Birth place"),
    "document_number": gettext_lazy("Document number"),
    "id_number": gettext_lazy("Document number"),
    "expiry_date": gettext_lazy("Expiry date"),
    "issuance_date": gettext_lazy("Issue date"),
    "issue_date": gettext_lazy("Issue date"),
    "nationality": gettext_lazy("Nationality"),
    "country": gettext_lazy("Country"),
    "country_of_issue": gettext_lazy("Country of issue"),
    "sex": gettext_lazy("Sex"),
    "gender": gettext_lazy("Sex"),
    "document_type": gettext_lazy("Document type"),
    "personal_number": gettext_lazy("Personal number"),
    "address": gettext_lazy("Address"),
}


# ------------------------------------------------------------------------------ plain values


def text(value: Any) -> str:
    """Any JSON value as one line of text (lists joined, objects as compact JSON)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list | tuple) and all(
        isinstance(item, str | int | float) for item in value
    ):
        return ", ".join(str(item) for item in value)
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def humanize_key(key: str) -> str:
    """ "modCreationDiff" / "birth_place" -> "Mod creation diff" / "Birth place"."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", str(key)).replace("_", " ").strip()
    return words[:1].upper() + words[1:].lower()


def parse_datetime(value: Any) -> dt.datetime | None:
    """Vendor dates: "2021-09-01 00:52:16" (October), ISO 8601 with or without offset."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


def human_duration(milliseconds: float) -> str:
    """A duration in words, two units deep ("2 days, 11 hours"), translated by Django."""
    delta = dt.timedelta(milliseconds=abs(milliseconds))
    if delta < dt.timedelta(minutes=1):
        return _("less than a minute")
    base = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    return timesince(base, base + delta, depth=2)


def readable_criteria(criteria: Any) -> list[dict[str, Any]]:
    """A reason's criteria as labelled rows: dates as datetimes, the creation/modification gap
    as a human duration (before or after), anything else as text."""
    if not isinstance(criteria, Mapping):
        return [{"label": _("Criteria"), "value": text(criteria)}] if criteria else []
    rows: list[dict[str, Any]] = []
    for key in DATE_CRITERIA:
        if key not in criteria:
            continue
        value = criteria[key]
        parsed = parse_datetime(value)
        if parsed is not None:
            rows.append({"label": CRITERIA_LABELS[key], "datetime": parsed})
        else:
            rows.append({"label": CRITERIA_LABELS[key], "value": text(value) or _("none")})
    diff = criteria.get("modCreationDiff")
    if isinstance(diff, bool) or not isinstance(diff, int | float):
        created = parse_datetime(criteria.get("creationDate"))
        modified = parse_datetime(criteria.get("modDate"))
        diff = None
        if created and modified and (created.tzinfo is None) == (modified.tzinfo is None):
            diff = (modified - created).total_seconds() * 1000
    if diff is not None:
        if diff < 0:
            label, value = _("Modified before creation"), human_duration(diff)
        else:
            label, value = _("Modified after creation"), human_duration(diff)
        rows.append({"label": label, "value": value, "warn": diff < 0})
    for key, value in criteria.items():
        if key in CRITERIA_LABELS:
            continue
        rows.append({"label": humanize_key(key), "value": text(value)})
    return rows


def grouped_reasons(reasons: Any, *, translate_titles: bool = False) -> list[dict[str, Any]]:
    """Reasons grouped fraudulent, suspicious, informational (empty groups left out).

    `translate_titles`: the built-in engine stores English titles marked with gettext_noop, and
    our own titles and details as a msgid with parameters (`messages`); they are translated
    here, on display (vendor titles and details are shown as the vendor wrote them)."""
    groups: dict[str, list[dict[str, Any]]] = {level: [] for level, _label in LEVELS}
    for reason in reasons if isinstance(reasons, list) else []:
        if not isinstance(reason, Mapping):
            groups[""].append({"title": text(reason), "detail": "", "criteria": []})
            continue
        message = json_object(reason.get("message"))
        level = str(reason.get("level") or "").lower()
        if level not in groups:
            level = "suspicious"
        title = text(reason.get("title") or message.get("title"))
        detail = text(reason.get("detail") or message.get("content"))
        if translate_titles and title:
            title = _(title)
        # Our own findings keep their messages translatable (Reason.as_dict): the reader's language.
        ours = json_object(reason.get("messages"))
        title = from_detail(ours.get("title"), title)
        detail = from_detail(ours.get("detail"), detail)
        groups[level].append(
            {
                "code": text(reason.get("code") or reason.get("typeCode")),
                "title": title or text(reason.get("code")),
                "detail": detail,
                "sentiment": text(reason.get("sentiment")),
                "criteria": readable_criteria(reason.get("criteria")),
            }
        )
    return [
        {"level": level or "info", "label": label, "reasons": groups[level]}
        for level, label in LEVELS
        if groups[level]
    ]


def _analysis(report: Report) -> Mapping[str, Any]:
    """October stores the whole report object; its analysis is under `raw` inside it."""
    raw = json_object(report.raw)
    inner = raw.get("raw")
    return inner if isinstance(inner, Mapping) else raw


def flag_meta(report: Report) -> list[str]:
    meta = report.summary.get("flag_meta") if isinstance(report.summary, dict) else None
    if not isinstance(meta, list):
        meta = report.summary.get("meta") if isinstance(report.summary, dict) else None
    if not isinstance(meta, list):
        flag = _analysis(report).get("flag")
        meta = flag.get("meta") if isinstance(flag, dict) else None
    return [text(item) for item in meta] if isinstance(meta, list) else []


def classification(report: Report) -> list[dict[str, Any]]:
    """Document classes with confidence, best first (Doc X-Ray `type[]`)."""
    types = report.summary.get("document_types") if isinstance(report.summary, dict) else None
    if not isinstance(types, list):
        types = _analysis(report).get("type")
    rows = []
    for item in types if isinstance(types, list) else []:
        if not isinstance(item, Mapping):
            continue
        confidence = item.get("confidence")
        if isinstance(confidence, bool) or not isinstance(confidence, int | float):
            confidence = None
        rows.append({"class": text(item.get("class")), "confidence": confidence})
    return sorted(rows, key=lambda row: -(row["confidence"] or 0.0))


def summary_rows(summary: Any, skip: Iterable[str] = ()) -> list[dict[str, str]]:
    """A report summary's simple values as labelled rows (nested objects left to the raw)."""
    if not isinstance(summary, Mapping):
        return []
    skipped = set(skip)
    rows = []
    for key, value in summary.items():
        if key in skipped or value in (None, "", [], {}) or isinstance(value, dict):
            continue
        rows.append({"label": humanize_key(key), "value": text(value)})
    return rows


def explanation_blocks(value: Any) -> list[dict[str, str]]:
    """Finovox's `explanation` (structure undocumented): text, {language: text}, or a list."""
    if value in (None, "", [], {}):
        return []
    if isinstance(value, str):
        return [{"label": "", "text": value}]
    if isinstance(value, Mapping):
        return [{"label": str(key), "text": text(item)} for key, item in value.items() if item]
    if isinstance(value, list):
        return [{"label": "", "text": text(item)} for item in value if item]
    return [{"label": "", "text": text(value)}]


def finovox_context(report: Report) -> dict[str, Any]:
    summary = json_object(report.summary)
    raw = json_object(report.raw)
    # The normalised summary first; the raw result when a field is missing from it.
    risk = raw.get("risk")
    source = risk if isinstance(risk, Mapping) else raw

    def pick(key: str) -> str:
        return text(summary.get(key) or source.get(key)).strip()

    def level(key: str) -> dict[str, str]:
        value = pick(key).lower()
        return {"value": value, "color": RISK_COLORS.get(value, "none")}

    return {
        "global_risk": level("global_risk"),
        "risks": [{"label": label, **level(f"{axis}_risk")} for axis, label in FINOVOX_AXES],
        "document_quality": pick("document_quality"),
        "software": pick("software"),
        "explanation": explanation_blocks(
            summary.get("explanation") or raw.get("explanation") or source.get("explanation")
        ),
        "pdf_error": text(summary.get("pdf_report_error")),
    }


def mindee_fields(report: Report) -> list[dict[str, Any]]:
    summary = json_object(report.summary)
    fields = json_object(summary.get("fields"))
    threshold = summary.get("confidence_threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        threshold = None
    rows = []
    for key, item in fields.items():
        value, confidence = (
            (item.get("value"), item.get("confidence")) if isinstance(item, dict) else (item, None)
        )
        if isinstance(confidence, bool) or not isinstance(confidence, int | float):
            confidence = None
        rows.append(
            {
                "label": FIELD_LABELS.get(key)
                or (
                    _(MINDEE_FIELD_LABELS[key]) if key in MINDEE_FIELD_LABELS else humanize_key(key)
                ),
                "key": key,
                "value": text(value),
                "confidence": confidence,
                "low": confidence is not None and threshold is not None and confidence < threshold,
            }
        )
    # PostgreSQL's jsonb keeps no key order: show the fields in a document's reading order.
    order = {key: index for index, key in enumerate(MINDEE_FIELD_LABELS)}
    return sorted(rows, key=lambda row: (order.get(row["key"], len(order)), row["key"]))


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)


# ------------------------------------------------------------------------------------ views


@require_GET
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = selectors.report_for_detail(request.user, pk)
    customer = report.request.customer
    context: dict[str, Any] = {
        "report": report,
        "customer": customer,
        "raw_json": pretty_json(report.raw),
        "reason_groups": grouped_reasons(
            report.reasons,
            translate_titles=report.source in (Source.LOCAL_FORENSICS, Source.LOCAL_MRZ),
        ),
    }
    if report.source in (Source.DOC_XRAY, Source.LOCAL_FORENSICS, Source.LOCAL_MRZ):
        context["classes"] = classification(report)
        context["flag_meta"] = flag_meta(report)
        context["summary_rows"] = summary_rows(
            report.summary,
            skip=(
                "document_types",
                "document_class",
                "classification_confidence",
                "fields",
                "flag_meta",
                "meta",
            ),
        )
    elif report.source == Source.FINOVOX_RISK:
        context["finovox"] = finovox_context(report)
    elif report.source in (Source.MINDEE_PASSPORT, Source.MINDEE_INTERNATIONAL_ID):
        context["fields"] = mindee_fields(report)
        context["summary_rows"] = summary_rows(
            report.summary, skip=("fields", "missing_fields", "low_confidence_fields")
        )
    elif report.source == Source.MANAGER_XRAY:
        context["officers"] = selectors.report_officers(report)
        summary = json_object(report.summary)
        alerts = json_object(summary.get("alerts"))
        context["alert_counts"] = [
            {"level": level, "label": label, "count": text(alerts.get(level, 0))}
            for level, label in (
                ("high", _("High")),
                ("medium", _("Medium")),
                ("low", _("Low")),
            )
        ]
        context["summary_rows"] = summary_rows(summary, skip=("alerts",))
    else:
        context["summary_rows"] = summary_rows(report.summary)
    return render(request, TEMPLATES.get(report.source, GENERIC_TEMPLATE), context)


@require_GET
def report_attachment(request: HttpRequest, pk: int) -> FileResponse:
    """The vendor's own report file (Finovox's PDF), only through this permission check."""
    report = selectors.report_for_detail(request.user, pk)
    if not report.attachment:
        raise Http404(_("This report has no attached file."))
    name = stored_name(report.attachment)
    try:
        handle = default_storage.open(name, "rb")
    except OSError as exc:
        raise Http404(_("This report's file is missing from storage.")) from exc
    if report.document is not None:
        # The vendor's PDF reproduces the document: who opened an identity one is recorded.
        services.document_access_record(
            actor=request.user, document=report.document, action="report.download", obj=report
        )
    # What the file is, from its bytes (as for documents): a vendor's "report.pdf" that holds
    # HTML is downloaded as what it is, never shown as a PDF.
    try:
        content_type = intake.sniff(handle.read(intake.SNIFF_BYTES))
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    content_type = content_type or "application/octet-stream"
    is_pdf = content_type == intake.PDF
    response = FileResponse(
        handle,
        content_type=content_type,
        as_attachment=not is_pdf,
        filename=safe_file_name(name, content_type, default="report"),
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    # A vendor PDF opened directly must not run scripts or reach anything.
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    return response
