from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import User
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django_tasks_db.models import DBTaskResult

from kyc.models import (
    AnalysisRequest,
    AuditEvent,
    Customer,
    Decision,
    Document,
    ManagerAlert,
    OcrCorrection,
    OcrResult,
    Officer,
    OfficerRole,
    ProviderJob,
    Report,
    WebhookEvent,
)
from tests.builders import (
    make_alert,
    make_decision,
    make_job,
    make_ocr_correction,
    make_ocr_result,
    make_officer,
    make_officer_role,
    make_report,
    make_webhook_event,
)
from tests.factories import VALID_SIRENS, make_customer, make_document, make_user

ROWS = 20
# Enough for session, user, counts, filters and date hierarchy; an N+1 over ROWS rows is not.
MAX_CHANGELIST_QUERIES = 15
MAX_CHANGE_FORM_QUERIES = 15


@pytest.fixture
def staff_client(client, admin_user):
    client.force_login(admin_user)
    return client


def admin_url(model: type[models.Model], view: str, *args) -> str:
    return reverse(f"admin:kyc_{model._meta.model_name}_{view}", args=args)


# Builders of ROWS rows of one model, every foreign key filled in so that a missing
# list_select_related shows as one query per row. Each returns one row for its change form.


def _customers(user: User) -> models.Model:
    assignee = make_user()
    for i in range(ROWS // 2):
        make_customer(
            actor=user, kind=Customer.Kind.COMPANY, siren=VALID_SIRENS[i % 6], assignee=user
        )
    return [make_customer(actor=user, assignee=assignee) for _ in range(ROWS // 2)][-1]


def _requests(user: User) -> models.Model:
    return [make_customer(actor=user).requests.get() for _ in range(ROWS)][-1]


def _documents(user: User) -> models.Model:
    request = make_customer(actor=user).requests.get()
    return [make_document(request=request, actor=user) for _ in range(ROWS)][-1]


def _jobs(user: User) -> models.Model:
    document = make_document(actor=user)
    return [make_job(document=document, operation=f"operation{i}") for i in range(ROWS)][-1]


def _reports(user: User) -> models.Model:
    document = make_document(actor=user)
    job = make_job(document=document, status=ProviderJob.Status.COMPLETED)
    return [make_report(document=document, job=job) for _ in range(ROWS)][-1]


def _officers(user: User) -> models.Model:
    request = make_customer(actor=user).requests.get()
    report = make_report(request=request, source=Report.Source.MANAGER_XRAY)
    return [make_officer(request=request, report=report) for _ in range(ROWS)][-1]


def _officer_roles(user: User) -> models.Model:
    officer = make_officer()
    return [make_officer_role(officer=officer) for _ in range(ROWS)][-1]


def _alerts(user: User) -> models.Model:
    role = make_officer_role()
    return [
        make_alert(role=role, reviewed_by=user, review_status=ManagerAlert.ReviewStatus.DISMISSED)
        for _ in range(ROWS)
    ][-1]


def _ocr_results(user: User) -> models.Model:
    request = make_customer(actor=user).requests.get()
    report = make_report(request=request, source=Report.Source.LOCAL_MRZ)
    return [
        make_ocr_result(document=make_document(request=request, actor=user), report=report)
        for _ in range(ROWS)
    ][-1]


def _ocr_corrections(user: User) -> models.Model:
    result = make_ocr_result()
    return [make_ocr_correction(ocr_result=result, author=user) for _ in range(ROWS)][-1]


def _decisions(user: User) -> models.Model:
    proposer = make_user()
    return [
        make_decision(
            customer=make_customer(actor=user),
            proposed_by=proposer,
            reviewed_by=user,
            status=Decision.Status.CONFIRMED,
        )
        for _ in range(ROWS)
    ][-1]


def _audit_events(user: User) -> models.Model:
    for _ in range(ROWS // 2):
        make_customer(actor=user)  # two audit rows each: customer.create, request.open
    return AuditEvent.objects.filter(customer__isnull=False, actor=user).first()


def _webhook_events(user: User) -> models.Model:
    first = make_webhook_event()
    for _ in range(ROWS - 2):
        make_webhook_event()
    return make_webhook_event(
        dedupe_key=None, duplicate_of=first, state=WebhookEvent.State.DUPLICATE
    )


BUILDERS: dict[type[models.Model], Callable[[User], models.Model]] = {
    Customer: _customers,
    AnalysisRequest: _requests,
    Document: _documents,
    ProviderJob: _jobs,
    Report: _reports,
    Officer: _officers,
    OfficerRole: _officer_roles,
    ManagerAlert: _alerts,
    OcrResult: _ocr_results,
    OcrCorrection: _ocr_corrections,
    Decision: _decisions,
    AuditEvent: _audit_events,
    WebhookEvent: _webhook_events,
}
by_model = pytest.mark.parametrize(
    "model", list(BUILDERS), ids=lambda model: model._meta.model_name
)
READ_ONLY_MODELS = pytest.mark.parametrize(
    "model", [AuditEvent, WebhookEvent], ids=lambda model: model._meta.model_name
)


def test_every_kyc_model_is_registered_and_covered_here():
    kyc_models = set(apps.get_app_config("kyc").get_models())
    assert set(BUILDERS) == kyc_models
    assert all(admin.site.is_registered(model) for model in kyc_models)


def test_task_results_are_registered_once():
    assert admin.site.is_registered(DBTaskResult)


@by_model
def test_changelist_loads_with_a_bounded_number_of_queries(
    model, admin_user, staff_client, django_assert_max_num_queries
):
    BUILDERS[model](admin_user)
    assert model.objects.count() >= ROWS
    url = admin_url(model, "changelist")

    with django_assert_max_num_queries(MAX_CHANGELIST_QUERIES):
        response = staff_client.get(url)

    assert response.status_code == 200
    assert response.context["cl"].result_count >= ROWS


@by_model
def test_change_form_loads_with_a_bounded_number_of_queries(
    model, admin_user, staff_client, django_assert_max_num_queries
):
    obj = BUILDERS[model](admin_user)
    url = admin_url(model, "change", obj.pk)

    with django_assert_max_num_queries(MAX_CHANGE_FORM_QUERIES):
        response = staff_client.get(url)

    assert response.status_code == 200


@by_model
def test_changelist_search_and_filters_run(model, admin_user, staff_client):
    BUILDERS[model](admin_user)
    model_admin = admin.site.get_model_admin(model)
    response = staff_client.get(admin_url(model, "changelist"), {"q": "x", "_facets": "1"})
    assert response.status_code == 200
    assert bool(model_admin.search_fields) == ("searchbar" in response.text)


@READ_ONLY_MODELS
def test_audit_and_webhook_rows_cannot_be_added(model, staff_client):
    assert staff_client.get(admin_url(model, "add")).status_code == 403


@READ_ONLY_MODELS
def test_audit_and_webhook_rows_cannot_be_deleted(model, admin_user, staff_client):
    obj = BUILDERS[model](admin_user)
    assert staff_client.get(admin_url(model, "delete", obj.pk)).status_code == 403
    assert staff_client.post(admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


@READ_ONLY_MODELS
def test_audit_and_webhook_changelists_offer_no_delete_action(model, admin_user, staff_client):
    BUILDERS[model](admin_user)
    response = staff_client.get(admin_url(model, "changelist"))
    assert response.status_code == 200
    assert "delete_selected" not in response.text
    assert response.context["action_form"] is None


@READ_ONLY_MODELS
def test_audit_and_webhook_change_forms_are_view_only(model, admin_user, staff_client):
    obj = BUILDERS[model](admin_user)
    response = staff_client.get(admin_url(model, "change", obj.pk))
    assert response.status_code == 200
    assert 'name="_save"' not in response.text
    assert "<textarea" not in response.text


def test_posting_to_an_audit_event_change_url_does_not_change_it(admin_user, staff_client):
    event = _audit_events(admin_user)
    before = AuditEvent.objects.values().get(pk=event.pk)

    response = staff_client.post(
        admin_url(AuditEvent, "change", event.pk),
        {"action": "tampered", "object_id": "999", "before": "{}", "_save": "Save"},
    )

    assert response.status_code == 403
    assert AuditEvent.objects.values().get(pk=event.pk) == before


def test_posting_to_a_webhook_event_change_url_does_not_change_it(admin_user, staff_client):
    event = make_webhook_event()
    response = staff_client.post(
        admin_url(WebhookEvent, "change", event.pk),
        {"state": WebhookEvent.State.PROCESSED, "_save": "Save"},
    )
    assert response.status_code == 403
    event.refresh_from_db()
    assert event.state == WebhookEvent.State.RECEIVED


def test_report_payload_is_escaped_and_pretty_printed(staff_client):
    report = make_report(raw={"note": "<script>alert(1)</script>", "nested": {"b": 2, "a": 1}})

    response = staff_client.get(admin_url(Report, "change", report.pk))

    assert response.status_code == 200
    assert "&lt;script&gt;" in response.text
    assert "<script>alert(1)" not in response.text
    assert escape('"a": 1,\n    "b": 2') in response.text  # indented, keys sorted
    assert 'name="raw"' not in response.text  # shown, not editable


def test_audit_before_and_after_are_shown_pretty_printed(admin_user, staff_client):
    make_customer(actor=admin_user, last_name="<b>Martin</b>")
    event = AuditEvent.objects.get(action="customer.create")

    response = staff_client.get(admin_url(AuditEvent, "change", event.pk))

    assert "&quot;last_name&quot;: &quot;&lt;b&gt;Martin&lt;/b&gt;&quot;" in response.text
    assert "<b>Martin" not in response.text


def test_webhook_json_body_is_shown_pretty_printed_and_escaped(staff_client):
    event = make_webhook_event(
        body=b'{"z": "<img src=x onerror=alert(1)>", "a": "\xc3\xa9t\xc3\xa9"}'
    )

    response = staff_client.get(admin_url(WebhookEvent, "change", event.pk))

    assert escape('{\n  "a": "été",\n  "z": "<img src=x onerror=alert(1)>"\n}') in response.text
    assert "<img src=x" not in response.text


def test_webhook_body_that_is_not_utf8_is_shown_with_replacement_characters(staff_client):
    event = make_webhook_event(body=b"\xff\xfe<b>not json</b>")

    response = staff_client.get(admin_url(WebhookEvent, "change", event.pk))

    assert response.status_code == 200
    assert "\ufffd\ufffd&lt;b&gt;not json&lt;/b&gt;" in response.text


def test_deeply_nested_webhook_body_is_shown_as_received(staff_client):
    body = b"[" * 100_000 + b"]" * 100_000
    event = make_webhook_event(body=body)

    response = staff_client.get(admin_url(WebhookEvent, "change", event.pk))

    assert response.status_code == 200


def test_document_file_is_shown_as_its_stored_name_without_a_link(admin_user, staff_client):
    document = make_document(actor=admin_user)

    response = staff_client.get(admin_url(Document, "change", document.pk))

    assert response.status_code == 200
    assert document.file.name in response.text
    assert f'href="{document.file.name}' not in response.text
    assert f"/{document.file.name}" not in response.text
    assert 'type="file"' not in response.text


def test_documents_are_not_added_through_the_admin(staff_client):
    assert staff_client.get(admin_url(Document, "add")).status_code == 403


def test_customer_is_found_by_siren(admin_user, staff_client):
    wanted = make_customer(actor=admin_user, kind=Customer.Kind.COMPANY, siren=VALID_SIRENS[1])
    make_customer(actor=admin_user, kind=Customer.Kind.COMPANY, siren=VALID_SIRENS[2])

    response = staff_client.get(admin_url(Customer, "changelist"), {"q": VALID_SIRENS[1]})

    assert list(response.context["cl"].result_list) == [wanted]


def test_customer_name_is_shown_read_only(admin_user, staff_client):
    customer = make_customer(actor=admin_user, last_name="Durand", first_name="Paul")

    response = staff_client.get(admin_url(Customer, "change", customer.pk))

    assert "Durand Paul" in response.text
    assert 'name="name"' not in response.text


def test_a_customers_identity_details_can_be_corrected_through_the_admin(admin_user, staff_client):
    customer = make_customer(actor=admin_user, last_name="Durand", first_name="Paul")

    response = staff_client.post(
        admin_url(Customer, "change", customer.pk),
        {
            "legal_name": "",
            "siret": "",
            "last_name": "Durand",
            "first_name": "Pauline",
            "birth_date": customer.birth_date.isoformat(),
            "nationality": "fra",
            "artemis_customer_id": "ART-1",
            "_save": "Save",
        },
    )

    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.first_name, customer.name) == ("Pauline", "Durand Pauline")
    assert (customer.nationality, customer.artemis_customer_id) == ("FRA", "ART-1")
    # The admin's change is in the audit trail, with old and new values of what changed.
    event = AuditEvent.objects.get(action="admin.change")
    assert (event.actor, event.customer) == (admin_user, customer)
    assert event.before == {"first_name": "Paul", "nationality": "FRA", "artemis_customer_id": ""}
    assert event.after == {
        "first_name": "Pauline",
        "nationality": "FRA",
        "artemis_customer_id": "ART-1",
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("nationality", "F1", "three-letter ISO 3166 code"),
        ("birth_date", "2999-01-01", "must be in the past"),
        ("birth_date", "1800-01-01", "cannot be before"),
        ("last_name", "", "An individual needs a last name."),
    ],
)
def test_a_customers_details_are_checked_in_the_admin_as_at_creation(
    field, value, message, admin_user, staff_client
):
    customer = make_customer(actor=admin_user, last_name="Durand", first_name="Paul")
    before = Customer.objects.values().get(pk=customer.pk)
    data = {"last_name": "Durand", "first_name": "Paul", "birth_date": "1980-01-01"}

    response = staff_client.post(
        admin_url(Customer, "change", customer.pk), {**data, field: value, "_save": "Save"}
    )

    assert response.status_code == 200
    assert message in response.text
    assert Customer.objects.values().get(pk=customer.pk) == before
    assert not AuditEvent.objects.filter(action="admin.change").exists()


def test_a_companys_siret_is_normalised_and_checked_against_its_siren(admin_user, staff_client):
    customer = make_customer(actor=admin_user, kind=Customer.Kind.COMPANY, siren="732829320")
    url = admin_url(Customer, "change", customer.pk)
    full_width = "".join(chr(0xFF10 + int(d)) for d in "73282932000074")

    mismatch = staff_client.post(
        url, {"legal_name": "Roux SAS", "siret": "55210055400013", "_save": "Save"}
    )
    saved = staff_client.post(url, {"legal_name": "Roux SAS", "siret": full_width, "_save": "Save"})

    assert "does not belong to SIREN 732829320" in mismatch.text
    assert saved.status_code == 302
    customer.refresh_from_db()
    assert (customer.legal_name, customer.siret) == ("Roux SAS", "73282932000074")


def test_an_admin_cannot_approve_a_customer_without_a_confirmed_decision(admin_user, staff_client):
    """The four-eyes bypass: status=approved posted to the change form must change nothing."""
    customer = make_customer(actor=admin_user, last_name="Durand", first_name="Paul")
    other = make_user()

    response = staff_client.post(
        admin_url(Customer, "change", customer.pk),
        {
            "last_name": "Durand",
            "first_name": "Paul",
            "birth_date": customer.birth_date.isoformat(),
            "nationality": "FRA",
            "status": Customer.Status.APPROVED,
            "risk_level": "green",
            "assignee": other.pk,
            "erased_at_0": "2026-01-01",
            "erased_at_1": "10:00:00",
            "kind": Customer.Kind.COMPANY,
            "siren": "732829320",
            "_save": "Save",
        },
    )

    assert response.status_code == 302  # saved: the forged fields are not in the form at all
    customer.refresh_from_db()
    assert customer.status == Customer.Status.NEW
    assert (customer.risk_level, customer.assignee, customer.erased_at) == ("", None, None)
    assert (customer.kind, customer.siren) == (Customer.Kind.INDIVIDUAL, "")
    assert not Decision.objects.exists()
    assert not AuditEvent.objects.filter(action="admin.change").exists()


def test_an_erased_customer_is_view_only_in_the_admin(admin_user, staff_client):
    customer = make_customer(actor=admin_user, last_name="Durand", first_name="Paul")
    Customer.objects.filter(pk=customer.pk).update(erased_at=timezone.now())
    url = admin_url(Customer, "change", customer.pk)

    assert 'name="_save"' not in staff_client.get(url).text
    response = staff_client.post(url, {"last_name": "Restored", "_save": "Save"})

    assert response.status_code == 403
    customer.refresh_from_db()
    assert customer.last_name == "Durand"


# What an administrator may still write, model by model: a customer's identity details (checked
# as at creation). Every other field of every kyc model is owned by a service.
ADMIN_EDITABLE: dict[type[models.Model], set[str]] = {
    Customer: {
        "legal_name",
        "siret",
        "first_name",
        "last_name",
        "birth_date",
        "nationality",
        "artemis_customer_id",
    },
}


def _forged(field: models.Field, current: Any, user: User) -> dict[str, str]:
    """POST data that would change `field` if the form accepted it."""
    name = field.attname if field.is_relation else field.name
    if field.is_relation:
        target = make_user() if field.related_model is User else None
        value = str(target.pk) if target else str((current or 0) + 1000)
        return {field.name: value, name: value}
    if field.choices:
        value = next(key for key, _label in field.flatchoices if key != current)
        return {name: str(value)}
    if isinstance(field, models.DateTimeField):
        return {name: "2001-02-03 04:05:06", f"{name}_0": "2001-02-03", f"{name}_1": "04:05:06"}
    if isinstance(field, models.DateField):
        return {name: "2001-02-03"}
    if isinstance(field, models.BooleanField):
        return {name: "" if current else "on"}
    if isinstance(field, models.IntegerField | models.FloatField):
        return {name: "0.5" if isinstance(field, models.FloatField) else "7"}
    if isinstance(field, models.JSONField):
        return {name: '{"forged": true}'}
    if isinstance(field, models.BinaryField | models.FileField):
        return {name: "forged"}
    return {name: "forged"[: field.max_length or 6]}


def _form_data(response) -> dict[str, str]:
    """The change form's own values, as a browser would post them back unchanged."""
    data = {}
    for bound in response.context["adminform"].form:
        value = bound.value()
        if value is None:
            value = ""
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        data[bound.html_name] = str(value)
    return data


def _service_owned(model: type[models.Model]) -> list[models.Field]:
    return [
        field
        for field in model._meta.concrete_fields
        if not field.primary_key
        and not isinstance(field, models.GeneratedField)
        and field.name not in ADMIN_EDITABLE.get(model, set())
    ]


@by_model
def test_forged_values_posted_to_a_change_form_change_nothing_a_service_owns(
    model, admin_user, staff_client
):
    obj = BUILDERS[model](admin_user)
    url = admin_url(model, "change", obj.pk)
    before = model.objects.values().get(pk=obj.pk)
    data = _form_data(staff_client.get(url))
    for field in _service_owned(model):
        data.update(_forged(field, before.get(field.attname), admin_user))

    response = staff_client.post(url, {**data, "_save": "Save"})

    if model in ADMIN_EDITABLE:
        # Saved, with every forged field ignored (not refused by chance on a bad value).
        assert response.status_code == 302, response.context["adminform"].form.errors
    else:
        assert response.status_code == 403
    assert model.objects.values().get(pk=obj.pk) == before
    assert not AuditEvent.objects.filter(action__startswith="admin.").exists()


@by_model
def test_no_kyc_row_is_added_through_the_admin(model, admin_user, staff_client):
    obj = BUILDERS[model](admin_user)
    count = model.objects.count()
    data = {}
    for field in _service_owned(model):
        data.update(_forged(field, getattr(obj, field.attname), admin_user))

    assert staff_client.get(admin_url(model, "add")).status_code == 403
    assert staff_client.post(admin_url(model, "add"), {**data, "_save": "Save"}).status_code == 403
    assert model.objects.count() == count


@by_model
def test_no_admin_action_deletes_or_changes_a_kyc_row(model, admin_user, staff_client):
    obj = BUILDERS[model](admin_user)
    before = list(model.objects.order_by("pk").values())
    changelist = staff_client.get(admin_url(model, "changelist"))
    assert changelist.context["action_form"] is None  # no action offered at all

    for action in ("delete_selected", "anything"):
        response = staff_client.post(
            admin_url(model, "changelist"),
            {"action": action, "_selected_action": [obj.pk], "post": "yes", "index": "0"},
        )
        assert response.status_code in (200, 302, 403)

    assert list(model.objects.order_by("pk").values()) == before


def test_decisions_are_read_only_in_the_admin(admin_user, staff_client):
    decision = _decisions(admin_user)
    original = decision.status
    other = next(s for s in Decision.Status.values if s != original)
    response = staff_client.post(
        admin_url(Decision, "change", decision.pk), {"status": other, "_save": "Save"}
    )
    assert response.status_code == 403
    decision.refresh_from_db()
    assert decision.status == original


def test_non_staff_analyst_is_redirected_away_from_the_admin(analyst_client):
    response = analyst_client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_non_staff_analyst_cannot_open_an_admin_changelist(analyst_client):
    response = analyst_client.get(admin_url(Customer, "changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
