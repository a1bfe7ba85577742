"""Webhook intake under attack: who may store a row, how big a body may be however it is framed,
and bodies, ids and headers no database likes. Through the real endpoint, on the real database
(run it with DATABASE_URL for PostgreSQL too), under the test client, runserver and gunicorn."""

from __future__ import annotations

import http.client
import io
import json
import socket

import pytest
from django_tasks_db.models import DBTaskResult
from freezegun import freeze_time

from kyc.models import AuditEvent, WebhookEvent
from kyc.providers.base import Verdict
from kyc.providers.october import OctoberProvider
from kyc.services import webhooks
from tests.factories import make_customer, make_document, make_user
from tests.fake_vendors import MINDEE_SECRET, mindee_sign
from tests.fakes import sign
from tests.scaleout.conftest import gunicorn_on_test_database

OCTOBER = "kyc.providers.october.OctoberProvider"
MINDEE = "kyc.providers.mindee.MindeeProvider"
FINOVOX = "kyc.providers.finovox.FinovoxProvider"
LOCAL = "kyc.providers.local.LocalProvider"
OCTOBER_SECRET = "october-shared-secret"


def post(client, body: bytes, *, provider: str = "fake", signature: str | None = "auto", **extra):
    if signature == "auto":
        extra["HTTP_X_FAKE_SIGNATURE"] = sign(body)
    elif signature is not None:
        extra["HTTP_X_FAKE_SIGNATURE"] = signature
    return client.post(
        f"/webhooks/{provider}/", data=body, content_type="application/json", **extra
    )


def stored_bytes() -> int:
    return sum(len(bytes(body)) for body in WebhookEvent.objects.values_list("body", flat=True))


# --------------------------------------------------------- 2. who may store a row, and how much


def configure_october(settings, *, secret: str = "", allow_unsigned: bool = False) -> None:
    settings.KYC_PROVIDERS = [OCTOBER]
    settings.OCTOBER_USER_ID = "user"
    settings.OCTOBER_SESSION_TOKEN = "token"
    settings.OCTOBER_WEBHOOK_SECRET = secret
    settings.OCTOBER_WEBHOOK_ALLOW_UNSIGNED = allow_unsigned


def configure_mindee(settings, *, key: str = "key", secret: str = MINDEE_SECRET) -> None:
    settings.KYC_PROVIDERS = [MINDEE]
    settings.MINDEE_API_KEY = key
    settings.MINDEE_WEBHOOK_SECRET = secret


