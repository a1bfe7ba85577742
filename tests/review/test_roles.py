"""Who may do what, proved on the server: a POST (or GET) as each role, then the database.

| action          | analyst | reviewer | admin | no role |
|-----------------|---------|----------|-------|---------|
| propose         | yes     | yes      | yes   | no      |
| confirm         | no      | yes*     | yes*  | no      |  * never their own proposal
| send back       | no      | yes*     | yes*  | no      |
| assign          | yes     | yes      | yes   | no      |
| review alerts   | yes     | yes      | yes   | no      |
| read audit log  | no      | yes      | yes   | no      |
| export audit    | no      | yes      | yes   | no      |
| administer      | no      | no       | yes   | no      |
"""

from __future__ import annotations

import pytest

from kyc import roles, services
from kyc.models import AuditEvent, Customer, Decision, ManagerAlert
from tests.builders import make_alert
from tests.factories import make_customer, make_user

pytestmark = pytest.mark.django_db

ROLES = ["analyst", "reviewer", "admin", None]
PROPOSAL = {"outcome": "approve", "reason_code": "DOCS_OK", "reason": "All consistent."}


@pytest.fixture
def user_with(db):
    def build(role):
        if role == "admin":
            return make_user(f"admin-{role}", role="admin", is_staff=True, is_superuser=True)
        return make_user(f"user-{role or 'none'}", role=role)

    return build


def proposal_by(user) -> Decision:
    return services.decision_propose(customer=make_customer(), actor=user, **PROPOSAL)


@pytest.mark.parametrize(
    ("role", "status", "allowed"),
    [("analyst", 302, True), ("reviewer", 302, True), ("admin", 302, True), (None, 404, False)],
)
def test_propose(client, user_with, role, status, allowed):
    user = user_with(role)
    customer = make_customer()
    client.force_login(user)
    response = client.post(f"/customers/{customer.pk}/decisions/", PROPOSAL)
    assert response.status_code == status
    assert Decision.objects.filter(customer=customer, proposed_by=user).exists() is allowed


@pytest.mark.parametrize("action", ["confirm", "send-back"])
@pytest.mark.parametrize(
    ("role", "status", "allowed"),
    [("analyst", 403, False), ("reviewer", 302, True), ("admin", 302, True), (None, 404, False)],
)
def test_confirm_and_send_back(client, user_with, role, status, allowed, action):
    decision = proposal_by(make_user(role="analyst"))
    user = user_with(role)
    client.force_login(user)
    response = client.post(f"/decisions/{decision.pk}/{action}/", {"comment": "Checked."})
    assert response.status_code == status
    decision.refresh_from_db()
    expected = ("confirmed" if action == "confirm" else "sent_back") if allowed else "proposed"
    assert decision.status == expected
    assert (decision.reviewed_by == user) is allowed
    customer = Customer.objects.get(pk=decision.customer_id)
    assert customer.status == ("approved" if allowed and action == "confirm" else "new")


@pytest.mark.parametrize("action", ["confirm", "send-back"])
@pytest.mark.parametrize("role", ["reviewer", "admin"])
def test_nobody_reviews_their_own_proposal(client, user_with, role, action):
    user = user_with(role)
    decision = proposal_by(user)
    events = AuditEvent.objects.count()
    client.force_login(user)
    response = client.post(f"/decisions/{decision.pk}/{action}/", {"comment": "Mine."})
    assert response.status_code == 403
    decision.refresh_from_db()
    assert decision.status == "proposed"
    assert decision.reviewed_by is None
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize(
    ("role", "status", "allowed"),
    [("analyst", 302, True), ("reviewer", 302, True), ("admin", 302, True), (None, 403, False)],
)
def test_assign(client, user_with, role, status, allowed):
    user = user_with(role)
    customer = make_customer()
    client.force_login(user)
    response = client.post(f"/customers/{customer.pk}/assign/")
    assert response.status_code == status
    customer.refresh_from_db()
    assert (customer.assignee_id == user.pk) is allowed


@pytest.mark.parametrize(
    ("role", "status", "allowed"),
    [("analyst", 302, True), ("reviewer", 302, True), ("admin", 302, True), (None, 403, False)],
)
def test_review_an_alert(client, user_with, role, status, allowed):
    user = user_with(role)
    alert = make_alert()
    client.force_login(user)
    response = client.post(f"/alerts/{alert.pk}/review/", {"action": "acknowledge"})
    assert response.status_code == status
    alert.refresh_from_db()
    assert (alert.review_status == ManagerAlert.ReviewStatus.ACKNOWLEDGED) is allowed


@pytest.mark.parametrize(
    ("role", "status"), [("analyst", 403), ("reviewer", 200), ("admin", 200), (None, 403)]
)
def test_read_the_audit_log(client, user_with, role, status):
    client.force_login(user_with(role))
    assert client.get("/audit/").status_code == status


@pytest.mark.parametrize(
    ("role", "status", "allowed"),
    [("analyst", 403, False), ("reviewer", 200, True), ("admin", 200, True), (None, 403, False)],
)
def test_export_the_audit_log(client, user_with, role, status, allowed):
    user = user_with(role)
    make_customer()
    client.force_login(user)
    response = client.get("/audit/export.csv")
    assert response.status_code == status
    if allowed:
        assert b"customer.create" in b"".join(response.streaming_content)
    assert AuditEvent.objects.filter(action="audit.export", actor=user).exists() is allowed


@pytest.mark.parametrize(
    ("role", "status"), [("analyst", 302), ("reviewer", 302), ("admin", 200), (None, 302)]
)
def test_administer(client, user_with, role, status):
    user = user_with(role)
    client.force_login(user)
    response = client.get("/admin/kyc/customer/")
    assert response.status_code == status
    if status == 302:
        assert response["Location"].startswith("/admin/login/")
    assert roles.can_administer(user) is (role == "admin")


@pytest.mark.parametrize(
    ("role", "alerts", "audit"),
    [("analyst", True, False), ("reviewer", True, True), ("admin", True, True)],
)
def test_navigation_shows_what_the_role_may_open(client, user_with, role, alerts, audit):
    client.force_login(user_with(role))
    html = client.get("/").text
    assert ('href="/alerts/"' in html) is alerts
    assert ('href="/audit/"' in html) is audit
