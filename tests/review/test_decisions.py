"""The decisions panel of the customer file: what each user sees, htmx and plain POST flows."""

from __future__ import annotations

import pytest

from kyc import services
from kyc.models import AuditEvent, Customer, Decision
from tests.builders import make_report
from tests.factories import make_customer, make_user
from tests.review.conftest import htmx

pytestmark = pytest.mark.django_db

PROPOSAL = {
    "outcome": "approve",
    "reason_code": "DOCS_OK",
    "reason": "Passport, proof of address and Kbis are consistent.",
}


def propose(customer, actor, **overrides):
    return services.decision_propose(customer=customer, actor=actor, **{**PROPOSAL, **overrides})


def test_the_customer_file_offers_the_propose_form_with_the_reason_codes(analyst_client):
    customer = make_customer()
    html = analyst_client.get(f"/customers/{customer.pk}/").text
    assert 'id="decisions-panel"' in html
    assert f'action="/customers/{customer.pk}/decisions/"' in html
    for code in ("DOCS_OK", "ID_MISMATCH", "FRAUD_SUSPECTED", "SANCTIONS_HIT", "INCOMPLETE_FILE"):
        assert f'value="{code}"' in html
    assert "Request more information" in html


def test_propose_with_htmx_re_renders_the_panel_and_announces_it(analyst_client, analyst):
    customer = make_customer()
    response = analyst_client.post(
        f"/customers/{customer.pk}/decisions/", PROPOSAL, headers=htmx("decisions-panel")
    )
    assert response.status_code == 200
    assert 'id="decisions-panel"' in response.text
    assert "<html" not in response.text
    assert "decisions-changed" in response["HX-Trigger"]
    assert "Awaiting review" in response.text
    # The proposer is told why they cannot confirm, and is offered no button.
    assert "another reviewer must confirm it" in response.text
    assert "/confirm/" not in response.text
    decision = Decision.objects.get(customer=customer)
    assert decision.proposed_by == analyst


def test_propose_errors_with_htmx_stay_in_the_form(analyst_client):
    customer = make_customer()
    response = analyst_client.post(
        f"/customers/{customer.pk}/decisions/",
        {**PROPOSAL, "reason": "", "reason_code": "NOPE"},
        headers=htmx("decisions-panel"),
    )
    assert response.status_code == 200
    assert "HX-Trigger" not in response
    assert 'class="field invalid"' in response.text
    assert not Decision.objects.exists()


def test_propose_without_js_redirects_to_the_file(analyst_client):
    customer = make_customer()
    response = analyst_client.post(f"/customers/{customer.pk}/decisions/", PROPOSAL, follow=True)
    assert response.redirect_chain[-1][0] == f"/customers/{customer.pk}/#decisions-panel"
    assert "Decision proposed" in response.text
    assert Decision.objects.filter(customer=customer, status="proposed").exists()


def test_propose_errors_without_js_re_render_the_file_with_what_was_typed(analyst_client):
    customer = make_customer()
    response = analyst_client.post(
        f"/customers/{customer.pk}/decisions/", {**PROPOSAL, "reason_code": ""}
    )
    assert response.status_code == 200
    assert "<html" in response.text
    assert PROPOSAL["reason"] in response.text
    assert not Decision.objects.exists()


def test_a_second_proposal_is_refused_in_the_form(analyst_client, analyst):
    customer = make_customer()
    propose(customer, make_user(role="analyst"))
    response = analyst_client.post(
        f"/customers/{customer.pk}/decisions/", PROPOSAL, headers=htmx("decisions-panel")
    )
    # The form is not offered while a valid proposal is open, and the server refuses anyway.
    assert Decision.objects.filter(customer=customer).count() == 1
    assert "already has a proposal awaiting review" in response.text


def test_a_reviewer_sees_confirm_and_send_back(reviewer_client, analyst):
    customer = make_customer()
    decision = propose(customer, analyst)
    html = reviewer_client.get(f"/customers/{customer.pk}/").text
    assert f"/decisions/{decision.pk}/confirm/" in html
    assert f"/decisions/{decision.pk}/send-back/" in html


def test_an_analyst_sees_no_review_buttons(analyst_client):
    customer = make_customer()
    propose(customer, make_user(role="analyst"))
    html = analyst_client.get(f"/customers/{customer.pk}/").text
    assert "/confirm/" not in html
    assert "A reviewer must confirm this decision" in html


def test_confirm_with_htmx_updates_the_panel_and_the_status(reviewer_client, analyst):
    customer = make_customer()
    decision = propose(customer, analyst, outcome="reject", reason_code="FRAUD_SUSPECTED")
    response = reviewer_client.post(
        f"/decisions/{decision.pk}/confirm/", {"comment": "Agreed"}, headers=htmx("decisions-panel")
    )
    assert response.status_code == 200
    assert 'id="decisions-panel"' in response.text
    assert "<html" not in response.text
    assert "decisions-changed" in response["HX-Trigger"]
    assert "Rejected" in response.text
    assert "Document fraud suspected" in response.text
    customer.refresh_from_db()
    assert customer.status == Customer.Status.REJECTED


