"""HTTP plumbing shared by the vendor clients: one session per process, explicit timeouts, and
one mapping of failures to `ProviderError` (retryable or not).

The job engine owns retries (backoff, deadlines), so nothing here retries by itself: a failed call
is reported once, with enough detail for the analyst and for the next attempt.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
from typing import Any
from urllib.parse import urlparse

import requests
from django.utils.translation import gettext_noop

from kyc.i18n import Deferred, Message
from kyc.providers.base import ProviderError

USER_AGENT = "kyc-dashboard/0.1 (+https://github.com/)"
_session: requests.Session | None = None


def session() -> requests.Session:
    """A pooled session; no environment proxies or .netrc credentials leak into vendor calls."""
    global _session
    if _session is None:
        s = requests.Session()
        s.trust_env = False
        s.headers["User-Agent"] = USER_AGENT
        _session = s
    return _session


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _excerpt(response: requests.Response, limit: int = 300) -> str:
    text = response.text or ""
    return " ".join(text.split())[:limit]


def vendor_message(response: requests.Response) -> str:
    """The vendor's own error message if the body has one, else a short excerpt of the body."""
    try:
        body = response.json()
    except ValueError:
        return _excerpt(response)
    if isinstance(body, dict):
        # Shapes seen across our vendors: {"message"}, {"error": {"message"}}, {"detail"},
        # Mindee's {"api_request": {"error": {"code", "message", "details"}}}.
        api_request = body.get("api_request")
        error = api_request.get("error") if isinstance(api_request, dict) else None
        error = error or body.get("error")
        if isinstance(error, dict):
            parts = [str(error.get(k)) for k in ("code", "message", "details") if error.get(k)]
            if parts:
                return ": ".join(parts)[:500]
        for key in ("message", "detail", "error_description", "error"):
            if isinstance(body.get(key), str) and body[key]:
                return body[key][:500]
    return _excerpt(response)


def request(
    vendor: Message,
    method: str,
    url: str,
    *,
    timeout: float,
    expected: tuple[int, ...] = (200, 201, 202),
    **kwargs: Any,
) -> requests.Response:
    """Make one call and raise ProviderError unless the status is one of `expected`.

    Timeouts, connection errors, 429 and 5xx are retryable (429 with the vendor's Retry-After);
    401/403 are configuration errors; any other 4xx is permanent with the vendor's message kept.
    """
    kwargs.setdefault("allow_redirects", False)
    try:
        response = session().request(method, url, timeout=timeout, **kwargs)
    except requests.Timeout as exc:
        raise ProviderError(
            Deferred(
                gettext_noop("%(vendor)s did not answer within %(timeout)s s (%(where)s)."),
                vendor=vendor,
                timeout=f"{timeout:g}",
                where=f"{method} {_path(url)}",
            ),
            retryable=True,
        ) from exc
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
        # ChunkedEncodingError: the connection dropped in the middle of the body.
        raise ProviderError(
            Deferred(
                gettext_noop("Could not connect to %(vendor)s (%(where)s): %(error)s."),
                vendor=vendor,
                where=f"{method} {_path(url)}",
                error=exc.__class__.__name__,
            ),
            retryable=True,
        ) from exc
    except requests.RequestException as exc:
        raise ProviderError(
            Deferred(gettext_noop("%(vendor)s call failed: %(error)s"), vendor=vendor, error=exc),
            retryable=False,
        ) from exc
    if response.status_code in expected:
        return response
    status = response.status_code
    detail = vendor_message(response)
    where = f"{method} {_path(url)}"
    if status == 429:
        raise ProviderError(
            Deferred(
                gettext_noop("%(vendor)s is rate limiting us (429 on %(where)s): %(detail)s"),
                vendor=vendor,
                where=where,
                detail=detail,
            ),
            retryable=True,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            status_code=status,
        )
    if status >= 500:
        raise ProviderError(
            Deferred(
                gettext_noop("%(vendor)s answered %(status)s on %(where)s: %(detail)s"),
                vendor=vendor,
                status=status,
                where=where,
                detail=detail,
            ),
            retryable=True,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            status_code=status,
        )
    if status in (401, 403):
        raise ProviderError(
            Deferred(
                gettext_noop(
                    "%(vendor)s refused our credentials (%(status)s on %(where)s): %(detail)s. "
                    "Check the %(vendor)s settings of this server."
                ),
                vendor=vendor,
                status=status,
                where=where,
                detail=detail,
            ),
            retryable=False,
            status_code=status,
            configuration=True,
        )
    raise ProviderError(
        Deferred(
            gettext_noop("%(vendor)s refused the request (%(status)s on %(where)s): %(detail)s"),
            vendor=vendor,
            status=status,
            where=where,
            detail=detail,
        ),
        retryable=False,
        status_code=status,
    )


def json_body(vendor: Message, response: requests.Response) -> Any:
    """The JSON body, or a retryable ProviderError when a proxy or the vendor sent garbage."""
    try:
        return response.json()
    except (ValueError, json.JSONDecodeError) as exc:
        raise ProviderError(
            Deferred(
                gettext_noop("%(vendor)s sent a body that is not JSON (HTTP %(status)s): %(body)r"),
                vendor=vendor,
                status=response.status_code,
                body=_excerpt(response, 120),
            ),
            retryable=True,
            status_code=response.status_code,
        ) from exc


def _path(url: str) -> str:
    # Error messages name the endpoint, never the query string (it may carry tokens).
    return urlparse(url).path or "/"
