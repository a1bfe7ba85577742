"""October Connect ("Risk Assessment API", now documented as Sopra Financing Lending): Doc X-Ray
and Manager X-Ray.

Reference: https://doc.lending.soprafinancing.io/ (pages Authentication, Making your first request,
API versioning, Medium, Generate Doc X-Ray, Generate Manager X-Ray, Webhooks). The contract we
code against, with how sure each fact is, is shared/vendor-apis.md section 1; facts tagged [U]
there are assumptions here, named in the docstring that relies on them.

The first half of this module is the HTTP client: one function per endpoint, each returning a
frozen dataclass and raising `ProviderError` (retryable or not). The second half is
`OctoberProvider`, which the job engine drives.

How our rows map to October's, and why:

- An October *request* is one KYC/KYB file, our `AnalysisRequest`; its id is kept on
  `AnalysisRequest.october_request_id`. It is created (`POST /requests` with the SIREN code) by
  whichever October job of the file is submitted first: the Manager X-Ray job, created when a
  company file is opened, or else the first Doc X-Ray job. That job returns the new id in
  `Submission.request_external_id` and the engine stores it (providers never touch the ORM).
- Every October job's `external_id` is the October request id it works on, Doc X-Ray jobs
  included. October's webhook names only `requestId` and `reportId`, and the engine re-fetches the
  jobs whose `external_id` a webhook names, so this is what lets one `new_report` delivery
  re-fetch every October job of that file. (Were the Doc X-Ray job keyed by its medium id, a
  webhook could never reach it.) A job also keeps working with the request it was submitted to if
  a race made the file's stored id a different one.
- A Doc X-Ray job's medium id (October's name for an uploaded document) travels back in
  `Submission.document_external_id`, lands on `Document.october_media_id`, and comes back to
  `poll()` as `DocumentInput.october_media_id`: it is how a report is matched to its document.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeGuard
from urllib.parse import quote, urlparse

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from kyc.i18n import Deferred
from kyc.json_values import json_object
from kyc.providers import http
from kyc.providers.base import (
    AlertData,
    CompanyRoleData,
    CustomerInput,
    DocumentInput,
    JobInput,
    OfficerData,
    Outcome,
    Provider,
    ProviderError,
    Reason,
    ReportData,
    State,
    Submission,
    Verdict,
    WebhookInfo,
)

logger = logging.getLogger(__name__)

VENDOR = "October"
STORAGE_VENDOR = Deferred(gettext_noop("October's file storage"))
DOCS_URL = "https://doc.lending.soprafinancing.io/"

DOC_XRAY = "doc_xray"
MANAGER_XRAY = "manager_xray"

# October refuses media over 20 MB [V: Generate Doc X-Ray].
MAX_MEDIUM_BYTES = 20 * 1024 * 1024
# The Media API Reference listing allowed formats was not found [U]. Doc X-Ray reads PDF
# structure and metadata (and OCRs "true" PDFs); its concept page says it also reads ID cards,
# which come as photos: we send PDFs, JPEGs and PNGs, the formats any document pipeline takes.
ACCEPTED_CONTENT_TYPES = ("application/pdf", "image/jpeg", "image/png")
# Our document kinds -> October's medium `name` values [V: Medium]; the rest are "other".
MEDIUM_NAMES = {
    "bank_statement": "bank_statement",
    "financial_statement": "certified_financial_statement",
}


# ================================================================================ the HTTP client


@dataclass(frozen=True)
class OctoberRequest:
    """October's request: one company file, identified by its code."""

    id: str
    code_type: str = ""
    code_id: str = ""
    status: str = ""
    stage: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class UploadTarget:
    """Where `POST /media` told us to put the file's bytes.

    `method` "POST" is an S3 presigned POST: a multipart form with `fields` first and the file
    last. "PUT" is a presigned PUT URL: the bytes are the body, with `headers` if any were given.
    """

    url: str
    method: str
    fields: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Medium:
    """An uploaded document on October's side (status draft -> online)."""

    id: str
    status: str = ""
    name: str = ""
    upload: UploadTarget | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class OctoberReport:
    """One report. `raw` is October's analysis (the report's own `raw` key); `payload` is the
    whole report object as received, which we store untouched."""

    id: str
    source: str = ""
    request_id: str = ""
    medium_ids: tuple[str, ...] = ()
    created: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)
    payload: Mapping[str, Any] = field(default_factory=dict, repr=False)


def _headers() -> dict[str, str]:
    # October requires all three on every call, or answers 401 [V: Authentication].
    return {
        "userId": settings.OCTOBER_USER_ID,
        "sessionToken": settings.OCTOBER_SESSION_TOKEN,
        "October-Version": settings.OCTOBER_VERSION,
        "Accept": "application/json",
    }


