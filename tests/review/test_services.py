"""Decision and alert services: every rule enforced, every refusal writes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from kyc import services
from kyc.models import AuditEvent, Customer, Decision, ManagerAlert
from tests.builders import (
    make_alert,
    make_decision,
    make_job,
    make_ocr_correction,
    make_ocr_result,
    make_report,
)
from tests.factories import make_customer, make_document, make_user

pytestmark = pytest.mark.django_db


def snapshot():
    """Everything a refused call could have written."""
    return (
        AuditEvent.objects.count(),
        list(Decision.objects.order_by("pk").values_list("pk", "status", "reviewed_by")),
        list(Customer.objects.order_by("pk").values_list("pk", "status")),
        list(ManagerAlert.objects.order_by("pk").values_list("pk", "review_status", "review_note")),
    )


def propose(customer, actor, **overrides):
    values = {
        "outcome": Decision.Outcome.APPROVE,
        "reason_code": services.ReasonCode.DOCS_OK,
        "reason": "Passport and proof of address are consistent.",
    }
    values.update(overrides)
    return services.decision_propose(customer=customer, actor=actor, **values)


# ------------------------------------------------------------------------------------ propose


def test_an_analyst_proposes_a_decision_and_it_is_audited(analyst):
    customer = make_customer()
    decision = propose(customer, analyst)
    assert decision.status == Decision.Status.PROPOSED
    assert decision.proposed_by == analyst
    event = AuditEvent.objects.get(action="decision.propose")
    assert event.actor == analyst
    assert event.customer_id == customer.pk
    assert event.object_id == str(decision.pk)
    assert event.after["reason_code"] == "DOCS_OK"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"reason": "   "}, "reason"),
        ({"reason_code": ""}, "reason_code"),
        ({"reason_code": "NOT_A_CODE"}, "reason_code"),
        ({"outcome": "maybe"}, "outcome"),
        ({"reason": "x" * 4001}, "reason"),
    ],
)
def test_a_proposal_without_valid_reasons_is_refused_and_writes_nothing(analyst, overrides, field):
    customer = make_customer()
    before = snapshot()
    with pytest.raises(ValidationError) as exc:
        propose(customer, analyst, **overrides)
    assert field in exc.value.message_dict
    assert snapshot() == before


def test_a_user_without_role_cannot_propose(db):
    customer = make_customer()
    nobody = make_user(role=None)
    before = snapshot()
    with pytest.raises(PermissionDenied):
        propose(customer, nobody)
    assert snapshot() == before


def test_a_second_open_proposal_for_the_same_customer_is_refused(analyst):
    customer = make_customer()
    propose(customer, analyst)
    other = make_user(role="analyst")
    before = snapshot()
    with pytest.raises(ValidationError, match="already has a proposal awaiting review"):
        propose(customer, other, outcome=Decision.Outcome.REJECT)
    assert snapshot() == before


def test_a_new_proposal_replaces_an_open_one_whose_evidence_changed(analyst):
    customer = make_customer()
    first = propose(customer, analyst)
    make_document(customer=customer)
    second = propose(customer, analyst, outcome=Decision.Outcome.REQUEST_INFO)
    first.refresh_from_db()
    assert first.status == Decision.Status.VOID
    assert "a document was added or changed" in first.void_reason
    assert second.status == Decision.Status.PROPOSED


# ------------------------------------------------------------------------------------ confirm


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        (Decision.Outcome.APPROVE, Customer.Status.APPROVED),
        (Decision.Outcome.REJECT, Customer.Status.REJECTED),
        (Decision.Outcome.REQUEST_INFO, Customer.Status.INFO_REQUESTED),
    ],
)
def test_confirming_sets_the_customer_status(analyst, reviewer, outcome, status):
    customer = make_customer()
    decision = propose(customer, analyst, outcome=outcome)
    confirmed = services.decision_confirm(decision=decision, actor=reviewer, comment="Agreed.")
    assert confirmed.status == Decision.Status.CONFIRMED
    assert confirmed.reviewed_by == reviewer
    assert confirmed.review_comment == "Agreed."
    customer.refresh_from_db()
    assert customer.status == status
    actions = list(AuditEvent.objects.filter(customer=customer).values_list("action", flat=True))
    assert "decision.confirm" in actions
    assert "customer.status" in actions


def test_the_proposer_cannot_confirm_their_own_proposal(reviewer):
    customer = make_customer()
    decision = propose(customer, reviewer)
    before = snapshot()
    with pytest.raises(PermissionDenied, match="four-eyes"):
        services.decision_confirm(decision=decision, actor=reviewer)
    assert snapshot() == before


def test_the_proposer_cannot_send_back_their_own_proposal(reviewer):
    decision = propose(make_customer(), reviewer)
    before = snapshot()
    with pytest.raises(PermissionDenied, match="four-eyes"):
        services.decision_send_back(decision=decision, actor=reviewer, comment="Hmm.")
    assert snapshot() == before


def test_an_analyst_cannot_confirm(analyst):
    decision = propose(make_customer(), make_user(role="analyst"))
    before = snapshot()
    with pytest.raises(PermissionDenied, match="Only a reviewer"):
        services.decision_confirm(decision=decision, actor=analyst)
    assert snapshot() == before


def test_an_admin_may_confirm(analyst, admin_user):
    customer = make_customer()
    decision = propose(customer, analyst, outcome=Decision.Outcome.REJECT)
    services.decision_confirm(decision=decision, actor=admin_user)
    customer.refresh_from_db()
    assert customer.status == Customer.Status.REJECTED


def test_a_confirmed_decision_cannot_be_confirmed_again(analyst, reviewer):
    decision = propose(make_customer(), analyst)
    services.decision_confirm(decision=decision, actor=reviewer)
    before = snapshot()
    with pytest.raises(ValidationError, match="already confirmed"):
        services.decision_confirm(decision=decision, actor=make_user(role="reviewer"))
    assert snapshot() == before


def test_a_void_proposal_is_refused_with_its_reason_and_nothing_else_changes(analyst, reviewer):
    customer = make_customer()
    decision = propose(customer, analyst)
    services.decisions_void_for_customer(customer=customer, reason="New passport uploaded.")
    before = snapshot()
    with pytest.raises(ValidationError, match="New passport uploaded"):
        services.decision_confirm(decision=decision, actor=reviewer)
    assert snapshot() == before


@pytest.mark.parametrize(
    "evidence", ["document", "report", "refetched_report", "ocr", "correction"]
)
def test_a_proposal_is_void_when_evidence_changes_after_it(analyst, reviewer, evidence):
    customer = make_customer()
    document = make_document(customer=customer)
    request = customer.requests.get()
    job = make_job(request=request, document=document, status="completed")
    report = make_report(request=request, document=document, job=job)
    ocr = make_ocr_result(document=document)
    decision = propose(customer, analyst)

    if evidence == "document":
        make_document(customer=customer, name="second.png", kind="id_card")
    elif evidence == "report":
        make_report(request=request, document=document)
    elif evidence == "refetched_report":
        # A vendor report fetched again is updated in place; its job finishes now.
        type(job).objects.filter(pk=job.pk).update(finished_at=timezone.now())
        type(report).objects.filter(pk=report.pk).update(flag_color="red")
    elif evidence == "ocr":
        ocr.fields = {**ocr.fields, "last_name": "DURAND"}
        ocr.save()
    else:
        make_ocr_correction(ocr_result=ocr)

    with pytest.raises(ValidationError, match="void") as exc:
        services.decision_confirm(decision=decision, actor=reviewer)
    decision.refresh_from_db()
    assert decision.status == Decision.Status.VOID
    assert decision.void_reason in exc.value.messages[0]
    assert decision.reviewed_by is None
    customer.refresh_from_db()
    assert customer.status == Customer.Status.NEW
    void_event = AuditEvent.objects.get(action="decision.void")
    assert void_event.customer_id == customer.pk
    assert not AuditEvent.objects.filter(action="decision.confirm").exists()


def test_evidence_older_than_the_proposal_does_not_void_it(analyst, reviewer):
    customer = make_customer()
    document = make_document(customer=customer)
    make_report(request=customer.requests.get(), document=document)
    make_ocr_correction(ocr_result=make_ocr_result(document=document))
    decision = propose(customer, analyst)
    assert services.decision_confirm(decision=decision, actor=reviewer).status == "confirmed"


def test_another_customers_evidence_does_not_void_a_proposal(analyst, reviewer):
    customer = make_customer()
    decision = propose(customer, analyst)
    make_document()  # someone else's file
    assert services.decision_confirm(decision=decision, actor=reviewer).status == "confirmed"


# ---------------------------------------------------------------------------------- send back


def test_sending_back_needs_a_comment_and_keeps_the_customer_status(analyst, reviewer):
    customer = make_customer()
    decision = propose(customer, analyst, outcome=Decision.Outcome.REJECT)
    before = snapshot()
    with pytest.raises(ValidationError) as exc:
        services.decision_send_back(decision=decision, actor=reviewer, comment="  ")
    assert "comment" in exc.value.message_dict
    assert snapshot() == before

    sent = services.decision_send_back(
        decision=decision, actor=reviewer, comment="The Kbis is older than 3 months."
    )
    assert sent.status == Decision.Status.SENT_BACK
    assert sent.review_comment == "The Kbis is older than 3 months."
    customer.refresh_from_db()
    assert customer.status == Customer.Status.NEW
    assert AuditEvent.objects.filter(action="decision.send_back", actor=reviewer).exists()
    # Once sent back, a new proposal is possible.
    assert propose(customer, analyst).status == Decision.Status.PROPOSED


def test_an_analyst_cannot_send_back(analyst):
    decision = propose(make_customer(), make_user(role="analyst"))
    before = snapshot()
    with pytest.raises(PermissionDenied):
        services.decision_send_back(decision=decision, actor=analyst, comment="No.")
    assert snapshot() == before


def test_voiding_for_a_customer_voids_only_open_proposals(analyst, reviewer):
    customer = make_customer()
    old = propose(customer, analyst)
    services.decision_send_back(decision=old, actor=reviewer, comment="Missing Kbis.")
    current = propose(customer, analyst)
    assert services.decisions_void_for_customer(customer=customer, reason="New Kbis.") == 1
    old.refresh_from_db()
    current.refresh_from_db()
    assert old.status == Decision.Status.SENT_BACK
    assert current.status == Decision.Status.VOID
    assert current.void_reason == "New Kbis."


def test_builder_decisions_with_unknown_codes_can_still_be_reviewed(reviewer):
    decision = make_decision(reason_code="documents_consistent")
    assert services.decision_confirm(decision=decision, actor=reviewer).status == "confirmed"


# ------------------------------------------------------------------------------------- alerts


def test_acknowledging_an_alert_records_who_when_and_is_audited(analyst):
    alert = make_alert()
    reviewed = services.alert_review(alert=alert, action="acknowledge", note="", actor=analyst)
    assert reviewed.review_status == ManagerAlert.ReviewStatus.ACKNOWLEDGED
    assert reviewed.reviewed_by == analyst
    assert reviewed.reviewed_at is not None
    event = AuditEvent.objects.get(action="alert.acknowledge")
    assert event.customer_id == alert.customer_id
    assert event.actor == analyst


def test_dismissing_an_alert_needs_a_note(analyst):
    alert = make_alert()
    before = snapshot()
    with pytest.raises(ValidationError) as exc:
        services.alert_review(alert=alert, action="dismiss", note=" ", actor=analyst)
    assert "note" in exc.value.message_dict
    assert snapshot() == before
    services.alert_review(alert=alert, action="dismiss", note="Homonym.", actor=analyst)
    alert.refresh_from_db()
    assert alert.review_status == ManagerAlert.ReviewStatus.DISMISSED
    assert alert.review_note == "Homonym."


def test_an_alert_is_never_reviewed_twice(analyst, reviewer):
    alert = make_alert()
    services.alert_review(alert=alert, action="acknowledge", note="Seen.", actor=analyst)
    before = snapshot()
    with pytest.raises(ValidationError, match="already acknowledged by analyst1"):
        services.alert_review(alert=alert, action="dismiss", note="No.", actor=reviewer)
    assert snapshot() == before


def test_an_unknown_alert_action_is_refused(analyst):
    alert = make_alert()
    before = snapshot()
    with pytest.raises(ValidationError):
        services.alert_review(alert=alert, action="delete", note="x", actor=analyst)
    assert snapshot() == before


def test_a_user_without_role_cannot_review_an_alert(db):
    alert = make_alert()
    before = snapshot()
    with pytest.raises(PermissionDenied):
        services.alert_review(
            alert=alert, action="acknowledge", note="", actor=make_user(role=None)
        )
    assert snapshot() == before


# -------------------------------------------------------------------------------------- audit


def test_audit_export_is_recorded_for_reviewers_and_refused_to_analysts(analyst, reviewer):
    event = services.audit_export_record(actor=reviewer, filters={"action": "decision."})
    assert event.action == "audit.export"
    assert event.after == {"filters": {"action": "decision."}}
    before = snapshot()
    with pytest.raises(PermissionDenied):
        services.audit_export_record(actor=analyst, filters={})
    assert snapshot() == before


def test_audit_rows_cannot_be_changed_or_deleted(analyst):
    propose(make_customer(), analyst)
    event = AuditEvent.objects.get(action="decision.propose")
    event.action = "tampered"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(action="tampered")
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "decision.propose"


def test_evidence_timestamps_of_a_customer_without_evidence_are_empty(db):
    customer = make_customer()
    assert services.decisions.evidence_timestamps(customer.pk) == {
        "document": None,
        "report": None,
        "ocr": None,
        "ocr_correction": None,
    }
    assert (
        services.decisions.evidence_changes_since(
            customer.pk, timezone.now() - dt.timedelta(days=1)
        )
        == []
    )