def test_confirm_without_js_redirects_with_the_new_status(reviewer_client, analyst):
    customer = make_customer()
    decision = propose(customer, analyst, outcome="request_info", reason_code="INCOMPLETE_FILE")
    response = reviewer_client.post(f"/decisions/{decision.pk}/confirm/", follow=True)
    assert "Information requested" in response.text
    customer.refresh_from_db()
    assert customer.status == Customer.Status.INFO_REQUESTED


def test_send_back_needs_a_comment(reviewer_client, analyst):
    customer = make_customer()
    decision = propose(customer, analyst)
    response = reviewer_client.post(
        f"/decisions/{decision.pk}/send-back/", {"comment": ""}, headers=htmx()
    )
    assert "Say why the proposal is sent back." in response.text
    decision.refresh_from_db()
    assert decision.status == "proposed"
    response = reviewer_client.post(
        f"/decisions/{decision.pk}/send-back/", {"comment": "Kbis too old."}, headers=htmx()
    )
    decision.refresh_from_db()
    assert decision.status == "sent_back"
    assert "Kbis too old." in response.text
    # Sent back: the analysts may propose again.
    assert f'action="/customers/{customer.pk}/decisions/"' in response.text


def test_the_proposer_confirming_is_refused_on_the_server(client, reviewer):
    customer = make_customer()
    decision = propose(customer, reviewer)
    client.force_login(reviewer)
    events = AuditEvent.objects.count()
    response = client.post(f"/decisions/{decision.pk}/confirm/", {"comment": "me"})
    assert response.status_code == 403
    decision.refresh_from_db()
    assert decision.status == "proposed"
    assert decision.reviewed_by is None
    customer.refresh_from_db()
    assert customer.status == "new"
    assert AuditEvent.objects.count() == events


def test_a_void_proposal_is_shown_as_such_and_confirming_it_explains_why(reviewer_client, analyst):
    customer = make_customer()
    decision = propose(customer, analyst)
    make_report(request=customer.requests.get())  # new evidence after the proposal
    html = reviewer_client.get(f"/customers/{customer.pk}/").text
    assert "This proposal is void" in html
    assert "an analysis report was received or updated" in html
    assert f"/decisions/{decision.pk}/confirm/" not in html

    response = reviewer_client.post(
        f"/decisions/{decision.pk}/confirm/", headers=htmx("decisions-panel")
    )
    assert "cannot be confirmed" in response.text
    assert "an analysis report was received or updated" in response.text
    decision.refresh_from_db()
    assert decision.status == "void"
    customer.refresh_from_db()
    assert customer.status == "new"


def test_the_history_lists_every_decision(reviewer_client, analyst, reviewer):
    customer = make_customer()
    first = propose(customer, analyst, reason="First reason")
    services.decision_send_back(decision=first, actor=reviewer, comment="Missing Kbis")
    propose(customer, analyst, outcome="reject", reason_code="ID_MISMATCH", reason="Second")
    html = reviewer_client.get(f"/customers/{customer.pk}/").text
    assert "First reason" in html and "Missing Kbis" in html and "Sent back by" in html
    assert "Identity mismatch between documents" in html


def test_decisions_of_an_erased_customer_are_404(reviewer_client, analyst):
    customer = make_customer()
    decision = propose(customer, analyst)
    Customer.objects.filter(pk=customer.pk).update(erased_at="2024-01-01T00:00:00Z")
    assert reviewer_client.post(f"/decisions/{decision.pk}/confirm/").status_code == 404
    assert reviewer_client.post(f"/customers/{customer.pk}/decisions/", PROPOSAL).status_code == 404


def test_the_timeline_fragment_refreshes_on_panel_events(reviewer_client, analyst):
    customer = make_customer()
    propose(customer, analyst)
    html = reviewer_client.get(f"/customers/{customer.pk}/").text
    assert 'hx-trigger="decisions-changed from:body' in html
    response = reviewer_client.get(f"/customers/{customer.pk}/timeline/", headers=htmx())
    assert 'id="customer-timeline"' in response.text
    assert "<html" not in response.text
    assert "decision.propose" in response.text
    assert f"/audit/?customer={customer.pk}" in response.text


def test_reasons_and_comments_typed_by_users_are_escaped(reviewer_client, analyst, reviewer):
    xss = '<script>alert("x")</script>'
    customer = make_customer()
    first = propose(customer, analyst, reason=xss)
    services.decision_send_back(decision=first, actor=reviewer, comment=xss)
    propose(customer, analyst, reason=xss)
    html = reviewer_client.get(f"/customers/{customer.pk}/").text
    assert "<script>alert" not in html
    assert html.count("&lt;script&gt;") >= 3