def _call(
    method: str,
    path: str,
    *,
    params: Mapping[str, str] | None = None,
    payload: Mapping[str, Any] | None = None,
) -> Any:
    """One authenticated call to October's API; the JSON body, or None for an empty answer."""
    try:
        response = http.request(
            VENDOR,
            method,
            f"{settings.OCTOBER_BASE_URL}{path}",
            timeout=settings.OCTOBER_TIMEOUT,
            expected=(200, 201, 202, 204),
            headers=_headers(),
            params=params,
            json=payload,
        )
    except ProviderError as error:
        if error.configuration:
            # The shared layer says "check the settings"; name the ones an operator must fix.
            raise ProviderError(
                Deferred(
                    gettext_noop(
                        "%(error)s They are OCTOBER_USER_ID and OCTOBER_SESSION_TOKEN "
                        "(API version %(version)s)."
                    ),
                    error=error.text,
                    version=settings.OCTOBER_VERSION,
                ),
                retryable=False,
                status_code=error.status_code,
                configuration=True,
            ) from error
        raise
    if response.status_code == 204 or not response.content.strip():
        return None
    return http.json_body(VENDOR, response)


def _shape_error(what: str, body: Any) -> ProviderError:
    # Retrying cannot make October answer in another shape: the analyst sees what came back.
    excerpt = (
        json.dumps(body, default=str)[:200]
        if body is not None
        else Deferred(gettext_noop("an empty body"))
    )
    return ProviderError(
        Deferred(
            gettext_noop("October answered %(what)s in a shape we do not understand: %(body)s"),
            what=what,
            body=excerpt,
        ),
        retryable=False,
    )


def _unwrap(body: Any, *keys: str) -> dict[str, Any] | None:
    """`{"request": {...}}` or the bare object: October's pages show both [V]."""
    if not isinstance(body, dict):
        return None
    for key in keys:
        if isinstance(body.get(key), dict):
            return body[key]
    return body


def _id(value: Any) -> str:
    """An id given as a string, a number or a `{"id": ...}` object."""
    if isinstance(value, dict):
        value = value.get("id")
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, str | int):
        return str(value).strip()
    return ""


def _parse_request(body: Any, what: str) -> OctoberRequest:
    data = _unwrap(body, "request")
    if data is None or not _id(data.get("id")):
        raise _shape_error(what, body)
    code = json_object(data.get("code"))
    return OctoberRequest(
        id=_id(data["id"]),
        code_type=str(code.get("type") or ""),
        code_id=str(code.get("id") or ""),
        status=str(data.get("status") or ""),
        stage=str(data.get("stage") or ""),
        raw=data,
    )


def create_request(code_type: str, code_id: str, *, business_name: str = "") -> OctoberRequest:
    """Open a request (a company file) at October; Manager X-Ray and ESG X-Ray start on their own.

    Reference: https://doc.lending.soprafinancing.io/ "Generate Doc X-Ray", step 1. The answer is
    wrapped (`{"request": {...}}`) on the guides and bare on "Making your first request"; both
    are read. October offers no idempotency key: a timed-out call may have created a request.
    """
    payload: dict[str, Any] = {"code": {"type": code_type, "id": code_id}}
    if business_name:
        payload["businessName"] = business_name
    return _parse_request(_call("POST", "/requests", payload=payload), "POST /requests")


def get_request(request_id: str) -> OctoberRequest:
    """Re-read a request (status, stage).

    Reference: https://doc.lending.soprafinancing.io/ "Generate Doc X-Ray" ("GET /requests/[id]";
    the versioning page's singular `/request/{id}` is taken for a typo).
    """
    return _parse_request(
        _call("GET", f"/requests/{quote(request_id, safe='')}"), "GET /requests/{id}"
    )


# Where an upload target may sit in `POST /media`'s answer. Its shape is not public [U]: we take
# an S3 presigned POST (`url` + `fields`) wherever it is, or a presigned PUT URL under a key that
# says it is one. The medium's own `url` is a relative CDN path [V: Medium], never a target.
_UPLOAD_CONTAINERS = (
    "upload",
    "s3",
    "presignedPost",
    "presigned_post",
    "uploadData",
    "upload_data",
    "storage",
)
_PUT_URL_KEYS = (
    "uploadUrl",
    "upload_url",
    "presignedUrl",
    "presigned_url",
    "signedUrl",
    "signed_url",
    "putUrl",
    "put_url",
)


