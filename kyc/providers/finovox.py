"""Finovox document-fraud analysis: client functions and the provider.

Contract: shared/vendor-apis.md section 2 and shared/seeds/finovox-async-analysis.txt.
Reference: https://app.finovox.com/docs/public/api/getting-started/async and
https://app.finovox.com/docs/public/api/fraud-analysis

Flow: `POST /analyse` (multipart: the original file + a `payload` JSON string with
`"asynchronous": true`) returns a retrieve token; `POST /retrieve` with that token answers 200 with
the result once it is ready and "an error message" before (shown on the job). Finovox deletes the
result 60 minutes after processing, so the engine stores it on the first 200; a job ends expired
at once when Finovox says it no longer knows the token, and at the latest when it has seen no
result 60 minutes after submission. Finovox documents no webhooks.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from kyc.i18n import Deferred
from kyc.providers import http
from kyc.providers.base import (
    DocumentInput,
    JobInput,
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

VENDOR = "Finovox"
SOURCE = "finovox_risk"
OPERATION = "risk"

# The only formats /analyse takes (vendor-apis.md 2.2, [V]).
ACCEPTED_CONTENT_TYPES = ("application/pdf", "image/jpeg", "image/png")

# Finovox deletes a result 60 minutes after processing [V].
RESULT_RETENTION = dt.timedelta(minutes=60)
# The engine's deadline runs from job creation; this margin lets a submission delayed by retries
# (429, 5xx) still get its full 60 minutes of polling, measured from submission in `poll()`.
SUBMIT_GRACE = dt.timedelta(minutes=10)

# Answers of /retrieve that are not a result. The not-ready status code is undocumented [U];
# the newer /case/retrieve answers 202 while processing and 404 for unknown or expired tokens,
# and /retrieve answers an unknown token with 404 {"detail": "retrieve_token not found or
# expired"}. So 404 means the result is gone unless its message says "not ready"; the other codes
# mean "not yet" unless their message says the token is unknown or expired.
NOT_READY_STATUSES = (202, 400, 404, 409, 425)
GONE_STATUS = 404
_GONE_WORDS = re.compile(r"not found|expired|unknown|does not exist|no longer|deleted", re.I)
_NOT_READY_WORDS = re.compile(
    r"not ready|not yet|processing|pending|in progress|queued|running|retry later", re.I
)

RISK_AXES = ("software", "metadata", "datastructure", "vision", "coherence")
RISK_LEVELS = ("low", "medium", "high")
FLAG_FOR_RISK = {"low": "green", "medium": "orange", "high": "red"}
LEVEL_FOR_RISK = {"medium": "suspicious", "high": "fraudulent"}

AXIS_TITLES = {
    "software": gettext_lazy("Software risk"),
    "metadata": gettext_lazy("Metadata risk"),
    "datastructure": gettext_lazy("Data structure risk"),
    "vision": gettext_lazy("Visual risk"),
    "coherence": gettext_lazy("Coherence risk"),
}
# What each detection method looks at (Finovox fraud-analysis page), shown as the reason detail.
AXIS_DETAILS = {
    "software": gettext_lazy("Editing tools or screenshots used to produce the file."),
    "metadata": gettext_lazy("Dates, application names and time zones in the file's metadata."),
    "datastructure": gettext_lazy("PDF objects, compression and fonts."),
    "vision": gettext_lazy("Cloning, splicing or overlays visible in the image."),
    "coherence": gettext_lazy(
        "Consistency of dates, SIREN/VAT numbers, company status and amounts."
    ),
}

# External ids (ProviderJob.external_id) are at most this long.
MAX_TOKEN_LENGTH = 255


# ------------------------------------------------------------------------------------- client


@dataclass(frozen=True)
class Analysis:
    """What `POST /analyse` answered: a retrieve token, or (if Finovox ran it synchronously after
    all) the result itself."""

    retrieve_token: str = ""
    result: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Retrieval:
    """What `POST /retrieve` answered. `result` is set when ready; `gone` when Finovox says it
    does not know the token (any more): the result was deleted (60 minutes after processing) or
    never existed, and polling again cannot bring it back. `message` is Finovox's own words."""

    status_code: int
    result: Mapping[str, Any] | None = None
    gone: bool = False
    message: str = ""

    @property
    def ready(self) -> bool:
        return self.result is not None


def _url(path: str) -> str:
    return f"{settings.FINOVOX_BASE_URL}{path}"


def _headers() -> dict[str, str]:
    return {"api-key": settings.FINOVOX_API_KEY, "Accept": "application/json"}


def analyse_types() -> list[str]:
    """`analyse_type` for this server: always `risk`, plus what the settings switch on."""
    types = ["risk"]
    if settings.FINOVOX_EXPLANATION:
        types.append("explanation")
    if settings.FINOVOX_PDF_REPORT:
        types.append("pdf_report")
    return types


