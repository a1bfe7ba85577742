"""Request context shared with services and logs (client IP, request id), the idle session
timeout, and the caching rule of signed-in pages."""

from __future__ import annotations

import contextvars
import re
import uuid
from dataclasses import dataclass

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]+")


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    ip_address: str | None
    user_id: int | None


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "kyc_request_context", default=None
)


def current_context() -> RequestContext | None:
    return _current.get()


def client_ip(request) -> str | None:
    """The client's address, for audit rows and rate limits.

    X-Forwarded-For is written by the client unless a proxy we trust rewrites it, so it is read
    only when the connection comes from one of settings.TRUSTED_PROXIES, and then from the right:
    the last address that is not one of our proxies is the client as our first proxy saw it.
    """
    from django.conf import settings

    remote = request.META.get("REMOTE_ADDR") or None
    trusted = settings.TRUSTED_PROXIES
    if not remote or remote not in trusted:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed([hop for hop in hops if hop]):
        if hop not in trusted:
            return hop if _is_ip(hop) else remote
    return remote


def _is_ip(value: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _request_id(request) -> str:
    # Accept a caller's id (a load balancer's) only if it is a plain token: it goes into logs.
    given = request.headers.get("X-Request-ID", "")
    if given and len(given) <= 64 and _REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = _request_id(request)
        user = getattr(request, "user", None)
        token = _current.set(
            RequestContext(
                request_id=request_id,
                ip_address=client_ip(request),
                user_id=user.pk if user is not None and user.is_authenticated else None,
            )
        )
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response["X-Request-ID"] = request_id
        return response


class IdleSessionMiddleware:
    """Idle timeout without a session write on every request.

    The session's expiry (SESSION_COOKIE_AGE, i.e. SESSION_IDLE_SECONDS) restarts whenever the
    session is saved. Saving on every request (SESSION_SAVE_EVERY_REQUEST) costs a database write
    per page and per poll; saving at most once a minute keeps the idle timeout within a minute.
    """

    REFRESH_SECONDS = 60

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and request.user.is_authenticated:
            import time

            now = int(time.time())
            if now - session.get("_seen", 0) >= self.REFRESH_SECONDS:
                session["_seen"] = now
        return self.get_response(request)


class ChunkedBodyMiddleware:
    """Answer 411 Length Required to a chunked request body, except in views that read it with
    `kyc.request_body.read_body` (`@reads_chunked_body`).

    Django reads CONTENT_LENGTH bytes of a body, and a chunked one has no CONTENT_LENGTH: every
    form would be taken as empty without a word. Browsers always send a length; a client that
    does not gets a clear refusal instead. Runs before the CSRF check, which would read the
    (empty) form and answer a misleading 403.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        from django.http import HttpResponse
        from django.utils.translation import gettext as _

        from kyc.request_body import transfer_coded

        if transfer_coded(request) and not getattr(view_func, "reads_chunked_body", False):
            return HttpResponse(
                _("Send the body with a Content-Length: chunked bodies are not accepted here."),
                status=411,
                content_type="text/plain; charset=utf-8",
            )
        return None


class PrivateNoStoreMiddleware:
    """Every response to a signed-in user is `Cache-Control: private, no-store`, unless its view
    set a Cache-Control of its own.

    Nearly every page shows personal data (the queue, a customer file, reports, OCR fields,
    document pages, the audit log, the admin): without this header a browser or a proxy may keep
    a copy on disk, readable after log-out on a shared computer. The rule is the default of every
    view rather than a header each view must remember. A view that caches on purpose says so
    itself and is left alone: the live-status poll answers `private, no-cache` with an ETag so
    that the browser revalidates it every time (304 while nothing changed).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            response["Cache-Control"] = "private, no-store"
        return response