CLOSED_DOORS = {
    # The built-in engine and Finovox send no webhooks, configured or not.
    "local": lambda settings: setattr(settings, "KYC_PROVIDERS", [LOCAL]),
    "finovox": lambda settings: (
        setattr(settings, "KYC_PROVIDERS", [FINOVOX]),
        setattr(settings, "FINOVOX_API_KEY", "finovox-key"),
    ),
    # Mindee without its HMAC key, or not configured at all.
    "mindee": lambda settings: configure_mindee(settings, secret=""),
    "mindee-off": lambda settings: configure_mindee(settings, key=""),
    # October without a secret, and the operator did not allow unsigned deliveries.
    "october": lambda settings: configure_october(settings),
    "october-off": lambda settings: (
        configure_october(settings, secret=OCTOBER_SECRET),
        setattr(settings, "OCTOBER_SESSION_TOKEN", ""),
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("door", CLOSED_DOORS)
def test_a_provider_that_takes_no_webhooks_here_answers_404_and_stores_nothing(
    client, settings, door
):
    CLOSED_DOORS[door](settings)
    provider = door.removesuffix("-off")
    body = b'{"event": "new_report", "requestId": "r", "reportId": "p"}' + b" " * 100_000
    headers = {
        "HTTP_X_OCTOBER_WEBHOOK_SECRET": OCTOBER_SECRET,
        "HTTP_X_MINDEE_HMAC_SIGNATURE": mindee_sign(body),
    }
    for _ in range(3):
        response = client.post(
            f"/webhooks/{provider}/", data=body, content_type="application/json", **headers
        )
        assert response.status_code == 404
        assert response.json() == {"error": "not found"}
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
def test_october_without_a_secret_takes_unsigned_deliveries_only_when_the_operator_allows_it(
    client, settings
):
    body = json.dumps({"event": "new_report", "requestId": "r", "reportId": "p"}).encode()
    configure_october(settings)
    assert post(client, body, provider="october", signature=None).status_code == 404
    assert not WebhookEvent.objects.exists()

    settings.OCTOBER_WEBHOOK_ALLOW_UNSIGNED = True
    response = post(client, body, provider="october", signature=None)

    assert response.status_code == 200
    assert WebhookEvent.objects.get().signature_verdict == "unsigned"
    # With a secret, the opt-in changes nothing: the secret is required.
    settings.OCTOBER_WEBHOOK_SECRET = OCTOBER_SECRET
    assert post(client, body, provider="october", signature=None).status_code == 401
    assert OctoberProvider().verify_webhook({}, body) == Verdict.MISSING


@pytest.mark.django_db
def test_a_refused_delivery_keeps_its_metadata_and_a_short_prefix_only(client, fake_provider):
    body = b'{"event": "done", "delivery": "forged", "ocr": "' + b"x" * 200_000 + b'"}'
    response = post(
        client,
        body,
        signature="0" * 64,
        REMOTE_ADDR="198.51.100.7",
        HTTP_X_PADDING="p" * 5000,
        **{f"HTTP_X_EXTRA_{n}": "v" for n in range(80)},
    )

    assert response.status_code == 401
    event = WebhookEvent.objects.get()
    assert (event.state, event.signature_verdict) == ("rejected", "invalid")
    assert bytes(event.body) == body[: webhooks.REFUSED_BODY_PREFIX]
    assert event.body_size == len(body)
    assert event.remote_addr == "198.51.100.7"
    assert event.dedupe_key is None
    assert len(event.headers) <= webhooks.REFUSED_MAX_HEADERS
    assert max(len(value) for value in event.headers.values()) <= webhooks.REFUSED_HEADER_CHARS
    assert not DBTaskResult.objects.exists()


@pytest.mark.django_db
def test_an_anonymous_flood_of_forgeries_stores_a_few_small_rows_and_spares_the_vendor(
    client, fake_provider, settings
):
    # The attack: one client, 1 MB forgeries as fast as it can (62 MB stored in 2.6 s).
    settings.WEBHOOK_REFUSED_RATE_PER_SECOND = 1
    settings.WEBHOOK_REFUSED_BURST = 5
    forged = b'{"event": "done", "delivery": "f", "pad": "' + b"x" * 1_000_000 + b'"}'
    forged = forged[: settings.WEBHOOK_MAX_BYTES]
    with freeze_time("2026-03-02 09:00:00") as clock:
        statuses = [
            post(client, forged, signature="0" * 64, REMOTE_ADDR="203.0.113.66").status_code
            for _ in range(12)
        ]
        assert statuses == [401] * 5 + [429] * 7
        assert WebhookEvent.objects.count() == 5
        assert stored_bytes() <= 5 * webhooks.REFUSED_BODY_PREFIX
        # The vendor, even behind the same address, is not held back by the forger's refusals.
        genuine = json.dumps({"event": "done", "delivery": "real"}).encode()
        assert post(client, genuine, REMOTE_ADDR="203.0.113.66").status_code == 200
        # Refusals come back at their own rate.
        clock.tick(1)
        assert post(client, b"{}", signature=None, REMOTE_ADDR="203.0.113.66").status_code == 401
        assert post(client, b"{}", signature=None, REMOTE_ADDR="203.0.113.66").status_code == 429
    assert WebhookEvent.objects.filter(state="rejected").count() == 6


# ------------------------------------------------------------------- 3. chunked webhook bodies


def post_chunked(client, body: bytes, *, terminated: bool = True, provider: str = "fake"):
    """What a server that decodes chunked bodies (gunicorn) hands to Django: no CONTENT_LENGTH,
    `wsgi.input` ending with the body, and `wsgi.input_terminated` saying so."""
    return client.generic(
        "POST",
        f"/webhooks/{provider}/",
        b"",
        CONTENT_TYPE="application/json",
        HTTP_TRANSFER_ENCODING="chunked",
        HTTP_X_FAKE_SIGNATURE=sign(body),
        **{"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": terminated},
    )


@pytest.mark.django_db
def test_chunked_deliveries_are_read_whole_and_never_taken_for_duplicates(client, fake_provider):
    first = json.dumps({"event": "done", "delivery": "c1", "ids": ["a"]}).encode()
    second = json.dumps({"event": "done", "delivery": "c2", "ids": ["b"]}).encode()

    assert post_chunked(client, first).status_code == 200
    assert post_chunked(client, second).status_code == 200

    events = list(WebhookEvent.objects.order_by("pk"))
    assert [bytes(event.body) for event in events] == [first, second]
    assert [event.state for event in events] == ["received", "received"]
    assert [event.body_size for event in events] == [len(first), len(second)]


@pytest.mark.django_db
def test_a_chunked_delivery_over_the_limit_is_refused_while_read_and_stores_nothing(
    client, fake_provider, settings
):
    settings.WEBHOOK_MAX_BYTES = 1000
    body = json.dumps({"event": "done", "delivery": "big", "pad": "x" * 5000}).encode()

    response = post_chunked(client, body)

    assert response.status_code == 413
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
def test_a_chunked_delivery_the_server_did_not_decode_is_411_never_an_empty_body(
    client, fake_provider
):
    body = json.dumps({"event": "done", "delivery": "c"}).encode()
    response = post_chunked(client, body, terminated=False)
    assert response.status_code == 411
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
def test_every_other_url_answers_411_to_a_chunked_body(client):
    # A form posted chunked would be read as empty, silently: refused, and nothing happens.
    response = client.generic(
        "POST",
        "/accounts/login/",
        b"",
        CONTENT_TYPE="application/x-www-form-urlencoded",
        HTTP_TRANSFER_ENCODING="chunked",
        **{
            "wsgi.input": io.BytesIO(b"username=analyst1&password=x"),
            "wsgi.input_terminated": True,
        },
    )
    assert response.status_code == 411
    assert "Content-Length" in response.content.decode()
    assert not AuditEvent.objects.exists()  # not even a failed log-in


def raw_chunked_post(host: str, port: int, path: str, body: bytes, headers: dict[str, str]):
    """A chunked POST through a real socket, as a vendor's HTTP client sends it: the request in
    two chunks, written in one go (a server that answers before reading the body, as a 411
    does, must not make the client fail on a closed pipe), then the response read whole."""
    half = len(body) // 2
    head = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Transfer-Encoding: chunked"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    request = ("\r\n".join(head) + "\r\n\r\n").encode()
    for chunk in (body[:half], body[half:]):
        request += b"%x\r\n" % len(chunk) + chunk + b"\r\n"
    request += b"0\r\n\r\n"
    with socket.create_connection((host, port), timeout=20) as sock:
        sock.sendall(request)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, response.read()


@pytest.mark.django_db(transaction=True)
def test_runserver_cannot_decode_a_chunked_delivery_and_answers_411(live_server, fake_provider):
    # live_server runs Django's own development server (runserver's WSGIServer and handler).
    body = json.dumps({"event": "done", "delivery": "rs"}).encode()
    host, port = live_server.url.removeprefix("http://").split(":")
    status, _answer = raw_chunked_post(
        host,
        int(port),
        "/webhooks/fake/",
        body,
        {"Content-Type": "application/json", "X-Fake-Signature": sign(body)},
    )
    assert status == 411
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_gunicorn_sync_workers_store_a_chunked_delivery_whole_and_refuse_one_too_big(tmp_path):
    env = {
        "KYC_TEST_PROVIDERS": "tests.fakes.FakeProvider",
        "WEBHOOK_MAX_BYTES": "4096",
        "WEB_CONCURRENCY": "1",  # sync worker, gunicorn's default worker class
        "GUNICORN_PRELOAD": "false",
    }
    with gunicorn_on_test_database(tmp_path, **env) as server:
        bodies = [
            json.dumps({"event": "done", "delivery": f"g{n}", "pad": "x" * 3000}).encode()
            for n in range(2)
        ]
        for body in bodies:
            status, answer = raw_chunked_post(
                "127.0.0.1",
                server.port,
                "/webhooks/fake/",
                body,
                {"Content-Type": "application/json", "X-Fake-Signature": sign(body)},
            )
            assert status == 200, answer
        too_big = json.dumps({"event": "done", "delivery": "big", "pad": "x" * 9000}).encode()
        status, _answer = raw_chunked_post(
            "127.0.0.1",
            server.port,
            "/webhooks/fake/",
            too_big,
            {"Content-Type": "application/json", "X-Fake-Signature": sign(too_big)},
        )
        assert status == 413

    events = list(WebhookEvent.objects.order_by("pk"))
    assert [bytes(event.body) for event in events] == bodies
    assert {event.state for event in events} == {"received"}


# --------------------------------------------------- 4. NUL bytes, lone surrogates, odd headers

ODD_BODIES = {
    "nul-in-ids": rb'{"event": "done\u0000", "delivery": "a\u0000b", "ids": ["a\u0000b"]}',
    "lone-surrogates": rb'{"event": "\ud800", "delivery": "\udfff", "ids": ["\ud800"]}',
    "control-characters": rb'{"event": "done", "delivery": "c", "ids": ["job\u0007\u001b[2J"]}',
    "id-too-long": b'{"event": "done", "delivery": "l", "ids": ["' + b"7" * 300 + b'"]}',
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", ODD_BODIES)
def test_ids_no_vendor_issues_are_stored_raw_and_refused_by_processing(client, fake_provider, name):
    body = ODD_BODIES[name]

    response = post(client, body)

    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert bytes(event.body) == body
    assert event.state == "received"
    assert event.event_type.isprintable()
    assert event.dedupe_key.isprintable()
    # The same body again is still recognised as a duplicate.
    assert post(client, body).json()["state"] == "duplicate"

    webhooks.webhook_process(event.pk)

    event.refresh_from_db()
    assert event.state == "failed"
    assert "no vendor issues" in event.error
    assert event.processed_at is not None


@pytest.mark.django_db
def test_a_body_of_raw_nul_and_invalid_utf8_bytes_is_stored_as_it_came(client, fake_provider):
    body = b"\x00\xff\xfe\x00{\x00}\xed\xa0\x80"

    response = post(client, body)

    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert bytes(event.body) == body
    webhooks.webhook_process(event.pk)
    event.refresh_from_db()
    assert event.state == "ignored"


@pytest.mark.django_db
def test_odd_header_names_and_values_are_stored_readably(client, fake_provider):
    body = json.dumps({"event": "done", "delivery": "h"}).encode()

    response = post(
        client,
        body,
        HTTP_X_NUL="a\x00b",
        HTTP_X_SURROGATE="\udc80\ud800",
        HTTP_X_LATIN1="caf\xe9\x7f",
        **{"HTTP_X_\x00NAME": "value"},
    )

    assert response.status_code == 200
    headers = WebhookEvent.objects.get().headers
    assert headers["X-Nul"] == "a\\u0000b"
    assert headers["X-Surrogate"] == "\\udc80\\ud800"
    assert headers["X-Latin1"] == "café\\u007f"
    assert "X-\\u0000Name" in headers
    assert not any("\x00" in name + value for name, value in headers.items())


@pytest.mark.django_db
def test_october_ids_with_nul_are_stored_and_refused_cleanly(client, settings):
    configure_october(settings, secret=OCTOBER_SECRET)
    actor = make_user(role=None)  # no role group: a transactional test may have flushed them
    document = make_document(customer=make_customer(actor=actor), actor=actor)
    body = rb'{"event": "new_report", "requestId": "req\u0000", "reportId": "rep\u0000x"}'

    response = client.post(
        "/webhooks/october/",
        data=body,
        content_type="application/json",
        HTTP_X_OCTOBER_WEBHOOK_SECRET=OCTOBER_SECRET,
    )

    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert (bytes(event.body), event.event_type) == (body, "new_report")
    webhooks.webhook_process(event.pk)
    event.refresh_from_db()
    assert event.state == "failed"
    assert "req\\u0000" in event.error
    assert document.jobs.exists()


@pytest.mark.django_db
def test_a_mindee_job_id_with_a_lone_surrogate_is_stored_and_refused_cleanly(client, settings):
    configure_mindee(settings)
    body = rb'{"document": {"id": "doc-1"}, "job": {"id": "\ud800", "status": "completed"}}'

    response = client.post(
        "/webhooks/mindee/",
        data=body,
        content_type="application/json",
        HTTP_X_MINDEE_HMAC_SIGNATURE=mindee_sign(body),
    )

    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert bytes(event.body) == body
    webhooks.webhook_process(event.pk)
    event.refresh_from_db()
    assert event.state == "failed"
    assert "\\ud800" in event.error


@pytest.mark.django_db
def test_a_secret_header_with_a_lone_surrogate_is_refused_not_a_crash(client, settings):
    configure_october(settings, secret=OCTOBER_SECRET)
    response = client.post(
        "/webhooks/october/",
        data=b"{}",
        content_type="application/json",
        HTTP_X_OCTOBER_WEBHOOK_SECRET="\udc80",
    )
    assert response.status_code == 401
    assert WebhookEvent.objects.get().headers["X-October-Webhook-Secret"] == "[redacted]"
