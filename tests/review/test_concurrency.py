"""Two people acting on the same row at the same moment: exactly one wins, the other is told."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import connection

from kyc import roles, services
from kyc.models import AuditEvent, Decision, ManagerAlert
from tests.builders import make_alert
from tests.factories import make_customer, make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _role_groups():
    # A transactional test starts from an emptied database: the roles migration's groups too.
    for name in roles.ALL_ROLES:
        Group.objects.get_or_create(name=name)


def race(*calls):
    """Run the calls in threads released together; returns each result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:  # the refusal is the result under test
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_concurrent_reviews_of_one_alert_record_exactly_one():
    alert = make_alert()
    first, second = make_user(role="analyst"), make_user(role="reviewer")
    results = race(
        lambda: services.alert_review(alert=alert, action="acknowledge", note="", actor=first),
        lambda: services.alert_review(alert=alert, action="dismiss", note="no", actor=second),
    )
    refusals = [r for r in results if isinstance(r, ValidationError)]
    assert len(refusals) == 1, results
    assert "already" in refusals[0].messages[0]
    alert.refresh_from_db()
    assert alert.review_status != ManagerAlert.ReviewStatus.OPEN
    assert AuditEvent.objects.filter(action__startswith="alert.").count() == 1


def test_two_concurrent_confirmations_of_one_proposal_record_exactly_one():
    customer = make_customer()
    decision = services.decision_propose(
        customer=customer,
        actor=make_user(role="analyst"),
        outcome="approve",
        reason_code="DOCS_OK",
        reason="ok",
    )
    one, two = make_user(role="reviewer"), make_user(role="reviewer")
    results = race(
        lambda: services.decision_confirm(decision=decision, actor=one),
        lambda: services.decision_send_back(decision=decision, actor=two, comment="No."),
    )
    refusals = [r for r in results if isinstance(r, ValidationError)]
    assert len(refusals) == 1, results
    decision.refresh_from_db()
    assert decision.status in (Decision.Status.CONFIRMED, Decision.Status.SENT_BACK)
    assert (
        AuditEvent.objects.filter(action__in=["decision.confirm", "decision.send_back"]).count()
        == 1
    )
