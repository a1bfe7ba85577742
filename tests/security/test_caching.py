"""Pages with personal data are never stored by a browser or a proxy: every response to a
signed-in user is `Cache-Control: private, no-store` (kyc.middleware.PrivateNoStoreMiddleware),
except where a view sets its own caching on purpose (the live-status poll's revalidation)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import make_customer, make_document
from tests.security.test_crawl import crawl_urls

# Views that choose their caching themselves, and what they choose.
OWN_CACHING = {"kyc:customer-status": "private, no-cache"}


def cache_control(response) -> set[str]:
    return {part.strip() for part in response.get("Cache-Control", "").split(",") if part.strip()}


@pytest.mark.parametrize("role", ["analyst", "admin"])
def test_every_page_a_signed_in_user_gets_is_private_and_never_stored(world, role):
    client = world.client(role)
    checked, problems = 0, []

    for name, url in crawl_urls(world):
        response = client.get(url, headers={"HX-Request": "true"} if "status" in url else {})
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        if name in OWN_CACHING:
            continue
        checked += 1
        if not {"private", "no-store"} <= cache_control(response):
            problems.append(
                f"{url} ({name}, {response.status_code}): {response.get('Cache-Control')}"
            )

    assert checked > 100
    assert not problems, problems


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("kyc:home", lambda w: []),
        ("kyc:customer-detail", lambda w: [w.individual.pk]),
        ("kyc:customer-timeline", lambda w: [w.individual.pk]),
        ("kyc:report-detail", lambda w: [w.reports["local_forensics"].pk]),
        ("kyc:ocr-document", lambda w: [w.passport.pk]),
        ("kyc:document-viewer", lambda w: [w.passport.pk]),
        ("kyc:document-page", lambda w: [w.statement.pk, 1]),
        ("kyc:customer-alerts", lambda w: [w.company.pk]),
        ("kyc:alerts-inbox", lambda w: []),
        ("kyc:audit-log", lambda w: []),
    ],
)
def test_the_pages_with_personal_data_are_never_stored(world, name, args):
    response = world.client("reviewer").get(reverse(name, args=args(world)))

    assert response.status_code == 200
    assert cache_control(response) == {"private", "no-store"}


def test_an_htmx_fragment_is_never_stored_either(world):
    response = world.client("analyst").get(
        reverse("kyc:home"), {"q": "x"}, headers={"HX-Request": "true", "HX-Target": "case-table"}
    )

    assert "<html" not in response.text
    assert cache_control(response) == {"private", "no-store"}


def test_the_live_status_poll_keeps_its_revalidated_caching(analyst_client, fake_provider):
    customer = make_customer()
    make_document(customer=customer)  # its jobs are pending: the poll answers 200 with an ETag
    url = reverse("kyc:customer-status", args=[customer.pk])

    first = analyst_client.get(url, headers={"HX-Request": "true"})
    again = analyst_client.get(url, headers={"HX-Request": "true", "If-None-Match": first["ETag"]})

    assert first.status_code == 200
    assert cache_control(first) == {"private", "no-cache"}
    assert again.status_code == 304
    assert cache_control(again) == {"private", "no-cache"}


def test_the_admin_keeps_its_own_never_cache_headers(world):
    response = world.client("admin").get(reverse("admin:kyc_customer_changelist"))

    assert {"private", "no-store", "no-cache", "must-revalidate"} <= cache_control(response)


def test_anonymous_public_pages_are_left_alone(client, db):
    # The log-in page says never_cache itself; the health check too. Static files are served
    # before the middleware runs.
    assert "no-store" in client.get(reverse("login"))["Cache-Control"]
    assert "no-store" in client.get(reverse("healthz"))["Cache-Control"]