def risk_result(body: Any) -> dict[str, Any] | None:
    """The object holding `global_risk`, or None when the body is no analysis result.

    Several `analyse_type` values give one object with the union of their keys [I]; a wrapper
    key is tolerated because the error and status shapes of Finovox are undocumented [U].
    """
    if not isinstance(body, dict):
        return None
    if "global_risk" in body:
        return body
    for key in ("result", "results", "risk", "data"):
        inner = body.get(key)
        if isinstance(inner, dict) and "global_risk" in inner:
            return inner
    return None


def analyse(*, content: bytes, filename: str, content_type: str, types: Sequence[str]) -> Analysis:
    """Send one document for asynchronous analysis.

    Reference: https://app.finovox.com/docs/public/api/getting-started/async
    The file goes unaltered (Finovox reads its structure); `payload` is a JSON *string* field.
    """
    payload = {"analyse_type": list(types), "asynchronous": True}
    response = http.request(
        VENDOR,
        "POST",
        _url("/analyse"),
        timeout=settings.FINOVOX_TIMEOUT,
        expected=(200, 201, 202),
        headers=_headers(),
        files={"file": (filename or "document", content, content_type)},
        data={"payload": json.dumps(payload)},
    )
    body = http.json_body(VENDOR, response)
    result = risk_result(body)
    if result is not None:
        return Analysis(result=body)
    token = body.get("retrieve_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        # Not retryable: a second POST would start (and bill) a second analysis.
        raise ProviderError(
            Deferred(
                gettext_noop(
                    "Finovox accepted the document but sent no retrieve token (HTTP %(status)s)."
                ),
                status=response.status_code,
            ),
            retryable=False,
            status_code=response.status_code,
        )
    return Analysis(retrieve_token=token)


def retrieve(token: str) -> Retrieval:
    """Ask for the result of an asynchronous analysis.

    Reference: https://app.finovox.com/docs/public/api/getting-started/async
    200 with the result when ready; before that "an error message" whose status code is
    undocumented, so 202 and the 4xx codes in NOT_READY_STATUSES mean "not yet", except an
    answer that says the token is unknown or expired (`says_gone`). 401/403 (credentials), 429
    and 5xx go through the shared mapping (kyc.providers.http).
    """
    response = http.request(
        VENDOR,
        "POST",
        _url("/retrieve"),
        timeout=settings.FINOVOX_TIMEOUT,
        expected=(200, *NOT_READY_STATUSES),
        headers=_headers(),
        json={"retrieve_token": token},
    )
    if response.status_code != 200:
        message = _vendor_words(response)
        return Retrieval(
            status_code=response.status_code,
            gone=says_gone(response.status_code, message),
            message=message,
        )
    body = http.json_body(VENDOR, response)
    result = risk_result(body)
    if result is None:
        # A 200 that is not a result (e.g. {"status": "processing"}): still not ready.
        return Retrieval(status_code=200, message=_vendor_words(response))
    return Retrieval(status_code=200, result=body)


def says_gone(status: int, message: str) -> bool:
    """Whether a /retrieve answer that is not a result says the token is unknown or expired
    (see NOT_READY_STATUSES): a 404 unless its message says "not ready", another code only if
    its message says so."""
    if _NOT_READY_WORDS.search(message) and not _GONE_WORDS.search(message):
        return False
    return status == GONE_STATUS or bool(_GONE_WORDS.search(message))


def _vendor_words(response) -> str:
    """Finovox's own words in an answer that is no result: its `detail`, `message`, `error` or
    `status` text (e.g. {"status": "processing"}), else an excerpt of the body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("detail", "message", "error", "status"):
            if isinstance(body.get(key), str) and body[key].strip():
                return " ".join(body[key].split())[:300]
    return http.vendor_message(response)[:300]


# ------------------------------------------------------------------------------------ mapping


def _level(value: Any) -> str:
    return value.strip().lower() if isinstance(value, str) else ""


def _decode_pdf(value: Any) -> bytes | None:
    if not isinstance(value, str) or not value:
        return None
    if value.startswith("data:"):
        value = value.partition(",")[2]
    try:
        content = base64.b64decode(value, validate=False)
    except (binascii.Error, ValueError):
        return None
    return content if content.startswith(b"%PDF") else None


def _pdf_reports(value: Any) -> dict[str, bytes | None]:
    """{language: PDF bytes or None if undecodable}; the sample script reads `pdf_report` as
    {<language>: <base64 PDF>} [V sample], a bare base64 string is accepted too [I]."""
    if isinstance(value, dict):
        return {str(lang): _decode_pdf(item) for lang, item in value.items()}
    if value:
        return {"": _decode_pdf(value)}
    return {}


def _preferred_language(languages: Sequence[str]) -> str:
    preferences = [settings.LANGUAGE_CODE.split("-")[0], "fr", "en"]
    for language in preferences:
        if language in languages:
            return language
    return languages[0]


@dataclass(frozen=True)
class RiskReport:
    """Finovox's risk result, normalised."""

    global_risk: str
    risks: Mapping[str, str]
    document_quality: str
    software: str
    explanation: Any
    pdf_reports: Mapping[str, bytes | None] = field(default_factory=dict, repr=False)


def parse_risk(body: Mapping[str, Any]) -> RiskReport:
    result = risk_result(body) or {}
    return RiskReport(
        global_risk=_level(result.get("global_risk")),
        risks={axis: _level(result.get(f"{axis}_risk")) for axis in RISK_AXES},
        document_quality=str(result.get("document_quality") or ""),
        software=str(result.get("software") or ""),
        explanation=result.get("explanation", body.get("explanation")),
        pdf_reports=_pdf_reports(result.get("pdf_report", body.get("pdf_report"))),
    )


def _raw_without_pdfs(body: Mapping[str, Any]) -> dict[str, Any]:
    """The raw payload, with each base64 PDF replaced by a note: the PDF itself is stored as the
    report's attachment, and megabytes of base64 do not belong in a JSON column."""
    raw = json.loads(json.dumps(body))

    def note(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        decoded = _decode_pdf(value)
        if decoded is None:
            return f"[not a base64 PDF, {len(value)} characters]"
        digest = hashlib.sha256(decoded).hexdigest()
        return f"[base64 PDF, {len(decoded)} bytes, sha256 {digest}]"

    inner = risk_result(raw)
    for holder in (raw,) if inner is None or inner is raw else (raw, inner):
        if "pdf_report" in holder:
            value = holder["pdf_report"]
            holder["pdf_report"] = (
                {lang: note(item) for lang, item in value.items()}
                if isinstance(value, dict)
                else note(value)
            )
    return raw


def risk_report_data(body: Mapping[str, Any], *, document_id: int | None) -> ReportData:
    """ReportData for a Finovox risk result.

    Flag from `global_risk`: low green, medium orange, high red; an unknown value is orange
    (someone should look). One reason per sub-risk above low. The PDF report, if any, in the
    analyst's language when Finovox sent several (LANGUAGE_CODE, then French, then English).
    """
    risk = parse_risk(body)
    flag = FLAG_FOR_RISK.get(risk.global_risk, "orange")
    reasons = [
        Reason(
            code=f"finovox_{axis}_risk",
            title=_("%(axis)s: %(level)s") % {"axis": AXIS_TITLES[axis], "level": level},
            detail=str(AXIS_DETAILS[axis]),
            level=LEVEL_FOR_RISK[level],
            sentiment="negative",
            criteria={"axis": axis, "risk": level},
        )
        for axis, level in risk.risks.items()
        if level in LEVEL_FOR_RISK
    ]
    if risk.global_risk not in RISK_LEVELS:
        reasons.append(
            Reason(
                code="finovox_unknown_risk",
                title=_("Finovox gave no known global risk level"),
                detail=_("Global risk %(value)r: review the document.")
                % {"value": risk.global_risk},
                level="suspicious",
                sentiment="negative",
            )
        )
    if risk.software:
        reasons.append(
            Reason(
                code="finovox_software",
                title=_("Produced with %(software)s") % {"software": risk.software},
                criteria={"software": risk.software},
            )
        )
    summary: dict[str, Any] = {
        "global_risk": risk.global_risk,
        **{f"{axis}_risk": level for axis, level in risk.risks.items()},
        "document_quality": risk.document_quality,
        "software": risk.software,
        "explanation": risk.explanation,
    }
    attachment = None
    if risk.pdf_reports:
        decodable = [lang for lang, content in risk.pdf_reports.items() if content]
        summary["pdf_report_languages"] = sorted(risk.pdf_reports)
        if decodable:
            language = _preferred_language(decodable)
            suffix = f"-{language}" if language else ""
            name = f"finovox-report-{document_id or 'document'}{suffix}.pdf"
            attachment = (name, risk.pdf_reports[language] or b"")
            summary["pdf_report_attached"] = language or "default"
        else:
            summary["pdf_report_error"] = _("Finovox sent a PDF report that is not a valid PDF.")
    return ReportData(
        source=SOURCE,
        flag_color=flag,
        flag_value=risk.global_risk,
        reasons=tuple(reasons),
        summary=summary,
        raw=_raw_without_pdfs(body),
        attachment=attachment,
    )


# ----------------------------------------------------------------------------------- provider


class FinovoxProvider(Provider):
    """Finovox risk analysis of PDF, JPEG and PNG documents (any kind), polled every
    FINOVOX_POLL_SECONDS at a fixed interval (Finovox recommends 30 s)."""

    name: ClassVar[str] = "finovox"
    queue_name: ClassVar[str] = "finovox"
    label: ClassVar[str] = "Finovox"
    deadline: ClassVar[dt.timedelta] = RESULT_RETENTION + SUBMIT_GRACE
    expiry_message: ClassVar[Deferred] = Deferred(
        gettext_noop(
            "Finovox keeps a result for 60 minutes only and none was received in time: "
            "use Retry to submit the document to Finovox again."
        )
    )

    # The interval is a setting; the engine reads these on the instance.
    @property
    def poll_interval(self) -> float:
        return float(settings.FINOVOX_POLL_SECONDS)

    @property
    def max_poll_interval(self) -> float:
        return float(settings.FINOVOX_POLL_SECONDS)

    @classmethod
    def is_configured(cls) -> bool:
        return bool(settings.FINOVOX_API_KEY)

    def document_operation(self, document: DocumentInput) -> str | None:
        return OPERATION if document.content_type in ACCEPTED_CONTENT_TYPES else None

    def skip_reason(self, document: DocumentInput) -> str:
        return str(self._unsupported(document))

    def _unsupported(self, document: DocumentInput) -> Deferred:
        return Deferred(
            gettext_noop(
                "Finovox analyses only PDF, JPEG and PNG files; this file is %(type)s, so it was "
                "not sent to Finovox."
            ),
            type=document.content_type or Deferred(gettext_noop("of an unknown type")),
        )

    def submit(self, job: JobInput) -> Submission:
        document = job.document
        if document is None or document.content_type not in ACCEPTED_CONTENT_TYPES:
            raise ProviderError(
                self._unsupported(document)
                if document
                else Deferred(gettext_noop("Finovox needs a document.")),
                retryable=False,
            )
        analysis = analyse(
            content=document.read(),
            filename=document.original_name,
            content_type=document.content_type,
            types=analyse_types(),
        )
        if analysis.result is not None:
            report = risk_report_data(analysis.result, document_id=document.id)
            return Submission(outcome=Outcome(state=State.COMPLETED, reports=(report,)))
        if len(analysis.retrieve_token) > MAX_TOKEN_LENGTH:
            # Our column holds 255 characters; failing clearly beats a database error.
            raise ProviderError(
                Deferred(
                    gettext_noop("Finovox sent a retrieve token longer than %(max)d characters."),
                    max=MAX_TOKEN_LENGTH,
                ),
                retryable=False,
            )
        return Submission(external_id=analysis.retrieve_token)

    def poll(self, job: JobInput) -> Outcome:
        if not job.external_id:
            raise ProviderError(
                Deferred(gettext_noop("This Finovox job has no retrieve token.")), retryable=False
            )
        retrieval = retrieve(job.external_id)
        if retrieval.ready:
            document_id = job.document.id if job.document else None
            report = risk_report_data(retrieval.result or {}, document_id=document_id)
            return Outcome(state=State.COMPLETED, reports=(report,))
        if retrieval.gone:
            # Polling for 60 minutes more cannot bring back what Finovox no longer knows.
            return Outcome(
                state=State.EXPIRED,
                message=Deferred(
                    gettext_noop(
                        "Finovox no longer knows this analysis (HTTP %(status)s: %(detail)s): it "
                        "deletes a result 60 minutes after processing it. Use Retry to submit the "
                        "document to Finovox again."
                    ),
                    status=retrieval.status_code,
                    detail=retrieval.message or Deferred(gettext_noop("no message")),
                ),
            )
        submitted_at = job.submitted_at or timezone.now()
        if timezone.now() - submitted_at >= RESULT_RETENTION:
            return Outcome(state=State.EXPIRED, message=self.expiry_message)
        return Outcome(
            state=State.PENDING,
            poll_after=self.poll_interval,
            message=Deferred(
                gettext_noop("Finovox: not ready yet (HTTP %(status)s: %(detail)s)."),
                status=retrieval.status_code,
                detail=retrieval.message or Deferred(gettext_noop("no message")),
            ),
        )

    # Finovox documents no webhooks: whatever arrives at /webhooks/finovox/ is not from Finovox.
    def verify_webhook(
        self, headers: Mapping[str, str], body: bytes, query: Mapping[str, str] | None = None
    ) -> Verdict:
        """Always INVALID: Finovox sends no webhooks, so a delivery here is rejected (401)."""
        return Verdict.INVALID

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookInfo:
        return WebhookInfo(event_type="", dedupe_key="sha256:" + hashlib.sha256(body).hexdigest())
