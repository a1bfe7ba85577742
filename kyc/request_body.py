"""Reading a request body with a size limit, whatever its framing (Content-Length or chunked).

Django reads `request.body` as CONTENT_LENGTH bytes: a body sent with `Transfer-Encoding:
chunked` has no CONTENT_LENGTH, so Django sees an empty body, silently. gunicorn decodes chunked
bodies and says so with `wsgi.input_terminated` (the input ends at the end of the body): then the
body is read from `wsgi.input` up to the limit. A server that does not (Django's runserver passes
the chunks on undecoded, behind a stream limited to 0 bytes) cannot give us the body: the request
is refused with 411 Length Required, never taken as empty.

Views that can read such bodies say so with `@reads_chunked_body`; every other view answers 411
to a chunked request (`kyc.middleware.ChunkedBodyMiddleware`): no form is silently taken as empty.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig

READ_SIZE = 64 * 1024


class BodyTooLarge(Exception):
    """The body is over the limit (declared, or found while reading)."""


class LengthRequired(Exception):
    """A chunked body this server cannot decode for us."""


def transfer_coded(request) -> bool:
    """Whether the body comes with a Transfer-Encoding (in practice: chunked)."""
    coding = request.META.get("HTTP_TRANSFER_ENCODING", "").strip().lower()
    return bool(coding) and coding != "identity"


def read_body(request, *, limit: int) -> bytes:
    """The request body, never more than `limit` bytes read into memory.

    Raises BodyTooLarge past `limit` (declared or read), LengthRequired for a chunked body the
    server left undecoded.
    """
    if transfer_coded(request):
        # RFC 9112 6.1: Transfer-Encoding overrides any Content-Length.
        if not request.META.get("wsgi.input_terminated"):
            raise LengthRequired
        return _read_to_end(request.META["wsgi.input"], limit)
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise BodyTooLarge
    try:
        body = request.body
    except RequestDataTooBig as exc:
        raise BodyTooLarge from exc
    if len(body) > limit:
        raise BodyTooLarge
    return body


def _read_to_end(stream, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(min(READ_SIZE, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)


def reads_chunked_body[V: Callable](view: V) -> V:
    """Mark a view that reads its body with `read_body`, so chunked requests reach it."""
    # A mark on the function itself, read by the middleware, as Django's csrf_exempt marks its
    # views: a Callable type declares no attributes, hence the ignore.
    view.reads_chunked_body = True  # type: ignore[attr-defined]
    return view
