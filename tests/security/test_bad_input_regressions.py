"""Regression tests for what the bad-input corpus (test_bad_input_corpus.py) found: each of these
answered 500 or wrote a row before its fix."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from kyc.models import AuditEvent, Customer, Document
from tests.builders import make_alert
from tests.factories import make_customer, make_document, png_bytes, upload

# Not a path on this site, or not one that redirect() takes as a URL: a word without a slash or a
# dot was looked up as a URL pattern name (NoReverseMatch, a 500), NUL bytes and bytes that are
# not UTF-8 too; other hosts are an open redirect.
NOT_LOCAL = [
    "abc",
    "' OR '1'='1' --",
    "a\x00b",
    "\ufffd",
    "//evil.example/x",
    "https://evil.example/",
]


@pytest.mark.parametrize("next_url", NOT_LOCAL)
def test_assigning_a_case_with_a_next_that_is_not_a_local_path_goes_back_to_the_file(
    analyst_client, analyst, next_url
):
    customer = make_customer(actor=analyst)

    response = analyst_client.post(
        reverse("kyc:customer-assign", args=[customer.pk]), {"next": next_url}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("kyc:customer-detail", args=[customer.pk])


@pytest.mark.parametrize("next_url", NOT_LOCAL)
def test_reviewing_an_alert_with_a_next_that_is_not_a_local_path_goes_back_to_the_inbox(
    analyst_client, analyst, next_url
):
    alert = make_alert(customer=make_customer(actor=analyst))

    response = analyst_client.post(
        reverse("kyc:alert-review", args=[alert.pk]),
        {"action": "acknowledge", "next": next_url},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("kyc:alerts-inbox")


def test_a_local_next_path_is_followed(analyst_client, analyst):
    customer = make_customer(actor=analyst)

    response = analyst_client.post(
        reverse("kyc:customer-assign", args=[customer.pk]), {"next": "/?status=open&page=2"}
    )

    assert response["Location"] == "/?status=open&page=2"


@pytest.mark.parametrize("url_name", ["login", "admin:login"])
def test_a_username_of_a_hundred_thousand_characters_is_refused_without_a_server_error(
    client, analyst, url_name
):
    # SQLite refuses a LIKE pattern over 50,000 bytes: the failed log-in's audit lookup (iexact)
    # answered 500 before the username's length was enforced.
    response = client.post(reverse(url_name), {"username": "a" * 100_000, "password": "whatever"})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert not AuditEvent.objects.filter(action="auth.login_failed").exists()


def test_a_wrong_password_is_still_counted_and_audited(client, analyst):
    response = client.post(reverse("login"), {"username": "analyst1", "password": "wrong"})

    assert response.status_code == 200
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == 1


@pytest.mark.parametrize(
    "url_name",
    ["admin:kyc_customer_changelist", "admin:auth_user_changelist", "admin:auth_group_changelist"],
)
def test_an_admin_search_over_the_limit_finds_nothing_and_says_why(admin_user, url_name):
    client = Client()
    client.force_login(admin_user)
    make_customer(actor=admin_user)

    response = client.get(reverse(url_name), {"q": "x" * 60_000})

    assert response.status_code == 200
    assert "Searches are limited to 200 characters" in response.text


def test_an_admin_search_within_the_limit_still_finds(admin_user):
    client = Client()
    client.force_login(admin_user)
    customer = make_customer(actor=admin_user, last_name="Zyxwvut")

    response = client.get(reverse("admin:kyc_customer_changelist"), {"q": "Zyxwvut"})

    assert response.status_code == 200
    assert customer.name in response.text


@pytest.mark.parametrize(
    "url_name,param",
    [
        ("admin:kyc_customer_changelist", "kind__exact"),
        ("admin:kyc_webhookevent_changelist", "provider__exact"),
        ("admin:django_tasks_database_dbtaskresult_changelist", "status__exact"),
    ],
)
def test_a_nul_character_in_an_admin_filter_is_an_invalid_filter(admin_user, url_name, param):
    # PostgreSQL refuses NUL in any string: a 500 there before the change lists checked.
    client = Client()
    client.force_login(admin_user)

    response = client.get(reverse(url_name), {param: "a\x00b"})

    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


def test_every_model_admin_bounds_its_search():
    from django.contrib import admin

    from kyc.admin import SafeInputAdminMixin

    assert all(isinstance(a, SafeInputAdminMixin) for a in admin.site._registry.values())


@pytest.mark.parametrize("year", ["99999999999999999999", "9999", "0", "-1"])
def test_an_admin_date_hierarchy_year_out_of_range_is_an_invalid_filter(admin_user, year):
    client = Client()
    client.force_login(admin_user)

    response = client.get(reverse("admin:kyc_customer_changelist"), {"created_at__year": year})

    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


@pytest.mark.parametrize("birth_date", [dt.date(1, 1, 1), dt.date(1899, 12, 31)])
def test_a_birth_date_before_1900_is_refused(analyst, birth_date):
    with pytest.raises(ValidationError) as refused:
        make_customer(actor=analyst, birth_date=birth_date)

    assert refused.value.message_dict["birth_date"] == ["A birth date cannot be before 1900."]
    assert not Customer.objects.exists()


def test_the_creation_form_shows_a_birth_date_before_1900_as_an_error(analyst_client):
    response = analyst_client.post(
        reverse("kyc:customer-create"),
        {"kind": "individual", "last_name": "Martin", "birth_date": "0001-01-01"},
    )

    assert response.status_code == 200
    # The form refuses it first, saying the accepted range (kyc.forms.BoundedDateField).
    assert "Enter a date between" in response.text and "1900" in response.text
    assert not Customer.objects.exists()


def test_a_document_dated_before_1900_is_refused_and_not_stored(analyst_client, analyst):
    from tests.security.test_corpus import stored_files

    customer = make_customer(actor=analyst)
    url = reverse("kyc:document-upload", args=[customer.requests.get().pk])

    response = analyst_client.post(
        url,
        {"files": [upload(png_bytes())], "kind": "other", "document_date": "0001-01-01"},
        follow=True,
    )

    assert "Enter a date between" in response.text and "1900" in response.text
    assert not Document.objects.exists()
    assert stored_files() == set()
    # And through the service directly.
    with pytest.raises(ValidationError):
        make_document(customer=customer, actor=analyst, document_date=dt.date(1899, 12, 31))


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_the_customer_creation_page_refuses_other_methods(analyst_client, method):
    response = getattr(analyst_client, method)(reverse("kyc:customer-create"))

    assert response.status_code == 405
