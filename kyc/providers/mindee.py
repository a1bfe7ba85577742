"""Mindee API V1: passport and international ID reading (OCR), with signed webhooks.

Contract: shared/vendor-apis.md section 3 and shared/seeds/mindee-async-prediction.txt.
Reference: https://docs.mindee.com/v1/apis-overview/endpoints/prediction-asynchronous,
https://docs.mindee.com/v1/integration/error-management,
https://docs.mindee.com/v1/integration/limitations

- Passport v1 is synchronous only (contrary to the seed): `POST .../passport/v1/predict` answers
  201 with the document, so a passport job completes at submission.
- International ID v2 is asynchronous only: `POST .../international_id/v2/predict_async` gives a
  job id; `GET .../documents/queue/{job_id}` answers 200 while the job waits or runs and 302 to
  `.../documents/{document_id}` when it is done. A signed webhook makes the engine poll at once.

Plain `requests` through kyc.providers.http rather than the `mindee` SDK: one error mapping
(ProviderError, Retry-After) shared with the other vendors, the 302 handled where we can see it,
a constant-time webhook check, and no httpx stack for four endpoints.
"""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import hmac
import io
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote, urljoin, urlsplit

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from kyc.i18n import Deferred
from kyc.json_values import json_object
from kyc.providers import http
from kyc.providers.base import (
    DocumentInput,
    JobInput,
    OcrData,
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

VENDOR = "Mindee"
SIGNATURE_HEADER = "X-Mindee-Hmac-Signature"
MB = 1024 * 1024


@dataclass(frozen=True)
class Product:
    """One off-the-shelf Mindee V1 product and the limits of the mode it runs in."""

    operation: str
    account: str
    name: str
    version: str
    source: str
    asynchronous: bool
    max_bytes: int
    max_pages: int
    label: str


# Sync 10 MB / 10 pages, async 20 MB / 20 pages (docs.mindee.com/v1/integration/limitations).
# Whether "MB" means 10^6 or 2^20 bytes is not said [U]: Mindee's BadRequest covers the gap.
PASSPORT = Product(
    operation="passport",
    account="mindee",
    name="passport",
    version="1",
    source="mindee_passport",
    asynchronous=False,
    max_bytes=10 * MB,
    max_pages=10,
    label="Passport v1",
)
INTERNATIONAL_ID = Product(
    operation="international_id",
    account="mindee",
    name="international_id",
    version="2",
    source="mindee_international_id",
    asynchronous=True,
    max_bytes=20 * MB,
    max_pages=20,
    label="International ID v2",
)
PRODUCTS = {product.operation: product for product in (PASSPORT, INTERNATIONAL_ID)}
PRODUCT_FOR_KIND = {
    "passport": PASSPORT,
    "id_card": INTERNATIONAL_ID,
    "residence_permit": INTERNATIONAL_ID,
}

# Identity fields (Artemis keys) whose absence turns the report orange; a low confidence on any
# field does too.
REQUIRED_FIELDS = ("last_name", "first_name", "date_of_birth", "document_number", "expiry_date")

# Names for the analyst of Mindee's fields (Passport v1, International ID v2) and of the required
# Artemis keys, translated when shown (kyc.i18n.Deferred).
FIELD_LABELS = {
    # In the order a reader goes through an identity document (the report page's order).
    "document_type": gettext_noop("Document type"),
    "document_number": gettext_noop("Document number"),
    "id_number": gettext_noop("Document number"),
    "surname": gettext_noop("Surname"),
    "surnames": gettext_noop("Surnames"),
    "last_name": gettext_noop("Last name"),
    "given_names": gettext_noop("Given names"),
    "first_name": gettext_noop("First names"),
    "gender": gettext_noop("Sex"),
    "sex": gettext_noop("Sex"),
    "birth_date": gettext_noop("Birth date"),
    "date_of_birth": gettext_noop("Birth date"),
    "birth_place": gettext_noop("Birth place"),
    "nationality": gettext_noop("Nationality"),
    "country": gettext_noop("Country"),
    "country_of_issue": gettext_noop("Country of issue"),
    "state_of_issue": gettext_noop("State of issue"),
    "issuance_date": gettext_noop("Issue date"),
    "issue_date": gettext_noop("Issue date"),
    "expiry_date": gettext_noop("Expiry date"),
    "personal_number": gettext_noop("Personal number"),
    "address": gettext_noop("Address"),
    "mrz1": gettext_noop("MRZ line 1"),
    "mrz2": gettext_noop("MRZ line 2"),
    "mrz_line1": gettext_noop("MRZ line 1"),
    "mrz_line2": gettext_noop("MRZ line 2"),
    "mrz_line3": gettext_noop("MRZ line 3"),
}


# ---------------------------------------------------------------------------------- rate limit


class RateLimiter:
    """Sliding-window limits for this process, thread-safe: waits a little when a window is full,
    and raises a retryable ProviderError (with retry_after) when the wait would be long, so a
    worker never sleeps for a minute holding its job."""

    def __init__(
        self,
        limits: tuple[tuple[int, float], ...],
        *,
        max_wait: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limits = limits
        self.max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._calls: collections.deque[float] = collections.deque()
        self._horizon = max(period for _count, period in limits)

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()

    def _wait(self, now: float) -> float:
        while self._calls and self._calls[0] <= now - self._horizon:
            self._calls.popleft()
        wait = 0.0
        for count, period in self.limits:
            recent = [t for t in self._calls if t > now - period]
            if len(recent) >= count:
                wait = max(wait, recent[-count] + period - now)
        return wait

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = self._clock()
                wait = self._wait(now)
                if wait <= 0:
                    self._calls.append(now)
                    return
            if wait > self.max_wait:
                raise ProviderError(
                    Deferred(
                        gettext_noop(
                            "Mindee allows %(limits)s; this server reached it. "
                            "Next try in %(wait)d s."
                        ),
                        limits=", ".join(f"{c} calls per {p:g} s" for c, p in self.limits),
                        wait=int(wait) + 1,
                    ),
                    retryable=True,
                    retry_after=wait,
                )
            self._sleep(wait)


# Mindee V1: 4 requests per second and 75 per minute (docs.mindee.com/v1/integration/limitations).
rate_limiter = RateLimiter(((4, 1.0), (75, 60.0)))


# ------------------------------------------------------------------------------------- client


def base_url() -> str:
    # SDK 4.x configurations ended with /v1; 5.x and this module append it themselves.
    base = settings.MINDEE_BASE_URL.rstrip("/")
    return base.removesuffix("/v1")


def product_root(product: Product) -> str:
    return f"{base_url()}/v1/products/{product.account}/{product.name}/v{product.version}"


def _headers() -> dict[str, str]:
    return {"Authorization": f"Token {settings.MINDEE_API_KEY}", "Accept": "application/json"}


def _api_error(body: Any) -> dict[str, Any]:
    if isinstance(body, dict) and isinstance(body.get("api_request"), dict):
        error = body["api_request"].get("error")
        if isinstance(error, dict):
            return error
    return {}


def _call(method: str, url: str, *, expected: tuple[int, ...], **kwargs: Any):
    """One rate-limited call, with Mindee's error table mapped onto ProviderError.

    Reference: https://docs.mindee.com/v1/integration/error-management
    BadRequest (400) is permanent with Mindee's message; Unauthorized (401) and Forbidden (403)
    are configuration errors; PlanLimitReached (403) is too, with its own words (no credential is
    wrong); TooManyRequests (429) and 5xx are retryable (Retry-After honoured); non-JSON error
    bodies ("Too Many Requests", "Gateway timeout") keep an excerpt.
    """
    rate_limiter.acquire()
    response = http.request(
        VENDOR,
        method,
        url,
        timeout=settings.MINDEE_TIMEOUT,
        expected=(*expected, 403),
        headers=_headers(),
        **kwargs,
    )
    if response.status_code == 403 and 403 not in expected:
        error = _api_error(_maybe_json(response))
        if error.get("code") == "PlanLimitReached":
            raise ProviderError(
                Deferred(
                    gettext_noop(
                        "Mindee refused the call: the plan's quota is used up (PlanLimitReached). "
                        "Raise the plan or wait for the next period, then use Retry."
                    )
                ),
                retryable=False,
                configuration=True,
                status_code=403,
            )
        raise ProviderError(
            Deferred(
                gettext_noop(
                    "Mindee refused our credentials or blocked API access (403: %(detail)s). "
                    "Check the Mindee settings of this server."
                ),
                detail=http.vendor_message(response),
            ),
            retryable=False,
            configuration=True,
            status_code=403,
        )
    return response


def _maybe_json(response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _checked_body(response) -> dict[str, Any]:
    """The JSON body of a 2xx answer; a body that reports a failure becomes a ProviderError."""
    body = http.json_body(VENDOR, response)
    if not isinstance(body, dict):
        raise ProviderError(
            Deferred(
                gettext_noop("Mindee sent an unexpected body (HTTP %(status)s)."),
                status=response.status_code,
            ),
            retryable=True,
            status_code=response.status_code,
        )
    api_request = body.get("api_request")
    if isinstance(api_request, dict) and api_request.get("status") == "failure":
        error = _api_error(body)
        code = api_request.get("status_code")
        code = code if isinstance(code, int) else response.status_code
        raise ProviderError(
            Deferred(
                gettext_noop("Mindee reported a failure: %(error)s"),
                error=_error_text(error) or http.vendor_message(response),
            ),
            retryable=code >= 500 or code == 429,
            status_code=code,
        )
    return body


def _error_text(error: Any) -> str:
    if not isinstance(error, dict):
        return str(error or "")
    return ": ".join(str(error[k]) for k in ("code", "message", "details") if error.get(k))


def _files(document: DocumentInput, content: bytes) -> dict[str, tuple[str, bytes, str]]:
    return {"document": (document.original_name or "document", content, document.content_type)}


def predict(product: Product, document: DocumentInput, content: bytes) -> dict[str, Any]:
    """Synchronous prediction: `POST {root}/predict` with the file as multipart `document`.

    Reference: https://docs.mindee.com/v1/off-the-shelf-products/passport-ocr (201 + document).
    """
    response = _call(
        "POST",
        f"{product_root(product)}/predict",
        expected=(200, 201),
        files=_files(document, content),
    )
    return _checked_body(response)


def enqueue(product: Product, document: DocumentInput, content: bytes) -> dict[str, Any]:
    """Asynchronous prediction: `POST {root}/predict_async`; the answer carries `job.id`.

    Reference: https://docs.mindee.com/v1/apis-overview/endpoints/prediction-asynchronous
    """
    response = _call(
        "POST",
        f"{product_root(product)}/predict_async",
        expected=(200, 201, 202),
        files=_files(document, content),
    )
    return _checked_body(response)


def _same_origin(url: str, reference: str) -> bool:
    a, b = urlsplit(url), urlsplit(reference)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


def get_queued(product: Product, job_id: str) -> dict[str, Any]:
    """Where a queued job is: `GET {root}/documents/queue/{job_id}`.

    Reference: https://docs.mindee.com/v1/apis-overview/endpoints/prediction-asynchronous
    200 with `job` while it waits or runs (or has failed); 302 to `{root}/documents/{id}` once it
    is done, which we follow ourselves, only to Mindee's own host, since it receives our token.
    """
    url = f"{product_root(product)}/documents/queue/{quote(job_id, safe='')}"
    response = _call("GET", url, expected=(200, 302))
    if response.status_code == 302:
        location = response.headers.get("Location", "")
        target = urljoin(url, location)
        if not location or not _same_origin(target, base_url()):
            raise ProviderError(
                Deferred(
                    gettext_noop("Mindee redirected the job to an unexpected address: %(where)s"),
                    where=urlsplit(target).netloc or "(none)",
                ),
                retryable=False,
                status_code=302,
            )
        response = _call("GET", target, expected=(200,))
    return _checked_body(response)


# ------------------------------------------------------------------------------------ mapping


def _value(item: Any) -> tuple[Any, float | None]:
    """(value, confidence) of one Mindee field; "N/A" and empty values are None (as the SDK)."""
    if not isinstance(item, dict):
        return None, None
    value = item.get("value")
    if value in ("N/A", "") or value is None:
        return None, None
    confidence = item.get("confidence")
    return value, float(confidence) if isinstance(confidence, int | float) else None


def _field(prediction: Mapping[str, Any], key: str) -> tuple[Any, float | None]:
    """A field, or a list field (given names, surnames) joined with spaces at the lowest
    confidence of its parts."""
    item = prediction.get(key)
    if isinstance(item, list):
        parts = [_value(part) for part in item]
        values = [str(value) for value, _conf in parts if value is not None]
        confidences = [conf for value, conf in parts if value is not None and conf is not None]
        if not values:
            return None, None
        return " ".join(values), min(confidences) if confidences else None
    return _value(item)


def _lowest(*confidences: float | None) -> float | None:
    known = [c for c in confidences if c is not None]
    return min(known) if known else None


class _Fields:
    """Artemis OCR fields (vendor-apis.md 4.3) with a confidence per key."""

    def __init__(self) -> None:
        self.fields: dict[str, Any] = {}
        self.confidence: dict[str, float] = {}
        self.missing: list[str] = []

    def put(self, keys: tuple[str, ...], value: Any, confidence: float | None) -> None:
        for key in keys:
            if value is None:
                self.missing.append(key)
                continue
            self.fields[key] = value
            if confidence is not None:
                self.confidence[key] = round(confidence, 4)


def _names(out: _Fields, first: tuple[Any, float | None], last: tuple[Any, float | None]) -> None:
    out.put(("first_name",), *first)
    out.put(("last_name",), *last)
    if first[0] is not None or last[0] is not None:
        full = " ".join(str(v) for v in (first[0], last[0]) if v is not None)
        out.put(("full_name",), full, _lowest(first[1], last[1]))


def passport_fields(prediction: Mapping[str, Any]) -> _Fields:
    """Passport v1 fields (country, id_number, given_names[], surname, birth_date, birth_place,
    gender, issuance_date, expiry_date, mrz1, mrz2) in Artemis keys."""
    out = _Fields()
    _names(out, _field(prediction, "given_names"), _field(prediction, "surname"))
    out.put(("gender",), *_field(prediction, "gender"))
    out.put(("date_of_birth", "birth date"), *_field(prediction, "birth_date"))
    mrz1, mrz1_conf = _field(prediction, "mrz1")
    mrz2, mrz2_conf = _field(prediction, "mrz2")
    # Passport v1 has no nationality field; a TD3 line 2 carries it at positions 11-13.
    nationality = None
    if isinstance(mrz2, str) and len(mrz2) == 44 and mrz2[10:13].replace("<", "").isalpha():
        nationality = mrz2[10:13].replace("<", "")
    out.put(("nationality",), nationality, mrz2_conf)
    out.put(("issuing_country",), *_field(prediction, "country"))
    out.fields["document_type"] = "PASSPORT"
    out.put(("document_number", "passport_number"), *_field(prediction, "id_number"))
    out.put(("issue_date",), *_field(prediction, "issuance_date"))
    out.put(
        ("expiry_date", "expiry date", "passport_expiry_date"), *_field(prediction, "expiry_date")
    )
    lines = [line for line in (mrz1, mrz2) if line]
    out.put(
        ("mrz_raw_string",),
        "\n".join(str(line) for line in lines) or None,
        _lowest(mrz1_conf, mrz2_conf),
    )
    return out


def international_id_fields(prediction: Mapping[str, Any]) -> _Fields:
    """International ID v2 fields (document_type, document_number, surnames[], given_names[],
    sex, birth_date, birth_place, nationality, personal_number, country_of_issue,
    state_of_issue, issue_date, expiry_date, address, mrz_line1..3) in Artemis keys."""
    out = _Fields()
    _names(out, _field(prediction, "given_names"), _field(prediction, "surnames"))
    out.put(("gender",), *_field(prediction, "sex"))
    out.put(("date_of_birth", "birth date"), *_field(prediction, "birth_date"))
    out.put(("nationality",), *_field(prediction, "nationality"))
    out.put(("issuing_country",), *_field(prediction, "country_of_issue"))
    out.put(("document_type",), *_field(prediction, "document_type"))
    out.put(("document_number",), *_field(prediction, "document_number"))
    out.put(("personal_id_number",), *_field(prediction, "personal_number"))
    out.put(("issue_date",), *_field(prediction, "issue_date"))
    out.put(("expiry_date", "expiry date"), *_field(prediction, "expiry_date"))
    out.put(("address",), *_field(prediction, "address"))
    mrz = [_field(prediction, f"mrz_line{n}") for n in (1, 2, 3)]
    lines = [str(value) for value, _conf in mrz if value]
    out.put(("mrz_raw_string",), "\n".join(lines) or None, _lowest(*(c for v, c in mrz if v)))
    return out


def _prediction(body: Mapping[str, Any]) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    document = json_object(body.get("document"))
    prediction = json_object(document.get("inference")).get("prediction")
    if not isinstance(prediction, dict):
        raise ProviderError(
            Deferred(gettext_noop("Mindee's answer has no document prediction.")),
            retryable=True,
            status_code=None,
        )
    return document, prediction


def read_fields(prediction: Mapping[str, Any]) -> dict[str, tuple[Any, float | None]]:
    """Every field Mindee read, under Mindee's own name: (value, confidence). List fields (given
    names, surnames) are joined at the lowest confidence of their parts; "N/A" and empty values
    are left out (nothing was read)."""
    read = {}
    for key in prediction:
        value, confidence = _field(prediction, str(key))
        if value is not None and not isinstance(value, dict | list):
            read[str(key)] = (value, confidence)
    return read


def field_label(key: str) -> Deferred | str:
    """A field's name for the analyst: translated when we know the field, else Mindee's key."""
    label = FIELD_LABELS.get(key)
    return Deferred(label) if label else key.replace("_", " ")


def outcome_from_document(product: Product, body: Mapping[str, Any]) -> Outcome:
    """OcrData + ReportData from a Mindee document response.

    Flag rule: orange when one of first name, last name, birth date, document number or expiry
    date is missing, or when any field Mindee read has a confidence below MINDEE_MIN_CONFIDENCE
    (one reason per such field, naming its value and confidence); green otherwise. Mindee reads,
    it does not judge authenticity, so it never gives red. The report keeps every field Mindee
    read with its confidence (`summary["fields"]`), for the report page to show.
    """
    document, prediction = _prediction(body)
    mapped = (
        passport_fields(prediction) if product is PASSPORT else international_id_fields(prediction)
    )
    threshold = settings.MINDEE_MIN_CONFIDENCE
    read = read_fields(prediction)
    missing = [key for key in REQUIRED_FIELDS if key not in mapped.fields]
    low = [
        key
        for key, (_value, confidence) in read.items()
        if confidence is not None and confidence < threshold
    ]
    ocr_fields = dict(mapped.fields)
    ocr_fields["missing_fields"] = sorted(set(mapped.missing))
    if missing or low:
        ocr_fields["status"] = "UNCERTAIN"

    reasons = [
        Reason(
            code="mindee_missing_field",
            title=Deferred(gettext_noop("Not read: %(field)s"), field=field_label(key)),
            detail=Deferred(gettext_noop("Mindee returned no value for this field.")),
            level="suspicious",
            sentiment="negative",
            criteria={"field": key},
        )
        for key in missing
    ] + [
        Reason(
            code="mindee_low_confidence",
            title=Deferred(gettext_noop("Low confidence: %(field)s"), field=field_label(key)),
            detail=Deferred(
                gettext_noop(
                    "Read as %(value)r with %(confidence)d%% confidence (threshold %(min)d%%)."
                ),
                value=str(read[key][0])[:200],
                confidence=_percent(read[key][1]),
                min=_percent(threshold),
            ),
            level="suspicious",
            sentiment="negative",
            criteria={"field": key, "confidence": read[key][1], "threshold": threshold},
        )
        for key in low
    ]
    confidences = [c for _v, c in read.values() if c is not None]
    job = _job(body)
    inference = document.get("inference") or {}
    product_info = inference.get("product") or {}
    summary = {
        "product": f"{product_info.get('name', '')} {product_info.get('version', '')}".strip(),
        "document_id": document.get("id", ""),
        "job_id": job.get("id", ""),
        "pages": document.get("n_pages"),
        # Every field as Mindee named and read it, with its confidence.
        "fields": {
            key: {
                "value": value,
                "confidence": round(confidence, 4) if confidence is not None else None,
            }
            for key, (value, confidence) in read.items()
        },
        "min_confidence": min(confidences) if confidences else None,
        "confidence_threshold": threshold,
        "missing_fields": missing,
        "low_confidence_fields": low,
    }
    flag = "orange" if missing or low else "green"
    report = ReportData(
        source=product.source,
        flag_color=flag,
        flag_value=_("incomplete") if missing else _("low confidence") if low else _("complete"),
        reasons=tuple(reasons),
        summary=summary,
        raw=dict(body),
        external_id=str(document.get("id") or ""),
    )
    ocr = OcrData(source=product.source, fields=ocr_fields, confidence=mapped.confidence)
    return Outcome(state=State.COMPLETED, reports=(report,), ocr=(ocr,))


def _percent(fraction: float | None) -> int:
    return round((fraction or 0.0) * 100)


def _job(body: Mapping[str, Any]) -> dict[str, Any]:
    job = body.get("job")
    return job if isinstance(job, dict) else {}


def _failed(job: Mapping[str, Any]) -> Outcome:
    return Outcome(
        state=State.FAILED,
        message=Deferred(
            gettext_noop("Mindee could not process the document: %(error)s"),
            error=_error_text(job.get("error")) or Deferred(gettext_noop("no reason given")),
        ),
    )


# -------------------------------------------------------------------------------------- limits


def page_count(content: bytes, content_type: str) -> int | None:
    """Pages of a PDF (None when unreadable: Mindee will judge); images count as one."""
    if content_type != "application/pdf":
        return 1
    try:
        from pypdf import PdfReader

        return len(PdfReader(io.BytesIO(content)).pages)
    except Exception:
        # A damaged or encrypted PDF is Mindee's to refuse, not ours to crash on.
        return None


def _too_large(product: Product, size: int) -> Deferred:
    return Deferred(
        gettext_noop(
            "Mindee %(product)s takes files up to %(max)d MB; this one is %(size).1f MB, so it "
            "was not sent to Mindee."
        ),
        product=product.label,
        max=product.max_bytes // MB,
        size=size / MB,
    )


# ----------------------------------------------------------------------------------- provider


class MindeeProvider(Provider):
    """Mindee V1 OCR of passports (Passport v1, synchronous) and of ID cards and residence
    permits (International ID v2, asynchronous with polling and signed webhooks).

    Webhooks: `/webhooks/mindee/` checks `X-Mindee-Hmac-Signature` against MINDEE_WEBHOOK_SECRET.
    When MINDEE_WEBHOOK_SECRET is unset the endpoint answers 404 and stores nothing: unsigned
    Mindee webhooks are never accepted; polling still finishes the jobs.
    """

    sends_webhooks: ClassVar[bool] = True

    name: ClassVar[str] = "mindee"
    queue_name: ClassVar[str] = "mindee"
    label: ClassVar[str] = "Mindee"
    deadline: ClassVar[dt.timedelta] = dt.timedelta(hours=1)
    expiry_message: ClassVar[Deferred] = Deferred(
        gettext_noop(
            "Mindee gave no result within an hour: use Retry to submit the document again."
        )
    )

    @property
    def poll_interval(self) -> float:
        return float(settings.MINDEE_POLL_SECONDS)

    @property
    def max_poll_interval(self) -> float:
        return max(60.0, float(settings.MINDEE_POLL_SECONDS))

    @classmethod
    def is_configured(cls) -> bool:
        return bool(settings.MINDEE_API_KEY)

    @classmethod
    def webhooks_enabled(cls) -> bool:
        # Without the HMAC key no delivery could ever be verified.
        return super().webhooks_enabled() and bool(settings.MINDEE_WEBHOOK_SECRET)

    def document_operation(self, document: DocumentInput) -> str | None:
        product = PRODUCT_FOR_KIND.get(document.kind)
        if product is None or document.size > product.max_bytes:
            return None
        return product.operation

    def skip_reason(self, document: DocumentInput) -> str:
        product = PRODUCT_FOR_KIND.get(document.kind)
        if product is None:
            return _("Mindee reads passports, identity cards and residence permits only.")
        if document.size > product.max_bytes:
            return str(_too_large(product, document.size))
        return ""

    def submit(self, job: JobInput) -> Submission:
        product = PRODUCTS.get(job.operation)
        document = job.document
        if product is None or document is None:
            raise ProviderError(
                Deferred(
                    gettext_noop("Mindee has no operation %(op)r for this job."), op=job.operation
                ),
                retryable=False,
            )
        if document.size > product.max_bytes:
            raise ProviderError(_too_large(product, document.size), retryable=False)
        content = document.read()
        if len(content) > product.max_bytes:
            raise ProviderError(_too_large(product, len(content)), retryable=False)
        pages = page_count(content, document.content_type)
        if pages is not None and pages > product.max_pages:
            raise ProviderError(
                Deferred(
                    gettext_noop(
                        "Mindee %(product)s takes documents of up to %(max)d pages; this one has "
                        "%(pages)d, so it was not sent to Mindee."
                    ),
                    product=product.label,
                    max=product.max_pages,
                    pages=pages,
                ),
                retryable=False,
            )
        if not product.asynchronous:
            body = predict(product, document, content)
            outcome = outcome_from_document(product, body)
            document_id = str((body.get("document") or {}).get("id") or "")
            return Submission(external_id=document_id, outcome=outcome)
        body = enqueue(product, document, content)
        queued = _job(body)
        job_id = str(queued.get("id") or "")
        if not job_id:
            raise ProviderError(
                Deferred(gettext_noop("Mindee accepted the document but sent no job id.")),
                retryable=False,
            )
        if queued.get("status") == "failed":
            return Submission(external_id=job_id, outcome=_failed(queued))
        return Submission(external_id=job_id)

    def poll(self, job: JobInput) -> Outcome:
        product = PRODUCTS.get(job.operation)
        if product is None or not product.asynchronous or not job.external_id:
            raise ProviderError(
                Deferred(
                    gettext_noop("This Mindee job cannot be polled (operation %(op)r)."),
                    op=job.operation,
                ),
                retryable=False,
            )
        body = get_queued(product, job.external_id)
        queued = _job(body)
        if queued.get("status") == "failed":
            return _failed(queued)
        if isinstance(body.get("document"), dict) and queued.get("status") in (None, "completed"):
            return outcome_from_document(product, body)
        # waiting / processing, or completed without the redirect yet: look again, and show
        # Mindee's word for the job meanwhile.
        return Outcome(
            state=State.PENDING,
            message=Deferred(
                gettext_noop("Mindee: not ready yet (job %(status)s)."),
                status=str(queued.get("status") or "?")[:32],
            ),
        )

    # Webhooks -------------------------------------------------------------------------------
    def verify_webhook(
        self, headers: Mapping[str, str], body: bytes, query: Mapping[str, str] | None = None
    ) -> Verdict:
        """Check `X-Mindee-Hmac-Signature`: lowercase hex HMAC-SHA256 of the raw body keyed with
        MINDEE_WEBHOOK_SECRET, compared in constant time. Like the SDK's LocalResponse, the
        signature over the body without its CR and LF bytes is accepted too (vendor-apis.md 3.4).

        With MINDEE_WEBHOOK_SECRET unset every delivery is INVALID: we never accept unsigned
        Mindee webhooks.
        """
        secret = settings.MINDEE_WEBHOOK_SECRET
        if not secret:
            return Verdict.INVALID
        given = _header(headers, SIGNATURE_HEADER)
        if not given:
            return Verdict.MISSING
        given_bytes = given.strip().lower().encode("utf-8", "replace")
        key = secret.encode("utf-8")
        for payload in (body, body.replace(b"\r", b"").replace(b"\n", b"")):
            expected = hmac.new(key, payload, hashlib.sha256).hexdigest().encode("ascii")
            if hmac.compare_digest(expected, given_bytes):
                return Verdict.VALID
        return Verdict.INVALID

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookInfo:
        """Mindee POSTs `{document, job}`: the job id is our external id. The body is only a
        trigger; the engine re-fetches the job with our own token."""
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            data = None
        job = _job(data) if isinstance(data, dict) else {}
        document = data.get("document") if isinstance(data, dict) else None
        job_id = str(job.get("id") or "")
        document_id = str(document.get("id") or "") if isinstance(document, dict) else ""
        if not job_id and not document_id:
            return WebhookInfo(
                event_type="", dedupe_key="sha256:" + hashlib.sha256(body).hexdigest()
            )
        key = f"job:{job_id or '-'}:document:{document_id or '-'}"
        return WebhookInfo(
            event_type=str(job.get("status") or "prediction"),
            dedupe_key=key,
            external_ids=(job_id,) if job_id else (),
        )


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value or ""
