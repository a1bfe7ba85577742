"""The one small interface every analysis provider implements.

Providers are HTTP or pure code only: they never touch the ORM. The job engine
(`kyc.services.jobs`) hands them frozen snapshots of our rows (`JobInput`) and maps what they
return (`Submission`, `Outcome`, `ReportData`, ...) onto our models.

Life of a job: `submit()` once (it may finish synchronously), then `poll()` until the outcome is
final, or until a webhook makes the engine poll early. Errors are `ProviderError`s that say whether
a retry can help.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, ClassVar

from kyc.i18n import Message, as_detail, as_text

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# ----------------------------------------------------------------------------------------- errors


class ProviderError(Exception):
    """A provider call failed.

    `retryable` tells the engine whether trying again later can help (timeouts, connection errors,
    429, 5xx). `retry_after` is the vendor's own hint in seconds (Retry-After). `configuration`
    marks errors an analyst cannot fix by retrying, such as rejected credentials.

    `text` is the message as given: a `Deferred` (translated when read, see kyc.i18n) or a plain
    string; `message` and `str()` render it in the active language.
    """

    def __init__(
        self,
        message: Message,
        *,
        retryable: bool,
        retry_after: float | None = None,
        status_code: int | None = None,
        configuration: bool = False,
    ) -> None:
        super().__init__(message)
        self.text = message
        self.retryable = retryable
        self.retry_after = retry_after
        self.status_code = status_code
        self.configuration = configuration

    @property
    def message(self) -> str:
        return str(self.text)

    def __str__(self) -> str:
        return self.message


# ----------------------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class CustomerInput:
    id: int
    kind: str  # "individual" | "company"
    legal_name: str = ""
    siren: str = ""
    siret: str = ""
    first_name: str = ""
    last_name: str = ""
    birth_date: dt.date | None = None
    nationality: str = ""


def _no_file() -> IO[bytes]:
    raise FileNotFoundError("this document snapshot was made without its file")


@dataclass(frozen=True)
class DocumentInput:
    id: int
    kind: str
    content_type: str
    # The name to send the file under: Document.download_name (safe, and with the extension of
    # the sniffed content type, which vendors check), not the uploader's name as given.
    original_name: str
    size: int
    sha256: str
    period: str = ""
    document_date: dt.date | None = None
    # October's id for this document ("medium"), once a submission reported one.
    october_media_id: str = ""
    # Opens the stored original bytes for reading (binary); the caller closes the file.
    open: Callable[[], IO[bytes]] = field(repr=False, compare=False, default=_no_file)

    def read(self) -> bytes:
        with self.open() as handle:
            return handle.read()


@dataclass(frozen=True)
class RequestInput:
    id: int
    code_type: str
    code_id: str
    october_request_id: str = ""


@dataclass(frozen=True)
class JobInput:
    """A snapshot of one ProviderJob, with what the provider needs to know about it."""

    id: int
    operation: str
    external_id: str
    attempts: int
    submitted_at: dt.datetime | None
    request: RequestInput
    customer: CustomerInput
    document: DocumentInput | None = None
    # When a webhook triggered this poll: the ids of what it announced (WebhookInfo.resource_ids,
    # e.g. October's reportId), for the provider to fetch them as the vendor's guide says. Only
    # a trigger, never trusted: the provider checks that what it fetches belongs to this job.
    announced_ids: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------- outputs


@dataclass(frozen=True)
class Reason:
    """One finding, in the layout of October's Doc X-Ray reasons.

    `title` and `detail` are plain text (a vendor's words) or our own `Deferred` messages: those
    are stored in English as `title`/`detail` (exports, audit, older readers) and as translatable
    messages under `messages`, which the report page renders in the reader's language.
    """

    code: str
    title: Message
    detail: Message = ""
    level: str | None = None  # None (informational) | "suspicious" | "fraudulent"
    sentiment: str = "neutral"  # "positive" | "neutral" | "negative"
    criteria: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "code": self.code,
            "title": as_text(self.title),
            "detail": as_text(self.detail),
            "level": self.level,
            "sentiment": self.sentiment,
            "criteria": dict(self.criteria),
        }
        messages = {
            name: detail
            for name, detail in (
                ("title", as_detail(self.title)),
                ("detail", as_detail(self.detail)),
            )
            if detail is not None
        }
        if messages:
            data["messages"] = messages
        return data


@dataclass(frozen=True)
class ReportData:
    source: str
    flag_color: str = ""  # "" | "green" | "orange" | "red"
    flag_value: str = ""
    score: float | None = None
    reasons: tuple[Reason, ...] = ()
    summary: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)
    external_id: str = ""
    # An attached file from the vendor (e.g. Finovox's PDF report): (file name, bytes).
    attachment: tuple[str, bytes] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class OcrData:
    """Identity fields in the Artemis OCR key set (vendor-apis.md 4.3)."""

    source: str
    fields: Mapping[str, Any]
    confidence: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class AlertData:
    date: dt.date | None
    name: str
    level: str  # "low" | "medium" | "high"


@dataclass(frozen=True)
class CompanyRoleData:
    company_name: str
    siren: str = ""
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    alerts: tuple[AlertData, ...] = ()


@dataclass(frozen=True)
class OfficerData:
    last_name: str
    first_name: str = ""
    birth_date: dt.date | None = None
    confidence: int | None = None
    roles: tuple[CompanyRoleData, ...] = ()


class State(enum.StrEnum):
    PENDING = "pending"  # the provider is still working: poll again later
    COMPLETED = "completed"
    FAILED = "failed"  # the provider gave up on this job (its error in `message`)
    EXPIRED = "expired"  # the result is gone (e.g. Finovox after 60 minutes)


@dataclass(frozen=True)
class Outcome:
    state: State
    reports: tuple[ReportData, ...] = ()
    ocr: tuple[OcrData, ...] = ()
    officers: tuple[OfficerData, ...] = ()
    # When FAILED or EXPIRED: why (a Deferred or a plain string). When PENDING: the provider's
    # latest word on the job (e.g. Finovox's not-ready answer), shown on the job until the next
    # answer; empty clears it.
    message: Message = ""
    # When PENDING: the provider's own idea of when to look again, in seconds.
    poll_after: float | None = None


@dataclass(frozen=True)
class Submission:
    """What `submit()` returns: the vendor's id for the job, and the outcome if it is already
    known (synchronous providers)."""

    external_id: str = ""
    outcome: Outcome | None = None
    # Vendor-side ids of the things this submission created, for the engine to keep on our rows
    # (providers never write the ORM). `request_external_id`: the vendor's id for the whole
    # analysis request (October's POST /requests), kept on AnalysisRequest.october_request_id if
    # that is still empty. `document_external_id`: the vendor's id for the uploaded document
    # (October's medium), kept on Document.october_media_id and handed back in
    # `DocumentInput.october_media_id`.
    request_external_id: str = ""
    document_external_id: str = ""


@dataclass(frozen=True)
class WebhookInfo:
    """What a provider reads from a webhook body, before anything is trusted."""

    event_type: str
    dedupe_key: str
    # External ids (job external_id values) whose jobs should be re-fetched now.
    external_ids: tuple[str, ...] = ()
    # Ids of what the delivery announces (October's reportId): the re-fetch reads these directly
    # (JobInput.announced_ids) instead of searching for them.
    resource_ids: tuple[str, ...] = ()


class Verdict(enum.StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    MISSING = "missing"
    UNSIGNED = "unsigned"


# -------------------------------------------------------------------------------------- interface


class Provider:
    """Base class of every provider. Subclasses override what they support."""

    name: ClassVar[str]
    # Shown to analysts: a lazy translation where the name is a common noun.
    label: ClassVar[StrOrPromise]
    # Past this age (from job creation) a job that is not final ends `expired`.
    deadline: ClassVar[dt.timedelta] = dt.timedelta(hours=1)
    # Told to the analyst when a job passes its deadline (a Deferred or a plain string).
    expiry_message: ClassVar[Message] = ""
    # Whether submitting a job may create the file's vendor-side request (October's POST
    # /requests). The engine then lets one job of a file at a time do it (a claim on
    # AnalysisRequest), so two jobs submitted together never open two vendor requests.
    creates_vendor_request: ClassVar[bool] = False
    # The task queue of this provider's jobs (settings.TASK_QUEUES). A vendor has its own, so
    # that only the workers holding its credentials listen on it (`rqworker default finovox`,
    # `db_worker --queue-name default,finovox`); the built-in engine runs anywhere. A worker
    # that takes a job it cannot run anyway leaves it alone (kyc.services.jobs).
    queue_name: ClassVar[str] = "default"

    # First poll this many seconds after submission; later polls back off exponentially, up to
    # `max_poll_interval`. Read on the instance: a vendor overrides them with class attributes,
    # or with properties when its interval is a setting.
    @property
    def poll_interval(self) -> float:
        return 5.0

    @property
    def max_poll_interval(self) -> float:
        return 300.0

    @classmethod
    def is_configured(cls) -> bool:
        """Whether the settings enable this provider (a vendor: when its credentials are set)."""
        return False

    def document_operation(self, document: DocumentInput) -> str | None:
        """The operation this provider runs on such a document, or None if it does not take it."""
        return None

    def skip_reason(self, document: DocumentInput) -> str:
        """Why `document_operation` returned None, in words for the analyst."""
        return ""

    def request_operations(self, customer: CustomerInput) -> tuple[str, ...]:
        """Operations run once per analysis request (e.g. October's Manager X-Ray)."""
        return ()

    def submit(self, job: JobInput) -> Submission:
        raise NotImplementedError

    def poll(self, job: JobInput) -> Outcome:
        raise NotImplementedError

    # Webhooks -------------------------------------------------------------------------------
    # Whether the vendor sends webhooks at all (Finovox and the built-in engine do not).
    sends_webhooks: ClassVar[bool] = False

    @classmethod
    def webhooks_enabled(cls) -> bool:
        """Whether `/webhooks/<name>/` takes deliveries on this server: the vendor sends webhooks
        and is configured here. Vendors that sign their deliveries also need the signing secret
        (or an explicit opt-in to unsigned ones). Otherwise the endpoint answers 404 before it
        reads the body or stores anything, so that nobody can fill the database through a door
        that no vendor uses."""
        return cls.sends_webhooks and cls.is_configured()

    def verify_webhook(
        self, headers: Mapping[str, str], body: bytes, query: Mapping[str, str] | None = None
    ) -> Verdict:
        """Check the delivery's signature; UNSIGNED when no scheme is configured. `query` is the
        URL's query string, for vendors whose webhook settings take only a URL (a secret in it)."""
        return Verdict.UNSIGNED

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookInfo:
        """Read the event type, a dedupe key and the ids to re-fetch. Must not raise on garbage:
        return event_type "" and a dedupe key derived from the body instead."""
        raise NotImplementedError
