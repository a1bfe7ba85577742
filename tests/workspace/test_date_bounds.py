"""Every date a person types is bounded (kyc.dates.EARLIEST_DATE..LATEST_DATE), with a message
saying the range: the audit log's filters (tests/review/test_audit.py), a customer's birth date
and a document's date."""

from __future__ import annotations

import pytest

from kyc.models import AuditEvent, Customer, Document
from tests.factories import make_customer, pdf_bytes

pytestmark = pytest.mark.django_db

RANGE = "Enter a date between Jan. 1, 1900 and Dec. 31, 2999."


@pytest.fixture(autouse=True)
def fake_provider(fake_provider):
    return fake_provider


@pytest.mark.parametrize("birth_date", ["0001-01-01", "1899-12-31"])
def test_a_birth_date_before_1900_is_refused_with_the_range(analyst_client, birth_date):
    response = analyst_client.post(
        "/customers/new/", {"kind": "individual", "last_name": "Old", "birth_date": birth_date}
    )

    assert response.status_code == 200
    assert RANGE in response.text
    assert not Customer.objects.exists()
    assert not AuditEvent.objects.exists()


def test_the_birth_date_input_carries_the_bounds(analyst_client):
    html = analyst_client.get("/customers/new/?kind=individual").text
    assert 'min="1900-01-01"' in html and 'max="2999-12-31"' in html


def test_a_document_date_before_1900_refuses_the_file(analyst_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    customer = make_customer()
    request = customer.requests.get()

    response = analyst_client.post(
        f"/requests/{request.pk}/documents/",
        {
            "files": [SimpleUploadedFile("x.pdf", pdf_bytes())],
            "kind": "bank_statement",
            "document_date": "0001-01-01",
        },
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    assert RANGE in response.text
    assert not Document.objects.exists()
