"""Bounded queries on the customer file with every review panel filled."""

from __future__ import annotations

import pytest

from kyc import services
from kyc.models import Report
from tests.builders import make_alert, make_decision, make_officer, make_officer_role, make_report
from tests.factories import make_customer, make_document, make_user

pytestmark = pytest.mark.django_db

CUSTOMER_FILE_MAX_QUERIES = 15


def test_customer_file_with_200_reports_alerts_and_decisions_has_bounded_queries(
    reviewer_client, django_assert_max_num_queries
):
    customer = make_customer(kind="company")
    request = customer.requests.get()
    documents = [make_document(customer=customer, name=f"doc{n}.png") for n in range(5)]
    sources = list(Report.Source.values)
    for n in range(200):
        make_report(request=request, document=documents[n % 5], source=sources[n % len(sources)])
    officer = make_officer(request=request)
    for n in range(20):
        make_alert(role=make_officer_role(officer=officer), customer=customer, name=f"A{n}")
    analyst = make_user(role="analyst")
    for _ in range(10):
        old = make_decision(customer=customer, proposed_by=analyst)
        old.status = "sent_back"
        old.save()
    services.decision_propose(
        customer=customer, actor=analyst, outcome="approve", reason_code="DOCS_OK", reason="ok"
    )
    reviewer_client.get("/")  # the session's idle clock is saved once a minute, not per page
    with django_assert_max_num_queries(CUSTOMER_FILE_MAX_QUERIES) as captured:
        response = reviewer_client.get(f"/customers/{customer.pk}/")
    assert response.status_code == 200
    print(f"customer file: {len(captured.captured_queries)} queries")
    html = response.text
    assert html.count('href="/reports/') == len(sources)  # one summary line per source
    assert "200 reports in all." in html
    assert "20 alerts to review" in html
    assert html.count('class="decision-') >= 11
