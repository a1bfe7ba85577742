"""A SIREN written with non-ASCII digits or separators is the same SIREN in every lookup: the
duplicate warning on creation, the live SIREN check, the queue search and the admin search."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kyc.models import AnalysisRequest, AuditEvent, Customer
from tests.factories import make_customer

pytestmark = pytest.mark.django_db

SIREN = "732829320"
FULL_WIDTH = "".join(chr(0xFF10 + int(d)) for d in SIREN)
ARABIC_INDIC = "".join(chr(0x0660 + int(d)) for d in SIREN)
WRITINGS = [FULL_WIDTH, ARABIC_INDIC, "732\u00a0829\u00a0320", "732.829.320"]
ids = ["full-width", "arabic-indic", "no-break-spaces", "dots"]


@pytest.fixture(autouse=True)
def fake_provider(fake_provider):
    return fake_provider


@pytest.fixture
def first_file():
    return make_customer(kind=Customer.Kind.COMPANY, legal_name="Roux SAS", siren=SIREN)


@pytest.mark.parametrize("typed", WRITINGS, ids=ids)
def test_a_second_file_for_the_same_siren_warns_however_its_digits_are_written(
    analyst_client, first_file, typed
):
    data = {"kind": "company", "legal_name": "Roux bis", "siren": typed}

    response = analyst_client.post("/customers/new/", data)

    assert response.status_code == 200
    assert "already exists" in response.text
    assert f"/customers/{first_file.pk}/" in response.text
    assert Customer.objects.count() == 1
    # The confirmation step carries the number as stored, and creates the second file.
    assert f'value="{SIREN}"' in response.text
    confirmed = analyst_client.post("/customers/new/", {**data, "confirm_duplicate": "on"})
    assert confirmed.status_code == 302
    second = Customer.objects.exclude(pk=first_file.pk).get()
    assert second.siren == SIREN
    assert second.requests.get().code_id == SIREN


def test_a_first_file_typed_in_full_width_digits_is_stored_in_ascii(analyst_client):
    response = analyst_client.post(
        "/customers/new/", {"kind": "company", "legal_name": "Roux SAS", "siren": FULL_WIDTH}
    )

    assert response.status_code == 302
    assert Customer.objects.get().siren == SIREN
    assert AnalysisRequest.objects.get().code_id == SIREN
    assert AuditEvent.objects.get(action="customer.create").after["siren"] == SIREN


@pytest.mark.parametrize("typed", WRITINGS, ids=ids)
def test_the_live_siren_check_finds_the_existing_file(analyst_client, first_file, typed):
    response = analyst_client.get("/customers/siren-check/", {"siren": typed})

    assert "Valid SIREN" in response.text
    assert "732 829 320" in response.text
    assert "Roux SAS" in response.text


def test_the_live_siren_check_says_letters_are_not_a_siren(analyst_client):
    response = analyst_client.get("/customers/siren-check/", {"siren": "73282932O"})
    assert "exactly nine digits" in response.text


@pytest.mark.parametrize("typed", WRITINGS, ids=ids)
def test_the_queue_search_finds_the_file_by_its_siren(analyst_client, first_file, typed):
    make_customer(kind=Customer.Kind.COMPANY, legal_name="Other SA", siren="552100554")

    response = analyst_client.get("/", {"q": typed})

    assert list(response.context["page"].rows) == [first_file]


@pytest.mark.parametrize("typed", [*WRITINGS, "732 829 320"], ids=[*ids, "spaces"])
def test_the_admin_search_finds_the_file_by_its_siren(admin_client, first_file, typed):
    make_customer(kind=Customer.Kind.COMPANY, legal_name="Other SA", siren="552100554")

    customers = admin_client.get(reverse("admin:kyc_customer_changelist"), {"q": typed})
    requests = admin_client.get(reverse("admin:kyc_analysisrequest_changelist"), {"q": typed})

    assert list(customers.context["cl"].result_list) == [first_file]
    assert list(requests.context["cl"].result_list) == [first_file.requests.get()]
