"""The live-status poll is conditional: 304 Not Modified while nothing it shows has changed."""

from __future__ import annotations

import pytest

from kyc.models import ProviderJob
from tests.factories import make_customer, make_document, make_user

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def fake_provider(settings):
    from tests.fakes import FakeProvider

    settings.KYC_PROVIDERS = ["tests.fakes.FakeProvider"]
    FakeProvider.reset()


def _poll(client, url, etag=None):
    headers = {**HTMX, "If-None-Match": etag} if etag else HTMX
    return client.get(url, headers=headers)


def test_an_unchanged_fragment_is_answered_304_without_a_body(
    analyst_client, django_assert_max_num_queries
):
    customer = make_customer()
    make_document(customer=customer)
    url = f"/customers/{customer.pk}/status/"
    first = _poll(analyst_client, url)
    assert first.status_code == 200
    assert first["ETag"] and "no-cache" in first["Cache-Control"]
    # session, user, roles, and the one state query: no fragment is rendered
    with django_assert_max_num_queries(4):
        again = _poll(analyst_client, url, first["ETag"])
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]


def test_a_job_that_moves_changes_the_etag_and_the_fragment_is_sent_again(analyst_client):
    customer = make_customer()
    document = make_document(customer=customer)
    url = f"/customers/{customer.pk}/status/"
    first = _poll(analyst_client, url)
    job = document.jobs.get()
    job.status = ProviderJob.Status.PROCESSING
    job.save()
    changed = _poll(analyst_client, url, first["ETag"])
    assert changed.status_code == 200
    assert changed["ETag"] != first["ETag"]
    assert "Processing" in changed.text


def test_a_new_document_changes_the_etag(analyst_client):
    customer = make_customer()
    make_document(customer=customer)
    url = f"/customers/{customer.pk}/status/"
    first = _poll(analyst_client, url)
    make_document(customer=customer, name="second.png")
    assert _poll(analyst_client, url, first["ETag"]).status_code == 200


def test_another_csrf_secret_gets_its_own_fragment(analyst_client):
    from django.middleware.csrf import _get_new_csrf_string
    from django.test import Client

    customer = make_customer()
    make_document(customer=customer)
    url = f"/customers/{customer.pk}/status/"
    mine = _poll(analyst_client, url)
    other = Client()
    other.force_login(make_user(role="reviewer"))
    other.cookies["csrftoken"] = _get_new_csrf_string()
    # The Retry forms are masked with the session's CSRF secret: never reuse someone else's.
    assert _poll(other, url, mine["ETag"]).status_code == 200


def test_a_customer_nobody_may_see_is_still_404(analyst_client):
    assert _poll(analyst_client, "/customers/999999/status/", '"x"').status_code == 404


def test_a_full_render_takes_the_same_queries_whatever_the_number_of_jobs(
    analyst_client, django_assert_max_num_queries
):
    customer = make_customer()
    request = customer.requests.get()
    documents = [make_document(customer=customer, name=f"scan-{i}.png") for i in range(25)]
    ProviderJob.objects.bulk_create(
        [
            ProviderJob(
                request=request,
                document=document,
                provider="other",
                operation="analyse",
                status=ProviderJob.Status.FAILED,
                last_error="Vendor said no",
            )
            for document in documents
        ]
        + [
            ProviderJob(request=request, provider=provider, operation="manager_xray")
            for provider in ("first", "second")
        ]
    )
    jobs = list(ProviderJob.objects.filter(request=request))
    assert len(jobs) == 52
    analyst_client.get("/")  # the session's idle clock is saved once a minute, not per poll

    # session, user, roles, state; customer, documents, all their jobs in one query, reports
    with django_assert_max_num_queries(8):
        response = _poll(analyst_client, f"/customers/{customer.pk}/status/")

    assert response.status_code == 200
    text = response.text
    for job in jobs:
        assert f'id="job-{job.pk}"' in text
    assert text.count("Vendor said no") == 25
    # Each document lists its own jobs, and the request-level ones are listed once.
    for document in documents:
        article = text.split(f'id="document-{document.pk}"', 1)[1].split("</article>", 1)[0]
        assert article.count('id="job-') == 2


@pytest.mark.parametrize("model", ["job", "document"])
def test_a_bare_update_of_a_job_or_a_document_changes_the_etag(analyst_client, model):
    """No `.update()` can forget updated_at (models.TouchingQuerySet): customer erasure blanked
    job errors with an update that did not set it, and the page kept showing the old error."""
    from kyc.models import Document

    customer = make_customer()
    document = make_document(customer=customer)
    url = f"/customers/{customer.pk}/status/"
    first = _poll(analyst_client, url)

    if model == "job":
        ProviderJob.objects.filter(document=document).update(last_error="The vendor is down.")
    else:
        Document.objects.filter(pk=document.pk).update(kind=Document.Kind.OTHER)

    again = _poll(analyst_client, url, first["ETag"])
    assert again.status_code == 200
    assert again["ETag"] != first["ETag"]
    if model == "job":
        assert "The vendor is down." in again.text


def test_an_explicit_updated_at_is_kept():
    import datetime as dt

    from django.utils import timezone

    document = make_document(customer=make_customer())
    then = timezone.now() - dt.timedelta(days=3)

    ProviderJob.objects.filter(document=document).update(updated_at=then)

    assert set(
        ProviderJob.objects.filter(document=document).values_list("updated_at", flat=True)
    ) == {then}
