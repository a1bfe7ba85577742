"""Cynopsis Artemis (Artemis3 API): where corrected OCR results are delivered.

Contract: shared/vendor-apis.md section 4 and shared/seeds/artemis-update-ocr-result.txt.
Reference: https://docs.cynopsis.co/artemis3-api-reference/authentication,
https://docs.cynopsis.co/artemis3-api-reference/customer-controller/updateocrresult

Artemis is not an analysis provider (it never reads our documents for us), so this module is a
plain client, not a `Provider`: module functions, one per endpoint, each returning a frozen
dataclass and raising `ProviderError` (retryable or not) through the shared HTTP layer.

- OAuth2 client credentials against the CRM host (`ARTEMIS_AUTH_URL`); the token is cached in
  the process and fetched again at 80% of its `expires_in` (documented as 3600 on one page and
  "typically 8 hours" on another, so the returned value is what counts). A 401 from the API
  means the token died early (revoked, rotated keys): it is fetched again once and the call
  repeated once.
- Every API call carries `Authorization: Bearer ...` and `X-Domain-ID` (the tenant, an int64).
- Timestamps come in two shapes (ISO strings, serialized `java.util.Date` objects); both are
  parsed, and for the latter the epoch milliseconds in `time` are preferred.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from django.conf import settings
from django.utils.translation import gettext_noop

from kyc.analysis import identity
from kyc.analysis.mrz import MrzResult, parse_mrz
from kyc.i18n import Deferred, Message
from kyc.providers import http
from kyc.providers.base import ProviderError

VENDOR = "Artemis"
# Tokens are renewed when this share of their lifetime has passed.
TOKEN_REFRESH_RATIO = 0.8
# Used when the token answer has no usable expires_in (the shorter of the documented values).
DEFAULT_EXPIRES_IN = 3600.0


def is_configured() -> bool:
    """Artemis is enabled when its client credentials and its domain id are set."""
    return bool(
        settings.ARTEMIS_CLIENT_ID and settings.ARTEMIS_CLIENT_SECRET and settings.ARTEMIS_DOMAIN_ID
    )


# ------------------------------------------------------------------------------------- parsing


def parse_timestamp(value: Any) -> dt.datetime | None:
    """An aware datetime from either shape Artemis uses, or None.

    ISO 8601 strings ("2023-11-07T05:31:56Z"; naive ones are taken as UTC), epoch milliseconds
    (Jackson's default for dates), and serialized `java.util.Date` objects (`{date, day, hours,
    minutes, month, nanos, seconds, time, timezoneOffset, year}`), for which `time` (epoch ms)
    wins over the broken-down fields because it carries no time-zone ambiguity.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    if isinstance(value, Mapping):
        millis = value.get("time")
        if isinstance(millis, int | float) and not isinstance(millis, bool):
            return dt.datetime.fromtimestamp(millis / 1000, tz=dt.UTC)
        local = _java_date_fields(value)
        if local is None:
            return None
        # java.util.Date.getTimezoneOffset(): minutes to add to local time to get UTC.
        offset = value.get("timezoneOffset")
        if isinstance(offset, int) and not isinstance(offset, bool):
            local += dt.timedelta(minutes=offset)
        return local.replace(tzinfo=dt.UTC)
    return None


def _java_date_fields(value: Mapping[str, Any]) -> dt.datetime | None:
    # java.util.Date counts years from 1900 and months from 0; `date` is the day of the month.
    try:
        return dt.datetime(
            1900 + int(value["year"]),
            int(value["month"]) + 1,
            int(value["date"]),
            int(value.get("hours") or 0),
            int(value.get("minutes") or 0),
            int(value.get("seconds") or 0),
        )
    except (KeyError, TypeError, ValueError):
        return None


def parse_date(value: Any) -> dt.date | None:
    """A calendar date (issueDate, expiryDate) from either shape, or None.

    A `java.util.Date` stands for midnight in the server's zone: its `time` is shifted back by
    `timezoneOffset` so that a date stored in Singapore does not become the previous day in UTC.
    """
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    if isinstance(value, Mapping):
        millis = value.get("time")
        offset = value.get("timezoneOffset")
        if isinstance(millis, int | float) and not isinstance(millis, bool):
            moment = dt.datetime.fromtimestamp(millis / 1000, tz=dt.UTC)
            if isinstance(offset, int) and not isinstance(offset, bool):
                moment -= dt.timedelta(minutes=offset)
            return moment.date()
        local = _java_date_fields(value)
        return local.date() if local else None
    timestamp = parse_timestamp(value)
    return timestamp.date() if timestamp else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _str(value: Any) -> str:
    return "" if value is None else str(value)


@dataclass(frozen=True)
class UserInfo:
    """`createdBy` / `updatedBy` of an Artemis object."""

    id: int | None
    email: str
    full_name: str

    @classmethod
    def from_json(cls, body: Any) -> UserInfo | None:
        if not isinstance(body, Mapping):
            return None
        full_name = _str(body.get("fullName")) or " ".join(
            _str(body.get(k)) for k in ("firstName", "lastName") if body.get(k)
        )
        return cls(id=_int(body.get("id")), email=_str(body.get("email")), full_name=full_name)


@dataclass(frozen=True)
class DocumentDto:
    """The document Artemis returns from the OCR update (and the document endpoints)."""

    id: int | None
    customer_id: int | None
    type: str
    number: str
    authenticity: str
    issue_date: dt.date | None
    expiry_date: dt.date | None
    show_expiry_notification: bool | None
    front_name: str
    back_name: str
    docver_check_status: str  # "PERFORMED" | "NOT_PERFORMED" (kept as sent if it grows)
    created_at: dt.datetime | None
    updated_at: dt.datetime | None
    created_by: UserInfo | None
    updated_by: UserInfo | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> DocumentDto:
        notify = body.get("showExpiryNotification")
        return cls(
            id=_int(body.get("id")),
            customer_id=_int(body.get("customerId")),
            type=_str(body.get("type")),
            number=_str(body.get("number")),
            authenticity=_str(body.get("authenticity")),
            issue_date=parse_date(body.get("issueDate")),
            expiry_date=parse_date(body.get("expiryDate")),
            show_expiry_notification=notify if isinstance(notify, bool) else None,
            front_name=_str(body.get("frontName")),
            back_name=_str(body.get("backName")),
            docver_check_status=_str(body.get("docverCheckStatus")),
            created_at=parse_timestamp(body.get("createdAt")),
            updated_at=parse_timestamp(body.get("updatedAt")),
            created_by=UserInfo.from_json(body.get("createdBy")),
            updated_by=UserInfo.from_json(body.get("updatedBy")),
            raw=dict(body),
        )


@dataclass(frozen=True)
class CustomerDto:
    """The parts of Artemis' CustomerDto we keep (the rest stays in `raw`)."""

    id: int | None
    type: str
    status: str
    reference_id: str
    profile_reference_id: str
    created_at: dt.datetime | None
    updated_at: dt.datetime | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> CustomerDto:
        return cls(
            id=_int(body.get("id")),
            type=_str(body.get("type")),
            status=_str(body.get("status")),
            reference_id=_str(body.get("referenceId")),
            profile_reference_id=_str(body.get("profileReferenceId")),
            created_at=parse_timestamp(body.get("createdAt")),
            updated_at=parse_timestamp(body.get("updatedAt")),
            raw=dict(body),
        )


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart call."""

    name: str
    content: bytes = field(repr=False)
    content_type: str = "application/octet-stream"


# --------------------------------------------------------------------------------------- token


@dataclass(frozen=True)
class AccessToken:
    value: str = field(repr=False)
    refresh_at: float  # time.time() after which a new token is fetched


_tokens: dict[tuple[str, str], AccessToken] = {}
_tokens_lock = threading.Lock()


def forget_tokens() -> None:
    """Drop cached tokens (tests, or after the credentials changed)."""
    with _tokens_lock:
        _tokens.clear()


def fetch_token() -> AccessToken:
    """Get a new access token with the OAuth2 client credentials grant.

    `POST {ARTEMIS_AUTH_URL}/oauth/token`, form-encoded `grant_type=client_credentials`,
    `client_id`, `client_secret` -> `{"access_token", "token_type": "Bearer", "expires_in"}`.
    Reference: https://docs.cynopsis.co/artemis3-api-reference/authentication
    """
    try:
        response = http.request(
            VENDOR,
            "POST",
            f"{settings.ARTEMIS_AUTH_URL}/oauth/token",
            timeout=settings.ARTEMIS_TIMEOUT,
            data={
                "grant_type": "client_credentials",
                "client_id": settings.ARTEMIS_CLIENT_ID,
                "client_secret": settings.ARTEMIS_CLIENT_SECRET,
            },
            headers={"Accept": "application/json"},
            expected=(200,),
        )
    except ProviderError as error:
        # OAuth2 servers answer 400 invalid_client / unauthorized_client for bad credentials.
        if error.status_code == 400:
            raise ProviderError(
                Deferred(
                    gettext_noop(
                        "Artemis refused our client credentials: %(error)s. Check "
                        "ARTEMIS_CLIENT_ID and ARTEMIS_CLIENT_SECRET."
                    ),
                    error=error.text,
                ),
                retryable=False,
                status_code=400,
                configuration=True,
            ) from error
        raise
    body = http.json_body(VENDOR, response)
    value = body.get("access_token") if isinstance(body, Mapping) else None
    if not isinstance(value, str) or not value:
        raise ProviderError(
            Deferred(gettext_noop("Artemis' token endpoint answered without an access token.")),
            retryable=False,
            status_code=response.status_code,
            configuration=True,
        )
    try:
        expires_in = float(body.get("expires_in"))
    except (TypeError, ValueError):
        expires_in = DEFAULT_EXPIRES_IN
    if expires_in <= 0:
        expires_in = DEFAULT_EXPIRES_IN
    return AccessToken(value=value, refresh_at=time.time() + TOKEN_REFRESH_RATIO * expires_in)


def access_token(*, refresh: bool = False) -> str:
    """The cached token, fetched first if missing, past 80% of its life, or if `refresh`."""
    key = (settings.ARTEMIS_AUTH_URL, settings.ARTEMIS_CLIENT_ID)
    # Held across the fetch: concurrent callers wait for one token instead of each asking.
    with _tokens_lock:
        token = _tokens.get(key)
        if refresh or token is None or time.time() >= token.refresh_at:
            token = fetch_token()
            _tokens[key] = token
        return token.value


def _headers(token: str) -> dict[str, str]:
    domain = str(settings.ARTEMIS_DOMAIN_ID).strip()
    if not domain.isdigit():
        raise ProviderError(
            Deferred(
                gettext_noop(
                    "ARTEMIS_DOMAIN_ID must be the numeric id of the Artemis domain, not %(value)r."
                ),
                value=domain,
            ),
            retryable=False,
            configuration=True,
        )
    return {"Authorization": f"Bearer {token}", "X-Domain-ID": domain, "Accept": "application/json"}


def _call(
    method: str, path: str, *, expected: tuple[int, ...] = (200,), **kwargs: Any
) -> requests.Response:
    """One API call with the bearer token and the domain header; on a 401, one new token and
    one more try (a second 401 is a configuration error, reported as such)."""
    url = f"{settings.ARTEMIS_BASE_URL}{path}"
    try:
        return http.request(
            VENDOR,
            method,
            url,
            timeout=settings.ARTEMIS_TIMEOUT,
            expected=expected,
            headers=_headers(access_token()),
            **kwargs,
        )
    except ProviderError as error:
        if error.status_code != 401:
            raise
    return http.request(
        VENDOR,
        method,
        url,
        timeout=settings.ARTEMIS_TIMEOUT,
        expected=expected,
        headers=_headers(access_token(refresh=True)),
        **kwargs,
    )


def _object(response: requests.Response, what: Message) -> Mapping[str, Any]:
    body = http.json_body(VENDOR, response)
    if not isinstance(body, Mapping):
        raise ProviderError(
            Deferred(
                gettext_noop(
                    "Artemis answered %(what)s with something other than an object: %(body)s"
                ),
                what=what,
                body=str(body)[:200],
            ),
            retryable=True,
            status_code=response.status_code,
        )
    return body


# ------------------------------------------------------------------------------------ endpoints


def put_ocr_result(customer_id: str, document_id: str, payload: Mapping[str, Any]) -> DocumentDto:
    """Replace the OCR result of an Artemis document; returns the updated document.

    `PUT /api/customer/{customerId}/document/{documentId}/ocr` with the OcrResultRequestDto body
    built by `ocr_payload()`. A PUT of the whole result is idempotent, so any failure may be
    retried.
    Reference:
    https://docs.cynopsis.co/artemis3-api-reference/customer-controller/updateocrresult
    """
    response = _call(
        "PUT",
        f"/api/customer/{_path_id(customer_id)}/document/{_path_id(document_id)}/ocr",
        json=dict(payload),
        expected=(200, 201),
    )
    return DocumentDto.from_json(_object(response, Deferred(gettext_noop("the OCR update"))))


def create_customer(payload: Mapping[str, Any]) -> CustomerDto:
    """Create a customer (`POST /api/customer`); returns it with its Artemis id.

    Individuals need `type: "INDIVIDUAL"`, `profileReferenceId` and `particular{name, gender,
    countryOfResidence, nationality[]}` (see `individual_payload()`). Not idempotent: a
    timeout may hide a customer that was created, so callers never retry this on their own.
    Reference: https://docs.cynopsis.co/artemis3-api-reference/customer-comprehensive/1a-create-individual-primary
    """
    response = _call("POST", "/api/customer", json=dict(payload), expected=(200, 201))
    return CustomerDto.from_json(_created(response, Deferred(gettext_noop("customer"))))


def append_document(
    customer_id: str,
    *,
    front: Upload,
    document: Mapping[str, Any],
    back: Upload | None = None,
) -> DocumentDto:
    """Attach an identity document to an Artemis customer; returns it with its Artemis id.

    `POST /api/customer/{customerId}/document`, multipart: `front` (file), optional `back`, and
    `document`, a JSON part `{type: NATIONAL_ID|PASSPORT|DRIVING_LICENSE|OTHERS, number,
    issueDate, expiryDate, ...}`. One documented answer is the text "Document uploaded
    successfully" rather than the DocumentDto: then there is no id to keep, which is reported
    (not retried: a retry would upload the document twice).
    Reference: https://docs.cynopsis.co/artemis3-api-reference/customer-comprehensive/4a-append-document-to-customer
    """
    files: dict[str, tuple[str, bytes, str]] = {
        "front": (front.name, front.content, front.content_type),
        "document": ("document.json", json.dumps(dict(document)).encode(), "application/json"),
    }
    if back is not None:
        files["back"] = (back.name, back.content, back.content_type)
    response = _call(
        "POST", f"/api/customer/{_path_id(customer_id)}/document", files=files, expected=(200, 201)
    )
    return DocumentDto.from_json(_created(response, Deferred(gettext_noop("document"))))


def _created(response: requests.Response, what: Message) -> Mapping[str, Any]:
    """The created object, which must carry its id. Without one, the analyst is told to link it
    by hand: retrying would create the customer or upload the document a second time."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, Mapping) or _int(body.get("id")) is None:
        raise ProviderError(
            Deferred(
                gettext_noop(
                    "Artemis created the %(what)s but did not return its id (it answered: "
                    "%(body)s). Find it in Artemis and enter it in the administration."
                ),
                what=what,
                body=" ".join((response.text or "").split())[:200],
            ),
            retryable=False,
            status_code=response.status_code,
        )
    return body


def _path_id(value: str | int) -> str:
    text = str(value).strip()
    if not text.isdigit():
        # Artemis ids are int64; anything else would build another URL than intended.
        raise ProviderError(
            Deferred(gettext_noop("%(value)r is not an Artemis id (a number)."), value=text),
            retryable=False,
            configuration=True,
        )
    return text


# ----------------------------------------------------------------------------------- OCR body

# The keys of `result` in the OcrResultRequestDto, exactly as Artemis spells them (some with
# spaces): shared/seeds/artemis-update-ocr-result.txt.
RESULT_KEYS = (
    "race",
    "gender",
    "status",
    "address",
    "domicile",
    "employer",
    "full_name",
    "full_name2",
    "last_name",
    "birth date",
    "final hash",
    "first_name",
    "identifier",
    "issue_date",
    "profession",
    "expiry date",
    "expiry_date",
    "nationality",
    "date_of_birth",
    "document_type",
    "optional_data",
    "ignored_fields",
    "missing_fields",
    "mrz_raw_string",
    "birth date hash",
    "document_number",
    "issuing_country",
    "passport_number",
    "country_of_birth",
    "expiry date hash",
    "optional data hash",
    "personal_id_number",
    "valid country code",
    "valid genre format",
    "document number hash",
    "document type format",
    "optional data format",
    "passport_expiry_date",
    "document number format",
    "valid nationality code",
)

# Keys that repeat another key's value. They follow a corrected field; untouched ones go as read.
ALIASES: dict[str, tuple[str, ...]] = {
    "date_of_birth": ("birth date",),
    "expiry_date": ("expiry date", "passport_expiry_date"),
    "document_number": ("passport_number",),
}
PASSPORT_ONLY_KEYS = frozenset({"passport_expiry_date", "passport_number"})


def mrz_flags(parsed: MrzResult) -> dict[str, str]:
    """The eleven MRZ validation flags of the OCR body ("true"/"false" strings), computed by the
    built-in engine's ICAO 9303 parse (the same flags the built-in MRZ reader reports)."""
    fields = identity.artemis_fields(parsed, None)
    return {key: fields[key] for key in identity.ARTEMIS_FLAGS}


def mrz_lines(value: Any) -> list[str]:
    """MRZ lines from the `mrz_raw_string` field (lines joined with newlines)."""
    if not value:
        return []
    return [line.strip() for line in str(value).splitlines() if line.strip()]


def ocr_payload(
    fields: Mapping[str, Any],
    *,
    corrected: Iterable[str],
    passport: bool,
    task_id: str,
    description: str,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """The body of `PUT .../ocr`: `{error, result{...}, task_id, description, status_task}`.

    `fields` are the effective values (OCR as read, analysts' corrections applied); `corrected`
    names the corrected ones, which the keys repeating them (`"birth date"`, `passport_number`,
    `full_name`, ...) follow. Every key of the contract is present, null when unknown. When the
    MRZ parses, its flags are computed by our ICAO 9303 parser; otherwise they go as read.
    """
    corrected = frozenset(corrected)
    result: dict[str, Any] = {key: fields.get(key) for key in RESULT_KEYS}
    for source, aliases in ALIASES.items():
        if source not in corrected:
            continue
        for alias in aliases:
            if alias in PASSPORT_ONLY_KEYS and not passport:
                continue
            result[alias] = fields.get(source)
    if corrected & {"first_name", "last_name"}:
        names = [str(fields[k]) for k in ("first_name", "last_name") if fields.get(k)]
        result["full_name"] = " ".join(names) or None
    parsed = parse_mrz(mrz_lines(fields.get("mrz_raw_string")), today=today)
    if parsed is not None:
        result.update(mrz_flags(parsed))
        if "mrz_raw_string" in corrected:
            result["optional_data"] = parsed.optional_data or None
    result["ignored_fields"] = list(fields.get("ignored_fields") or [])
    # A field the OCR missed is no longer missing once an analyst filled it in.
    result["missing_fields"] = [
        item
        for item in (fields.get("missing_fields") or [])
        if not isinstance(item, str) or not result.get(item, fields.get(item))
    ]
    return {
        "error": None,
        "result": result,
        "task_id": task_id,
        "description": description,
        "status_task": "SUCCESS",
    }


# ------------------------------------------------------------------------ customers, documents

# Our document kinds -> Artemis document types (its enum has no residence permit).
DOCUMENT_TYPES = {"passport": "PASSPORT", "id_card": "NATIONAL_ID"}
# [I] Artemis' gender enum is not documented: MALE / FEMALE assumed, UNKNOWN otherwise.
GENDERS = {"M": "MALE", "F": "FEMALE"}


def individual_payload(
    *,
    reference: str,
    name: str,
    gender: str,
    country_of_residence: str,
    nationality: str,
) -> dict[str, Any]:
    """The documented mandatory fields of an individual customer (codes as ISO alpha-3 [I])."""
    return {
        "type": "INDIVIDUAL",
        "profileReferenceId": reference,
        "referenceId": reference,
        "particular": {
            "name": name,
            "gender": GENDERS.get(gender, "UNKNOWN"),
            "countryOfResidence": country_of_residence,
            "nationality": [nationality] if nationality else [],
        },
    }


def document_payload(
    *, kind: str, number: str, issue_date: str | None, expiry_date: str | None
) -> dict[str, Any]:
    """The JSON part of the append-document call."""
    payload: dict[str, Any] = {"type": DOCUMENT_TYPES.get(kind, "OTHERS")}
    if number:
        payload["number"] = number
    if issue_date:
        payload["issueDate"] = issue_date
    if expiry_date:
        payload["expiryDate"] = expiry_date
        payload["showExpiryNotification"] = True
    return payload
