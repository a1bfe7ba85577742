"""The shared vendor HTTP layer: which failures a retry can fix, and what the analyst reads."""

from __future__ import annotations

import datetime as dt
import email.utils
import socket
import threading

import pytest
from werkzeug import Response

from kyc.providers import http
from kyc.providers.base import ProviderError


def failure(httpserver, status: int, body: str = "", **headers) -> ProviderError:
    httpserver.expect_request("/x").respond_with_response(
        Response(body, status=status, headers=headers)
    )
    with pytest.raises(ProviderError) as caught:
        http.request("Vendor", "GET", httpserver.url_for("/x?token=secret"), timeout=5)
    return caught.value


@pytest.mark.parametrize(
    ("status", "retryable", "configuration"),
    [
        (400, False, False),
        (401, False, True),
        (403, False, True),
        (404, False, False),
        (429, True, False),
        (500, True, False),
        (502, True, False),
        (503, True, False),
    ],
)
def test_status_codes_map_to_retryable_or_permanent(httpserver, status, retryable, configuration):
    error = failure(httpserver, status, '{"message": "nope"}')
    assert (error.retryable, error.configuration, error.status_code) == (
        retryable,
        configuration,
        status,
    )
    assert "nope" in error.message
    assert "token=secret" not in error.message  # the query string may carry credentials


def test_retry_after_in_seconds_and_as_a_date(httpserver):
    assert failure(httpserver, 429, "", **{"Retry-After": "120"}).retry_after == 120
    httpserver.clear()
    when = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=300))
    delay = failure(httpserver, 503, "", **{"Retry-After": when}).retry_after
    assert 290 <= delay <= 300


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            '{"api_request": {"error": {"code": "BadRequest", "message": "Bad file"}}}',
            "BadRequest: Bad file",
        ),
        ('{"api_request": "weird"}', '{"api_request": "weird"}'),
        ('{"error": {"message": "quota"}}', "quota"),
        ('{"detail": "Not found."}', "Not found."),
        (
            "<html><body>Gateway   timeout</body></html>",
            "<html><body>Gateway timeout</body></html>",
        ),
        ("[1, 2]", "[1, 2]"),
    ],
)
def test_the_vendor_message_is_kept_whatever_the_body_shape(httpserver, body, expected):
    assert expected in failure(httpserver, 400, body).message


def test_a_body_that_is_not_json_is_a_retryable_error(httpserver):
    httpserver.expect_request("/x").respond_with_data("<html>proxy error</html>", status=200)
    response = http.request("Vendor", "GET", httpserver.url_for("/x"), timeout=5)
    with pytest.raises(ProviderError) as caught:
        http.json_body("Vendor", response)
    assert caught.value.retryable
    assert "not JSON" in caught.value.message


def test_a_timeout_is_retryable(httpserver):
    import time

    httpserver.expect_request("/slow").respond_with_handler(
        lambda request: (time.sleep(1), Response("{}"))[1]
    )
    with pytest.raises(ProviderError) as caught:
        http.request("Vendor", "GET", httpserver.url_for("/slow"), timeout=0.2)
    assert caught.value.retryable
    assert "did not answer within 0.2 s" in caught.value.message


def test_a_refused_connection_is_retryable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ProviderError) as caught:
        http.request("Vendor", "GET", f"http://127.0.0.1:{port}/x", timeout=2)
    assert caught.value.retryable


def test_a_connection_dropped_in_the_middle_of_the_body_is_retryable():
    # A server that promises a chunked body, sends one chunk, then hangs up.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]

    def serve():
        connection, _ = server.accept()
        connection.recv(65536)
        connection.sendall(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
            b'Content-Type: application/json\r\n\r\n5\r\n{"a":\r\n'
        )
        connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with pytest.raises(ProviderError) as caught:
            response = http.request("Vendor", "GET", f"http://127.0.0.1:{port}/x", timeout=2)
            response.content  # noqa: B018 - reading the body is what fails
        assert caught.value.retryable
    finally:
        thread.join(timeout=2)
        server.close()
