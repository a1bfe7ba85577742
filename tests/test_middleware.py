"""Client address and request id: what a client may not forge."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from kyc.middleware import RequestContextMiddleware, client_ip, current_context


@pytest.fixture
def rf_forwarded(rf: RequestFactory):
    def build(remote: str, forwarded: str = ""):
        extra = {"REMOTE_ADDR": remote}
        if forwarded:
            extra["HTTP_X_FORWARDED_FOR"] = forwarded
        return rf.get("/", **extra)

    return build


def test_forwarded_for_is_ignored_from_an_untrusted_peer(rf_forwarded, settings):
    settings.TRUSTED_PROXIES = frozenset()
    assert client_ip(rf_forwarded("203.0.113.9", "198.51.100.1")) == "203.0.113.9"


def test_forwarded_for_from_a_trusted_proxy_gives_the_client(rf_forwarded, settings):
    settings.TRUSTED_PROXIES = frozenset({"10.0.0.2", "10.0.0.3"})
    # The client wrote a fake first hop; our two proxies appended the real ones.
    request = rf_forwarded("10.0.0.2", "1.2.3.4, 198.51.100.7, 10.0.0.3")
    assert client_ip(request) == "198.51.100.7"


def test_garbage_in_forwarded_for_falls_back_to_the_peer(rf_forwarded, settings):
    settings.TRUSTED_PROXIES = frozenset({"10.0.0.2"})
    assert client_ip(rf_forwarded("10.0.0.2", "<script>")) == "10.0.0.2"
    assert client_ip(rf_forwarded("10.0.0.2")) == "10.0.0.2"


@pytest.mark.parametrize(
    ("given", "kept"),
    [("req-42.abc:1", True), ("x" * 65, False), ("bad id\nwith newline", False), ("", False)],
)
def test_a_request_id_is_kept_only_when_it_is_a_plain_token(rf: RequestFactory, given, kept):
    seen = {}

    def view(request):
        seen["id"] = current_context().request_id
        return HttpResponse()

    request = rf.get("/", HTTP_X_REQUEST_ID=given)
    response = RequestContextMiddleware(view)(request)
    assert (seen["id"] == given) is kept
    assert response["X-Request-ID"] == seen["id"]
