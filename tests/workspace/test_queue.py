"""The case queue: filters, search, sort, count-free pagination, assignment, query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kyc.models import Customer, Document, OcrResult, ProviderJob
from tests.factories import VALID_SIRENS, make_customer, make_user

pytestmark = pytest.mark.django_db


def bulk_customers(count: int, **fields) -> list[Customer]:
    """Many valid customers quickly (the queue test needs hundreds), newest activity first."""
    now = timezone.now()
    rows = [
        Customer(
            kind="individual",
            last_name=f"Bulk{i:04d}",
            first_name="Test",
            birth_date=dt.date(1980, 1, 1) + dt.timedelta(days=i),
            **fields,
        )
        for i in range(count)
    ]
    created = Customer.objects.bulk_create(rows)
    # auto_now_add overrides the value given to bulk_create: set the activity times afterwards.
    for index, customer in enumerate(created):
        customer.last_activity_at = now - dt.timedelta(minutes=index)
    Customer.objects.bulk_update(created, ["last_activity_at"])
    return created


def names(response) -> list[str]:
    return [c.display_name for c in response.context["page"]]


def test_queue_shows_one_row_per_customer_with_its_facts(analyst_client, analyst):
    company = make_customer(kind="company", legal_name="Boulangerie Martin SAS", siren="732829320")
    Customer.objects.filter(pk=company.pk).update(risk_level="red", assignee=analyst)
    response = analyst_client.get("/")
    assert response.status_code == 200
    text = response.text
    assert "Boulangerie Martin SAS" in text
    assert "732 829 320" in text  # SIREN shown formatted
    assert "flag-red" in text
    assert analyst.username in text


def test_jobs_counts_are_per_customer(analyst_client, settings):
    settings.KYC_PROVIDERS = ["tests.fakes.FakeProvider"]
    from tests.factories import make_document, pdf_bytes

    customer = make_customer()
    make_document(customer=customer)
    failed = make_document(customer=customer, content=pdf_bytes(), name="statement.pdf")
    ProviderJob.objects.filter(document=failed).update(status="failed")
    row = next(c for c in analyst_client.get("/").context["page"] if c.pk == customer.pk)
    assert (row.pending_jobs, row.failed_jobs) == (1, 1)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=approved", ["Bulk0001 Test"]),
        ("risk=red", ["Bulk0002 Test"]),
        ("risk=none", ["Bulk0000 Test", "Bulk0001 Test"]),
        ("kind=company", ["ACME SAS"]),
    ],
)
def test_filters(analyst_client, query, expected):
    _first, second, third = bulk_customers(3)
    Customer.objects.filter(pk=second.pk).update(status="approved")
    Customer.objects.filter(pk=third.pk).update(risk_level="red")
    acme = make_customer(kind="company", legal_name="ACME SAS", siren=VALID_SIRENS[1])
    Customer.objects.filter(pk=acme.pk).update(risk_level="green")
    assert sorted(names(analyst_client.get(f"/?{query}"))) == sorted(
        [n.replace("Bulk", "BULK") if n.startswith("Bulk") else n for n in expected]
    )


def test_assignee_filter_me_and_unassigned(analyst_client, analyst):
    mine, nobody, other = bulk_customers(3)
    Customer.objects.filter(pk=mine.pk).update(assignee=analyst)
    Customer.objects.filter(pk=other.pk).update(assignee=make_user())
    assert [c.pk for c in analyst_client.get("/?assignee=me").context["page"]] == [mine.pk]
    assert [c.pk for c in analyst_client.get("/?assignee=unassigned").context["page"]] == [
        nobody.pk
    ]


def test_has_failed_jobs_filter(analyst_client, settings):
    settings.KYC_PROVIDERS = ["tests.fakes.FakeProvider"]
    from tests.factories import make_document

    ok, failing = make_customer(), make_customer()
    make_document(customer=ok)
    document = make_document(customer=failing)
    ProviderJob.objects.filter(document=document).update(status="failed")
    assert [c.pk for c in analyst_client.get("/?failed=on").context["page"]] == [failing.pk]


def test_search_by_name_siren_and_document_number(analyst_client, settings):
    settings.KYC_PROVIDERS = []
    from tests.factories import make_document

    company = make_customer(kind="company", legal_name="Transports Dubois", siren=VALID_SIRENS[2])
    person = make_customer(last_name="Lefèvre", first_name="Anne")
    document = make_document(customer=person, kind=Document.Kind.PASSPORT)
    OcrResult.objects.create(
        document=document, source="local_mrz", fields={"document_number": "18AB12345"}
    )
    bulk_customers(5)
    assert [c.pk for c in analyst_client.get("/?q=dubois").context["page"]] == [company.pk]
    siren_spaced = f"{VALID_SIRENS[2][:3]} {VALID_SIRENS[2][3:6]} {VALID_SIRENS[2][6:]}"
    assert [c.pk for c in analyst_client.get("/", {"q": siren_spaced}).context["page"]] == [
        company.pk
    ]
    assert [c.pk for c in analyst_client.get("/?q=18ab12345").context["page"]] == [person.pk]
    assert list(analyst_client.get("/?q=nobody-by-that-name").context["page"]) == []


def test_sort_by_name_both_ways_and_default_by_activity(analyst_client):
    bulk_customers(3)
    ascending = ["BULK0000 Test", "BULK0001 Test", "BULK0002 Test"]
    assert names(analyst_client.get("/?sort=name")) == ascending
    assert names(analyst_client.get("/?sort=-name")) == ascending[::-1]
    assert names(analyst_client.get("/")) == ascending


def test_sort_by_risk_puts_red_first(analyst_client):
    green, red, orange = bulk_customers(3)
    for customer, color in ((green, "green"), (red, "red"), (orange, "orange")):
        Customer.objects.filter(pk=customer.pk).update(risk_level=color)
    ordered = [c.pk for c in analyst_client.get("/?sort=risk").context["page"]]
    assert ordered == [red.pk, orange.pk, green.pk]


def test_pagination_without_a_total_count(analyst_client, django_assert_max_num_queries):
    bulk_customers(120)
    first = analyst_client.get("/")
    assert len(first.context["page"].rows) == 50
    assert first.context["page"].has_next
    third = analyst_client.get("/?page=3")
    assert len(third.context["page"].rows) == 20
    assert not third.context["page"].has_next
    assert 'rel="prev"' in third.text
    seen = {c.pk for n in (1, 2, 3) for c in analyst_client.get(f"/?page={n}").context["page"]}
    assert len(seen) == 120


def test_filters_stay_in_the_page_links(analyst_client):
    bulk_customers(60)
    response = analyst_client.get("/?kind=individual&sort=name")
    assert "kind=individual&amp;sort=name&amp;page=2" in response.text


@pytest.mark.parametrize(
    "query", ["page=abc", "page=-4", "sort=evil", "status=nope", "risk=<script>", "page=99999999"]
)
def test_bad_query_strings_fall_back_instead_of_failing(analyst_client, query):
    bulk_customers(2)
    response = analyst_client.get(f"/?{query}")
    assert response.status_code == 200


def test_htmx_request_gets_only_the_table(analyst_client):
    bulk_customers(2)
    response = analyst_client.get(
        "/?sort=name", headers={"HX-Request": "true", "HX-Target": "case-table"}
    )
    assert 'id="case-table"' in response.text
    assert "<html" not in response.text


def test_queue_query_count_does_not_grow_with_rows(
    analyst_client, analyst, django_assert_max_num_queries
):
    customers = bulk_customers(200)
    Customer.objects.filter(pk__in=[c.pk for c in customers[::3]]).update(assignee=analyst)
    with django_assert_max_num_queries(12):
        response = analyst_client.get("/")
    assert len(response.context["page"].rows) == 50
    with django_assert_max_num_queries(12):
        analyst_client.get("/?q=bulk&risk=none&failed=on&sort=assignee&page=2")


def test_assign_to_me_with_htmx_returns_the_row(analyst_client, analyst):
    (customer,) = bulk_customers(1)
    response = analyst_client.post(
        f"/customers/{customer.pk}/assign/", {"row": "1"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert f'id="case-{customer.pk}"' in response.text and "<html" not in response.text
    customer.refresh_from_db()
    assert customer.assignee == analyst


def test_assign_without_js_redirects_back_and_ignores_foreign_next(analyst_client, analyst):
    (customer,) = bulk_customers(1)
    response = analyst_client.post(
        f"/customers/{customer.pk}/assign/", {"next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{customer.pk}/"


def test_next_unassigned_case_assigns_the_oldest_open_one(analyst_client, analyst):
    _newest, older, oldest = bulk_customers(3)
    Customer.objects.filter(pk=oldest.pk).update(status="approved")  # closed: skipped
    response = analyst_client.post("/queue/next/")
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{older.pk}/"
    older.refresh_from_db()
    assert older.assignee == analyst


def test_next_unassigned_case_when_none_is_left(analyst_client):
    response = analyst_client.post("/queue/next/", follow=True)
    assert "no unassigned open case" in response.text


def test_a_user_without_a_role_sees_no_customer_and_cannot_assign(client):
    bulk_customers(3)
    nobody = make_user(role=None)
    client.force_login(nobody)
    assert list(client.get("/").context["page"]) == []
    customer = Customer.objects.first()
    assert client.post(f"/customers/{customer.pk}/assign/").status_code == 403
    customer.refresh_from_db()
    assert customer.assignee is None
