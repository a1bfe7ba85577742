"""Manager alerts: per customer (persons -> companies -> dated alerts) and the inbox."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kyc.models import AuditEvent, ManagerAlert
from tests.builders import make_alert, make_officer, make_officer_role
from tests.factories import make_customer
from tests.review.conftest import htmx

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def company_with_managers():
    customer = make_customer(kind="company", legal_name="Acme SAS")
    request = customer.requests.get()
    doe = make_officer(
        request=request,
        last_name="Doe",
        first_name="John",
        birth_date=dt.date(1979, 1, 1),
        confidence=100,
    )
    holding = make_officer_role(
        officer=doe,
        company_name="Doe Holding",
        siren="552100554",
        start_date=dt.date(2002, 2, 7),
        end_date=None,
    )
    old = make_officer_role(
        officer=doe,
        company_name="Old Co",
        siren="542051180",
        start_date=dt.date(1999, 1, 1),
        end_date=dt.date(2001, 12, 31),
    )
    smith = make_officer(request=request, last_name="Smith", first_name="Ann", confidence=62)
    smith_co = make_officer_role(officer=smith, company_name="Smith SARL", siren="")
    alerts = {
        "sleep": make_alert(
            role=holding, date=dt.date(2011, 10, 31), name="Mise en sommeil", level="low"
        ),
        "liquidation": make_alert(
            role=holding, date=dt.date(2019, 5, 2), name="Liquidation judiciaire", level="high"
        ),
        "late": make_alert(
            role=old, date=dt.date(2001, 6, 1), name="Comptes non déposés", level="medium"
        ),
        "smith": make_alert(
            role=smith_co, date=dt.date(2020, 1, 1), name="Redressement", level="medium"
        ),
    }
    return customer, alerts


# ---------------------------------------------------------------------------------- per customer


def test_customer_alerts_show_persons_companies_and_dated_alerts(analyst_client):
    customer, alerts = company_with_managers()
    html = analyst_client.get(f"/customers/{customer.pk}/alerts/").text
    assert "DOE John" in html
    assert "match confidence 100 %" in html
    assert 'value="62"' in html  # Smith's match confidence meter
    assert "Doe Holding" in html and "552100554" in html
    assert "still in office" in html
    assert "until" in html  # Old Co ended
    for alert in alerts.values():
        assert alert.name in html
    # Newest first within a company.
    assert html.index("Liquidation judiciaire") < html.index("Mise en sommeil")


def test_customer_alerts_sort_oldest_first(analyst_client):
    customer, _alerts = company_with_managers()
    html = analyst_client.get(f"/customers/{customer.pk}/alerts/?sort=oldest").text
    assert html.index("Mise en sommeil") < html.index("Liquidation judiciaire")


def test_customer_alerts_filter_by_level_hides_other_levels_and_empty_companies(analyst_client):
    customer, _alerts = company_with_managers()
    html = analyst_client.get(f"/customers/{customer.pk}/alerts/?level=high").text
    assert "Liquidation judiciaire" in html
    assert "Mise en sommeil" not in html
    assert "Old Co" not in html
    assert "SMITH" not in html
    html = analyst_client.get(f"/customers/{customer.pk}/alerts/?level=medium&level=low").text
    assert "Liquidation judiciaire" not in html
    assert "Mise en sommeil" in html and "Redressement" in html


def test_a_bad_level_filter_falls_back_to_all(analyst_client):
    customer, _alerts = company_with_managers()
    response = analyst_client.get(f"/customers/{customer.pk}/alerts/?level=nope&sort=zzz")
    assert response.status_code == 200
    assert "Liquidation judiciaire" in response.text


def test_customer_alerts_htmx_returns_the_timeline_fragment(analyst_client):
    customer, _alerts = company_with_managers()
    response = analyst_client.get(
        f"/customers/{customer.pk}/alerts/?level=high", headers=htmx("alerts-timeline")
    )
    assert 'id="alerts-timeline"' in response.text
    assert "<html" not in response.text
    assert "Liquidation judiciaire" in response.text


def test_customer_alerts_page_of_an_invisible_customer_is_404(client, nobody):
    customer, _alerts = company_with_managers()
    client.force_login(nobody)
    assert client.get(f"/customers/{customer.pk}/alerts/").status_code == 404


def test_customer_alerts_page_has_bounded_queries(analyst_client, django_assert_max_num_queries):
    customer = make_customer(kind="company")
    request = customer.requests.get()
    for n in range(10):
        officer = make_officer(request=request, last_name=f"Officer{n}")
        for m in range(3):
            role = make_officer_role(officer=officer, company_name=f"Co {n}-{m}")
            for k in range(3):
                make_alert(role=role, customer=customer, name=f"A{k}", level="high")
    with django_assert_max_num_queries(12):
        response = analyst_client.get(f"/customers/{customer.pk}/alerts/")
    assert response.text.count('class="alert-item') == 90


def test_the_customer_file_summarises_alerts(analyst_client):
    customer, _alerts = company_with_managers()
    html = analyst_client.get(f"/customers/{customer.pk}/").text
    assert 'id="alerts-summary"' in html
    assert "High: 1" in html and "Medium: 2" in html and "Low: 1" in html
    assert "4 alerts to review" in html
    assert f"/customers/{customer.pk}/alerts/" in html


# ------------------------------------------------------------------------------------- inbox


def test_inbox_lists_recent_high_and_medium_alerts_newest_first(analyst_client):
    recent_high = make_alert(level="high", date=TODAY - dt.timedelta(days=2), name="Recent high")
    newest_medium = make_alert(level="medium", date=TODAY, name="Newest medium")
    make_alert(level="low", date=TODAY, name="Low one")
    make_alert(level="high", date=TODAY - dt.timedelta(days=45), name="Old high")
    undated = make_alert(level="high", date=None, name="Undated high")
    html = analyst_client.get("/alerts/").text
    assert "Low one" not in html
    assert "Old high" not in html
    assert html.index(undated.name) < html.index(newest_medium.name) < html.index(recent_high.name)


def test_inbox_days_parameter_widens_the_window(analyst_client):
    make_alert(level="high", date=TODAY - dt.timedelta(days=45), name="Old high")
    assert "Old high" in analyst_client.get("/alerts/?days=60").text
    assert "Old high" not in analyst_client.get("/alerts/?days=oops").text


def test_inbox_hides_reviewed_alerts_unless_asked(analyst_client, analyst):
    alert = make_alert(name="Done already")
    ManagerAlert.objects.filter(pk=alert.pk).update(
        review_status="acknowledged", reviewed_by=analyst, reviewed_at=timezone.now()
    )
    assert "Done already" not in analyst_client.get("/alerts/").text
    assert "Done already" in analyst_client.get("/alerts/?status=reviewed").text
    assert "Done already" in analyst_client.get("/alerts/?status=all").text


def test_inbox_htmx_returns_the_table_fragment(analyst_client):
    make_alert(name="Fragment alert")
    response = analyst_client.get("/alerts/?days=7", headers=htmx("alerts-inbox-table"))
    assert 'id="alerts-inbox-table"' in response.text
    assert "<html" not in response.text
    assert "Fragment alert" in response.text


def test_inbox_needs_a_role(client, nobody):
    client.force_login(nobody)
    assert client.get("/alerts/").status_code == 403


def test_inbox_with_200_alerts_has_bounded_queries_and_no_count(
    analyst_client, django_assert_max_num_queries
):
    customers = [make_customer(kind="company") for _ in range(4)]
    for n in range(200):
        officer_customer = customers[n % 4]
        role = make_officer_role(
            officer=make_officer(request=officer_customer.requests.get(), last_name=f"O{n}")
        )
        make_alert(role=role, level="high" if n % 2 else "medium", name=f"Alert {n}")
    with django_assert_max_num_queries(12) as captured:
        response = analyst_client.get("/alerts/")
    assert response.text.count('class="level-row-') == 50
    assert 'rel="next"' in response.text
    assert not any("COUNT(" in q["sql"].upper() for q in captured.captured_queries)


# ------------------------------------------------------------------------------------ review


def test_acknowledge_with_htmx_swaps_the_review_fragment_and_announces_it(analyst_client, analyst):
    alert = make_alert()
    response = analyst_client.post(
        f"/alerts/{alert.pk}/review/",
        {"action": "acknowledge", "note": "Known, case escalated.", "next": "/alerts/"},
        headers=htmx(f"alert-review-{alert.pk}"),
    )
    assert response.status_code == 200
    assert f'id="alert-review-{alert.pk}"' in response.text
    assert "<html" not in response.text
    assert "Acknowledged" in response.text
    assert "alerts-changed" in response["HX-Trigger"]
    alert.refresh_from_db()
    assert alert.review_status == "acknowledged"
    assert alert.reviewed_by == analyst


def test_dismiss_without_note_with_htmx_shows_the_error_and_changes_nothing(analyst_client):
    alert = make_alert()
    response = analyst_client.post(
        f"/alerts/{alert.pk}/review/", {"action": "dismiss", "note": ""}, headers=htmx()
    )
    assert response.status_code == 200
    assert "Say why this alert is dismissed." in response.text
    assert "HX-Trigger" not in response
    alert.refresh_from_db()
    assert alert.review_status == "open"
    assert not AuditEvent.objects.filter(action__startswith="alert.").exists()


def test_dismiss_without_js_redirects_back_with_a_message(analyst_client):
    alert = make_alert(name="Sanction list")
    response = analyst_client.post(
        f"/alerts/{alert.pk}/review/",
        {"action": "dismiss", "note": "Homonym, different birth date.", "next": "/alerts/?days=7"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/alerts/?days=7"
    assert "Sanction list" in response.text and "dismissed" in response.text
    alert.refresh_from_db()
    assert alert.review_status == "dismissed"
    assert alert.review_note == "Homonym, different birth date."


def test_review_redirect_ignores_foreign_next_urls(analyst_client):
    alert = make_alert()
    response = analyst_client.post(
        f"/alerts/{alert.pk}/review/",
        {"action": "acknowledge", "next": "https://evil.example/"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/alerts/"


def test_a_second_review_is_refused_with_who_did_the_first(analyst_client, client, reviewer):
    alert = make_alert()
    analyst_client.post(f"/alerts/{alert.pk}/review/", {"action": "acknowledge"})
    client.force_login(reviewer)
    response = client.post(
        f"/alerts/{alert.pk}/review/", {"action": "dismiss", "note": "no"}, headers=htmx()
    )
    assert "already acknowledged by analyst1" in response.text
    alert.refresh_from_db()
    assert alert.review_status == "acknowledged"
    assert AuditEvent.objects.filter(action__startswith="alert.").count() == 1


def test_a_user_without_role_cannot_review_an_alert(client, nobody):
    alert = make_alert()
    client.force_login(nobody)
    assert client.post(f"/alerts/{alert.pk}/review/", {"action": "acknowledge"}).status_code == 403
    alert.refresh_from_db()
    assert alert.review_status == "open"


def test_an_alert_of_an_erased_customer_is_404(analyst_client):
    alert = make_alert()
    type(alert.customer).objects.filter(pk=alert.customer_id).update(erased_at=timezone.now())
    response = analyst_client.post(f"/alerts/{alert.pk}/review/", {"action": "acknowledge"})
    assert response.status_code == 404
    alert.refresh_from_db()
    assert alert.review_status == "open"


def test_review_needs_post(analyst_client):
    alert = make_alert()
    assert analyst_client.get(f"/alerts/{alert.pk}/review/").status_code == 405


def test_vendor_strings_in_alert_pages_are_escaped(analyst_client):
    xss = '<script>alert("x")</script>'
    customer = make_customer(kind="company")
    officer = make_officer(request=customer.requests.get(), last_name=xss, first_name=xss)
    role = make_officer_role(officer=officer, company_name=xss)
    make_alert(role=role, name=xss, review_status="dismissed", review_note=xss)
    make_alert(role=role, name=xss + " open")
    for url in (
        f"/customers/{customer.pk}/alerts/",
        "/alerts/?status=all",
        f"/customers/{customer.pk}/",
    ):
        html = analyst_client.get(url).text
        assert "<script>alert" not in html, url
        assert "&lt;script&gt;" in html or url.endswith(f"/{customer.pk}/"), url