def _absolute_url(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and urlparse(value).scheme in ("http", "https")


def _str_dict(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _upload_target(*objects: Any) -> UploadTarget | None:
    candidates: list[tuple[dict[str, Any], bool]] = []
    for obj in objects:
        if not isinstance(obj, dict):
            continue
        for key in _UPLOAD_CONTAINERS:
            value = obj.get(key)
            if isinstance(value, dict):
                candidates.append((value, True))
            elif _absolute_url(value):
                return UploadTarget(url=value, method="PUT")
    candidates += [(obj, False) for obj in objects if isinstance(obj, dict)]
    for obj, is_container in candidates:
        if _absolute_url(obj.get("url")) and isinstance(obj.get("fields"), dict):
            return UploadTarget(url=obj["url"], method="POST", fields=_str_dict(obj["fields"]))
        headers = _str_dict(obj.get("headers"))
        for key in _PUT_URL_KEYS:
            if _absolute_url(obj.get(key)):
                return UploadTarget(url=obj[key], method="PUT", headers=headers)
        if is_container and _absolute_url(obj.get("url")):
            method = "POST" if str(obj.get("method", "")).upper() == "POST" else "PUT"
            return UploadTarget(url=obj["url"], method=method, headers=headers)
    return None


def _parse_medium(body: Any, what: str, *, fallback_id: str = "") -> Medium:
    data = _unwrap(body, "medium", "media")
    if data is None:
        if fallback_id:
            return Medium(id=fallback_id)
        raise _shape_error(what, body)
    medium_id = _id(data.get("id")) or fallback_id
    if not medium_id:
        raise _shape_error(what, body)
    return Medium(
        id=medium_id,
        status=str(data.get("status") or ""),
        name=str(data.get("name") or ""),
        upload=_upload_target(body, data),
        raw=data,
    )


def create_medium(
    *, request_id: str, name: str, file_name: str, content_type: str, size: int
) -> Medium:
    """Declare a document (step 1 of 3): October answers with the data to upload it to S3.

    Reference: https://doc.lending.soprafinancing.io/ "Generate Doc X-Ray" and "Medium". The
    body's field names are not public [U]; we send the medium `name` (document kind, one of
    October's list [V]), the owning `request`, and `meta.name` (the original file name [V]) with
    the content type and size.
    """
    payload = {
        "request": request_id,
        "name": name,
        "contentType": content_type,
        "size": size,
        "meta": {"name": file_name},
    }
    medium = _parse_medium(_call("POST", "/media", payload=payload), "POST /media")
    if medium.upload is None:
        raise _shape_error("POST /media without an upload URL", medium.raw)
    return medium


def upload_to_storage(
    target: UploadTarget, content: bytes, *, file_name: str, content_type: str
) -> None:
    """Put the original bytes where `create_medium` said (step 2 of 3).

    Reference: https://doc.lending.soprafinancing.io/ "Generate Doc X-Ray" ("upload to S3");
    presigned POST or PUT is not public [U], so both are handled. October's credentials are never
    sent here: the URL is signed, and it may be a third party's host. A 401/403 from storage is a
    stale or refused signature, not our credentials: retryable, since the next attempt asks
    October for a fresh URL.
    """
    if urlparse(target.url).scheme != "https" and settings.OCTOBER_BASE_URL.startswith("https:"):
        raise ProviderError(
            Deferred(
                gettext_noop("October gave an upload URL that is not HTTPS; the file was not sent.")
            ),
            retryable=False,
        )
    try:
        if target.method == "POST":
            # S3 reads the form fields (policy, signature) first and ignores fields after the
            # file: requests writes `data` before `files`.
            http.request(
                STORAGE_VENDOR,
                "POST",
                target.url,
                timeout=settings.OCTOBER_TIMEOUT,
                expected=(200, 201, 204),
                data=dict(target.fields),
                files={"file": (file_name, content, content_type)},
            )
        else:
            http.request(
                STORAGE_VENDOR,
                "PUT",
                target.url,
                timeout=settings.OCTOBER_TIMEOUT,
                expected=(200, 201, 204),
                data=content,
                headers={"Content-Type": content_type, **target.headers},
            )
    except ProviderError as error:
        if error.configuration:
            raise ProviderError(
                Deferred(
                    gettext_noop(
                        "October's file storage refused the upload (HTTP %(status)s): the signed "
                        "upload URL was refused or has expired. The next attempt asks for a new "
                        "one."
                    ),
                    status=error.status_code,
                ),
                retryable=True,
                status_code=error.status_code,
            ) from error
        raise


def set_medium_online(
    medium_id: str, *, file_name: str = "", period: str = "", date: dt.date | None = None
) -> Medium:
    """Mark an uploaded medium `online` (step 3 of 3), with its period and date; Doc X-Ray starts.

    Reference: https://doc.lending.soprafinancing.io/ "Generate Doc X-Ray" and "Medium". Field
    names are not public [U]: we send `{"status": "online", "meta": {"name", "period", "date"}}`,
    the names the Medium concept page uses; `meta.name` is repeated in case `meta` is replaced
    whole. An empty answer is accepted.
    """
    meta: dict[str, str] = {}
    if file_name:
        meta["name"] = file_name
    if period:
        meta["period"] = period
    if date is not None:
        meta["date"] = date.isoformat()
    payload: dict[str, Any] = {"status": "online"}
    if meta:
        payload["meta"] = meta
    body = _call("POST", f"/media/{medium_id}", payload=payload)
    return _parse_medium(body, "POST /media/{id}", fallback_id=medium_id)


# A report names its medium in a field that is not public [U]. Any of these, on the report or
# inside its `raw`, as an id, an {"id"} object or a list of them.
_MEDIUM_KEYS = ("medium", "media", "mediumId", "mediaId", "medium_id", "media_id", "mediums")


def _medium_ids(*objects: Mapping[str, Any]) -> tuple[str, ...]:
    ids: list[str] = []
    for obj in objects:
        for key in _MEDIUM_KEYS:
            value = obj.get(key)
            values = value if isinstance(value, list) else [value]
            ids += [i for i in (_id(v) for v in values) if i and i not in ids]
    return tuple(ids)


def _parse_report(item: Any) -> OctoberReport | None:
    data = _unwrap(item, "report")
    if data is None or not _id(data.get("id")):
        return None
    raw = json_object(data.get("raw"))
    request_id = _id(data.get("request")) or _id(raw.get("request"))
    return OctoberReport(
        id=_id(data["id"]),
        source=str(data.get("source") or ""),
        request_id=request_id,
        medium_ids=_medium_ids(data, raw),
        created=str(data.get("creation") or data.get("createdAt") or data.get("created_at") or ""),
        raw=raw,
        payload=data,
    )


def list_reports(*, source: str, request_id: str) -> tuple[OctoberReport, ...]:
    """The reports of one source (doc_xray, manager_xray) for one request.

    Reference: https://doc.lending.soprafinancing.io/ "Generate Doc X-Ray" / "Generate Manager
    X-Ray" ("GET /reports?source=...&request=..."). The list's envelope is not public [U]: a bare
    list, or one under `reports`, `data`, `items` or `results`; each item bare or under `report`.
    """
    body = _call("GET", "/reports", params={"source": source, "request": request_id})
    items = body
    if isinstance(body, dict):
        items = next((body[k] for k in ("reports", "data", "items", "results") if k in body), None)
    if items is None and body is None:
        items = []
    if not isinstance(items, list):
        raise _shape_error("GET /reports", body)
    reports = [_parse_report(item) for item in items]
    return tuple(report for report in reports if report is not None)


def get_report(report_id: str) -> OctoberReport:
    """One report with its `raw` analysis.

    Reference: https://doc.lending.soprafinancing.io/ "Generate Doc X-Ray", step 3
    (`{"report": {"id", "request", "source", "raw": {...}}}`).
    """
    body = _call("GET", f"/reports/{quote(report_id, safe='')}")
    report = _parse_report(body)
    if report is None:
        raise _shape_error("GET /reports/{id}", body)
    return report


# ============================================================================ mapping to our data

FLAG_COLORS = {"green": "green", "orange": "orange", "yellow": "orange", "red": "red"}
REASON_LEVELS = ("suspicious", "fraudulent")
SENTIMENTS = {
    "bad": "negative",
    "negative": "negative",
    "good": "positive",
    "positive": "positive",
}
# ManagerAlert takes low/medium/high. Other words October may use are mapped to the nearest;
# an unknown one counts as medium so it is neither hidden nor alarming (the raw report keeps it).
ALERT_LEVELS = {
    "low": "low",
    "medium": "medium",
    "moderate": "medium",
    "high": "high",
    "critical": "high",
    "severe": "high",
}
ALERT_FLAGS = {"high": "red", "medium": "orange", "low": "green"}
_LEVEL_RANK = {"low": 1, "medium": 2, "high": 3}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _date(value: Any) -> dt.date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _text(value: Any, limit: int) -> str:
    return " ".join(str(value).split())[:limit] if value not in (None, "") else ""


def _dicts(value: Any) -> Iterable[dict[str, Any]]:
    return (item for item in value if isinstance(item, dict)) if isinstance(value, list) else ()


def doc_xray_report(report: OctoberReport) -> ReportData:
    """Doc X-Ray `raw` -> our Report: flag colour and value, one Reason per analysed criterion,
    the document classification in the summary.

    Reference: https://doc.lending.soprafinancing.io/ "Generate Doc X-Ray", step 3 [S]:
    `raw.type[] {class, confidence}`, `raw.reasons[] {criteria, sentiment, message {title,
    content}, typeCode, level null|suspicious|fraudulent}`, `raw.flag {color, meta[], value}`.
    `flag.value` ("overall suspicious evaluation") is also our 0..1 score when it is in range.
    """
    raw = report.raw
    flag = json_object(raw.get("flag"))
    value = _number(flag.get("value"))
    reasons = []
    for item in _dicts(raw.get("reasons")):
        message = json_object(item.get("message"))
        level = str(item.get("level") or "").lower() or None
        code = _text(item.get("typeCode"), 64) or "unknown"
        reasons.append(
            Reason(
                code=code,
                title=_text(message.get("title"), 255) or code,
                detail=_text(message.get("content"), 2000),
                # An unknown non-null level is still a finding: shown, never hidden.
                level=level if level in REASON_LEVELS or level is None else "suspicious",
                sentiment=SENTIMENTS.get(str(item.get("sentiment") or "").lower(), "neutral"),
                criteria=json_object(item.get("criteria")),
            )
        )
    types = [
        {"class": str(t.get("class") or ""), "confidence": _number(t.get("confidence"))}
        for t in _dicts(raw.get("type"))
    ]
    best = max(types, key=lambda t: t["confidence"] or 0.0, default=None)
    return ReportData(
        source=DOC_XRAY,
        flag_color=FLAG_COLORS.get(str(flag.get("color") or "").lower(), ""),
        flag_value=repr(value)[:64] if value is not None else _text(flag.get("value"), 64),
        score=value if value is not None and 0.0 <= value <= 1.0 else None,
        reasons=tuple(reasons),
        summary={
            "report_id": report.id,
            "october_request_id": report.request_id,
            "medium_ids": list(report.medium_ids),
            "created": report.created,
            "document_types": types,
            "document_class": best["class"] if best else "",
            "classification_confidence": best["confidence"] if best else None,
            "flag_meta": [str(m) for m in flag.get("meta", []) if m is not None]
            if isinstance(flag.get("meta"), list)
            else [],
        },
        raw=dict(report.payload),
        external_id=report.id,
    )


def _confidence_percent(value: Any) -> int | None:
    """`confidencePercentage`: the example shows 1 for a sure match [S], so a value up to 1 is
    read as a fraction and anything above as a percentage (assumption; confirm in sandbox)."""
    number = _number(value)
    if number is None or number < 0:
        return None
    percent = number * 100 if number <= 1 else number
    return min(100, round(percent))


def manager_xray_data(report: OctoberReport) -> tuple[ReportData, tuple[OfficerData, ...]]:
    """Manager X-Ray `raw.persons[]` -> officers, their companies and dated alerts, plus a
    Report whose flag is the worst alert level (high red, medium orange, low or none green).

    Reference: https://doc.lending.soprafinancing.io/ "Generate Manager X-Ray", step 3 [S]:
    `persons[] {lastname, firstname, birthdate, confidencePercentage, companies[] {name,
    code {id, type}, jobStartDate, jobEndDate, alerts[] {date, name, level}}}`.
    """
    officers = []
    counts = {"low": 0, "medium": 0, "high": 0}
    companies = 0
    for person in _dicts(report.raw.get("persons")):
        last_name = _text(person.get("lastname"), 150)
        first_name = _text(person.get("firstname"), 150)
        if not last_name and not first_name:
            continue  # nobody to show; the stored raw report keeps the entry
        roles = []
        for company in _dicts(person.get("companies")):
            companies += 1
            code = json_object(company.get("code"))
            code_id = _text(code.get("id"), 32).replace(" ", "")
            siren = (
                code_id
                if code.get("type") == "siren" and re.fullmatch(r"[0-9]{9}", code_id)
                else ""
            )
            start, end = _date(company.get("jobStartDate")), _date(company.get("jobEndDate"))
            if start and end and end < start:
                end = None  # an impossible range: keep the start, the raw keeps both
            alerts = []
            for alert in _dicts(company.get("alerts")):
                level = ALERT_LEVELS.get(str(alert.get("level") or "").lower(), "medium")
                counts[level] += 1
                alerts.append(
                    AlertData(
                        date=_date(alert.get("date")),
                        name=_text(alert.get("name"), 255) or _("(unnamed alert)"),
                        level=level,
                    )
                )
            roles.append(
                CompanyRoleData(
                    company_name=_text(company.get("name"), 255) or siren or _("(unnamed)"),
                    siren=siren,
                    start_date=start,
                    end_date=end,
                    alerts=tuple(alerts),
                )
            )
        officers.append(
            OfficerData(
                last_name=last_name or first_name,
                first_name=first_name if last_name else "",
                birth_date=_date(person.get("birthdate")),
                confidence=_confidence_percent(person.get("confidencePercentage")),
                roles=tuple(roles),
            )
        )
    worst = max((lvl for lvl, n in counts.items() if n), key=_LEVEL_RANK.__getitem__, default="")
    data = ReportData(
        source=MANAGER_XRAY,
        flag_color=ALERT_FLAGS.get(worst, "green"),
        flag_value=worst or "none",
        reasons=(),
        summary={
            "report_id": report.id,
            "october_request_id": report.request_id,
            "created": report.created,
            "persons": len(officers),
            "companies": companies,
            "alerts": counts,
            "worst_alert_level": worst,
        },
        raw=dict(report.payload),
        external_id=report.id,
    )
    return data, tuple(officers)


# =================================================================================== the provider

WEBHOOK_SECRET_HEADER = "X-October-Webhook-Secret"  # noqa: S105 (a header name)


def _header(headers: Mapping[str, str], name: str) -> str:
    # Stored webhook headers come back as a plain dict: look them up without case.
    lowered = name.lower()
    return next((str(v) for k, v in headers.items() if k.lower() == lowered), "")


def _is_manager_report(report: OctoberReport) -> bool:
    # The guide's own example labels a Manager X-Ray report "doc_xray": its persons tell.
    return report.source in ("", MANAGER_XRAY) or "persons" in report.raw


# An id we put in a URL path (quoted anyway): what October's ids look like, nothing else.
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")


def _latest(reports: Iterable[OctoberReport]) -> OctoberReport | None:
    # Several reports for one thing: the newest (ISO timestamps sort), else the last listed.
    indexed = list(enumerate(reports))
    if not indexed:
        return None
    return max(indexed, key=lambda pair: (pair[1].created, pair[0]))[1]


class OctoberProvider(Provider):
    """October Doc X-Ray (operation "doc_xray", one job per document) and Manager X-Ray
    (operation "manager_xray", one job per company file).

    Timing: Doc X-Ray answers "within a few minutes", but up to 48 h when its OCR falls back to
    another extraction [V]; hence a 72 h deadline, a first poll after 30 s backing off to 15 min,
    and a `new_report` webhook to finish early.
    """

    name: ClassVar[str] = "october"
    queue_name: ClassVar[str] = "october"
    label: ClassVar[str] = "October"
    sends_webhooks: ClassVar[bool] = True
    creates_vendor_request: ClassVar[bool] = True
    deadline: ClassVar[dt.timedelta] = dt.timedelta(hours=72)
    poll_interval = 30.0
    max_poll_interval = 900.0
    expiry_message: ClassVar[Deferred] = Deferred(
        gettext_noop(
            "October sent no report within 72 hours (Doc X-Ray takes minutes, or up to 48 hours "
            "when its OCR falls back). Check this file in October's web app, then use Retry to "
            "send it again."
        )
    )

    @classmethod
    def is_configured(cls) -> bool:
        return bool(settings.OCTOBER_USER_ID and settings.OCTOBER_SESSION_TOKEN)

    @classmethod
    def webhooks_enabled(cls) -> bool:
        # Without OCTOBER_WEBHOOK_SECRET anyone could post; only an explicit opt-in allows that.
        return super().webhooks_enabled() and bool(
            settings.OCTOBER_WEBHOOK_SECRET or settings.OCTOBER_WEBHOOK_ALLOW_UNSIGNED
        )

    # What it takes -------------------------------------------------------------------------
    def document_operation(self, document: DocumentInput) -> str | None:
        if document.content_type not in ACCEPTED_CONTENT_TYPES:
            return None
        if document.size > MAX_MEDIUM_BYTES:
            return None
        return DOC_XRAY

    def skip_reason(self, document: DocumentInput) -> str:
        if document.size > MAX_MEDIUM_BYTES:
            return _("October takes files of at most 20 MB.")
        return _("October Doc X-Ray takes PDF, JPEG and PNG files, not %(type)s.") % {
            "type": document.content_type
        }

    def request_operations(self, customer: CustomerInput) -> tuple[str, ...]:
        # Manager X-Ray looks up a company's managers by SIREN: nothing to ask for a person.
        if customer.kind == "company" and customer.siren:
            return (MANAGER_XRAY,)
        return ()

    # Submit --------------------------------------------------------------------------------
    def submit(self, job: JobInput) -> Submission:
        """Manager X-Ray: make sure the October request exists (creating it starts the X-Ray).
        Doc X-Ray: the same, then the three-step upload; October starts Doc X-Ray by itself."""
        if job.operation == MANAGER_XRAY:
            request_id, created = self._ensure_request(job)
            return Submission(
                external_id=request_id, request_external_id=request_id if created else ""
            )
        if job.operation == DOC_XRAY:
            return self._submit_document(job)
        raise ProviderError(
            Deferred(gettext_noop("October has no operation %(op)s."), op=job.operation),
            retryable=False,
        )

    def _ensure_request(self, job: JobInput) -> tuple[str, bool]:
        """The file's October request id, and whether this call created it."""
        if job.request.october_request_id:
            return job.request.october_request_id, False
        if job.request.code_type != "siren":
            # The only request code October documents is a SIREN [V]; an individual's file has
            # none, and inventing a code October may reject would only hide that.
            raise ProviderError(
                Deferred(
                    gettext_noop(
                        "October identifies a file by the company's SIREN, and this customer's "
                        "file has none: it cannot be sent to October."
                    )
                ),
                retryable=False,
            )
        created = create_request(job.request.code_type, job.request.code_id)
        return created.id, True

    def _submit_document(self, job: JobInput) -> Submission:
        document = job.document
        if document is None:
            raise ProviderError(
                Deferred(gettext_noop("This Doc X-Ray job has no document.")), retryable=False
            )
        request_id, created = self._ensure_request(job)
        try:
            medium = create_medium(
                request_id=request_id,
                name=MEDIUM_NAMES.get(document.kind, "other"),
                file_name=document.original_name,
                content_type=document.content_type,
                size=document.size,
            )
            assert medium.upload is not None  # create_medium refuses an answer without one
            upload_to_storage(
                medium.upload,
                document.read(),
                file_name=document.original_name,
                content_type=document.content_type,
            )
            set_medium_online(
                medium.id,
                file_name=document.original_name,
                period=document.period,
                date=document.document_date,
            )
        except ProviderError:
            if created:
                # The id cannot travel back with an error, so the next attempt opens another
                # request: leave a trace for whoever tidies October's side.
                logger.warning(
                    "October request %s was created for job %s, then the upload failed",
                    request_id,
                    job.id,
                )
            raise
        return Submission(
            external_id=request_id,
            request_external_id=request_id if created else "",
            document_external_id=medium.id,
        )

    # Poll ----------------------------------------------------------------------------------
    def poll(self, job: JobInput) -> Outcome:
        """Done when October has a report for this job; PENDING (poll again) until then.

        After a `new_report` webhook (`job.announced_ids` holds its reportId) the guide's next
        call is `GET /reports/{reportId}`: that report is fetched and taken if it is this job's.
        Scheduled polls have no report id and list the request's reports of the job's source
        (`GET /reports?source=&request=`), the guide's polling path.
        """
        request_id = job.external_id or job.request.october_request_id
        if not request_id:
            raise ProviderError(
                Deferred(
                    gettext_noop(
                        "This job has no October request id: use Retry to submit it again."
                    )
                ),
                retryable=False,
            )
        if job.operation not in (MANAGER_XRAY, DOC_XRAY):
            raise ProviderError(
                Deferred(gettext_noop("October has no operation %(op)s."), op=job.operation),
                retryable=False,
            )
        if job.announced_ids:
            return self._poll_announced(job, request_id)
        if job.operation == MANAGER_XRAY:
            return self._poll_manager(request_id)
        return self._poll_document(job, request_id)

    def _poll_announced(self, job: JobInput, request_id: str) -> Outcome:
        """Fetch the reports a webhook announced (`GET /reports/{reportId}`, Generate Doc X-Ray
        "Using webhooks") and take the one that is this job's: of its request, of its X-Ray, and
        for Doc X-Ray naming its document's medium. One webhook re-fetches every October job of
        the request, so the others are left PENDING for their own report. An id October does not
        know (a stale or forged delivery) leaves the job as it is; scheduled polls go on."""
        medium_id = job.document.october_media_id if job.document else ""
        for report_id in job.announced_ids:
            try:
                report = get_report(report_id)
            except ProviderError as error:
                if error.retryable or error.configuration:
                    raise
                logger.warning("October report %r named by a webhook: %s", report_id, error)
                continue
            if report.request_id and report.request_id != request_id:
                continue
            if job.operation == MANAGER_XRAY and _is_manager_report(report):
                data, officers = manager_xray_data(report)
                return Outcome(state=State.COMPLETED, reports=(data,), officers=officers)
            if (
                job.operation == DOC_XRAY
                and medium_id
                and medium_id in report.medium_ids
                and not _is_manager_report(report)
            ):
                return Outcome(state=State.COMPLETED, reports=(doc_xray_report(report),))
        return Outcome(state=State.PENDING)

    def _with_raw(self, report: OctoberReport) -> OctoberReport:
        # A list may carry summaries only; the report itself has the analysis.
        return report if report.raw else get_report(report.id)

    def _poll_manager(self, request_id: str) -> Outcome:
        # The guide's own example labels a Manager X-Ray report "doc_xray": trust the query's
        # source filter, and pass over only what is plainly another X-Ray's report.
        candidates = [
            r
            for r in list_reports(source=MANAGER_XRAY, request_id=request_id)
            if _is_manager_report(r)
        ]
        report = _latest(candidates)
        if report is None:
            return Outcome(state=State.PENDING)
        data, officers = manager_xray_data(self._with_raw(report))
        return Outcome(state=State.COMPLETED, reports=(data,), officers=officers)

    def _poll_document(self, job: JobInput, request_id: str) -> Outcome:
        """A Doc X-Ray report belongs to this document when it names the document's medium id.

        Assumption [U]: the report carries its medium's id (the guide's example shows none; see
        `_MEDIUM_KEYS` for the names we look for). A report naming no medium is never taken for
        this document's: a wrong report on a document is worse than an expired job.
        """
        medium_id = job.document.october_media_id if job.document else ""
        if not medium_id:
            raise ProviderError(
                Deferred(
                    gettext_noop(
                        "October's medium id for this document was not recorded: use Retry."
                    )
                ),
                retryable=False,
            )
        listed = list_reports(source=DOC_XRAY, request_id=request_id)
        mine = [r for r in listed if medium_id in r.medium_ids]
        if not mine:
            # Summaries that name no medium may name it once read in full.
            unnamed = [self._with_raw(r) for r in listed if not r.medium_ids and not r.raw]
            mine = [r for r in unnamed if medium_id in r.medium_ids]
        report = _latest(mine)
        if report is None:
            return Outcome(state=State.PENDING)
        return Outcome(state=State.COMPLETED, reports=(doc_xray_report(self._with_raw(report)),))

    # Webhooks ------------------------------------------------------------------------------
    def verify_webhook(
        self, headers: Mapping[str, str], body: bytes, query: Mapping[str, str] | None = None
    ) -> Verdict:
        """October's signing scheme is not public [U]. With OCTOBER_WEBHOOK_SECRET set, a delivery
        must carry that secret, as `Authorization: Bearer <secret>`, in the
        `X-October-Webhook-Secret` header, or as `?secret=` in the webhook URL registered with
        October (neither header nor query is stored). Without it, UNSIGNED only when the
        operator set OCTOBER_WEBHOOK_ALLOW_UNSIGNED (the webhook is only a trigger, and the
        re-fetch uses our credentials anyway), INVALID otherwise."""
        secret = settings.OCTOBER_WEBHOOK_SECRET
        if not secret:
            return Verdict.UNSIGNED if settings.OCTOBER_WEBHOOK_ALLOW_UNSIGNED else Verdict.INVALID
        # October's webhook settings take only a URL, so the secret may also come as ?secret=.
        given = _header(headers, WEBHOOK_SECRET_HEADER) or (query or {}).get("secret", "")
        authorization = _header(headers, "Authorization")
        if not given and authorization.lower().startswith("bearer "):
            given = authorization[7:].strip()
        if not given:
            return Verdict.MISSING
        # "replace": a header or query value may hold anything, even a lone surrogate.
        if hmac.compare_digest(given.encode("utf-8", "replace"), secret.encode()):
            return Verdict.VALID
        return Verdict.INVALID

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookInfo:
        """`{"event": "new_report", "requestId", "reportId"}` [S]. Deduplicated on event and
        report id; re-fetches every active October job of that request (their external_id is
        the request id), each with `GET /reports/{reportId}` (`resource_ids`), the guide's next
        call after this webhook. Other events (the API example subscribes to `update_request`)
        are stored and trigger a re-fetch by listing. A report id that does not look like one
        (control characters, slashes, over 128 characters) is not fetched."""
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        try:
            data = json.loads(body)
        except ValueError:
            return WebhookInfo(event_type="", dedupe_key=digest)
        if not isinstance(data, dict):
            return WebhookInfo(event_type="", dedupe_key=digest)
        event = _text(data.get("event"), 64)
        request_id = _id(data.get("requestId"))
        report_id = _id(data.get("reportId"))
        dedupe_key = f"{event}:{report_id}" if report_id else f"{event}:{request_id}:{digest}"
        return WebhookInfo(
            event_type=event,
            dedupe_key=dedupe_key,
            external_ids=(request_id,) if request_id else (),
            # After new_report the re-fetch reads that report itself, as the guide says.
            resource_ids=(report_id,)
            if event == "new_report" and _SAFE_ID.fullmatch(report_id)
            else (),
        )
