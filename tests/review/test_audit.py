"""The global audit log, its CSV export and the append-only rule."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from kyc.models import AuditEvent
from kyc.services import audit_record
from tests.factories import make_customer, make_user
from tests.review.conftest import htmx

pytestmark = pytest.mark.django_db


def table(response) -> str:
    """The audit table alone (the filter form lists action names too)."""
    html = response.text
    return html[html.index('id="audit-table"') :]


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_analysts_may_not_read_or_export_the_audit_log(analyst_client):
    assert analyst_client.get("/audit/").status_code == 403
    assert analyst_client.get("/audit/export.csv").status_code == 403
    assert not AuditEvent.objects.filter(action="audit.export").exists()


def test_the_audit_log_lists_events_newest_first_with_their_details(reviewer_client):
    customer = make_customer(last_name="Martin")
    html = table(reviewer_client.get("/audit/"))
    assert html.index("request.open") < html.index("customer.create")
    assert "MARTIN" in html
    assert f"/customers/{customer.pk}/" in html
    assert "&quot;code&quot;" in html  # the after JSON, escaped


def test_filters_by_user_action_customer_and_dates(reviewer_client, analyst):
    mine = make_customer(actor=analyst, last_name="Mine")
    other_user = make_user(role="analyst")
    theirs = make_customer(actor=other_user, last_name="Theirs")

    html = table(reviewer_client.get(f"/audit/?actor={analyst.pk}"))
    assert "MINE" in html and "THEIRS" not in html
    html = table(reviewer_client.get(f"/audit/?customer={theirs.pk}"))
    assert "THEIRS" in html and "MINE" not in html
    html = table(reviewer_client.get("/audit/?action=customer."))
    assert "customer.create" in html and "request.open" not in html
    html = table(reviewer_client.get("/audit/?action=request.open"))
    assert "request.open" in html and "customer.create" not in html
    today = timezone.localdate()
    assert "MINE" in reviewer_client.get(f"/audit/?date_from={today}&date_to={today}").text
    tomorrow = today + dt.timedelta(days=1)
    html = table(reviewer_client.get(f"/audit/?date_from={tomorrow}"))
    assert "No audit event matches these filters." in html
    yesterday = today - dt.timedelta(days=1)
    assert "MINE" not in reviewer_client.get(f"/audit/?date_to={yesterday}").text
    # System rows (no actor).
    audit_record(actor=None, action="job.completed", obj=mine, customer=mine)
    html = table(reviewer_client.get("/audit/?actor=system"))
    assert "job.completed" in html and "customer.create" not in html
    assert mine.pk


def test_bad_filter_values_are_ignored(reviewer_client):
    make_customer()
    response = reviewer_client.get("/audit/?actor=zz&customer=abc&date_from=31-31-2020&page=-4")
    assert response.status_code == 200
    assert "customer.create" in response.text


def test_htmx_returns_the_table_fragment(reviewer_client):
    make_customer()
    response = reviewer_client.get("/audit/?action=customer.", headers=htmx("audit-table"))
    assert 'id="audit-table"' in response.text
    assert "<html" not in response.text
    # The export link follows the filters.
    assert "/audit/export.csv?action=customer." in response.text


def test_the_audit_log_pages_without_count_and_with_bounded_queries(
    reviewer_client, django_assert_max_num_queries
):
    customer = make_customer()
    actors = [make_user(role="analyst") for _ in range(5)]
    AuditEvent.objects.bulk_create(
        AuditEvent(
            actor=actors[n % 5],
            action="document.view",
            object_type="document",
            object_id=str(n),
            customer=customer,
            after={"n": n},
        )
        for n in range(500)
    )
    with django_assert_max_num_queries(10) as captured:
        response = reviewer_client.get("/audit/")
    assert response.text.count('<tr id="audit-') == 50
    assert 'rel="next"' in response.text
    assert not any("COUNT(" in q["sql"].upper() for q in captured.captured_queries)
    with django_assert_max_num_queries(10):
        page = reviewer_client.get("/audit/?page=10")
    assert page.text.count('<tr id="audit-') == 50
    assert 'rel="next"' in page.text  # 500 events + those of make_customer


def test_the_export_streams_the_filtered_rows_and_is_itself_audited(reviewer_client, reviewer):
    customer = make_customer(last_name="Export")
    response = reviewer_client.get(f"/audit/export.csv?customer={customer.pk}")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment;" in response["Content-Disposition"]
    rows = csv_rows(response)
    assert rows[0][:3] == ["time", "user", "action"]
    actions = [row[2] for row in rows[1:]]
    assert set(actions) == {"customer.create", "request.open"}
    assert all(row[5] == str(customer.pk) for row in rows[1:])
    export = AuditEvent.objects.get(action="audit.export")
    assert export.actor == reviewer
    assert export.after == {"filters": {"customer_id": customer.pk}}


def test_the_export_neutralises_spreadsheet_formulas(reviewer_client):
    customer = make_customer(last_name='=HYPERLINK("http://evil")', first_name="+1")
    # audit_record refuses such an action: a row written by hand must still be neutralised.
    AuditEvent.objects.create(
        action="@SUM(A1)",
        object_type="customer",
        object_id=str(customer.pk),
        customer=customer,
        after={"x": "-2"},
    )
    rows = csv_rows(reviewer_client.get(f"/audit/export.csv?customer={customer.pk}"))
    cells = [cell for row in rows[1:] for cell in row]
    assert "'@SUM(A1)" in cells
    assert any(cell.startswith("'=HYPERLINK") for cell in cells)
    for cell in cells:
        assert not cell.startswith(("=", "+", "-", "@")), cell


def test_the_export_is_streamed_with_a_bounded_number_of_queries(
    reviewer_client, django_assert_max_num_queries
):
    customer = make_customer()
    AuditEvent.objects.bulk_create(
        AuditEvent(
            action="document.view", object_type="document", object_id=str(n), customer=customer
        )
        for n in range(500)
    )
    with django_assert_max_num_queries(10):
        rows = csv_rows(reviewer_client.get("/audit/export.csv"))
    assert len(rows) > 500


def test_audit_rows_cannot_be_changed_through_the_admin(admin_user, client):
    customer = make_customer()
    event = AuditEvent.objects.filter(customer=customer).first()
    action = event.action
    client.force_login(admin_user)
    client.post(f"/admin/kyc/auditevent/{event.pk}/change/", {"action": "tampered"})
    assert (
        client.post(f"/admin/kyc/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    event.refresh_from_db()
    assert event.action == action


OUT_OF_RANGE = ["date_to=9999-12-31", "date_from=0001-01-01", "date_from=9999-12-31"]


@pytest.mark.parametrize("query", OUT_OF_RANGE)
def test_dates_out_of_range_are_refused_with_a_message_not_a_500(reviewer_client, query):
    make_customer(last_name="Kept")

    response = reviewer_client.get(f"/audit/?{query}")

    assert response.status_code == 200
    assert "Enter a date between Jan. 1, 1900 and Dec. 31, 2999." in table(response)
    assert "These filters are not applied:" in response.text
    assert "KEPT" in table(response)  # the other filters still apply; this one is ignored


@pytest.mark.parametrize("query", OUT_OF_RANGE)
def test_an_export_with_a_date_out_of_range_is_refused_and_not_audited(reviewer_client, query):
    make_customer()

    response = reviewer_client.get(f"/audit/export.csv?{query}")

    assert response.status_code == 400
    assert not response.streaming
    assert "Nothing was exported: correct these filters first." in response.text
    assert "Enter a date between" in response.text
    assert not AuditEvent.objects.filter(action="audit.export").exists()


def test_an_export_with_an_unreadable_filter_is_refused_rather_than_widened(reviewer_client):
    customer = make_customer()

    response = reviewer_client.get(f"/audit/export.csv?customer={customer.pk}&date_from=2020-31-31")

    assert response.status_code == 400
    assert not AuditEvent.objects.filter(action="audit.export").exists()


def test_the_widest_dates_allowed_filter_without_error(reviewer_client):
    make_customer(last_name="Wide")
    query = "date_from=1900-01-01&date_to=2999-12-31"

    assert "WIDE" in table(reviewer_client.get(f"/audit/?{query}"))
    rows = csv_rows(reviewer_client.get(f"/audit/export.csv?{query}"))
    assert {row[2] for row in rows[1:]} >= {"customer.create"}
    assert AuditEvent.objects.get(action="audit.export").after == {
        "filters": {"date_from": "1900-01-01", "date_to": "2999-12-31"}
    }


def test_the_date_inputs_carry_the_bounds(reviewer_client):
    html = reviewer_client.get("/audit/").text
    assert 'name="date_from" value="" min="1900-01-01" max="2999-12-31"' in html
